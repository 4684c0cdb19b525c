//! [`PlatformError`]: why a platform fetch failed, its stable code for the DLQ and metrics, and
//! whether a retry may help.

use cost_job::Platform;
use crate::config::JobMemory;
use crate::normalize::RowError;
use common::secrets::SecretError;
use common::{ErrorClass, Retryable};
use std::time::Duration;

/// Why a platform fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{platform}: rate limited ({detail})")]
    RateLimited { platform: Platform, detail: String, retry_after: Option<Duration> },
    #[error("{platform}: unavailable, HTTP {status} ({detail})")]
    Unavailable { platform: Platform, status: u16, detail: String },
    #[error("{platform}: no complete answer within {after:?}")]
    Timeout { platform: Platform, after: Duration },
    #[error("{platform}: request failed: {detail}")]
    Transport { platform: Platform, detail: String },
    #[error("{platform}: unexpected answer: {detail}")]
    BadResponse { platform: Platform, detail: String },
    #[error("{platform}: a report row is invalid: {row}")]
    BadRow { platform: Platform, #[source] row: RowError },
    #[error("{platform}: credentials rejected ({detail}); rotate the secret and redrive the job from the DLQ")]
    InvalidCredentials { platform: Platform, detail: String },
    #[error("{platform}: account {account} does not exist or is not visible to these credentials ({detail})")]
    UnknownAccount { platform: Platform, account: String, detail: String },
    #[error("{platform}: permission denied ({detail})")]
    PermissionDenied { platform: Platform, detail: String },
    #[error("{platform}: request rejected, HTTP {status} ({detail})")]
    Rejected { platform: Platform, status: u16, detail: String },
    #[error("{platform}: answer larger than {limit} bytes")]
    TooLarge { platform: Platform, limit: usize },
    /// The job's answers together passed its share of the function's memory ([`JobMemory`]).
    #[error("{platform}: the answers of this job passed its memory share of {share} after {rows} rows; split the job's date range, raise the function's memory or lower BATCH_CONCURRENCY")]
    JobTooLarge { platform: Platform, share: JobMemory, rows: usize },
    #[error("{platform}: credentials could not be read: {source}")]
    Credentials { platform: Platform, source: SecretError },
    #[error("{platform}: no adapter for this platform in this deploy")]
    NotSupported { platform: Platform },
}

impl PlatformError {
    /// A short stable code for the DLQ `reason_code` attribute, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            PlatformError::RateLimited { .. } => "rate_limited",
            PlatformError::Unavailable { .. } => "unavailable",
            PlatformError::Timeout { .. } => "timeout",
            PlatformError::Transport { .. } => "transport",
            PlatformError::BadResponse { .. } => "bad_response",
            PlatformError::BadRow { .. } => "bad_row",
            PlatformError::InvalidCredentials { .. } => "invalid_credentials",
            PlatformError::UnknownAccount { .. } => "unknown_account",
            PlatformError::PermissionDenied { .. } => "permission_denied",
            PlatformError::Rejected { .. } => "rejected",
            PlatformError::TooLarge { .. } => "too_large",
            PlatformError::JobTooLarge { .. } => "job_too_large",
            PlatformError::Credentials { .. } => "credentials_unreadable",
            PlatformError::NotSupported { .. } => "platform_not_supported",
        }
    }

    /// How long the platform asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PlatformError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Retryable for PlatformError {
    fn class(&self) -> ErrorClass {
        match self {
            PlatformError::RateLimited { .. }
            | PlatformError::Unavailable { .. }
            | PlatformError::Timeout { .. }
            | PlatformError::Transport { .. }
            // A garbled answer is the platform's hiccup until proven otherwise; SQS's
            // maxReceiveCount moves a job that keeps failing to the DLQ.
            | PlatformError::BadResponse { .. }
            | PlatformError::BadRow { .. } => ErrorClass::Retryable,
            PlatformError::InvalidCredentials { .. }
            | PlatformError::UnknownAccount { .. }
            | PlatformError::PermissionDenied { .. }
            | PlatformError::Rejected { .. }
            | PlatformError::TooLarge { .. }
            // The same answer meets the same share on every delivery.
            | PlatformError::JobTooLarge { .. }
            | PlatformError::NotSupported { .. } => ErrorClass::Permanent,
            PlatformError::Credentials { source, .. } => source.class(),
        }
    }
}
