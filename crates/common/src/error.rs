//! Error classes: every failure in the pipeline is either worth a retry or not.
//!
//! The batch loop and the restart planner only need this one bit, so each error enum in the
//! workspace implements [`Retryable`] and the callers decide by it (SQS redelivery versus the
//! dead-letter queue).

use serde::Serialize;
use std::fmt;

/// Whether a failure may pass if the same work is tried again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// A fault that may pass: throttling, 5xx, time-outs, AWS hiccups.
    Retryable,
    /// Can never succeed as it is: bad input, bad credentials, unknown account.
    Permanent,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::Permanent => "permanent",
        })
    }
}

/// Implemented by every error that crosses a decision point.
pub trait Retryable {
    fn class(&self) -> ErrorClass;

    fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }
}

/// A failed AWS call, summarised without the request (which may carry secrets): the service's
/// error code and the HTTP status as the SDK knew them (decisions use these), and the message
/// with its source chain (for people).
#[cfg(feature = "aws")]
#[derive(Debug, thiserror::Error)]
#[error("AWS {operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    /// The service error code (`ProvideErrorMetadata::code`), e.g. `ResourceNotFoundException`;
    /// `None` when no answer was parsed (time-out, connection failure).
    pub code: Option<String>,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    pub message: String,
}

/// Service error codes that retrying cannot fix: the resource is missing or access is denied.
#[cfg(feature = "aws")]
const PERMANENT_CODES: [&str; 9] = [
    "NoSuchBucket",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NonExistentQueue",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidSecurity",
    "ParameterNotFound",
];

#[cfg(feature = "aws")]
impl AwsError {
    /// Summarise an SDK error: its code and status, and the message with the source chain.
    pub fn new<E, R>(operation: &'static str, err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + HttpStatus + 'static,
    {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        AwsError {
            operation,
            code: err.code().map(str::to_string),
            status: err.raw_response().map(HttpStatus::status_code),
            message: crate::text::error_chain(err),
        }
    }

    /// An error with a known code, for callers that build one without the SDK (tests, fakes).
    pub fn with_code(operation: &'static str, code: Option<&str>, message: impl Into<String>) -> Self {
        AwsError { operation, code: code.map(str::to_string), status: None, message: message.into() }
    }

    /// The service said the resource (queue, table, bucket, secret) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self.code.as_deref(), Some("NoSuchBucket" | "ResourceNotFoundException" | "AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist" | "NonExistentQueue" | "ParameterNotFound"))
    }

    /// A failure that retrying cannot fix (missing resource, access denied).
    pub fn is_permanent(&self) -> bool {
        self.code.as_deref().is_some_and(|code| PERMANENT_CODES.contains(&code))
    }
}

/// The HTTP status of a raw SDK answer.
#[cfg(feature = "aws")]
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

#[cfg(feature = "aws")]
impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(feature = "aws")]
impl Retryable for AwsError {
    fn class(&self) -> ErrorClass {
        if self.is_permanent() {
            ErrorClass::Permanent
        } else {
            ErrorClass::Retryable
        }
    }
}

#[cfg(all(test, feature = "aws"))]
mod tests {
    use super::*;

    #[test]
    fn aws_errors_are_classified_by_the_service_code_not_the_message() {
        let missing = AwsError::with_code("dynamodb.PutItem", Some("ResourceNotFoundException"), "Requested resource not found");
        assert_eq!(missing.class(), ErrorClass::Permanent);
        assert!(missing.is_not_found());
        assert_eq!(missing.to_string(), "AWS dynamodb.PutItem failed: Requested resource not found");
        let denied = AwsError::with_code("s3.PutObject", Some("AccessDenied"), "Access Denied");
        assert_eq!(denied.class(), ErrorClass::Permanent);
        assert!(!denied.is_not_found());
        // A message that only mentions a permanent code is not one.
        let throttled = AwsError::with_code("sqs.SendMessage", Some("ThrottlingException"), "retry later, not AccessDenied");
        assert!(throttled.is_retryable());
        assert!(AwsError::with_code("sqs.SendMessage", None, "dispatch failure: timed out").is_retryable());
    }
}
