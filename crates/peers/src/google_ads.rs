//! Local Google Ads API peer: the OAuth token endpoint and `GoogleAdsService.SearchStream` over
//! REST, as Google serves them.
//!
//! Follows the public references:
//! - OAuth 2.0 token endpoint (RFC 6749 section 6, Google's "Using OAuth 2.0 for Web Server
//!   Applications"): `POST /token` with form `grant_type=refresh_token&client_id&client_secret&
//!   refresh_token` answers `{"access_token","expires_in","token_type":"Bearer","scope"}`; a
//!   revoked or expired refresh token is 400 `{"error":"invalid_grant","error_description":
//!   "Token has been expired or revoked."}`, an unknown client 401 `invalid_client`.
//! - Google Ads API REST (developers.google.com/google-ads/api/rest/common/search and
//!   rest/reference/.../customers.googleAds/searchStream): `POST /{version}/customers/
//!   {customerId}/googleAds:searchStream`, body `{"query": GAQL}`, headers `Authorization:
//!   Bearer`, `developer-token` (sunset on 2026-09-09 and ignored since, per the developer-token
//!   guide; this peer checks it only when built with one), `login-customer-id`. The answer is a
//!   JSON array of `SearchGoogleAdsStreamResponse` batches (`results`, `fieldMask`,
//!   `requestId`, `queryResourceConsumption` in the last one) of up to 10,000 rows, in
//!   lowerCamelCase (rest/json-mappings), int64 values as strings, zero metrics left out.
//! - Errors (docs/best-practices/understand-api-errors): `google.rpc.Status` JSON
//!   `{"error":{"code","message","status","details":[{"@type":"type.googleapis.com/google.ads.
//!   googleads.vNN.errors.GoogleAdsFailure","errors":[{"errorCode":{..},"message",
//!   "details":{"quotaErrorDetails":{"rateScope","rateName","retryDelay"}}}],"requestId"}]}}`.
//!   Codes used (reference/rpc/*ErrorEnum pages): quotaError RESOURCE_EXHAUSTED (429
//!   RESOURCE_EXHAUSTED), internalError INTERNAL_ERROR / TRANSIENT_ERROR (500 INTERNAL, 503
//!   UNAVAILABLE), authorizationError CUSTOMER_NOT_ENABLED (403 PERMISSION_DENIED, as seen in
//!   the API forum), authenticationError CUSTOMER_NOT_FOUND (the docs do not say which HTTP
//!   status; the peer uses 401 UNAUTHENTICATED, its family's status and the case a client
//!   could mistake for a bad token), queryError BAD_FIELD_NAME / EXPECTED_SELECT / EXPECTED_FROM
//!   / BAD_RESOURCE_TYPE_IN_FROM_CLAUSE / EXPECTED_FILTERS_ON_DATE_RANGE / DATE_RANGE_TOO_NARROW /
//!   BAD_VALUE (400 INVALID_ARGUMENT). A bad access token is the Google front end's plain 401
//!   `{"error":{"code":401,"message":"Request had invalid authentication credentials...",
//!   "status":"UNAUTHENTICATED"}}` without details.
//!
//! Tests seed customers and campaign-days, inject faults per customer, delay answers, expire or
//! revoke tokens, and count token exchanges and searchStream calls.

use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The API's rows per streamed batch.
pub const DEFAULT_BATCH_SIZE: usize = 10_000;
/// Lifetime of an issued access token, as Google's token endpoint grants them.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
const FAILURE_TYPE: &str = "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure";

/// One campaign-day as the peer stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDay {
    pub date: NaiveDate,
    pub campaign_id: u64,
    pub campaign_name: String,
    pub cost_micros: u64,
    pub impressions: u64,
    pub clicks: u64,
}

/// A seeded customer (ad account).
#[derive(Debug, Clone, Default)]
pub struct Customer {
    pub currency: String,
    pub rows: Vec<CampaignDay>,
}

/// A fault injected for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `times` calls get 429 RESOURCE_EXHAUSTED with `retryDelay` of `retry_delay_secs`.
    RateLimited { times: u32, retry_delay_secs: u64 },
    /// Every call gets a 5xx: 500 INTERNAL, or 503 UNAVAILABLE when `unavailable`.
    ServerError { unavailable: bool },
    /// Every call gets 401 UNAUTHENTICATED, whatever the token (a token Google refuses).
    BadToken,
    /// 403 PERMISSION_DENIED, authorizationError CUSTOMER_NOT_ENABLED (cancelled or suspended).
    NotEnabled,
    /// 200 with the first batch, then an error element: the stream broke part-way.
    BreakStream,
    /// 200 with an array of batches that never ends: valid batches of the customer's rows in the
    /// queried range, over and over, sent chunk by chunk until the client goes away (a hostile
    /// or broken server; the client must stop on its own).
    EndlessStream,
}

/// One searchStream request the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub customer: String,
    pub login_customer_id: Option<String>,
    pub developer_token: Option<String>,
    pub status: u16,
}

#[derive(Debug)]
struct Issued {
    expires_at: Instant,
}

#[derive(Debug)]
struct Inner {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    refresh_revoked: bool,
    developer_token: Option<String>,
    token_lifetime: Duration,
    issued: HashMap<String, Issued>,
    exchanges: usize,
    customers: HashMap<String, Customer>,
    faults: HashMap<String, Fault>,
    batch_size: usize,
    delay: Duration,
    calls: Vec<Call>,
}

/// The peer's state, shared between the server and the test that seeds and inspects it.
#[derive(Debug, Clone)]
pub struct GoogleAdsPeer(Arc<Mutex<Inner>>);

impl GoogleAdsPeer {
    /// A peer whose token endpoint knows one OAuth client and one refresh token, and that
    /// knows no customers yet. The developer token is not checked (see [`Self::require_developer_token`]).
    pub fn new(client_id: &str, client_secret: &str, refresh_token: &str) -> GoogleAdsPeer {
        GoogleAdsPeer(Arc::new(Mutex::new(Inner {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            refresh_token: refresh_token.to_string(),
            refresh_revoked: false,
            developer_token: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            issued: HashMap::new(),
            exchanges: 0,
            customers: HashMap::new(),
            faults: HashMap::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            delay: Duration::ZERO,
            calls: Vec::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse searchStream calls without this `developer-token` (the API before 2026-09-09).
    pub fn require_developer_token(&self, token: &str) {
        self.lock().developer_token = Some(token.to_string());
    }

    /// Seed a customer; `id` with or without dashes.
    pub fn add_customer(&self, id: &str, currency: &str, rows: Vec<CampaignDay>) {
        self.lock().customers.insert(digits(id), Customer { currency: currency.to_string(), rows });
    }

    pub fn set_fault(&self, id: &str, fault: Fault) {
        self.lock().faults.insert(digits(id), fault);
    }

    pub fn clear_fault(&self, id: &str) {
        self.lock().faults.remove(&digits(id));
    }

    /// Rows per streamed batch (10,000 by default, as the API).
    pub fn set_batch_size(&self, rows: usize) {
        self.lock().batch_size = rows.max(1);
    }

    /// Wait this long before answering each searchStream call (a slow platform).
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// `expires_in` of the tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Every access token issued so far expires now (the API answers 401 to them).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for issued in self.lock().issued.values_mut() {
            issued.expires_at = now;
        }
    }

    /// The refresh token is revoked: exchanges get `invalid_grant`, and issued access tokens
    /// stop working.
    pub fn revoke_refresh_token(&self) {
        self.lock().refresh_revoked = true;
        self.expire_access_tokens();
    }

    /// Token endpoint requests so far (granted or refused).
    pub fn exchanges(&self) -> usize {
        self.lock().exchanges
    }

    /// Every searchStream request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// searchStream requests for one customer.
    pub fn calls_for(&self, id: &str) -> usize {
        let id = digits(id);
        self.lock().calls.iter().filter(|c| c.customer == id).count()
    }
}

fn digits(id: &str) -> String {
    id.chars().filter(|c| *c != '-').collect()
}

/// `campaigns` campaigns on every day of `from..=to`, stable for the same inputs.
pub fn synthetic_rows(campaigns: u32, from: NaiveDate, to: NaiveDate) -> Vec<CampaignDay> {
    let row = |s: crate::SyntheticDay| CampaignDay {
        date: s.date,
        campaign_id: 20_000_000_000 + s.campaign,
        campaign_name: s.campaign_name(),
        // Whole cents in micros, as Google reports cost.
        cost_micros: (s.seed % 100_000) * 10_000,
        // Some campaign-days without activity: their metrics are left out.
        impressions: if s.seed % 5 == 0 { 0 } else { s.impressions() },
        clicks: s.clicks() / 3,
    };
    crate::synthetic_days(campaigns, from, to).into_iter().map(row).collect()
}

/// Start the peer on a free 127.0.0.1 port; returns its base URL (`http://127.0.0.1:PORT`).
/// The token endpoint is `{base}/token`.
pub async fn serve(peer: GoogleAdsPeer) -> String {
    crate::serve_router(router(peer), "google ads").await
}

/// The routes, for embedding in another server.
pub fn router(peer: GoogleAdsPeer) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/{version}/customers/{customer}/{method}", post(search_stream))
        .fallback(|| async { status_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested URL was not found on this server.", None) })
        .with_state(peer)
}

// --- OAuth token endpoint ---------------------------------------------------------------------

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn token(AxumState(peer): AxumState<GoogleAdsPeer>, headers: HeaderMap, body: String) -> Response {
    let form_ok = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let mut state = peer.lock();
    state.exchanges += 1;
    if !form_ok {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Request must be application/x-www-form-urlencoded.");
    }
    let form: HashMap<String, String> = parse_form(&body);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "refresh_token" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Invalid grant_type: ");
    }
    if field("client_id") != state.client_id || field("client_secret") != state.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "The OAuth client was not found.");
    }
    if field("refresh_token") != state.refresh_token || state.refresh_revoked {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Token has been expired or revoked.");
    }
    let access_token = format!("ya29.peer-token-{}", state.exchanges);
    let lifetime = state.token_lifetime;
    state.issued.insert(access_token.clone(), Issued { expires_at: Instant::now() + lifetime });
    (
        StatusCode::OK,
        Json(json!({"access_token": access_token, "expires_in": lifetime.as_secs(), "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"})),
    )
        .into_response()
}

/// `application/x-www-form-urlencoded` decoding without a URL crate.
fn parse_form(body: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split('&').filter(|p| !p.is_empty()).map(|pair| pair.split_once('=').unwrap_or((pair, ""))).map(|(k, v)| (decode(k), decode(v))).collect()
}

// --- searchStream -------------------------------------------------------------------------------

/// A `google.rpc.Status` error answer, with a `GoogleAdsFailure` when `failure` is given as
/// `(errorCode family, code, message, extra error details)`.
fn status_error(http: StatusCode, status: &str, message: &str, failure: Option<(&str, &str, &str, Option<Value>)>) -> Response {
    (http, Json(status_body(http, status, message, failure))).into_response()
}

fn status_body(http: StatusCode, status: &str, message: &str, failure: Option<(&str, &str, &str, Option<Value>)>) -> Value {
    let mut error = json!({"code": http.as_u16(), "message": message, "status": status});
    if let Some((family, code, text, extra)) = failure {
        let mut one = json!({"errorCode": {family: code}, "message": text});
        if let Some(extra) = extra {
            one["details"] = extra;
        }
        error["details"] = json!([{"@type": FAILURE_TYPE, "errors": [one], "requestId": "peer-request-1"}]);
    }
    json!({ "error": error })
}

fn invalid_query(code: &str, text: &str) -> Response {
    status_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Request contains an invalid argument.", Some(("queryError", code, text, None)))
}

async fn search_stream(AxumState(peer): AxumState<GoogleAdsPeer>, Path((version, customer, method)): Path<(String, String, String)>, headers: HeaderMap, body: String) -> Response {
    let delay = peer.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let response = answer(&peer, &version, &customer, &method, &headers, &body);
    peer.lock().calls.push(Call { customer: customer.clone(), login_customer_id: header("login-customer-id"), developer_token: header("developer-token"), status: response.status().as_u16() });
    response
}

const UNAUTHENTICATED: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

fn answer(peer: &GoogleAdsPeer, version: &str, customer: &str, method: &str, headers: &HeaderMap, body: &str) -> Response {
    let version_ok = version.strip_prefix('v').is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    if !version_ok || method != "googleAds:searchStream" {
        return status_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested URL was not found on this server.", None);
    }
    let mut state = peer.lock();
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let token_ok = bearer.and_then(|t| state.issued.get(t)).is_some_and(|issued| Instant::now() < issued.expires_at);
    if !token_ok || state.faults.get(customer) == Some(&Fault::BadToken) {
        return status_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", UNAUTHENTICATED, None);
    }
    if let Some(expected) = &state.developer_token {
        if headers.get("developer-token").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return status_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Request is missing or has an invalid developer token.", Some(("authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid.", None)));
        }
    }
    if customer.is_empty() || !customer.bytes().all(|b| b.is_ascii_digit()) {
        return status_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Request contains an invalid argument.", Some(("requestError", "INVALID_CUSTOMER_ID", "Customer id is invalid.", None)));
    }

    match state.faults.get_mut(customer) {
        Some(Fault::RateLimited { times, retry_delay_secs }) if *times > 0 => {
            *times -= 1;
            let details = json!({"quotaErrorDetails": {"rateScope": "ACCOUNT", "rateName": "Number of operations for explorer access", "retryDelay": format!("{retry_delay_secs}s")}});
            return status_error(StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED", "Too many requests. Retry in 30 seconds.", Some(("quotaError", "RESOURCE_EXHAUSTED", "Too many requests. Retry in 30 seconds.", Some(details))));
        }
        Some(Fault::ServerError { unavailable: true }) => {
            return status_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "The service is currently unavailable.", Some(("internalError", "TRANSIENT_ERROR", "The operation is not allowed at this time; retry.", None)));
        }
        Some(Fault::ServerError { unavailable: false }) => {
            return status_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "Internal error encountered.", Some(("internalError", "INTERNAL_ERROR", "An internal error has occurred.", None)));
        }
        Some(Fault::NotEnabled) => {
            return status_error(StatusCode::FORBIDDEN, "PERMISSION_DENIED", "The caller does not have permission", Some(("authorizationError", "CUSTOMER_NOT_ENABLED", "The customer can't be used because it isn't enabled.", None)));
        }
        _ => {}
    }
    let Some(data) = state.customers.get(customer).cloned() else {
        return status_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Request is missing required authentication credential.", Some(("authenticationError", "CUSTOMER_NOT_FOUND", "No customer found for the provided customer id.", None)));
    };
    let break_stream = state.faults.get(customer) == Some(&Fault::BreakStream);
    let endless = state.faults.get(customer) == Some(&Fault::EndlessStream);
    let batch_size = state.batch_size;
    drop(state);

    let Some(query) = serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("query").and_then(|q| q.as_str()).map(str::to_string)) else {
        return status_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object with a \"query\" string.", None);
    };
    let (fields, from, to) = match parse_gaql(&query) {
        Ok(parsed) => parsed,
        Err((code, text)) => return invalid_query(code, &text),
    };

    let mut rows: Vec<&CampaignDay> = data.rows.iter().filter(|r| r.date >= from && r.date <= to).collect();
    rows.sort_by_key(|r| (r.date, r.campaign_id));
    let field_mask = fields.iter().map(|f| camel_path(f)).collect::<Vec<_>>().join(",");
    if endless {
        let rows = rows.into_iter().map(|r| google_ads_row(customer, &data.currency, r, &fields)).collect();
        return endless_stream(rows, field_mask, batch_size);
    }
    let mut batches: Vec<Value> = rows
        .chunks(batch_size)
        .map(|chunk| json!({"results": chunk.iter().map(|r| google_ads_row(customer, &data.currency, r, &fields)).collect::<Vec<_>>(), "fieldMask": field_mask, "requestId": "peer-request-1"}))
        .collect();
    if batches.is_empty() {
        batches.push(json!({"fieldMask": field_mask, "requestId": "peer-request-1"}));
    }
    if let Some(last) = batches.last_mut() {
        last["queryResourceConsumption"] = json!(rows.len().to_string());
    }
    if break_stream {
        batches.truncate(1);
        batches.push(status_body(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "The service is currently unavailable.", Some(("internalError", "TRANSIENT_ERROR", "The operation is not allowed at this time; retry.", None))));
    }
    (StatusCode::OK, Json(Value::Array(batches))).into_response()
}

/// A 200 whose JSON array of batches never closes: batch `i` holds `batch_size` of `rows`
/// (cycling through them), and each is sent as its own chunk, produced only when the connection
/// can take it, so the peer itself holds one batch at a time however long the client reads.
fn endless_stream(rows: Vec<Value>, field_mask: String, batch_size: usize) -> Response {
    let batches = (0u64..).map(move |i| {
        let results: Vec<&Value> = rows.iter().cycle().skip((i as usize).wrapping_mul(batch_size) % rows.len().max(1)).take(batch_size).collect();
        let batch = json!({"results": results, "fieldMask": field_mask, "requestId": "peer-request-endless"});
        let separator = if i == 0 { "[" } else { "," };
        Ok::<String, std::convert::Infallible>(format!("{separator}{batch}"))
    });
    let body = axum::body::Body::from_stream(futures::stream::iter(batches));
    (StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json; charset=UTF-8")], body).into_response()
}

const KNOWN_FIELDS: [&str; 7] = ["campaign.id", "campaign.name", "customer.currency_code", "segments.date", "metrics.cost_micros", "metrics.impressions", "metrics.clicks"];

/// Enough GAQL for the report this peer serves: `SELECT <known fields> FROM campaign WHERE
/// segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'`. Any other shape is refused with the
/// API's queryError code.
pub fn parse_gaql(query: &str) -> Result<(Vec<String>, NaiveDate, NaiveDate), (&'static str, String)> {
    let words: Vec<&str> = query.split_whitespace().collect();
    let text = words.join(" ");
    let upper = text.to_ascii_uppercase();
    if !upper.starts_with("SELECT ") {
        return Err(("EXPECTED_SELECT", "SELECT is missing at the beginning of query.".into()));
    }
    let Some(from_at) = upper.find(" FROM ") else {
        return Err(("EXPECTED_FROM", "Missing FROM clause.".into()));
    };
    let fields: Vec<String> = text["SELECT ".len()..from_at].split(',').map(|f| f.trim().to_string()).collect();
    if let Some(bad) = fields.iter().find(|f| !KNOWN_FIELDS.contains(&f.as_str())) {
        return Err(("BAD_FIELD_NAME", format!("Unrecognized field in the query: '{bad}'.")));
    }
    let rest = &text[from_at + " FROM ".len()..];
    let (resource, condition) = match rest.find(" WHERE ").or_else(|| rest.to_ascii_uppercase().find(" WHERE ")) {
        Some(at) => (&rest[..at], Some(&rest[at + " WHERE ".len()..])),
        None => (rest, None),
    };
    if resource != "campaign" {
        return Err(("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", format!("Invalid resource type in the FROM clause: '{resource}'.")));
    }
    let Some(condition) = condition else {
        return Err(("EXPECTED_FILTERS_ON_DATE_RANGE", "Missing filters on date related fields.".into()));
    };
    let parts: Vec<&str> = condition.split(' ').collect();
    let date = |quoted: &str| quoted.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    match parts.as_slice() {
        ["segments.date", between, from, and, to] if between.eq_ignore_ascii_case("BETWEEN") && and.eq_ignore_ascii_case("AND") => match (date(from), date(to)) {
            (Some(from), Some(to)) if from <= to => Ok((fields, from, to)),
            (Some(_), Some(_)) => Err(("DATE_RANGE_TOO_NARROW", "Filters on date have a start date after end date.".into())),
            _ => Err(("BAD_VALUE", "Invalid date format. Expected 'YYYY-MM-DD'.".into())),
        },
        _ => Err(("EXPECTED_FILTERS_ON_DATE_RANGE", "This peer serves only WHERE segments.date BETWEEN 'YYYY-MM-DD' AND 'YYYY-MM-DD'.".into())),
    }
}

/// `customer.currency_code` -> `customer.currencyCode` (proto3 JSON names).
fn camel_path(field: &str) -> String {
    field
        .split('.')
        .map(|part| {
            let mut out = String::new();
            let mut upper = false;
            for c in part.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A `GoogleAdsRow` with the selected fields, resource names always present, int64 values as
/// strings and zero metrics left out (proto3 JSON omits default values).
fn google_ads_row(customer: &str, currency: &str, row: &CampaignDay, fields: &[String]) -> Value {
    let mut out = json!({
        "customer": {"resourceName": format!("customers/{customer}")},
        "campaign": {"resourceName": format!("customers/{customer}/campaigns/{}", row.campaign_id)},
    });
    let mut metrics = serde_json::Map::new();
    for field in fields {
        match field.as_str() {
            "campaign.id" => out["campaign"]["id"] = json!(row.campaign_id.to_string()),
            "campaign.name" => out["campaign"]["name"] = json!(row.campaign_name),
            "customer.currency_code" => out["customer"]["currencyCode"] = json!(currency),
            "segments.date" => out["segments"] = json!({"date": row.date.to_string()}),
            "metrics.cost_micros" if row.cost_micros > 0 => {
                metrics.insert("costMicros".into(), json!(row.cost_micros.to_string()));
            }
            "metrics.impressions" if row.impressions > 0 => {
                metrics.insert("impressions".into(), json!(row.impressions.to_string()));
            }
            "metrics.clicks" if row.clicks > 0 => {
                metrics.insert("clicks".into(), json!(row.clicks.to_string()));
            }
            _ => {}
        }
    }
    if fields.iter().any(|f| f.starts_with("metrics.")) {
        out["metrics"] = Value::Object(metrics);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaql_of_the_adapter_shape_parses_and_other_shapes_are_refused() {
        let q = "SELECT campaign.id, campaign.name, customer.currency_code, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-11-20' AND '2026-11-22'";
        let (fields, from, to) = parse_gaql(q).unwrap();
        assert_eq!(fields.len(), 7);
        assert_eq!((from.to_string(), to.to_string()), ("2026-11-20".into(), "2026-11-22".into()));
        let code = |q: &str| parse_gaql(q).unwrap_err().0;
        assert_eq!(code("campaign.id FROM campaign"), "EXPECTED_SELECT");
        assert_eq!(code("SELECT campaign.id"), "EXPECTED_FROM");
        assert_eq!(code("SELECT campaign.budget FROM campaign WHERE segments.date BETWEEN '2026-11-20' AND '2026-11-22'"), "BAD_FIELD_NAME");
        assert_eq!(code("SELECT campaign.id FROM ad_group WHERE segments.date BETWEEN '2026-11-20' AND '2026-11-22'"), "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE");
        assert_eq!(code("SELECT campaign.id FROM campaign"), "EXPECTED_FILTERS_ON_DATE_RANGE");
        assert_eq!(code("SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_7_DAYS"), "EXPECTED_FILTERS_ON_DATE_RANGE");
        assert_eq!(code("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2026-11-22' AND '2026-11-20'"), "DATE_RANGE_TOO_NARROW");
        assert_eq!(code("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '20261120' AND '2026-11-22'"), "BAD_VALUE");
    }

    #[test]
    fn rows_use_proto3_json_names_and_leave_zero_metrics_out() {
        let row = CampaignDay { date: "2026-11-20".parse().unwrap(), campaign_id: 7, campaign_name: "C".into(), cost_micros: 1_500_000, impressions: 0, clicks: 2 };
        let fields: Vec<String> = KNOWN_FIELDS.iter().map(|f| f.to_string()).collect();
        let v = google_ads_row("123", "USD", &row, &fields);
        assert_eq!(v["customer"]["currencyCode"], "USD");
        assert_eq!(v["campaign"]["id"], "7");
        assert_eq!(v["metrics"], json!({"costMicros": "1500000", "clicks": "2"}));
        assert_eq!(camel_path("metrics.cost_micros"), "metrics.costMicros");
    }

    #[tokio::test]
    async fn an_endless_stream_sends_valid_batches_and_never_closes_its_array() {
        use futures::StreamExt;
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        let fields: Vec<String> = KNOWN_FIELDS.iter().map(|f| f.to_string()).collect();
        let rows = synthetic_rows(3, day, day).iter().map(|r| google_ads_row("123", "USD", r, &fields)).collect();
        let response = endless_stream(rows, "campaign.id".into(), 2);
        assert_eq!(response.status(), StatusCode::OK);
        let mut frames = response.into_body().into_data_stream();
        let mut text = String::new();
        for _ in 0..5 {
            let frame = frames.next().await.expect("the stream does not end").expect("no error");
            text.push_str(std::str::from_utf8(&frame).unwrap());
        }
        assert!(text.starts_with("[{") && !text.ends_with(']'), "{text}");
        // Closed by hand, the five batches are a valid searchStream array of two rows each.
        let batches: Vec<Value> = serde_json::from_str(&format!("{text}]")).unwrap();
        assert_eq!(batches.len(), 5);
        assert!(batches.iter().all(|b| b["results"].as_array().unwrap().len() == 2));
        // Batch 1 goes on where batch 0 stopped: the third campaign, then the first again.
        assert_eq!(batches[1]["results"][0]["campaign"]["id"], "20000000002");
        assert_eq!(batches[1]["results"][1]["campaign"]["id"], "20000000000");
    }

    #[test]
    fn forms_decode() {
        let form = parse_form("grant_type=refresh_token&client_secret=a%2Bb%3D&refresh_token=1%2F%2Fx+y");
        assert_eq!(form["grant_type"], "refresh_token");
        assert_eq!(form["client_secret"], "a+b=");
        assert_eq!(form["refresh_token"], "1//x y");
    }
}
