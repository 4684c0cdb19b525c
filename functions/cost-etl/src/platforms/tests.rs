//! Unit tests of what every adapter shares: error classes, request and row helpers, redaction.

use super::*;
use crate::normalize::RowError;
use common::Retryable;
use std::time::Duration;

#[test]
fn each_error_knows_whether_to_retry() {
    let p = Platform::Meta;
    let retryable = [
        PlatformError::RateLimited { platform: p, detail: "x".into(), retry_after: Some(Duration::from_secs(60)) },
        PlatformError::Unavailable { platform: p, status: 503, detail: "x".into() },
        PlatformError::Timeout { platform: p, after: Duration::from_secs(1) },
        PlatformError::Transport { platform: p, detail: "x".into() },
        PlatformError::BadResponse { platform: p, detail: "x".into() },
    ];
    assert!(retryable.iter().all(|e| e.is_retryable()));
    assert_eq!(retryable[0].retry_after(), Some(Duration::from_secs(60)));
    let permanent = [
        PlatformError::InvalidCredentials { platform: p, detail: "x".into() },
        PlatformError::UnknownAccount { platform: p, account: "act_1".into(), detail: "x".into() },
        PlatformError::PermissionDenied { platform: p, detail: "x".into() },
        PlatformError::Rejected { platform: p, status: 400, detail: "x".into() },
        PlatformError::NotSupported { platform: p },
        PlatformError::JobTooLarge { platform: p, share: crate::config::JobMemory { max_bytes: 1 << 20, memory_mb: 128, jobs: 10 }, rows: 0 },
    ];
    assert!(permanent.iter().all(|e| !e.is_retryable()));
}

#[test]
fn shared_row_and_request_helpers() {
    let p = Platform::Tiktok;
    assert_eq!(call_timeout(p, Duration::from_secs(30), Deadline::after(Duration::from_secs(3600))).unwrap(), Duration::from_secs(30));
    assert!(call_timeout(p, Duration::from_secs(30), Deadline::after(Duration::from_secs(5))).unwrap() <= Duration::from_secs(5));
    assert!(matches!(call_timeout(p, Duration::from_secs(30), Deadline::after(Duration::ZERO)), Err(PlatformError::Timeout { .. })));

    let count = |json: &str| scalar_count("clicks", serde_json::from_str::<Option<Scalar>>(json).unwrap().as_ref());
    assert_eq!(count("null"), Ok(0));
    assert_eq!(count(r#""12""#), Ok(12));
    assert_eq!(count("12"), Ok(12));
    for bad in ["-1", "1.5", r#""1e3""#, "18446744073709551615"] {
        assert!(matches!(count(bad), Err(RowError::Count { field: "clicks", .. })), "{bad}");
    }

    assert_eq!(row_currency("currency", "KRW".into()), Ok("KRW".to_string()));
    for bad in ["krw", "KRWX", "", "K1W"] {
        assert!(matches!(row_currency("currency", bad.into()), Err(RowError::Invalid { field: "currency", .. })), "{bad}");
    }

    let mut headers = reqwest::header::HeaderMap::new();
    assert_eq!(retry_after_header(&headers), None);
    headers.insert(reqwest::header::RETRY_AFTER, " 30 ".parse().unwrap());
    assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(30)));
    headers.insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap());
    assert_eq!(retry_after_header(&headers), None);
}

#[test]
fn redacted_values_never_print() {
    let secret: Redacted = serde_json::from_str("\"EAAB-very-secret\"").unwrap();
    assert_eq!(format!("{secret:?}"), "[redacted]");
    assert_eq!(secret.expose(), "EAAB-very-secret");
}
