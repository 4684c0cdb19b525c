//! Ad platforms behind one trait, chosen by the job's `platform` through one registry.
//!
//! An adapter knows its platform's request, paging, error answers and row shape, and returns
//! normalized [`CostRow`]s or a [`PlatformError`] that knows whether it is worth a retry. What
//! every adapter needs is here too: the error type, a credentials cache (one secret read per
//! cold start), and a body reader that refuses oversized answers. Adding a platform is one new
//! file plus one line in [`Registry::from_config`].

pub mod google_ads;
pub mod meta;
pub mod tiktok;

use crate::config::{Clients, Config};
use crate::job::{JobSpec, Platform};
use crate::normalize::{parse_count, CostRow, RowError};
use common::deadline::Deadline;
use common::secrets::SecretError;
use common::{ErrorClass, Retryable};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One platform's reporting API.
pub trait CostSource: Send + Sync {
    fn platform(&self) -> Platform;

    /// Every campaign-day of `job`, normalized. `deadline` bounds the whole fetch.
    fn fetch<'a>(&'a self, job: &'a JobSpec, deadline: Deadline) -> BoxFuture<'a, Result<Vec<CostRow>, PlatformError>>;
}

/// The adapters of this deploy, by platform.
#[derive(Clone, Default)]
pub struct Registry {
    sources: BTreeMap<Platform, Arc<dyn CostSource>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn with(mut self, source: Arc<dyn CostSource>) -> Registry {
        self.sources.insert(source.platform(), source);
        self
    }

    /// Every adapter this build has, configured.
    pub fn from_config(config: &Config, clients: &Clients) -> Registry {
        Registry::new()
            .with(Arc::new(meta::MetaAdapter::new(config, clients)))
            .with(Arc::new(google_ads::GoogleAdsAdapter::new(config, clients)))
            .with(Arc::new(tiktok::TiktokAdapter::new(config, clients)))
    }

    pub fn get(&self, platform: Platform) -> Option<&Arc<dyn CostSource>> {
        self.sources.get(&platform)
    }
}

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
            | PlatformError::NotSupported { .. } => ErrorClass::Permanent,
            PlatformError::Credentials { source, .. } => source.class(),
        }
    }
}

/// A credential string: never printed, not even by `{:?}`.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A platform's credentials secret, read once per cold start and shared by every record.
///
/// Concurrent records wait for the one read in flight instead of each reading the secret.
/// A failed read is not cached (the next record tries again); credentials the platform
/// rejected are dropped with [`SecretCache::invalidate`], so a rotated secret is picked up.
pub struct SecretCache<T> {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    cached: tokio::sync::Mutex<Option<Arc<T>>>,
}

impl<T: DeserializeOwned + Send + Sync> SecretCache<T> {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        SecretCache { client, secret_id, cached: tokio::sync::Mutex::new(None) }
    }

    pub async fn get(&self) -> Result<Arc<T>, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some(value) = cached.as_ref() {
            return Ok(value.clone());
        }
        let value = Arc::new(common::secrets::read_json::<T>(&self.client, &self.secret_id).await?);
        *cached = Some(value.clone());
        Ok(value)
    }

    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// Read a response body, refusing more than `limit` bytes (checked as it arrives, so a
/// hostile or broken server cannot make us buffer gigabytes).
pub async fn read_body_limited(platform: Platform, mut response: reqwest::Response, limit: usize, timeout: Duration) -> Result<Vec<u8>, PlatformError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(PlatformError::TooLarge { platform, limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(platform, e, timeout))? {
        if body.len() + chunk.len() > limit {
            return Err(PlatformError::TooLarge { platform, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest failure, without the URL (query strings may carry tokens).
pub fn transport_error(platform: Platform, err: reqwest::Error, timeout: Duration) -> PlatformError {
    if err.is_timeout() {
        return PlatformError::Timeout { platform, after: timeout };
    }
    let err = err.without_url();
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    PlatformError::Transport { platform, detail }
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

/// A value platforms send as a JSON string or number: proto3 int64s, ids, counts.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

/// A count that may be left out (zero), sent as a string or a JSON number.
pub fn scalar_count(field: &'static str, value: Option<&Scalar>) -> Result<i64, RowError> {
    value.map(|v| parse_count(field, &v.text())).transpose().map(|n| n.unwrap_or(0))
}

/// Whether `code` looks like an ISO 4217 currency code (three upper-case letters).
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// A row's currency, checked to be an ISO 4217 code.
pub fn row_currency(field: &'static str, currency: String) -> Result<String, RowError> {
    if is_currency_code(&currency) {
        Ok(currency)
    } else {
        Err(RowError::Invalid { field, reason: format!("{:?} is not an ISO 4217 code", bounded(&currency, 10)) })
    }
}

/// Cut untrusted text from a platform (error messages) to a loggable size.
pub fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push_str("...");
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
