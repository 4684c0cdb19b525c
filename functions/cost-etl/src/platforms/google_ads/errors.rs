//! Google Ads error answers classified: by their `GoogleAdsFailure` codes, then the canonical
//! status, then the HTTP status; the retry delay they ask for read from proto `Duration`s.

use super::wire::RpcStatus;
use super::PLATFORM;
use crate::platforms::PlatformError;
use common::text::bounded;
use std::time::Duration;

/// The `GoogleAdsFailure` error codes of a status, as `(family, code)`, e.g.
/// `("authorizationError", "CUSTOMER_NOT_ENABLED")`, and the retry delay it asks for.
fn failure_codes(status: &RpcStatus) -> (Vec<(String, String)>, Option<Duration>) {
    let mut codes = Vec::new();
    let mut delay: Option<Duration> = None;
    let mut longest = |d: Option<Duration>| {
        if let Some(d) = d {
            delay = Some(delay.map_or(d, |old| old.max(d)));
        }
    };
    for detail in &status.details {
        let kind = detail.get("@type").and_then(|t| t.as_str()).unwrap_or_default();
        if kind.ends_with(".errors.GoogleAdsFailure") {
            for error in detail.get("errors").and_then(|e| e.as_array()).into_iter().flatten() {
                if let Some(serde_json::Value::Object(code)) = error.get("errorCode") {
                    for (family, value) in code {
                        codes.push((family.clone(), value.as_str().unwrap_or_default().to_string()));
                    }
                }
                longest(error.pointer("/details/quotaErrorDetails/retryDelay").and_then(|d| d.as_str()).and_then(parse_proto_duration));
            }
        } else if kind == "type.googleapis.com/google.rpc.RetryInfo" {
            longest(detail.get("retryDelay").and_then(|d| d.as_str()).and_then(parse_proto_duration));
        }
    }
    (codes, delay)
}

/// A proto3 JSON `Duration` ("30s", "1.5s"), rounded up to whole seconds (SQS visibility has
/// second granularity). Anything else is `None`.
pub fn parse_proto_duration(text: &str) -> Option<Duration> {
    let number = text.strip_suffix('s')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let secs: u64 = whole.parse().ok()?;
    let round_up = fraction.bytes().any(|b| b != b'0');
    Some(Duration::from_secs(secs + u64::from(round_up)))
}

/// Error codes that mean "this customer cannot be reported on": it does not exist, its id is
/// malformed, or it is not enabled (cancelled, suspended, never set up).
const UNKNOWN_CUSTOMER_CODES: [(&str, &str); 4] = [
    ("authenticationError", "CUSTOMER_NOT_FOUND"),
    ("authenticationError", "CLIENT_CUSTOMER_ID_INVALID"),
    ("authorizationError", "CUSTOMER_NOT_ENABLED"),
    ("requestError", "INVALID_CUSTOMER_ID"),
];

/// An error answer, classified: by its `GoogleAdsFailure` codes first (they are precise), then
/// by the canonical `status`, then by the HTTP status.
pub fn classify_error(http_status: u16, status: Option<&RpcStatus>, account: &str) -> PlatformError {
    let empty = RpcStatus::default();
    let rpc = status.unwrap_or(&empty);
    let (codes, retry_after) = failure_codes(rpc);
    let request_id = rpc.details.iter().find_map(|d| d.get("requestId").and_then(|r| r.as_str())).map(|r| format!("; request {}", bounded(r, 40))).unwrap_or_default();
    let code_text = codes.first().map(|(f, c)| format!(" {}.{}", bounded(f, 40), bounded(c, 60))).unwrap_or_default();
    let detail = match status {
        Some(s) => format!("HTTP {http_status}, {}{code_text}: {}{request_id}", bounded(&s.status, 30), bounded(&s.message, 300)),
        None => format!("HTTP {http_status}, body is not a google.rpc.Status"),
    };
    let has = |family: &str, code: &str| codes.iter().any(|(f, c)| f == family && c == code);
    // The HTTP status of a streamed error is 200; the Status's own code is the HTTP one then.
    let http = if http_status == 200 { u16::try_from(rpc.code).unwrap_or(0) } else { http_status };
    if UNKNOWN_CUSTOMER_CODES.iter().any(|(f, c)| has(f, c)) {
        return PlatformError::UnknownAccount { platform: PLATFORM, account: account.to_string(), detail };
    }
    if codes.iter().any(|(f, _)| f == "quotaError") || rpc.status == "RESOURCE_EXHAUSTED" || http == 429 {
        return PlatformError::RateLimited { platform: PLATFORM, detail, retry_after };
    }
    match rpc.status.as_str() {
        status if TRANSIENT_STATUSES.contains(&status) => return PlatformError::Unavailable { platform: PLATFORM, status: http, detail },
        "UNAUTHENTICATED" => return PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        "PERMISSION_DENIED" => return PlatformError::PermissionDenied { platform: PLATFORM, detail },
        _ => {}
    }
    match http {
        401 => PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        403 => PlatformError::PermissionDenied { platform: PLATFORM, detail },
        status if transient_http(status) => PlatformError::Unavailable { platform: PLATFORM, status, detail },
        _ => PlatformError::Rejected { platform: PLATFORM, status: http, detail },
    }
}

/// Canonical statuses (`google.rpc.Code`) of a failure that passes: Google's own guidance is to
/// retry these with backoff. `RESOURCE_EXHAUSTED` is a rate limit, classified before these.
/// `ABORTED` is a concurrency conflict (HTTP 409), `CANCELLED` a request cut off on the way
/// (HTTP 499), neither a verdict on the request itself.
const TRANSIENT_STATUSES: [&str; 5] = ["ABORTED", "CANCELLED", "DEADLINE_EXCEEDED", "INTERNAL", "UNAVAILABLE"];

/// HTTP statuses that say "not now" rather than "never", from the API or a proxy in between:
/// 408 Request Timeout, 409 Conflict (gRPC `ABORTED`), 425 Too Early, 499 (gRPC `CANCELLED`) and
/// every 5xx. 429 is a rate limit, classified before this.
pub(crate) fn transient_http(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 499 | 500..=599)
}
