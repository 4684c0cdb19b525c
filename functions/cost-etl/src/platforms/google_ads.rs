//! Google Ads API: campaign cost per day through `GoogleAdsService.SearchStream` (REST).
//!
//! Credentials are an OAuth refresh token (secret `{SECRETS_PREFIX}/google_ads`), exchanged at
//! the OAuth token endpoint for a short-lived access token. The access token is cached for the
//! cold start until shortly before it expires; concurrent records wait for the one exchange in
//! flight, and a 401 from the API triggers one refresh and one retry of that request.
//!
//! `POST {GOOGLE_ADS_API_BASE}/{version}/customers/{id}/googleAds:searchStream` with a GAQL query
//! at campaign level answers with the whole result set at once: a JSON array of batches
//! `{"results":[GoogleAdsRow..],"fieldMask","requestId"}` in lowerCamelCase, int64 values as
//! strings, zero metrics possibly left out. Errors are `google.rpc.Status` JSON
//! (`{"error":{"code","message","status","details":[GoogleAdsFailure | RetryInfo]}}`), either as
//! the whole body or as an element of the stream array when the stream fails part-way.
//!
//! Neither token is ever put in a URL, a log line or an error.

use super::{bounded, call_timeout, read_body_limited, retry_after_header, row_currency, scalar_count, transport_error, CostSource, PlatformError, Redacted, Scalar, SecretCache};
use crate::config::{Clients, Config};
use crate::job::{JobSpec, Platform};
use crate::normalize::{CostRow, RowError};
use chrono::NaiveDate;
use common::deadline::Deadline;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::time::{Duration, Instant};

const PLATFORM: Platform = Platform::GoogleAds;
/// Largest searchStream answer accepted. SearchStream sends the whole result set in one body
/// (about 500 bytes per campaign-day), so this is generous: some 130,000 campaign-days per job.
/// A job that needs more must be split into shorter date ranges.
pub const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;
/// Result batches accepted in one stream (the API sends up to 10,000 rows per batch).
pub const MAX_STREAM_BATCHES: usize = 10_000;
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
            secret: SecretCache::new(clients.secrets.clone(), config.secret_id(PLATFORM)),
            access: tokio::sync::Mutex::new(None),
            timeout: config.platform_timeout,
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
        let body = read_body_limited(PLATFORM, response, MAX_STREAM_BYTES, timeout).await?;
        match parse_stream(job, status, &body) {
            Ok(rows) => Ok(Attempt::Rows(rows)),
            Err(e @ PlatformError::InvalidCredentials { .. }) => Ok(Attempt::Unauthenticated(e)),
            Err(e) => Err(e),
        }
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
fn parse_login_customer_id(raw: &str) -> Result<Option<String>, PlatformError> {
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

/// Until when a token granted at `now` with `expires_in` seconds may be sent: `margin` before it
/// expires. A token that lives less than the margin is used for the request at hand only.
pub fn usable_until(now: Instant, expires_in: u64, margin: Duration) -> Instant {
    now + Duration::from_secs(expires_in).saturating_sub(margin)
}

/// A token endpoint grant.
pub struct TokenGrant {
    pub access_token: Redacted,
    pub expires_in: u64,
}

#[derive(Deserialize)]
struct RawGrant {
    access_token: Option<Redacted>,
    expires_in: Option<u64>,
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
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
        (500.., _) => Err(PlatformError::Unavailable { platform: PLATFORM, status, detail }),
        (_, Some("invalid_grant" | "invalid_client" | "unauthorized_client")) | (401, _) => Err(PlatformError::InvalidCredentials { platform: PLATFORM, detail }),
        _ => Err(PlatformError::Rejected { platform: PLATFORM, status, detail }),
    }
}

// --- the answer -----------------------------------------------------------------------------

/// One element of the stream array: a batch of rows, or the error that ended the stream.
#[derive(Debug, Deserialize)]
struct StreamElement {
    #[serde(default)]
    results: Vec<RawRow>,
    error: Option<RpcStatus>,
}

/// `google.rpc.Status` as REST sends it.
#[derive(Debug, Default, Deserialize)]
pub struct RpcStatus {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: RpcStatus,
}

/// A `GoogleAdsRow` with the fields the query selects.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRow {
    pub customer: Option<RawCustomer>,
    pub campaign: Option<RawCampaign>,
    pub metrics: Option<RawMetrics>,
    pub segments: Option<RawSegments>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCustomer {
    pub currency_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCampaign {
    pub id: Option<Scalar>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMetrics {
    pub cost_micros: Option<Scalar>,
    pub impressions: Option<Scalar>,
    pub clicks: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSegments {
    pub date: Option<String>,
}

/// One `GoogleAdsRow` to the common schema. Zero metrics may be left out and count as 0;
/// a missing campaign id, currency or date is an error.
pub fn normalize_row(job: &JobSpec, raw: RawRow) -> Result<CostRow, RowError> {
    let date_text = raw.segments.and_then(|s| s.date).filter(|d| !d.is_empty()).ok_or(RowError::Missing { field: "segments.date" })?;
    let date: NaiveDate = date_text.parse().map_err(|_| RowError::Invalid { field: "segments.date", reason: format!("{:?} is not a date", bounded(&date_text, 20)) })?;
    let currency = raw.customer.and_then(|c| c.currency_code).filter(|c| !c.is_empty()).ok_or(RowError::Missing { field: "customer.currency_code" })?;
    let currency = row_currency("customer.currency_code", currency)?;
    let campaign = raw.campaign.unwrap_or_default();
    let campaign_id = campaign.id.map(|id| id.text()).filter(|id| !id.is_empty()).ok_or(RowError::Missing { field: "campaign.id" })?;
    if campaign_id.len() > 32 || !campaign_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RowError::Invalid { field: "campaign.id", reason: format!("{:?} is not a campaign id", bounded(&campaign_id, 32)) });
    }
    let metrics = raw.metrics.unwrap_or_default();
    Ok(CostRow {
        date,
        platform: PLATFORM,
        account_id: job.account_id.to_string(),
        campaign_id,
        campaign_name: campaign.name.unwrap_or_default(),
        currency,
        spend_micros: scalar_count("metrics.cost_micros", metrics.cost_micros.as_ref())?,
        impressions: scalar_count("metrics.impressions", metrics.impressions.as_ref())?,
        clicks: scalar_count("metrics.clicks", metrics.clicks.as_ref())?,
    })
}

/// A searchStream answer (`http_status` and body) to rows or a classified error. A 200 whose
/// array carries an error element failed part-way: the rows before it are not trusted.
pub fn parse_stream(job: &JobSpec, http_status: u16, body: &[u8]) -> Result<Vec<CostRow>, PlatformError> {
    let account = job.account_id.as_str();
    if http_status != 200 {
        // The error is one Status object, or (streamed) an array holding one. Which one is
        // decided by the first byte: serde would read a struct from an array too.
        let status = match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error),
            Some(b'[') => serde_json::from_slice::<Vec<StreamElement>>(body).ok().and_then(|elements| elements.into_iter().find_map(|e| e.error)),
            _ => None,
        };
        return Err(classify_error(http_status, status.as_ref(), account));
    }
    let elements: Vec<StreamElement> = serde_json::from_slice(body).map_err(|e| PlatformError::BadResponse {
        platform: PLATFORM,
        detail: format!("not a searchStream answer: {}", common::config::json_error_without_values(&e)),
    })?;
    if elements.len() > MAX_STREAM_BATCHES {
        return Err(PlatformError::BadResponse { platform: PLATFORM, detail: format!("more than {MAX_STREAM_BATCHES} result batches") });
    }
    let mut rows = Vec::with_capacity(elements.iter().map(|e| e.results.len()).sum());
    for element in elements {
        if let Some(status) = element.error {
            return Err(classify_error(http_status, Some(&status), account));
        }
        for raw in element.results {
            rows.push(normalize_row(job, raw).map_err(|row| PlatformError::BadRow { platform: PLATFORM, row })?);
        }
    }
    Ok(rows)
}

/// Normalize a whole searchStream body (for the bench: the pure part of a fetch).
pub fn normalize_page(job: &JobSpec, body: &[u8]) -> Result<Vec<CostRow>, PlatformError> {
    parse_stream(job, 200, body)
}

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
        "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" => return PlatformError::Unavailable { platform: PLATFORM, status: http, detail },
        "UNAUTHENTICATED" => return PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        "PERMISSION_DENIED" => return PlatformError::PermissionDenied { platform: PLATFORM, detail },
        _ => {}
    }
    match http {
        401 => PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        403 => PlatformError::PermissionDenied { platform: PLATFORM, detail },
        500.. => PlatformError::Unavailable { platform: PLATFORM, status: http, detail },
        _ => PlatformError::Rejected { platform: PLATFORM, status: http, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::Retryable;
    use serde_json::json;

    fn job() -> JobSpec {
        JobSpec::parse(r#"{"platform":"google_ads","account_id":"123-456-7890","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap()
    }

    #[test]
    fn gaql_selects_the_campaign_day_report_of_the_range() {
        let q = gaql("2026-11-20".parse().unwrap(), "2026-11-22".parse().unwrap());
        assert_eq!(
            q,
            "SELECT campaign.id, campaign.name, customer.currency_code, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks \
             FROM campaign WHERE segments.date BETWEEN '2026-11-20' AND '2026-11-22'"
        );
        // Four-digit years stay zero-padded (the GAQL date literal is YYYY-MM-DD).
        assert!(gaql("0999-01-05".parse().unwrap(), "0999-01-05".parse().unwrap()).ends_with("BETWEEN '0999-01-05' AND '0999-01-05'"));
    }

    #[test]
    fn both_spellings_of_a_customer_id_are_one_url_and_one_s3_prefix() {
        let dashed = job();
        let plain = JobSpec::parse(r#"{"platform":"google_ads","account_id":"1234567890","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap();
        assert_eq!(search_stream_url("http://x/", "v26", &dashed), "http://x/v26/customers/1234567890/googleAds:searchStream");
        assert_eq!(search_stream_url("http://x", "v26", &plain), search_stream_url("http://x/", "v26", &dashed));
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        assert_eq!(crate::sink::object_key(PLATFORM, &dashed.account_id, day), crate::sink::object_key(PLATFORM, &plain.account_id, day));
        assert_eq!(crate::sink::object_key(PLATFORM, &plain.account_id, day), "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl");
        assert_eq!(dashed.canonical(), plain.canonical());
    }

    #[test]
    fn login_customer_ids_lose_their_dashes_and_must_be_digits() {
        assert_eq!(parse_login_customer_id("111-222-3333").unwrap().as_deref(), Some("1112223333"));
        assert_eq!(parse_login_customer_id("1112223333").unwrap().as_deref(), Some("1112223333"));
        assert_eq!(parse_login_customer_id("").unwrap(), None);
        let err = parse_login_customer_id("mcc-1").unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
        assert!(!err.to_string().contains("mcc-1"), "{err}");
    }

    #[test]
    fn a_token_is_reused_until_a_minute_before_it_expires() {
        let now = Instant::now();
        assert_eq!(usable_until(now, 3599, TOKEN_MARGIN), now + Duration::from_secs(3539));
        assert_eq!(usable_until(now, 60, TOKEN_MARGIN), now, "a token at the margin is used once, not cached");
        assert_eq!(usable_until(now, 5, TOKEN_MARGIN), now);
    }

    #[test]
    fn token_answers_are_classified() {
        let grant = parse_token_answer(200, br#"{"access_token":"ya29.secret","expires_in":3599,"token_type":"Bearer","scope":"https://www.googleapis.com/auth/adwords"}"#, None).unwrap();
        assert_eq!((grant.access_token.expose(), grant.expires_in), ("ya29.secret", 3599));
        assert_eq!(parse_token_answer(200, br#"{"access_token":"x","token_type":"mac"}"#, None).err().unwrap().code(), "bad_response");
        assert_eq!(parse_token_answer(200, br#"{"expires_in":1}"#, None).err().unwrap().code(), "bad_response");
        let revoked = parse_token_answer(400, br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#, None).err().unwrap();
        assert_eq!(revoked.code(), "invalid_credentials");
        assert!(!revoked.is_retryable());
        assert!(revoked.to_string().contains("invalid_grant"), "{revoked}");
        assert_eq!(parse_token_answer(401, br#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#, None).err().unwrap().code(), "invalid_credentials");
        assert_eq!(parse_token_answer(400, br#"{"error":"invalid_request"}"#, None).err().unwrap().code(), "rejected");
        let busy = parse_token_answer(503, b"<html>", None).err().unwrap();
        assert_eq!(busy.code(), "unavailable");
        assert!(busy.is_retryable());
        let limited = parse_token_answer(429, b"", Some(Duration::from_secs(7))).err().unwrap();
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
    }

    fn row(date: &str) -> serde_json::Value {
        json!({
            "customer": {"resourceName": "customers/1234567890", "currencyCode": "KRW"},
            "campaign": {"resourceName": "customers/1234567890/campaigns/111", "name": "Brand", "id": "111"},
            "metrics": {"costMicros": "1234500000", "impressions": "1000", "clicks": "10"},
            "segments": {"date": date}
        })
    }

    #[test]
    fn rows_normalize_with_exact_micros_and_the_canonical_account() {
        let raw: RawRow = serde_json::from_value(row("2026-11-20")).unwrap();
        let out = normalize_row(&job(), raw).unwrap();
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"date":"2026-11-20","platform":"google_ads","account_id":"1234567890","campaign_id":"111","campaign_name":"Brand","currency":"KRW","spend_micros":1234500000,"impressions":1000,"clicks":10}"#
        );
        // Large int64 values stay exact.
        let mut big = row("2026-11-20");
        big["metrics"]["costMicros"] = json!("9007199254740993");
        assert_eq!(normalize_row(&job(), serde_json::from_value(big).unwrap()).unwrap().spend_micros, 9_007_199_254_740_993);
    }

    #[test]
    fn zero_metrics_may_be_absent_but_identity_may_not() {
        let mut bare = row("2026-11-21");
        bare["metrics"] = json!({});
        let out = normalize_row(&job(), serde_json::from_value(bare).unwrap()).unwrap();
        assert_eq!((out.spend_micros, out.impressions, out.clicks), (0, 0, 0));
        let mut numbers = row("2026-11-21");
        numbers["metrics"] = json!({"impressions": 5});
        numbers["campaign"]["id"] = json!(111);
        let out = normalize_row(&job(), serde_json::from_value(numbers).unwrap()).unwrap();
        assert_eq!((out.campaign_id.as_str(), out.impressions), ("111", 5));
        let broken = |path: &str, value: serde_json::Value| {
            let mut r = row("2026-11-21");
            *r.pointer_mut(path).unwrap() = value;
            normalize_row(&job(), serde_json::from_value(r).unwrap())
        };
        assert!(matches!(broken("/segments/date", json!("21/11/2026")), Err(RowError::Invalid { field: "segments.date", .. })));
        assert!(matches!(broken("/customer", json!({})), Err(RowError::Missing { field: "customer.currency_code" })));
        assert!(matches!(broken("/customer/currencyCode", json!("won")), Err(RowError::Invalid { .. })));
        assert!(matches!(broken("/campaign", json!({"name": "x"})), Err(RowError::Missing { field: "campaign.id" })));
        assert!(matches!(broken("/campaign/id", json!("../1")), Err(RowError::Invalid { field: "campaign.id", .. })));
        assert!(matches!(broken("/metrics/costMicros", json!("-5")), Err(RowError::Count { .. })));
        assert!(matches!(broken("/metrics/clicks", json!("1.5")), Err(RowError::Count { .. })));
    }

    #[test]
    fn a_stream_of_several_batches_is_one_list_of_rows() {
        let body = json!([
            {"results": [row("2026-11-20"), row("2026-11-21")], "fieldMask": "campaign.id,campaign.name", "requestId": "a"},
            {"results": [row("2026-11-22")], "fieldMask": "campaign.id,campaign.name", "requestId": "a", "queryResourceConsumption": "12"}
        ]);
        let rows = normalize_page(&job(), body.to_string().as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.date.to_string()).collect::<Vec<_>>(), ["2026-11-20", "2026-11-21", "2026-11-22"]);
        // No rows at all: one batch without results.
        assert!(normalize_page(&job(), br#"[{"fieldMask":"campaign.id","requestId":"b"}]"#).unwrap().is_empty());
        assert!(normalize_page(&job(), b"[]").unwrap().is_empty());
        assert_eq!(normalize_page(&job(), br#"{"results":[]}"#).unwrap_err().code(), "bad_response");
    }

    fn failure(http: u16, status: &str, family: &str, code: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut error = json!({"errorCode": {family: code}, "message": "m"});
        if !extra.is_null() {
            error["details"] = extra;
        }
        json!({"error": {"code": http, "message": "Request contains an invalid argument.", "status": status, "details": [{
            "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
            "errors": [error],
            "requestId": "req-1"
        }]}})
    }

    fn classify(http: u16, body: serde_json::Value) -> PlatformError {
        parse_stream(&job(), http, body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn errors_are_classified_by_failure_code_then_status() {
        let quota = failure(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED", json!({"quotaErrorDetails": {"rateScope": "ACCOUNT", "rateName": "Number of operations for basic access", "retryDelay": "30s"}}));
        let limited = classify(429, quota);
        assert_eq!(limited.code(), "rate_limited");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(30)));
        assert!(limited.to_string().contains("quotaError.RESOURCE_EXHAUSTED") && limited.to_string().contains("req-1"), "{limited}");

        let retry_info = json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}]}});
        assert_eq!(classify(429, retry_info).retry_after(), Some(Duration::from_secs(3)));

        for (http, status) in [(503, "UNAVAILABLE"), (500, "INTERNAL"), (504, "DEADLINE_EXCEEDED")] {
            let err = classify(http, json!({"error": {"code": http, "message": "m", "status": status}}));
            assert_eq!(err.code(), "unavailable", "{status}");
            assert!(err.is_retryable());
        }
        assert_eq!(classify(502, json!("<html>bad gateway</html>")).code(), "unavailable");
        let token = classify(401, json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}));
        assert_eq!(token.code(), "invalid_credentials");
        assert!(!token.is_retryable());
        let denied = classify(403, failure(403, "PERMISSION_DENIED", "authorizationError", "USER_PERMISSION_DENIED", serde_json::Value::Null));
        assert_eq!(denied.code(), "permission_denied");
        for (http, status, family, code) in [
            (403, "PERMISSION_DENIED", "authorizationError", "CUSTOMER_NOT_ENABLED"),
            (401, "UNAUTHENTICATED", "authenticationError", "CUSTOMER_NOT_FOUND"),
            (400, "INVALID_ARGUMENT", "requestError", "INVALID_CUSTOMER_ID"),
        ] {
            let err = classify(http, failure(http, status, family, code, serde_json::Value::Null));
            assert_eq!(err.code(), "unknown_account", "{code}");
            assert!(!err.is_retryable());
            assert!(err.to_string().contains("1234567890"), "{err}");
        }
        let query = classify(400, failure(400, "INVALID_ARGUMENT", "queryError", "UNRECOGNIZED_FIELD", serde_json::Value::Null));
        assert_eq!(query.code(), "rejected");
        assert!(!query.is_retryable());
    }

    #[test]
    fn an_error_inside_a_200_stream_fails_the_whole_answer() {
        let body = json!([
            {"results": [row("2026-11-20")], "fieldMask": "campaign.id", "requestId": "a"},
            failure(503, "UNAVAILABLE", "internalError", "TRANSIENT_ERROR", serde_json::Value::Null)
        ]);
        assert_eq!(classify(200, body).code(), "unavailable");
        // A non-200 body shaped as a stream array with one error element.
        let arrayed = json!([failure(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED", json!({"quotaErrorDetails": {"retryDelay": "12s"}}))]);
        assert_eq!(classify(429, arrayed).retry_after(), Some(Duration::from_secs(12)));
    }

    #[test]
    fn durations_parse_only_in_proto_json_form() {
        assert_eq!(parse_proto_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_proto_duration("0.000000001s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_proto_duration("5.000s"), Some(Duration::from_secs(5)));
        for bad in ["30", "s", "-1s", "1.s5", "1e3s", "99999999999999s", ""] {
            assert_eq!(parse_proto_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn error_details_are_bounded() {
        let long = json!({"error": {"code": 400, "message": "x".repeat(5000), "status": "INVALID_ARGUMENT"}});
        assert!(classify(400, long).to_string().len() < 600);
    }
}
