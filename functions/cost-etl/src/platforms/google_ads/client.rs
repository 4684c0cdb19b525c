//! The Google Ads adapter: the secret, OAuth access tokens (exchanged, cached, refreshed once on
//! a 401), the searchStream request and its GAQL query, the answer read batch by batch within
//! the job's share of memory, and the [`CostSource`] impl.

use super::errors::classify_error;
use super::normalize::{parse_error_answer, StreamRows};
use super::wire::{OAuthError, RawGrant};
use super::PLATFORM;
use crate::clients::Clients;
use crate::config::{Config, JobMemory};
use cost_job::{JobSpec, Platform};
use crate::normalize::CostRow;
use crate::platforms::{body_error, call_timeout, read_body_limited, retry_after_header, transport_error, CostSource, JobBudget, PlatformError, Redacted, SecretCache};
use common::http::{BodyError, CappedBody};
use common::text::bounded;
use chrono::NaiveDate;
use common::deadline::Deadline;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Largest searchStream answer accepted, when the job's share of memory leaves that much (it
/// usually does not: the share is the real cap, `JobMemory`). SearchStream sends the whole result
/// set in one body (about 500 bytes per campaign-day); it is parsed batch by batch as it
/// arrives, but its rows are kept, so a job that needs more must be split into shorter date
/// ranges.
pub const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;
/// Largest error answer read (a `google.rpc.Status` is a few KB); a larger one is classified by
/// its HTTP status alone.
pub const MAX_ERROR_BYTES: usize = 1024 * 1024;
/// Largest token endpoint answer accepted.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// An access token is refreshed this long before its `expires_in` runs out, so that a request
/// sent with it does not arrive after it expired.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct GoogleAdsSecret {
    /// Sunset by Google on 2026-09-09 (the API now ignores it); sent when still configured.
    #[serde(default)]
    developer_token: Option<Redacted>,
    client_id: Redacted,
    client_secret: Redacted,
    refresh_token: Redacted,
    #[serde(default)]
    login_customer_id: Option<String>,
}

/// An access token and until when it may be sent.
struct AccessToken {
    token: Redacted,
    usable_until: Instant,
}

pub struct GoogleAdsAdapter {
    http: reqwest::Client,
    base: String,
    version: String,
    token_url: String,
    secret: SecretCache<GoogleAdsSecret>,
    access: tokio::sync::Mutex<Option<AccessToken>>,
    timeout: Duration,
    memory: JobMemory,
}

/// What one searchStream call gave: rows, or a 401 worth one token refresh.
enum Attempt {
    Rows(Vec<CostRow>),
    Unauthenticated(PlatformError),
}

impl GoogleAdsAdapter {
    pub fn new(config: &Config, clients: &Clients) -> GoogleAdsAdapter {
        GoogleAdsAdapter {
            http: clients.http.clone(),
            base: config.endpoints.google_ads_api_base.clone(),
            version: config.endpoints.google_ads_api_version.clone(),
            token_url: config.endpoints.google_oauth_token_url.clone(),
            secret: SecretCache::new(clients.secret_source(), config.secret_id(PLATFORM)),
            access: tokio::sync::Mutex::new(None),
            timeout: config.platform_timeout,
            memory: config.job_memory,
        }
    }

    async fn fetch_all(&self, job: &JobSpec, deadline: Deadline) -> Result<Vec<CostRow>, PlatformError> {
        let secret = self.secret.get().await.map_err(|source| PlatformError::Credentials { platform: PLATFORM, source })?;
        let result = async {
            let login_customer_id = secret.login_customer_id.as_deref().map(parse_login_customer_id).transpose()?.flatten();
            let token = self.access_token(&secret, deadline, None).await?;
            match self.search_stream(job, &secret, login_customer_id.as_deref(), &token, deadline).await? {
                Attempt::Rows(rows) => Ok(rows),
                Attempt::Unauthenticated(_) => {
                    // The token may have expired or been revoked early: one fresh one, one retry.
                    let fresh = self.access_token(&secret, deadline, Some(&token)).await?;
                    match self.search_stream(job, &secret, login_customer_id.as_deref(), &fresh, deadline).await? {
                        Attempt::Rows(rows) => Ok(rows),
                        Attempt::Unauthenticated(e) => Err(e),
                    }
                }
            }
        }
        .await;
        if let Err(PlatformError::InvalidCredentials { .. }) = &result {
            // The next record re-reads the secret and exchanges again: a rotation is picked up
            // without a cold start.
            *self.access.lock().await = None;
            self.secret.invalidate().await;
        }
        result
    }

    /// The cached access token, or a new one from the token endpoint. `rejected` is a token the
    /// API just refused: it is not handed out again, but a newer one another record already
    /// fetched is (one exchange serves every record that saw the same 401).
    async fn access_token(&self, secret: &GoogleAdsSecret, deadline: Deadline, rejected: Option<&Redacted>) -> Result<Redacted, PlatformError> {
        let mut cached = self.access.lock().await;
        if let Some(current) = cached.as_ref() {
            let refused = rejected.is_some_and(|r| r.expose() == current.token.expose());
            if !refused && Instant::now() < current.usable_until {
                return Ok(current.token.clone());
            }
        }
        let grant = self.exchange(secret, deadline).await?;
        let token = AccessToken { usable_until: usable_until(Instant::now(), grant.expires_in, TOKEN_MARGIN), token: grant.access_token };
        let out = token.token.clone();
        *cached = Some(token);
        Ok(out)
    }

    /// `grant_type=refresh_token` at the OAuth token endpoint (RFC 6749 section 6).
    async fn exchange(&self, secret: &GoogleAdsSecret, deadline: Deadline) -> Result<TokenGrant, PlatformError> {
        let timeout = call_timeout(PLATFORM, self.timeout, deadline)?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", secret.client_id.expose())
            .append_pair("client_secret", secret.client_secret.expose())
            .append_pair("refresh_token", secret.refresh_token.expose())
            .finish();
        let response = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transport_error(PLATFORM, e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = retry_after_header(response.headers());
        let body = read_body_limited(PLATFORM, response, MAX_TOKEN_BYTES, timeout).await?;
        parse_token_answer(status, &body, retry_after)
    }

    async fn search_stream(&self, job: &JobSpec, secret: &GoogleAdsSecret, login_customer_id: Option<&str>, token: &Redacted, deadline: Deadline) -> Result<Attempt, PlatformError> {
        let timeout = call_timeout(PLATFORM, self.timeout, deadline)?;
        let url = search_stream_url(&self.base, &self.version, job);
        let body = serde_json::json!({ "query": gaql(job.date_from, job.date_to) }).to_string();
        let mut request = self
            .http
            .post(url)
            .bearer_auth(token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(timeout);
        if let Some(developer_token) = &secret.developer_token {
            request = request.header("developer-token", developer_token.expose());
        }
        if let Some(login) = login_customer_id {
            request = request.header("login-customer-id", login);
        }
        let response = request.send().await.map_err(|e| transport_error(PLATFORM, e, timeout))?;
        let status = response.status().as_u16();
        let result = if status == 200 { self.read_stream(job, response, timeout).await } else { Err(read_error_answer(job, status, response, timeout).await) };
        match result {
            Ok(rows) => Ok(Attempt::Rows(rows)),
            Err(e @ PlatformError::InvalidCredentials { .. }) => Ok(Attempt::Unauthenticated(e)),
            Err(e) => Err(e),
        }
    }

    /// The rows of a 200 answer, parsed batch by batch as the body arrives. The whole body is
    /// capped by the job's share of memory (and `MAX_STREAM_BYTES`): an endless or huge stream
    /// ends the job with `job_too_large` instead of the invocation with an out-of-memory kill.
    async fn read_stream(&self, job: &JobSpec, response: reqwest::Response, timeout: Duration) -> Result<Vec<CostRow>, PlatformError> {
        let mut budget = JobBudget::new(PLATFORM, self.memory);
        let cap = budget.next_cap(MAX_STREAM_BYTES);
        let failed = |budget: &JobBudget, err: BodyError| budget.explain(body_error(PLATFORM, err, timeout));
        let mut body = CappedBody::new(response, cap).map_err(|e| failed(&budget, e))?;
        let mut stream = StreamRows::new(job);
        while let Some(chunk) = body.next_chunk().await.map_err(|e| failed(&budget, e))? {
            let bytes = chunk.len();
            let rows = stream.feed(chunk)?;
            budget.record(bytes, rows);
        }
        stream.finish()
    }
}

/// A non-200 searchStream answer, read whole but small, and classified.
async fn read_error_answer(job: &JobSpec, status: u16, response: reqwest::Response, timeout: Duration) -> PlatformError {
    match read_body_limited(PLATFORM, response, MAX_ERROR_BYTES, timeout).await {
        Ok(body) => parse_error_answer(job, status, &body),
        // Too large to be a google.rpc.Status: the HTTP status alone says what it is.
        Err(PlatformError::TooLarge { .. }) => classify_error(status, None, job.account_id.as_str()),
        Err(e) => e,
    }
}

impl CostSource for GoogleAdsAdapter {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn fetch<'a>(&'a self, job: &'a JobSpec, deadline: Deadline) -> BoxFuture<'a, Result<Vec<CostRow>, PlatformError>> {
        Box::pin(self.fetch_all(job, deadline))
    }
}

/// The campaign-day report of `from..=to` (both inclusive, in the account's time zone).
pub fn gaql(from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "SELECT campaign.id, campaign.name, customer.currency_code, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks \
         FROM campaign WHERE segments.date BETWEEN '{}' AND '{}'",
        from.format("%Y-%m-%d"),
        to.format("%Y-%m-%d")
    )
}

/// The searchStream URL of the job's customer (already canonical digits, see `job.rs`).
pub fn search_stream_url(base: &str, version: &str, job: &JobSpec) -> String {
    format!("{}/{version}/customers/{}/googleAds:searchStream", base.trim_end_matches('/'), job.account_id.as_str())
}

/// The secret's `login_customer_id` as the header wants it: ten digits, dashes removed. Empty
/// means "not set".
pub(super) fn parse_login_customer_id(raw: &str) -> Result<Option<String>, PlatformError> {
    let digits: String = raw.trim().chars().filter(|c| *c != '-').collect();
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PlatformError::InvalidCredentials {
            platform: PLATFORM,
            detail: "login_customer_id in the secret is not a customer id (digits, optionally grouped with dashes like 123-456-7890)".into(),
        });
    }
    Ok(Some(digits))
}

/// Longest lifetime believed of an access token: Google grants an hour; an `expires_in` beyond
/// a day is not believed (and one near `u64::MAX` would overflow the clock).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Until when a token granted at `now` with `expires_in` seconds may be sent: `margin` before it
/// expires, and no later than a day after `now` (`MAX_TOKEN_LIFETIME`). A token that lives less than
/// the margin is used for the request at hand only.
pub fn usable_until(now: Instant, expires_in: u64, margin: Duration) -> Instant {
    let lifetime = Duration::from_secs(expires_in).min(MAX_TOKEN_LIFETIME).saturating_sub(margin);
    now.checked_add(lifetime).unwrap_or(now)
}

/// A token endpoint grant.
pub struct TokenGrant {
    pub access_token: Redacted,
    pub expires_in: u64,
}

/// The token endpoint's answer, classified. `invalid_grant` (refresh token revoked or expired),
/// `invalid_client` and `unauthorized_client` are permanent: the secret must be rotated.
pub fn parse_token_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Result<TokenGrant, PlatformError> {
    if status == 200 {
        let bad = |why: &str| PlatformError::BadResponse { platform: PLATFORM, detail: format!("token endpoint: {why}") };
        let grant: RawGrant = serde_json::from_slice(body).map_err(|e| bad(&format!("not a token answer ({})", common::config::json_error_without_values(&e))))?;
        let access_token = grant.access_token.filter(|t| !t.expose().is_empty()).ok_or_else(|| bad("no access_token"))?;
        if grant.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
            return Err(bad("token_type is not Bearer"));
        }
        // RFC 6749 makes expires_in optional; Google always sends it. Without it, assume the
        // documented one hour.
        return Ok(TokenGrant { access_token, expires_in: grant.expires_in.unwrap_or(3600) });
    }
    let oauth = serde_json::from_slice::<OAuthError>(body).ok();
    let detail = match &oauth {
        Some(e) => format!("token endpoint HTTP {status}: {} ({})", bounded(&e.error, 40), bounded(&e.error_description, 200)),
        None => format!("token endpoint HTTP {status}"),
    };
    match (status, oauth.as_ref().map(|e| e.error.as_str())) {
        (429, _) => Err(PlatformError::RateLimited { platform: PLATFORM, detail, retry_after }),
        (status, _) if super::errors::transient_http(status) => Err(PlatformError::Unavailable { platform: PLATFORM, status, detail }),
        (_, Some("invalid_grant" | "invalid_client" | "unauthorized_client")) | (401, _) => Err(PlatformError::InvalidCredentials { platform: PLATFORM, detail }),
        _ => Err(PlatformError::Rejected { platform: PLATFORM, status, detail }),
    }
}
