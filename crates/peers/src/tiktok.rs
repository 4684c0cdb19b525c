//! Local TikTok API for Business peer: the synchronous integrated report and advertiser info,
//! as the Marketing API v1.3 serves them.
//!
//! Follows the public reference (API for Business > Reporting > Synchronous report
//! `/report/integrated/get/`, Advertiser > `/advertiser/info/`, Return codes), as mirrored in
//! the Go SDK bububa/tiktok-business (`model/report/integrated_get.go`,
//! `model/report/metrics.go`, `model/advertiser/info.go`) and the connectors that test against
//! the real API (airbytehq/airbyte source-tiktok-marketing unit tests; Apache SeaTunnel's
//! TikTokAds source docs):
//! - the token travels in the `Access-Token` header (no `Bearer`);
//! - `GET /open_api/v1.3/report/integrated/get/` with `advertiser_id`, `report_type`
//!   (this peer serves `BASIC`), `data_level` (`AUCTION_CAMPAIGN`), `dimensions` and `metrics`
//!   as JSON array strings, `start_date`/`end_date` (`YYYY-MM-DD`, inclusive, at most 30 days
//!   apart when `stat_time_day` is a dimension), `page` (default 1), `page_size` (1-1000,
//!   default 10);
//! - rows are `{"dimensions":{"campaign_id","stat_time_day":"YYYY-MM-DD 00:00:00"},
//!   "metrics":{...}}` with every metric a string; `campaign_name` and `currency` are
//!   attribute metrics, valid with an id dimension; `data.page_info` has `page`, `page_size`,
//!   `total_number`, `total_page`;
//! - `GET /open_api/v1.3/advertiser/info/?advertiser_ids=["..."]&fields=["..."]` lists the
//!   advertisers with the requested fields;
//! - every answer is HTTP 200 with `{"code","message","request_id","data"}`: 0 OK, 40001 no
//!   permission for the advertiser, 40002 parameter error (including "max time span is 30
//!   days when use stat_time_day"), 40100 rate limit, 40104 token missing, 40105 token
//!   incorrect or revoked, 50000 system error.
//!
//! Tests seed advertisers and rows, inject faults per advertiser, delay pages, and count calls.

use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub const REPORT_PATH: &str = "/open_api/v1.3/report/integrated/get/";
pub const ADVERTISER_INFO_PATH: &str = "/open_api/v1.3/advertiser/info/";
/// The API's longest `start_date..=end_date` span with `stat_time_day`.
pub const MAX_DAY_SPAN: i64 = 30;

/// One campaign-day as the peer stores it.
pub type ReportRow = crate::DecimalCampaignDay;

/// A seeded advertiser the peer's token may read.
#[derive(Debug, Clone, Default)]
pub struct Advertiser {
    pub name: String,
    pub currency: String,
    pub timezone: String,
    pub rows: Vec<ReportRow>,
}

/// A fault injected for one advertiser (on both endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer the next `times` requests with code 40100 (HTTP 200); `u32::MAX` for always.
    RateLimited { times: u32 },
    /// Answer the next `times` requests with a system error: code 50000 with HTTP 200, or,
    /// with `http: true`, an HTTP 500 from the gateway in front of the API; `u32::MAX` for always.
    ServerError { times: u32, http: bool },
    /// The token was revoked for this advertiser (code 40105).
    BadToken,
    /// The token cannot see this advertiser (code 40001), though it is seeded.
    NoPermission,
}

/// Which endpoint a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Report,
    AdvertiserInfo,
}

/// One request the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub endpoint: Endpoint,
    pub advertiser: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub page: Option<String>,
    /// The body's `code` (0 = OK), or the HTTP status for a non-200 answer.
    pub code: i64,
    pub http_status: u16,
}

#[derive(Debug)]
struct Inner {
    access_token: String,
    advertisers: HashMap<String, Advertiser>,
    faults: HashMap<String, Fault>,
    page_delay: Duration,
    calls: Vec<Call>,
    /// Requests being answered now, and the most there were at once.
    in_flight: usize,
    most_in_flight: usize,
}

/// The peer's state, shared between the server and the test that seeds and inspects it.
#[derive(Debug, Clone)]
pub struct TiktokPeer(Arc<Mutex<Inner>>);

impl TiktokPeer {
    /// A peer that accepts `access_token` and knows no advertisers yet.
    pub fn new(access_token: &str) -> TiktokPeer {
        TiktokPeer(Arc::new(Mutex::new(Inner { access_token: access_token.to_string(), advertisers: HashMap::new(), faults: HashMap::new(), page_delay: Duration::ZERO, calls: Vec::new(), in_flight: 0, most_in_flight: 0 })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add_advertiser(&self, id: &str, currency: &str, rows: Vec<ReportRow>) {
        let advertiser = Advertiser { name: format!("Advertiser {id}"), currency: currency.to_string(), timezone: "Asia/Seoul".into(), rows };
        self.lock().advertisers.insert(id.to_string(), advertiser);
    }

    pub fn set_fault(&self, id: &str, fault: Fault) {
        self.lock().faults.insert(id.to_string(), fault);
    }

    pub fn clear_fault(&self, id: &str) {
        self.lock().faults.remove(id);
    }

    /// Wait this long before answering each request (a slow platform).
    pub fn set_page_delay(&self, delay: Duration) {
        self.lock().page_delay = delay;
    }

    /// The most requests (of any endpoint) the peer was answering at once so far.
    pub fn most_in_flight(&self) -> usize {
        self.lock().most_in_flight
    }

    pub fn set_access_token(&self, token: &str) {
        self.lock().access_token = token.to_string();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Report requests for one advertiser (every page counts).
    pub fn report_calls_for(&self, id: &str) -> Vec<Call> {
        self.lock().calls.iter().filter(|c| c.endpoint == Endpoint::Report && c.advertiser == id).cloned().collect()
    }

    /// Advertiser info requests naming one advertiser.
    pub fn info_calls_for(&self, id: &str) -> usize {
        self.lock().calls.iter().filter(|c| c.endpoint == Endpoint::AdvertiserInfo && c.advertiser == id).count()
    }

    /// Every request naming one advertiser, on either endpoint.
    pub fn requests_for(&self, id: &str) -> usize {
        self.lock().calls.iter().filter(|c| c.advertiser == id).count()
    }

    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }
}

/// `campaigns` campaigns on every day of `from..=to`, spends like `"1234.56"`, stable for the
/// same inputs (benches and tests compare outputs byte for byte).
pub fn synthetic_rows(campaigns: u32, from: NaiveDate, to: NaiveDate) -> Vec<ReportRow> {
    crate::synthetic_decimal_days(campaigns, from, to, 1_800_000_000_000_000)
}

/// Start the peer on a free 127.0.0.1 port; returns its base URL (`http://127.0.0.1:PORT`).
/// The server runs until the test's runtime ends.
pub async fn serve(peer: TiktokPeer) -> String {
    crate::serve_router(router(peer), "tiktok").await
}

/// The routes, for embedding in another server.
pub fn router(peer: TiktokPeer) -> Router {
    Router::new()
        .route(REPORT_PATH, get(report))
        .route(ADVERTISER_INFO_PATH, get(advertiser_info))
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"code": 40400, "message": "Not Found", "request_id": request_id(), "data": {}}))).into_response() })
        .with_state(peer)
}

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("20261120080000{:018}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An answer in the API's envelope, HTTP 200 whatever the code.
fn envelope(code: i64, message: &str, data: Value) -> Response {
    (StatusCode::OK, Json(json!({"code": code, "message": message, "request_id": request_id(), "data": data}))).into_response()
}

fn error(code: i64, message: &str) -> Response {
    envelope(code, message, json!({}))
}

struct Answer {
    response: Response,
    code: i64,
}

fn answer(code: i64, message: &str) -> Answer {
    Answer { response: error(code, message), code }
}

fn json_list(raw: Option<&String>) -> Option<Vec<String>> {
    serde_json::from_str(raw?).ok()
}

async fn report(AxumState(peer): AxumState<TiktokPeer>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    serve_call(&peer, Endpoint::Report, query.get("advertiser_id").cloned().unwrap_or_default(), &query, &headers, report_answer).await
}

async fn advertiser_info(AxumState(peer): AxumState<TiktokPeer>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let ids = json_list(query.get("advertiser_ids")).unwrap_or_default();
    serve_call(&peer, Endpoint::AdvertiserInfo, ids.join(","), &query, &headers, info_answer).await
}

type Handler = fn(&TiktokPeer, &str, &HashMap<String, String>) -> Answer;

async fn serve_call(peer: &TiktokPeer, endpoint: Endpoint, advertiser: String, query: &HashMap<String, String>, headers: &HeaderMap, handler: Handler) -> Response {
    let delay = {
        let mut state = peer.lock();
        state.in_flight += 1;
        state.most_in_flight = state.most_in_flight.max(state.in_flight);
        state.page_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Answer { response, code } = checked(peer, &advertiser, headers).unwrap_or_else(|| handler(peer, &advertiser, query));
    let http_status = response.status().as_u16();
    let mut state = peer.lock();
    state.in_flight -= 1;
    state.calls.push(Call {
        endpoint,
        advertiser,
        start_date: query.get("start_date").cloned(),
        end_date: query.get("end_date").cloned(),
        page: query.get("page").cloned(),
        code: if http_status == 200 { code } else { i64::from(http_status) },
        http_status,
    });
    response
}

/// The token and the advertiser's faults, before any parameter is looked at.
fn checked(peer: &TiktokPeer, advertiser: &str, headers: &HeaderMap) -> Option<Answer> {
    let Some(token) = headers.get("access-token").and_then(|v| v.to_str().ok()) else {
        return Some(answer(40104, "Access token is null, please check the Access-Token header."));
    };
    let mut state = peer.lock();
    if token != state.access_token {
        return Some(answer(40105, "Access token is incorrect or has been revoked."));
    }
    match state.faults.get_mut(advertiser) {
        Some(Fault::RateLimited { times }) if *times > 0 => {
            *times -= 1;
            Some(answer(40100, "Too many requests. Please retry in some time."))
        }
        Some(Fault::ServerError { times, http }) if *times > 0 => {
            *times -= 1;
            if *http {
                Some(Answer { response: (StatusCode::INTERNAL_SERVER_ERROR, "<html><body>500 Internal Server Error</body></html>").into_response(), code: 500 })
            } else {
                Some(answer(50000, "System error, please try again later."))
            }
        }
        Some(Fault::BadToken) => Some(answer(40105, "Access token is incorrect or has been revoked.")),
        Some(Fault::NoPermission) => Some(answer(40001, &format!("No permission to operate advertiser {advertiser}."))),
        _ => None,
    }
}

fn info_answer(peer: &TiktokPeer, _: &str, query: &HashMap<String, String>) -> Answer {
    let Some(ids) = json_list(query.get("advertiser_ids")).filter(|ids| !ids.is_empty() && ids.len() <= 100) else {
        return answer(40002, "advertiser_ids: must be a JSON array of 1 to 100 advertiser ids.");
    };
    let fields = match query.get("fields") {
        None => vec!["advertiser_id".to_string(), "name".into(), "currency".into(), "timezone".into()],
        Some(raw) => match json_list(Some(raw)) {
            Some(f) => f,
            None => return answer(40002, "fields: must be a JSON array of strings."),
        },
    };
    let known = ["advertiser_id", "name", "currency", "timezone", "status"];
    if let Some(unknown) = fields.iter().find(|f| !known.contains(&f.as_str())) {
        return answer(40002, &format!("fields: {unknown} is not a valid field."));
    }
    let state = peer.lock();
    let mut list = Vec::new();
    for id in &ids {
        let Some(a) = state.advertisers.get(id) else {
            return answer(40001, &format!("No permission to operate advertiser {id}."));
        };
        let mut out = serde_json::Map::new();
        for field in &fields {
            let value = match field.as_str() {
                "advertiser_id" => json!(id),
                "name" => json!(a.name),
                "currency" => json!(a.currency),
                "timezone" => json!(a.timezone),
                _ => json!("STATUS_ENABLE"),
            };
            out.insert(field.clone(), value);
        }
        list.push(Value::Object(out));
    }
    Answer { response: envelope(0, "OK", json!({ "list": list })), code: 0 }
}

fn report_answer(peer: &TiktokPeer, advertiser: &str, query: &HashMap<String, String>) -> Answer {
    let invalid = |message: &str| answer(40002, message);
    if advertiser.is_empty() || !advertiser.bytes().all(|b| b.is_ascii_digit()) {
        return invalid("advertiser_id: Field required / must be a valid advertiser id.");
    }
    if query.get("report_type").map(String::as_str) != Some("BASIC") {
        return invalid("report_type: this peer serves BASIC reports only.");
    }
    if query.get("data_level").map(String::as_str) != Some("AUCTION_CAMPAIGN") {
        return invalid("data_level: this peer serves AUCTION_CAMPAIGN only.");
    }
    let Some(dimensions) = json_list(query.get("dimensions")) else {
        return invalid("dimensions: must be a JSON array of strings.");
    };
    if dimensions != ["campaign_id", "stat_time_day"] && dimensions != ["stat_time_day", "campaign_id"] {
        return invalid("dimensions: this peer serves [\"campaign_id\",\"stat_time_day\"] only.");
    }
    let metrics = match query.get("metrics") {
        None => vec!["spend".to_string(), "impressions".into()],
        Some(raw) => match json_list(Some(raw)) {
            Some(m) => m,
            None => return invalid("metrics: must be a JSON array of strings."),
        },
    };
    let known = ["spend", "impressions", "clicks", "campaign_name", "currency", "advertiser_id", "advertiser_name"];
    if let Some(unknown) = metrics.iter().find(|m| !known.contains(&m.as_str())) {
        return invalid(&format!("metrics: {unknown} is not a valid metric."));
    }
    let date = |name: &str| query.get(name).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (Some(start), Some(end)) = (date("start_date"), date("end_date")) else {
        return invalid("start_date/end_date: required, format YYYY-MM-DD.");
    };
    if start > end {
        return invalid("start_date must not be after end_date.");
    }
    if (end - start).num_days() + 1 > MAX_DAY_SPAN {
        return invalid("max time span is 30 days when use stat_time_day");
    }
    let page = match query.get("page").map(|p| p.parse::<u64>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => return invalid("page: must be an integer >= 1."),
    };
    let page_size = match query.get("page_size").map(|p| p.parse::<u64>()) {
        None => 10,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return invalid("page_size: must be an integer between 1 and 1000."),
    };

    let state = peer.lock();
    let Some(account) = state.advertisers.get(advertiser) else {
        return answer(40001, &format!("No permission to operate advertiser {advertiser}."));
    };
    let mut rows: Vec<&ReportRow> = account.rows.iter().filter(|r| r.date >= start && r.date <= end).collect();
    rows.sort_by(|a, b| (a.date, &a.campaign_id).cmp(&(b.date, &b.campaign_id)));
    let total = rows.len() as u64;
    let total_page = total.div_ceil(page_size);
    let skip = usize::try_from((page - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let list: Vec<Value> = rows
        .iter()
        .skip(skip)
        .take(page_size as usize)
        .map(|r| {
            let mut m = serde_json::Map::new();
            for metric in &metrics {
                let value = match metric.as_str() {
                    "spend" => json!(r.spend),
                    "impressions" => json!(r.impressions.to_string()),
                    "clicks" => json!(r.clicks.to_string()),
                    "campaign_name" => json!(r.campaign_name),
                    "currency" => json!(account.currency),
                    "advertiser_id" => json!(advertiser),
                    _ => json!(account.name),
                };
                m.insert(metric.clone(), value);
            }
            json!({"dimensions": {"campaign_id": r.campaign_id, "stat_time_day": format!("{} 00:00:00", r.date)}, "metrics": Value::Object(m)})
        })
        .collect();
    let data = json!({"list": list, "page_info": {"page": page, "page_size": page_size, "total_number": total, "total_page": total_page}});
    Answer { response: envelope(0, "OK", data), code: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;


    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn code_of(a: Answer) -> i64 {
        a.code
    }

    #[test]
    fn the_report_refuses_what_the_api_refuses() {
        let peer = TiktokPeer::new("t");
        peer.add_advertiser("42", "USD", synthetic_rows(1, "2026-11-01".parse().unwrap(), "2026-12-31".parse().unwrap()));
        let good = [
            ("report_type", "BASIC"),
            ("data_level", "AUCTION_CAMPAIGN"),
            ("dimensions", r#"["campaign_id","stat_time_day"]"#),
            ("metrics", r#"["spend","impressions","clicks","campaign_name"]"#),
            ("start_date", "2026-11-01"),
            ("end_date", "2026-11-30"),
            ("page_size", "1000"),
        ];
        assert_eq!(code_of(report_answer(&peer, "42", &query(&good))), 0);
        let with = |k: &str, v: &str| {
            let mut q = query(&good);
            q.insert(k.into(), v.into());
            code_of(report_answer(&peer, "42", &q))
        };
        assert_eq!(with("end_date", "2026-12-01"), 40002, "31 days");
        assert_eq!(with("end_date", "2026-10-31"), 40002, "reversed");
        assert_eq!(with("page_size", "1001"), 40002);
        assert_eq!(with("page", "0"), 40002);
        assert_eq!(with("metrics", "spend,clicks"), 40002);
        assert_eq!(with("metrics", r#"["spend","cpm_x"]"#), 40002);
        assert_eq!(with("data_level", "AUCTION_AD"), 40002);
        assert_eq!(code_of(report_answer(&peer, "43", &query(&good))), 40001);
    }
}
