//! TikTok error answers classified: the `code` of a body (every answer is HTTP 200, errors
//! included) and the real HTTP error statuses of gateways and throttling in front of the API.

use super::wire::Head;
use super::PLATFORM;
use crate::platforms::PlatformError;
use common::text::bounded;
use std::time::Duration;

/// An answer that is not what the API documents.
pub(super) fn bad(detail: String) -> PlatformError {
    PlatformError::BadResponse { platform: PLATFORM, detail }
}

/// A non-zero `code` in an HTTP 200 body, classified.
///
/// 40100 is the QPS/QPM/QPD limit and 51021 "too many requests"; 5xxxx are system errors; 401xx
/// are the token and app credential errors (40102 expired, 40104 missing, 40105 incorrect or
/// revoked); 40001 is "no permission" (for a report: the token cannot see this advertiser);
/// the rest of 4xxxx are parameter errors (40002 includes the 30-day span limit).
pub fn classify_code(code: i64, message: &str, request_id: &str, advertiser: &str) -> PlatformError {
    let request = if request_id.is_empty() { String::new() } else { format!(", request_id {}", bounded(request_id, 64)) };
    let detail = format!("code {code}: {}{request}", bounded(message, 300));
    match code {
        40100 | 51021 | 42900 => PlatformError::RateLimited { platform: PLATFORM, detail, retry_after: None },
        40101..=40199 => PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        40001 => PlatformError::PermissionDenied { platform: PLATFORM, detail: format!("advertiser {advertiser}: {detail}") },
        50000..=59999 => PlatformError::Unavailable { platform: PLATFORM, status: 200, detail },
        _ => PlatformError::Rejected { platform: PLATFORM, status: 200, detail },
    }
}

/// A real HTTP error status (gateways, throttling in front of the API).
pub fn classify_http(status: u16, retry_after: Option<Duration>, body: &[u8], advertiser: &str) -> PlatformError {
    if let Ok(head) = serde_json::from_slice::<Head>(body) {
        if let Some(code) = head.code.filter(|c| *c != 0) {
            let inner = classify_code(code, &head.message, &head.request_id, advertiser);
            // The status wins where it says "try later"; the code says why.
            return match status {
                429 => PlatformError::RateLimited { platform: PLATFORM, detail: format!("HTTP 429, {inner}"), retry_after },
                500..=599 => PlatformError::Unavailable { platform: PLATFORM, status, detail: inner.to_string() },
                _ => inner,
            };
        }
    }
    let detail = format!("HTTP {status}, body is not a TikTok API answer");
    match status {
        429 => PlatformError::RateLimited { platform: PLATFORM, detail, retry_after },
        500..=599 => PlatformError::Unavailable { platform: PLATFORM, status, detail },
        _ => PlatformError::Rejected { platform: PLATFORM, status, detail },
    }
}
