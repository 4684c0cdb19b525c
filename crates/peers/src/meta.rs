//! Local Meta Marketing API peer: the Insights edge of an ad account, as the Graph API serves it.
//!
//! Follows the public reference (Marketing API > Insights, Graph API > Paging, Rate Limiting,
//! Error Handling):
//! - `GET /v{N}/act_{id}/insights` with `level=campaign`, `time_increment=1`, `time_range`
//!   (JSON `{"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}`), `fields`, `limit`, `after`;
//! - rows carry every number as a string (`"spend":"1234.56"`, `"impressions":"1000"`) and
//!   always `date_start`/`date_stop`;
//! - cursor paging: `paging.cursors.{before,after}` and, while more rows remain, `paging.next`,
//!   an absolute URL back to this server (with `access_token` in it when the request sent the
//!   token as a query parameter, as Graph does);
//! - errors are `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`: 190
//!   (OAuthException) for a bad token, 100/33 for an ad account that does not exist or is not
//!   visible, 4/17/32/613/80000 for rate limits (HTTP 400, or 403 for code 4) with the
//!   `X-Business-Use-Case-Usage` / `X-App-Usage` headers saying the budget is spent; every
//!   answer carries the usage headers.
//!
//! Tests seed accounts and rows, inject faults per account, delay pages, and count calls.

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use chrono::NaiveDate;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One campaign-day as the peer stores it; numbers are kept as the strings Graph sends.
pub type InsightRow = crate::DecimalCampaignDay;

/// A seeded ad account.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub currency: String,
    pub rows: Vec<InsightRow>,
}

/// A fault injected for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer the next `times` requests with rate-limit error `code` (4, 17, 32, 613, 80000...)
    /// and usage headers at 100%, with `regain_minutes` as `estimated_time_to_regain_access`.
    RateLimited { code: i64, times: u32, regain_minutes: u32 },
    /// Answer the next `times` requests with HTTP 500 and Graph's transient error (code 2).
    ServerError { times: u32 },
    /// The token has expired for this account's business (code 190, subcode 463).
    TokenExpired,
    /// Answer the first page, then make `paging.next` point somewhere else (a hostile answer).
    ForeignNext { url: String },
    /// Answer every request with this Graph error (a hostile peer's chosen `message`, e.g. one
    /// with a newline and a forged log line in it).
    Error { status: u16, code: i64, message: String },
    /// Pages that never end: each holds `rows_per_page` valid rows of the account in the
    /// requested range (cycling through them, whatever `limit` asked) and a `paging.next` to
    /// the following page, forever (a hostile or broken server; the client must stop on its own).
    EndlessPages { rows_per_page: usize },
}

/// One request the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `act_{id}` from the path.
    pub account: String,
    /// The `after` cursor, `None` for a first page.
    pub after: Option<String>,
    pub status: u16,
}

#[derive(Debug)]
struct Inner {
    access_token: String,
    accounts: HashMap<String, Account>,
    faults: HashMap<String, Fault>,
    page_delay: Duration,
    /// Requests received, answered or not (a delayed answer is counted in `calls` only once sent).
    arrived: usize,
    default_limit: usize,
    base_url: String,
    calls: Vec<Call>,
}

/// The peer's state, shared between the server and the test that seeds and inspects it.
#[derive(Debug, Clone)]
pub struct MetaPeer(Arc<Mutex<Inner>>);

impl MetaPeer {
    /// A peer that accepts `access_token` and knows no accounts yet.
    pub fn new(access_token: &str) -> MetaPeer {
        MetaPeer(Arc::new(Mutex::new(Inner {
            access_token: access_token.to_string(),
            accounts: HashMap::new(),
            faults: HashMap::new(),
            page_delay: Duration::ZERO,
            arrived: 0,
            // Graph's default page size for insights.
            default_limit: 25,
            base_url: String::new(),
            calls: Vec::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seed an account; `id` with or without `act_`.
    pub fn add_account(&self, id: &str, currency: &str, rows: Vec<InsightRow>) {
        self.lock().accounts.insert(act(id), Account { currency: currency.to_string(), rows });
    }

    pub fn set_fault(&self, id: &str, fault: Fault) {
        self.lock().faults.insert(act(id), fault);
    }

    pub fn clear_fault(&self, id: &str) {
        self.lock().faults.remove(&act(id));
    }

    /// Wait this long before answering each request (a slow platform).
    /// Insights requests received so far, including ones still waiting out the page delay.
    pub fn requests_arrived(&self) -> usize {
        self.lock().arrived
    }

    pub fn set_page_delay(&self, delay: Duration) {
        self.lock().page_delay = delay;
    }

    pub fn set_access_token(&self, token: &str) {
        self.lock().access_token = token.to_string();
    }

    /// Every insights request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Insights requests for one account (every page counts).
    pub fn requests_for(&self, id: &str) -> usize {
        let account = act(id);
        self.lock().calls.iter().filter(|c| c.account == account).count()
    }

    /// Report runs started for one account: first-page requests (no `after` cursor).
    pub fn reports_for(&self, id: &str) -> usize {
        let account = act(id);
        self.lock().calls.iter().filter(|c| c.account == account && c.after.is_none()).count()
    }

    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }
}

fn act(id: &str) -> String {
    if id.starts_with("act_") {
        id.to_string()
    } else {
        format!("act_{id}")
    }
}

/// `campaigns` campaigns on every day of `from..=to`, with spends like `"1234.56"`, stable for
/// the same inputs (benches and tests compare outputs byte for byte).
pub fn synthetic_rows(campaigns: u32, from: NaiveDate, to: NaiveDate) -> Vec<InsightRow> {
    crate::synthetic_decimal_days(campaigns, from, to, 120_000_000_000)
}

/// Start the peer on a free 127.0.0.1 port; returns its base URL (`http://127.0.0.1:PORT`).
/// The server runs until the test's runtime ends.
pub async fn serve(peer: MetaPeer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    peer.lock().base_url = url.clone();
    tokio::spawn(async move {
        axum::serve(listener, router(peer)).await.expect("meta peer");
    });
    url
}

/// The routes, for embedding in another server.
pub fn router(peer: MetaPeer) -> Router {
    Router::new()
        .route("/{version}/{account}/insights", get(insights))
        .fallback(|| async { graph_error(StatusCode::BAD_REQUEST, "Unknown path components", "OAuthException", 2500, None) })
        .with_state(peer)
}

fn graph_error(status: StatusCode, message: &str, kind: &str, code: i64, subcode: Option<i64>) -> Response {
    let mut error = json!({"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"});
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    if matches!(code, 1 | 2 | 4 | 17 | 32 | 613) || (80000..=80014).contains(&code) {
        error["is_transient"] = json!(true);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

/// Usage headers as Graph sends them: percentages of the budget used.
fn usage_headers(headers: &mut HeaderMap, account_digits: &str, percent: u32, regain_minutes: u32) {
    let buc = json!({account_digits: [{"type": "ads_insights", "call_count": percent, "total_cputime": percent / 2, "total_time": percent / 2, "estimated_time_to_regain_access": regain_minutes}]});
    let app = json!({"call_count": percent, "total_cputime": percent / 2, "total_time": percent / 2});
    let ad_account = json!({"acc_id_util_pct": percent, "reset_time_duration": regain_minutes * 60});
    for (name, value) in [("x-business-use-case-usage", buc), ("x-app-usage", app), ("x-ad-account-usage", ad_account)] {
        headers.insert(name, HeaderValue::from_str(&value.to_string()).expect("ascii json"));
    }
}

fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("offset:")?.parse().ok()
}

async fn insights(AxumState(peer): AxumState<MetaPeer>, Path((version, account)): Path<(String, String)>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let after = query.get("after").cloned();
    let delay = {
        let mut state = peer.lock();
        state.arrived += 1;
        state.page_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let response = answer(&peer, &version, &account, &query, &headers);
    peer.lock().calls.push(Call { account: account.clone(), after, status: response.status().as_u16() });
    response
}

fn answer(peer: &MetaPeer, version: &str, account: &str, query: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    let digits = account.strip_prefix("act_").unwrap_or("");
    if !version.starts_with('v') || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return graph_error(StatusCode::BAD_REQUEST, "Unknown path components", "OAuthException", 2500, None);
    }

    // The token: `access_token` query parameter, or `Authorization: Bearer|OAuth <token>`.
    let header_token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
        .map(str::to_string);
    let query_token = query.get("access_token").cloned();
    let Some(token) = query_token.clone().or(header_token) else {
        return graph_error(StatusCode::BAD_REQUEST, "An access token is required to request this resource.", "OAuthException", 104, None);
    };

    let mut state = peer.lock();
    if token != state.access_token {
        return graph_error(StatusCode::BAD_REQUEST, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190, None);
    }

    // Faults come before the account lookup, as throttling does in Graph.
    match state.faults.get_mut(account) {
        Some(Fault::RateLimited { code, times, regain_minutes }) if *times > 0 => {
            *times -= 1;
            let (code, regain) = (*code, *regain_minutes);
            drop(state);
            let (status, message, subcode) = match code {
                4 => (StatusCode::FORBIDDEN, "Application request limit reached", None),
                17 => (StatusCode::BAD_REQUEST, "User request limit reached", Some(2446079)),
                32 => (StatusCode::BAD_REQUEST, "Page request limit reached", None),
                613 => (StatusCode::BAD_REQUEST, "Calls to this api have exceeded the rate limit.", Some(1487742)),
                _ => (StatusCode::BAD_REQUEST, "There have been too many calls from this ad-account. Please wait a bit and try again.", Some(2446079)),
            };
            let mut response = graph_error(status, message, "OAuthException", code, subcode);
            usage_headers(response.headers_mut(), digits, 100, regain);
            return response;
        }
        Some(Fault::ServerError { times }) if *times > 0 => {
            *times -= 1;
            return graph_error(StatusCode::INTERNAL_SERVER_ERROR, "Service temporarily unavailable", "OAuthException", 2, None);
        }
        Some(Fault::Error { status, code, message }) => {
            let (status, code, message) = (StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), *code, message.clone());
            drop(state);
            return graph_error(status, &message, "OAuthException", code, None);
        }
        Some(Fault::TokenExpired) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Error validating access token: Session has expired on Friday, 20-Nov-26 01:00:00 PST.",
                "OAuthException",
                190,
                Some(463),
            );
        }
        _ => {}
    }

    let Some(account_data) = state.accounts.get(account).cloned() else {
        let message = format!(
            "Unsupported get request. Object with ID '{account}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        );
        return graph_error(StatusCode::BAD_REQUEST, &message, "GraphMethodException", 100, Some(33));
    };

    // Parameters: this peer serves the daily campaign report and says so when asked otherwise.
    let invalid = |message: &str| graph_error(StatusCode::BAD_REQUEST, &format!("(#100) {message}"), "OAuthException", 100, None);
    if query.get("level").map(String::as_str) != Some("campaign") {
        return invalid("level must be campaign for this peer");
    }
    if query.get("time_increment").map(String::as_str) != Some("1") {
        return invalid("time_increment must be 1 for this peer");
    }
    let Some((since, until)) = query.get("time_range").and_then(|raw| parse_time_range(raw)) else {
        return invalid("time_range must be {'since':YYYY-MM-DD,'until':YYYY-MM-DD}");
    };
    if since > until {
        return invalid("time_range since must not be after until");
    }
    let fields: Vec<String> = query.get("fields").map(|f| f.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let known = ["campaign_id", "campaign_name", "spend", "impressions", "clicks", "account_currency", "account_id", "date_start", "date_stop"];
    if let Some(unknown) = fields.iter().find(|f| !known.contains(&f.as_str())) {
        return invalid(&format!("{unknown} is not valid for fields param."));
    }
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => state.default_limit,
        Some(Ok(n)) if (1..=5000).contains(&n) => n,
        Some(_) => return invalid("limit must be a number between 1 and 5000"),
    };
    let offset = match query.get("after") {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(offset) => offset,
            None => return invalid("Invalid cursor"),
        },
    };
    let endless = match state.faults.get(account) {
        Some(Fault::EndlessPages { rows_per_page }) => Some(*rows_per_page),
        _ => None,
    };

    let mut rows: Vec<&InsightRow> = account_data.rows.iter().filter(|r| r.date >= since && r.date <= until).collect();
    rows.sort_by(|a, b| (a.date, &a.campaign_id).cmp(&(b.date, &b.campaign_id)));
    let selected: Vec<&InsightRow> = match endless {
        Some(per_page) => rows.iter().cycle().skip(offset % rows.len().max(1)).take(per_page).copied().collect(),
        None => rows.iter().skip(offset).take(limit).copied().collect(),
    };
    let page: Vec<Value> = selected
        .iter()
        .map(|r| {
            let mut out = serde_json::Map::new();
            for field in &fields {
                let value = match field.as_str() {
                    "campaign_id" => json!(r.campaign_id),
                    "campaign_name" => json!(r.campaign_name),
                    "spend" => json!(r.spend),
                    "impressions" => json!(r.impressions.to_string()),
                    "clicks" => json!(r.clicks.to_string()),
                    "account_currency" => json!(account_data.currency),
                    "account_id" => json!(digits),
                    _ => continue,
                };
                out.insert(field.clone(), value);
            }
            out.insert("date_start".into(), json!(r.date.to_string()));
            out.insert("date_stop".into(), json!(r.date.to_string()));
            Value::Object(out)
        })
        .collect();

    let end = offset + page.len();
    let mut paging = json!({});
    if !page.is_empty() {
        paging["cursors"] = json!({"before": encode_cursor(offset), "after": encode_cursor(end)});
    }
    if end < rows.len() || endless.is_some() {
        let next = match state.faults.get(account) {
            Some(Fault::ForeignNext { url }) => url.clone(),
            _ => {
                let mut params: BTreeMap<&str, String> = query.iter().filter(|(k, _)| k.as_str() != "after" && k.as_str() != "access_token").map(|(k, v)| (k.as_str(), v.clone())).collect();
                params.insert("after", encode_cursor(end));
                params.insert("limit", limit.to_string());
                if let Some(token) = &query_token {
                    params.insert("access_token", token.clone());
                }
                let query: String = url_encode_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
                format!("{}/{version}/{account}/insights?{query}", state.base_url)
            }
        };
        paging["next"] = json!(next);
    }
    drop(state);
    let mut response = (StatusCode::OK, Json(json!({"data": page, "paging": paging}))).into_response();
    usage_headers(response.headers_mut(), digits, 12, 0);
    response
}

fn parse_time_range(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    let value: Value = serde_json::from_str(raw).ok()?;
    let date = |name: &str| value.get(name)?.as_str()?.parse::<NaiveDate>().ok();
    Some((date("since")?, date("until")?))
}

/// `application/x-www-form-urlencoded` without pulling in a URL crate.
fn url_encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn endless_pages_always_have_a_next_page_of_valid_rows() {
        let peer = MetaPeer::new("t");
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        peer.add_account("1", "USD", synthetic_rows(3, day, day));
        peer.set_fault("1", Fault::EndlessPages { rows_per_page: 5 });
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        let mut query: HashMap<String, String> = [("level", "campaign"), ("time_increment", "1"), ("time_range", r#"{"since":"2026-11-20","until":"2026-11-20"}"#), ("fields", "campaign_id,spend"), ("limit", "500")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for page in 0..3 {
            let response = answer(&peer, "v23.0", "act_1", &query, &headers);
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = serde_json::from_slice(&axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()).unwrap();
            let rows = body["data"].as_array().unwrap();
            assert_eq!(rows.len(), 5, "page {page}");
            assert!(rows.iter().all(|r| r["date_start"] == "2026-11-20" && r["spend"].is_string()));
            let next = body["paging"]["next"].as_str().expect("there is always a next page");
            assert!(next.contains("after="), "{next}");
            query.insert("after".into(), encode_cursor(5 * (page + 1)));
        }
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(500)), Some(500));
        assert_eq!(decode_cursor("garbage"), None);
    }
}
