//! HTTP helpers every adapter shares: a body reader with a size limit, transport errors without
//! URLs, the time-out of one call cut to the invocation's deadline, and `Retry-After`.

use super::PlatformError;
use cost_job::Platform;
use common::deadline::Deadline;
use common::http::{BodyError, CappedBody};
use common::text::error_chain;
use std::time::Duration;

/// Read a response body, refusing more than `limit` bytes (checked as it arrives, so a
/// hostile or broken server cannot make us buffer gigabytes).
pub async fn read_body_limited(platform: Platform, response: reqwest::Response, limit: usize, timeout: Duration) -> Result<Vec<u8>, PlatformError> {
    let failed = |err: BodyError| body_error(platform, err, timeout);
    CappedBody::new(response, limit).map_err(failed)?.read_all().await.map_err(failed)
}

/// A capped body that could not be read (for readers that take it chunk by chunk): too large,
/// or a transport failure without the URL.
pub fn body_error(platform: Platform, err: BodyError, timeout: Duration) -> PlatformError {
    match err {
        BodyError::TooLarge { limit } => PlatformError::TooLarge { platform, limit },
        BodyError::Transport(e) => transport_error(platform, e, timeout),
    }
}

/// A reqwest failure, without the URL (query strings may carry tokens).
pub fn transport_error(platform: Platform, err: reqwest::Error, timeout: Duration) -> PlatformError {
    if err.is_timeout() {
        return PlatformError::Timeout { platform, after: timeout };
    }
    PlatformError::Transport { platform, detail: error_chain(&err.without_url()) }
}

/// The whole-call time-out of one platform request: the configured one, cut to what is left of
/// the invocation; an error when nothing is left.
pub fn call_timeout(platform: Platform, configured: Duration, deadline: Deadline) -> Result<Duration, PlatformError> {
    let timeout = configured.min(deadline.remaining());
    if timeout.is_zero() {
        return Err(PlatformError::Timeout { platform, after: timeout });
    }
    Ok(timeout)
}

/// A `Retry-After` header in seconds (the form these APIs send; an HTTP date counts as absent).
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
