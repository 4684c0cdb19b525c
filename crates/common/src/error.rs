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

/// A failed AWS call, summarised without the request (which may carry secrets).
#[derive(Debug, thiserror::Error)]
#[error("AWS {operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub message: String,
    /// Set for errors that retrying cannot fix (e.g. a missing table or bucket).
    pub permanent: bool,
}

impl AwsError {
    /// Summarise any SDK error with its full context chain (service code and message).
    pub fn new(operation: &'static str, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        let permanent = ["NoSuchBucket", "ResourceNotFoundException", "NonExistentQueue", "QueueDoesNotExist", "AccessDenied"]
            .iter()
            .any(|code| message.contains(code));
        AwsError { operation, message, permanent }
    }
}

impl Retryable for AwsError {
    fn class(&self) -> ErrorClass {
        if self.permanent {
            ErrorClass::Permanent
        } else {
            ErrorClass::Retryable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("ResourceNotFoundException: Requested resource not found")]
    struct Inner;

    #[test]
    fn aws_error_keeps_the_cause_chain_and_classifies_missing_resources_as_permanent() {
        let err = AwsError::new("dynamodb.PutItem", &Outer(Inner));
        assert_eq!(err.to_string(), "AWS dynamodb.PutItem failed: outer: ResourceNotFoundException: Requested resource not found");
        assert_eq!(err.class(), ErrorClass::Permanent);
    }

    #[test]
    fn aws_error_without_a_missing_resource_is_retryable() {
        let err = AwsError::new("sqs.SendMessage", &Inner2);
        assert!(err.is_retryable());
    }

    #[derive(Debug, thiserror::Error)]
    #[error("dispatch failure: timed out")]
    struct Inner2;
}
