//! TikTok API for Business: the synchronous integrated report at campaign level, one row per
//! campaign-day, and the advertiser's currency from the advertiser info endpoint.
//!
//! `GET {TIKTOK_API_BASE}/open_api/v1.3/report/integrated/get/?advertiser_id=..&report_type=BASIC
//! &data_level=AUCTION_CAMPAIGN&dimensions=["campaign_id","stat_time_day"]&metrics=[...]
//! &start_date=..&end_date=..&page=N&page_size=1000`, with the token in the `Access-Token` header.
//! With `stat_time_day` among the dimensions the API refuses spans longer than 30 days, so the
//! job's range is split into sub-ranges ([`split_range`]) and each is paged by `page` until
//! `data.page_info.total_page`.
//!
//! Every answer is HTTP 200, errors included: the body's `code` decides ([`classify_code`]).
//! Spend is a decimal string in the advertiser's currency, read to exact micros. The report
//! does not carry the currency we asked for, so it is read once per advertiser and cold start
//! from `GET /open_api/v1.3/advertiser/info/` and cached in the adapter.
//!
//! No ISO-4217 minor-unit table: TikTok sends spend in whole currency units for every currency
//! (`"1500"` KRW is 1,500 won, `"12.34"` USD is 12.34 dollars), so nothing is scaled by minor
//! units. Digits beyond a currency's minor unit are kept exactly, not refused (TikTok computes
//! spend from CPM billing; refusing would block a job on real data, rounding would lose money).

use super::{bounded, call_timeout, is_currency_code, read_body_limited, retry_after_header, scalar_count, transport_error, CostSource, PlatformError, Redacted, Scalar, SecretCache};
use crate::config::{Clients, Config};
use crate::job::{JobSpec, Platform};
use crate::normalize::{parse_spend, CostRow, RowError};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use common::deadline::Deadline;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

const PLATFORM: Platform = Platform::Tiktok;
pub const REPORT_PATH: &str = "/open_api/v1.3/report/integrated/get/";
pub const ADVERTISER_INFO_PATH: &str = "/open_api/v1.3/advertiser/info/";
/// Longest `start_date..=end_date` span the API accepts with the `stat_time_day` dimension.
pub const MAX_DAYS_PER_REQUEST: u32 = 30;
/// Rows per page asked for: the API's maximum.
pub const PAGE_SIZE: u32 = 1000;
/// Largest body accepted (a page of 1000 rows is about 250 KB).
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// A sub-range with more pages than this is a paging loop, not a report.
pub const MAX_PAGES: u32 = 10_000;
pub const DIMENSIONS: &str = r#"["campaign_id","stat_time_day"]"#;
/// `campaign_name` is an attribute metric: valid because `campaign_id` is a dimension.
pub const METRICS: &str = r#"["spend","impressions","clicks","campaign_name"]"#;
pub const ADVERTISER_FIELDS: &str = r#"["advertiser_id","currency"]"#;

#[derive(Deserialize)]
struct TiktokSecret {
    access_token: Redacted,
}

/// One lookup per advertiser: concurrent records for the same advertiser wait for the one in
/// flight; a failed lookup is not kept (the next record tries again).
type CurrencyCell = Arc<tokio::sync::OnceCell<String>>;

pub struct TiktokAdapter {
    http: reqwest::Client,
    base: String,
    token: SecretCache<TiktokSecret>,
    timeout: Duration,
    currencies: Mutex<HashMap<String, CurrencyCell>>,
}

impl TiktokAdapter {
    pub fn new(config: &Config, clients: &Clients) -> TiktokAdapter {
        TiktokAdapter {
            http: clients.http.clone(),
            base: config.endpoints.tiktok_api_base.trim_end_matches('/').to_string(),
            token: SecretCache::new(clients.secrets.clone(), config.secret_id(PLATFORM)),
            timeout: config.platform_timeout,
            currencies: Mutex::new(HashMap::new()),
        }
    }

    async fn fetch_all(&self, job: &JobSpec, deadline: Deadline) -> Result<Vec<CostRow>, PlatformError> {
        let secret = self.token.get().await.map_err(|source| PlatformError::Credentials { platform: PLATFORM, source })?;
        let token = secret.access_token.expose();
        let result = self.fetch_with(job, token, deadline).await;
        if let Err(PlatformError::InvalidCredentials { .. }) = &result {
            // The next record re-reads the secret: a rotation is picked up without a cold start.
            self.token.invalidate().await;
        }
        result
    }

    async fn fetch_with(&self, job: &JobSpec, token: &str, deadline: Deadline) -> Result<Vec<CostRow>, PlatformError> {
        let advertiser = job.account_id.as_str();
        let currency = self.currency(advertiser, token, deadline).await?;
        let mut rows = Vec::new();
        for (from, to) in split_range(job.date_from, job.date_to, MAX_DAYS_PER_REQUEST) {
            let mut page = 1;
            loop {
                let url = report_url(&self.base, advertiser, from, to, page)?;
                let body = self.get(url, token, advertiser, deadline).await?;
                let (page_rows, info) = parse_report(job, &currency, from, to, &body)?;
                if info.page != page {
                    return Err(bad(format!("asked for page {page}, got page {}", info.page)));
                }
                rows.extend(page_rows);
                if page >= info.total_page {
                    break;
                }
                if page >= MAX_PAGES {
                    return Err(bad(format!("more than {MAX_PAGES} pages for {from}..{to}; paging does not end")));
                }
                page += 1;
            }
        }
        Ok(rows)
    }

    async fn currency(&self, advertiser: &str, token: &str, deadline: Deadline) -> Result<String, PlatformError> {
        let cell = self.currencies.lock().unwrap_or_else(|p| p.into_inner()).entry(advertiser.to_string()).or_default().clone();
        let currency = cell
            .get_or_try_init(|| async {
                let body = self.get(advertiser_info_url(&self.base, advertiser)?, token, advertiser, deadline).await?;
                parse_advertiser_currency(&body, advertiser)
            })
            .await?;
        Ok(currency.clone())
    }

    /// One GET with the whole-call deadline; the body when the API said `code: 0`'s HTTP 200.
    async fn get(&self, url: Url, token: &str, advertiser: &str, deadline: Deadline) -> Result<Vec<u8>, PlatformError> {
        let timeout = call_timeout(PLATFORM, self.timeout, deadline)?;
        let mut header = reqwest::header::HeaderValue::from_str(token).map_err(|_| PlatformError::InvalidCredentials {
            platform: PLATFORM,
            detail: "access_token holds characters an HTTP header cannot carry".into(),
        })?;
        header.set_sensitive(true);
        let response = self.http.get(url).header("Access-Token", header).timeout(timeout).send().await.map_err(|e| transport_error(PLATFORM, e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = retry_after_header(response.headers());
        let body = read_body_limited(PLATFORM, response, MAX_PAGE_BYTES, timeout).await?;
        if status == 200 {
            Ok(body)
        } else {
            Err(classify_http(status, retry_after, &body, advertiser))
        }
    }
}

impl CostSource for TiktokAdapter {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn fetch<'a>(&'a self, job: &'a JobSpec, deadline: Deadline) -> BoxFuture<'a, Result<Vec<CostRow>, PlatformError>> {
        Box::pin(self.fetch_all(job, deadline))
    }
}

fn bad(detail: String) -> PlatformError {
    PlatformError::BadResponse { platform: PLATFORM, detail }
}

/// `from..=to` cut into consecutive inclusive sub-ranges of at most `max_days` days, in order.
pub fn split_range(from: NaiveDate, to: NaiveDate, max_days: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let step = chrono::Days::new(u64::from(max_days.max(1)) - 1);
    let mut ranges = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start.checked_add_days(step).map_or(to, |e| e.min(to));
        ranges.push((start, end));
        match end.succ_opt() {
            Some(next) => start = next,
            None => break,
        }
    }
    ranges
}

fn url_with(base: &str, path: &str, params: &[(&str, &str)]) -> Result<Url, PlatformError> {
    Url::parse_with_params(&format!("{base}{path}"), params)
        .map_err(|e| PlatformError::Rejected { platform: PLATFORM, status: 0, detail: format!("TIKTOK_API_BASE does not make a valid URL: {e}") })
}

/// One page of the daily campaign report for `from..=to`.
pub fn report_url(base: &str, advertiser: &str, from: NaiveDate, to: NaiveDate, page: u32) -> Result<Url, PlatformError> {
    let (from, to, page, size) = (from.to_string(), to.to_string(), page.to_string(), PAGE_SIZE.to_string());
    url_with(
        base,
        REPORT_PATH,
        &[
            ("advertiser_id", advertiser),
            ("report_type", "BASIC"),
            ("data_level", "AUCTION_CAMPAIGN"),
            ("dimensions", DIMENSIONS),
            ("metrics", METRICS),
            ("start_date", &from),
            ("end_date", &to),
            ("page", &page),
            ("page_size", &size),
        ],
    )
}

pub fn advertiser_info_url(base: &str, advertiser: &str) -> Result<Url, PlatformError> {
    let ids = serde_json::json!([advertiser]).to_string();
    url_with(base, ADVERTISER_INFO_PATH, &[("advertiser_ids", &ids), ("fields", ADVERTISER_FIELDS)])
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

/// The envelope's head only: enough to classify an error whose `data` has an odd shape.
#[derive(Deserialize)]
struct Head {
    code: Option<i64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: String,
    data: Option<T>,
}

/// The body's `data` when `code` is 0, or the classified error.
fn open_envelope<T: serde::de::DeserializeOwned>(body: &[u8], what: &str, advertiser: &str) -> Result<T, PlatformError> {
    match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(e) if e.code != 0 => Err(classify_code(e.code, &e.message, &e.request_id, advertiser)),
        Ok(e) => e.data.ok_or_else(|| bad(format!("{what}: code 0 without data"))),
        Err(err) => match serde_json::from_slice::<Head>(body) {
            Ok(Head { code: Some(code), message, request_id }) if code != 0 => Err(classify_code(code, &message, &request_id, advertiser)),
            _ => Err(bad(format!("not a {what}: {}", common::config::json_error_without_values(&err)))),
        },
    }
}

#[derive(Debug, Deserialize)]
struct AdvertiserList {
    #[serde(default)]
    list: Vec<AdvertiserInfo>,
}

#[derive(Debug, Deserialize)]
struct AdvertiserInfo {
    advertiser_id: Option<Scalar>,
    currency: Option<String>,
}

/// The advertiser's ISO 4217 currency from an advertiser info answer.
pub fn parse_advertiser_currency(body: &[u8], advertiser: &str) -> Result<String, PlatformError> {
    let data: AdvertiserList = open_envelope(body, "advertiser info answer", advertiser)?;
    let Some(info) = data.list.into_iter().find(|a| a.advertiser_id.as_ref().is_some_and(|id| id.text() == advertiser)) else {
        return Err(PlatformError::UnknownAccount { platform: PLATFORM, account: advertiser.to_string(), detail: "advertiser info lists no such advertiser".into() });
    };
    let currency = info.currency.unwrap_or_default();
    if !is_currency_code(&currency) {
        return Err(bad(format!("advertiser info currency {:?} is not an ISO 4217 code", bounded(&currency, 10))));
    }
    Ok(currency)
}

#[derive(Debug, Deserialize)]
struct ReportData {
    #[serde(default)]
    list: Vec<RawRow>,
    page_info: Option<PageInfo>,
}

/// `data.page_info` of a report page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PageInfo {
    pub page: u32,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub total_number: u64,
    pub total_page: u32,
}

/// A report row as TikTok sends it.
#[derive(Debug, Default, Deserialize)]
pub struct RawRow {
    #[serde(default)]
    pub dimensions: RawDimensions,
    #[serde(default)]
    pub metrics: RawMetrics,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawDimensions {
    pub campaign_id: Option<String>,
    pub stat_time_day: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawMetrics {
    pub spend: Option<Scalar>,
    pub impressions: Option<Scalar>,
    pub clicks: Option<Scalar>,
    pub campaign_name: Option<String>,
}

fn spend(value: Option<&Scalar>) -> Result<i64, RowError> {
    match value {
        None => Ok(0),
        Some(Scalar::Text(t)) => parse_spend("spend", t),
        // A JSON number has been through a binary float in the parser: refuse it, not guess.
        Some(Scalar::Number(n)) => Err(RowError::Invalid { field: "spend", reason: format!("{} is a JSON number, not a decimal string; exact micros need the string", bounded(&n.to_string(), 32)) }),
    }
}

/// `stat_time_day` (`YYYY-MM-DD 00:00:00`, in the advertiser's time zone) as a date in `from..=to`.
pub fn parse_stat_time_day(text: &str, from: NaiveDate, to: NaiveDate) -> Result<NaiveDate, RowError> {
    let invalid = |reason: String| RowError::Invalid { field: "stat_time_day", reason };
    let at = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map_err(|_| invalid(format!("{:?} is not YYYY-MM-DD HH:MM:SS", bounded(text, 32))))?;
    if at.time() != NaiveTime::MIN {
        return Err(invalid(format!("{:?} is not the start of a day; the report is not daily", bounded(text, 32))));
    }
    let date = at.date();
    if date < from || date > to {
        return Err(RowError::OutsideRange { date, from, to });
    }
    Ok(date)
}

/// One report row to the common schema, for a request over `from..=to`. Missing metrics are
/// zero; a missing campaign id or day is an error.
pub fn normalize_row(job: &JobSpec, currency: &str, from: NaiveDate, to: NaiveDate, raw: RawRow) -> Result<CostRow, RowError> {
    let day = raw.dimensions.stat_time_day.filter(|s| !s.is_empty()).ok_or(RowError::Missing { field: "stat_time_day" })?;
    Ok(CostRow {
        date: parse_stat_time_day(&day, from, to)?,
        platform: PLATFORM,
        account_id: job.account_id.to_string(),
        campaign_id: raw.dimensions.campaign_id.filter(|s| !s.is_empty()).ok_or(RowError::Missing { field: "campaign_id" })?,
        campaign_name: raw.metrics.campaign_name.unwrap_or_default(),
        currency: currency.to_string(),
        spend_micros: spend(raw.metrics.spend.as_ref())?,
        impressions: scalar_count("impressions", raw.metrics.impressions.as_ref())?,
        clicks: scalar_count("clicks", raw.metrics.clicks.as_ref())?,
    })
}

/// A report page over `from..=to`: its rows, normalized, and its page info.
pub fn parse_report(job: &JobSpec, currency: &str, from: NaiveDate, to: NaiveDate, body: &[u8]) -> Result<(Vec<CostRow>, PageInfo), PlatformError> {
    let data: ReportData = open_envelope(body, "report page", job.account_id.as_str())?;
    let info = data.page_info.ok_or_else(|| bad("report page without data.page_info".into()))?;
    let rows = data.list.into_iter().map(|raw| normalize_row(job, currency, from, to, raw)).collect::<Result<Vec<_>, _>>().map_err(|row| PlatformError::BadRow { platform: PLATFORM, row })?;
    Ok((rows, info))
}

/// Normalize a whole page body over the job's range (for the bench: the pure part of a fetch).
pub fn normalize_page(job: &JobSpec, currency: &str, body: &[u8]) -> Result<(Vec<CostRow>, PageInfo), PlatformError> {
    parse_report(job, currency, job.date_from, job.date_to, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::Retryable;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn job(from: &str, to: &str) -> JobSpec {
        JobSpec::parse(&format!(r#"{{"platform":"tiktok","account_id":"7012345678901234567","date_from":"{from}","date_to":"{to}"}}"#)).unwrap()
    }

    #[test]
    fn ranges_split_into_consecutive_spans_of_at_most_thirty_days() {
        let spans = |from: &str, to: &str| split_range(d(from), d(to), 30).into_iter().map(|(a, b)| format!("{a}..{b}")).collect::<Vec<_>>();
        assert_eq!(spans("2026-11-20", "2026-11-20"), ["2026-11-20..2026-11-20"]);
        assert_eq!(spans("2026-11-01", "2026-11-30"), ["2026-11-01..2026-11-30"]);
        assert_eq!(spans("2026-11-01", "2026-12-01"), ["2026-11-01..2026-11-30", "2026-12-01..2026-12-01"]);
        assert_eq!(spans("2026-10-12", "2026-11-20"), ["2026-10-12..2026-11-10", "2026-11-11..2026-11-20"]);
        assert_eq!(spans("2024-02-01", "2024-04-30"), ["2024-02-01..2024-03-01", "2024-03-02..2024-03-31", "2024-04-01..2024-04-30"]);
        assert!(split_range(d("2026-11-21"), d("2026-11-20"), 30).is_empty());
        assert_eq!(split_range(d("2026-11-20"), d("2026-11-22"), 1).len(), 3);
        // Every day exactly once, no span too long.
        let (from, to) = (d("2025-01-01"), d("2026-12-31"));
        let parts = split_range(from, to, 30);
        assert_eq!(parts.first().unwrap().0, from);
        assert_eq!(parts.last().unwrap().1, to);
        for pair in parts.windows(2) {
            assert_eq!(pair[0].1.succ_opt().unwrap(), pair[1].0);
        }
        assert!(parts.iter().all(|(a, b)| (*b - *a).num_days() < 30));
        assert_eq!(split_range(NaiveDate::MAX, NaiveDate::MAX, 30), [(NaiveDate::MAX, NaiveDate::MAX)]);
    }

    #[test]
    fn report_url_asks_for_a_daily_campaign_report_with_json_array_parameters() {
        let url = report_url("http://127.0.0.1:9", "7012345678901234567", d("2026-11-01"), d("2026-11-30"), 2).unwrap();
        assert_eq!(url.path(), REPORT_PATH);
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["advertiser_id"], "7012345678901234567");
        assert_eq!(q["report_type"], "BASIC");
        assert_eq!(q["data_level"], "AUCTION_CAMPAIGN");
        assert_eq!(serde_json::from_str::<Vec<String>>(&q["dimensions"]).unwrap(), ["campaign_id", "stat_time_day"]);
        assert_eq!(serde_json::from_str::<Vec<String>>(&q["metrics"]).unwrap(), ["spend", "impressions", "clicks", "campaign_name"]);
        assert_eq!((q["start_date"].as_str(), q["end_date"].as_str(), q["page"].as_str(), q["page_size"].as_str()), ("2026-11-01", "2026-11-30", "2", "1000"));
        let info = advertiser_info_url("http://127.0.0.1:9", "42").unwrap();
        let q: HashMap<_, _> = info.query_pairs().into_owned().collect();
        assert_eq!(info.path(), ADVERTISER_INFO_PATH);
        assert_eq!(q["advertiser_ids"], r#"["42"]"#);
        assert!(serde_json::from_str::<Vec<String>>(&q["fields"]).unwrap().contains(&"currency".to_string()));
    }

    #[test]
    fn stat_time_day_is_a_midnight_inside_the_requested_range() {
        let (from, to) = (d("2026-11-01"), d("2026-11-30"));
        assert_eq!(parse_stat_time_day("2026-11-20 00:00:00", from, to), Ok(d("2026-11-20")));
        assert_eq!(parse_stat_time_day("2026-11-01 00:00:00", from, to), Ok(from));
        assert_eq!(parse_stat_time_day("2026-11-30 00:00:00", from, to), Ok(to));
        assert!(matches!(parse_stat_time_day("2026-12-01 00:00:00", from, to), Err(RowError::OutsideRange { .. })));
        assert!(matches!(parse_stat_time_day("2026-10-31 00:00:00", from, to), Err(RowError::OutsideRange { .. })));
        for bad in ["2026-11-20 13:00:00", "2026-11-20 00:00:01"] {
            assert!(matches!(parse_stat_time_day(bad, from, to), Err(RowError::Invalid { field: "stat_time_day", .. })), "{bad}");
        }
        for bad in ["2026-11-20", "2026-11-20T00:00:00", "20/11/2026 00:00:00", "2026-02-30 00:00:00", "", "2026-11-20 00:00:00Z"] {
            assert!(matches!(parse_stat_time_day(bad, from, to), Err(RowError::Invalid { .. })), "{bad}");
        }
    }

    fn raw(day: &str, spend: Scalar) -> RawRow {
        RawRow {
            dimensions: RawDimensions { campaign_id: Some("1800000000000001".into()), stat_time_day: Some(day.into()) },
            metrics: RawMetrics { spend: Some(spend), impressions: Some(Scalar::Text("100".into())), clicks: Some(Scalar::Number(5u64.into())), campaign_name: Some("Brand".into()) },
        }
    }

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.into())
    }

    #[test]
    fn spend_is_read_in_whole_currency_units_to_exact_micros_whatever_the_currency() {
        let j = job("2026-11-20", "2026-11-20");
        let micros = |currency: &str, s: &str| normalize_row(&j, currency, j.date_from, j.date_to, raw("2026-11-20 00:00:00", text(s))).map(|r| r.spend_micros);
        // KRW and JPY have no minor unit, USD has two: none of that scales the amount.
        assert_eq!(micros("KRW", "1500"), Ok(1_500_000_000));
        assert_eq!(micros("JPY", "98765"), Ok(98_765_000_000));
        assert_eq!(micros("USD", "12.34"), Ok(12_340_000));
        assert_eq!(micros("USD", "0.01"), Ok(10_000));
        assert_eq!(micros("USD", "12345678901.23"), Ok(12_345_678_901_230_000));
        // Digits beyond the currency's minor unit are kept, not rounded away.
        assert_eq!(micros("KRW", "1500.5"), Ok(1_500_500_000));
        assert_eq!(micros("USD", "0.123456"), Ok(123_456));
        assert!(matches!(micros("USD", "9999999999999.99"), Err(RowError::Money { .. })));
        assert!(matches!(micros("USD", "1e3"), Err(RowError::Money { .. })));
        let number = normalize_row(&j, "USD", j.date_from, j.date_to, raw("2026-11-20 00:00:00", Scalar::Number(serde_json::Number::from_f64(12.34).unwrap())));
        assert!(matches!(number, Err(RowError::Invalid { field: "spend", .. })));
    }

    #[test]
    fn rows_normalize_to_the_design_schema_with_counts_from_strings_or_numbers() {
        let j = job("2026-11-20", "2026-11-22");
        let row = normalize_row(&j, "KRW", j.date_from, j.date_to, raw("2026-11-21 00:00:00", text("1234.5"))).unwrap();
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"date":"2026-11-21","platform":"tiktok","account_id":"7012345678901234567","campaign_id":"1800000000000001","campaign_name":"Brand","currency":"KRW","spend_micros":1234500000,"impressions":100,"clicks":5}"#
        );
        let empty = RawRow { dimensions: RawDimensions { campaign_id: Some("1".into()), stat_time_day: Some("2026-11-20 00:00:00".into()) }, metrics: RawMetrics::default() };
        let row = normalize_row(&j, "USD", j.date_from, j.date_to, empty).unwrap();
        assert_eq!((row.spend_micros, row.impressions, row.clicks, row.campaign_name.as_str()), (0, 0, 0, ""));
        let mut no_id = raw("2026-11-20 00:00:00", text("1"));
        no_id.dimensions.campaign_id = None;
        assert!(matches!(normalize_row(&j, "USD", j.date_from, j.date_to, no_id), Err(RowError::Missing { field: "campaign_id" })));
        let mut negative = raw("2026-11-20 00:00:00", text("1"));
        negative.metrics.clicks = Some(Scalar::Number((-1i64).into()));
        assert!(matches!(normalize_row(&j, "USD", j.date_from, j.date_to, negative), Err(RowError::Count { field: "clicks", .. })));
        let mut fraction = raw("2026-11-20 00:00:00", text("1"));
        fraction.metrics.impressions = Some(Scalar::Number(serde_json::Number::from_f64(1.5).unwrap()));
        assert!(matches!(normalize_row(&j, "USD", j.date_from, j.date_to, fraction), Err(RowError::Count { field: "impressions", .. })));
    }

    fn envelope(code: i64, message: &str) -> Vec<u8> {
        serde_json::json!({"code": code, "message": message, "request_id": "2026112008000001", "data": {}}).to_string().into_bytes()
    }

    #[test]
    fn codes_in_the_body_decide_whether_to_retry() {
        let j = job("2026-11-20", "2026-11-20");
        let class = |code: i64| parse_report(&j, "USD", j.date_from, j.date_to, &envelope(code, "m")).unwrap_err();
        for code in [40100, 51021] {
            let err = class(code);
            assert_eq!(err.code(), "rate_limited", "{code}");
            assert!(err.is_retryable());
        }
        for code in [50000, 50002, 51000] {
            assert_eq!(class(code).code(), "unavailable", "{code}");
            assert!(class(code).is_retryable());
        }
        for code in [40102, 40104, 40105] {
            assert_eq!(class(code).code(), "invalid_credentials", "{code}");
            assert!(!class(code).is_retryable());
        }
        assert_eq!(class(40001).code(), "permission_denied");
        assert!(class(40001).to_string().contains("7012345678901234567"));
        for code in [40002, 40006, 40007] {
            assert_eq!(class(code).code(), "rejected", "{code}");
            assert!(!class(code).is_retryable());
        }
        // The error's `data` shape does not matter, the code does.
        let odd = br#"{"code":40100,"message":"Too many requests","data":[]}"#;
        assert_eq!(parse_report(&j, "USD", j.date_from, j.date_to, odd).unwrap_err().code(), "rate_limited");
        // Text from the platform is bounded.
        let long = envelope(40002, &"x".repeat(5000));
        assert!(parse_report(&j, "USD", j.date_from, j.date_to, &long).unwrap_err().to_string().len() < 500);
    }

    #[test]
    fn real_http_errors_are_classified_by_status_with_their_retry_hint() {
        let hint = Some(Duration::from_secs(7));
        let limited = classify_http(429, hint, b"", "1");
        assert_eq!((limited.code(), limited.retry_after()), ("rate_limited", hint));
        assert_eq!(classify_http(429, None, &envelope(40100, "m"), "1").code(), "rate_limited");
        assert_eq!(classify_http(500, None, &envelope(50000, "m"), "1").code(), "unavailable");
        assert_eq!(classify_http(503, None, b"<html>busy</html>", "1").code(), "unavailable");
        assert_eq!(classify_http(404, None, b"not found", "1").code(), "rejected");
        assert_eq!(classify_http(401, None, &envelope(40105, "m"), "1").code(), "invalid_credentials");
    }

    #[test]
    fn pages_parse_with_their_page_info_and_bad_pages_are_refused() {
        let j = job("2026-11-20", "2026-11-21");
        let body = br#"{"code":0,"message":"OK","request_id":"r","data":{"list":[{"dimensions":{"campaign_id":"1","stat_time_day":"2026-11-21 00:00:00"},"metrics":{"spend":"12.34","impressions":"100","clicks":"5","campaign_name":"C"}}],"page_info":{"page":1,"page_size":1000,"total_number":1,"total_page":1}}}"#;
        let (rows, info) = normalize_page(&j, "USD", body).unwrap();
        assert_eq!((rows.len(), rows[0].spend_micros, rows[0].date), (1, 12_340_000, d("2026-11-21")));
        assert_eq!(info, PageInfo { page: 1, page_size: 1000, total_number: 1, total_page: 1 });
        let empty = br#"{"code":0,"message":"OK","data":{"list":[],"page_info":{"page":1,"page_size":1000,"total_number":0,"total_page":0}}}"#;
        assert_eq!(normalize_page(&j, "USD", empty).unwrap().0.len(), 0);
        assert_eq!(normalize_page(&j, "USD", br#"{"code":0,"message":"OK","data":{"list":[]}}"#).unwrap_err().code(), "bad_response");
        assert_eq!(normalize_page(&j, "USD", br#"{"code":0,"message":"OK"}"#).unwrap_err().code(), "bad_response");
        assert_eq!(normalize_page(&j, "USD", b"<html>").unwrap_err().code(), "bad_response");
        let outside = String::from_utf8(body.to_vec()).unwrap().replace("2026-11-21 00:00:00", "2026-11-22 00:00:00");
        assert_eq!(normalize_page(&j, "USD", outside.as_bytes()).unwrap_err().code(), "bad_row");
    }

    #[test]
    fn the_currency_comes_from_the_advertisers_own_info_entry() {
        let info = |list: &str| format!(r#"{{"code":0,"message":"OK","request_id":"r","data":{{"list":{list}}}}}"#);
        assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"42","currency":"KRW","name":"x"}]"#).as_bytes(), "42").unwrap(), "KRW");
        assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":42,"currency":"JPY"}]"#).as_bytes(), "42").unwrap(), "JPY");
        assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"43","currency":"USD"}]"#).as_bytes(), "42").unwrap_err().code(), "unknown_account");
        assert_eq!(parse_advertiser_currency(info("[]").as_bytes(), "42").unwrap_err().code(), "unknown_account");
        assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"42","currency":"usd"}]"#).as_bytes(), "42").unwrap_err().code(), "bad_response");
        assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"42"}]"#).as_bytes(), "42").unwrap_err().code(), "bad_response");
        assert_eq!(parse_advertiser_currency(&envelope(40001, "No permission to operate advertiser 42"), "42").unwrap_err().code(), "permission_denied");
    }
}
