//! [`JobError`]: why a message can never be a job, with a stable code for the DLQ and metrics.
//! Every variant is permanent: the same body can never succeed, so it goes to the dead-letter
//! queue instead of being retried.

use crate::message::MAX_BODY_BYTES;
use chrono::NaiveDate;
use common::{ErrorClass, Retryable};

/// Why a message is not a job. Every variant is permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("invalid job message: body is {bytes} bytes, larger than the {MAX_BODY_BYTES} a job can be")]
    TooLarge { bytes: usize },
    #[error("invalid job message: not JSON ({reason}); send {{\"platform\",\"account_id\",\"date_from\",\"date_to\"}}")]
    NotJson { reason: String },
    #[error("invalid job message: the body must be a JSON object with platform, account_id, date_from and date_to")]
    NotAnObject,
    #[error("invalid job message: field {field} is missing")]
    MissingField { field: &'static str },
    #[error("invalid job message: field {field} must be a string")]
    NotAString { field: &'static str },
    #[error("invalid job message: field {field} must be true or false")]
    NotABoolean { field: &'static str },
    #[error("invalid job message: platform {value} is unknown; use one of {}", crate::Platform::names())]
    UnknownPlatform { value: String },
    #[error("invalid job message: account_id {reason}")]
    InvalidAccountId { reason: String },
    #[error("invalid job message: {field} {value} is not a date; use YYYY-MM-DD")]
    InvalidDate { field: &'static str, value: String },
    #[error("invalid job message: date_from {date_from} is after date_to {date_to}")]
    Reversed { date_from: NaiveDate, date_to: NaiveDate },
    #[error("invalid job message: the range covers {days} days, more than the {max_days} allowed (MAX_JOB_DAYS); split it into several jobs")]
    RangeTooLong { days: i64, max_days: u32 },
}

impl JobError {
    /// A short stable code for the DLQ `reason` attribute and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            JobError::TooLarge { .. } => "too_large",
            JobError::NotJson { .. } => "not_json",
            JobError::NotAnObject => "not_an_object",
            JobError::MissingField { .. } => "missing_field",
            JobError::NotAString { .. } | JobError::NotABoolean { .. } => "wrong_type",
            JobError::UnknownPlatform { .. } => "unknown_platform",
            JobError::InvalidAccountId { .. } => "invalid_account_id",
            JobError::InvalidDate { .. } => "invalid_date",
            JobError::Reversed { .. } => "reversed_dates",
            JobError::RangeTooLong { .. } => "range_too_long",
        }
    }
}

impl Retryable for JobError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

