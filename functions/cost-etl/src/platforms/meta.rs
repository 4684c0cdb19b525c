//! Meta (Facebook) Marketing API: the Insights edge at campaign level, one row per campaign-day.
//!
//! `GET {META_API_BASE}/{version}/act_{id}/insights?level=campaign&time_increment=1&time_range=
//! {"since","until"}&fields=...`, following `paging.next` until it is absent. Graph sends every
//! number as a string and spend as a decimal in the account currency, converted here to micros
//! exactly. Errors come as `{"error":{"code","error_subcode","type","message"}}`: rate limits
//! (4, 17, 32, 613, 80000-80014, or a 4xx while the usage headers say the budget is spent) are
//! retryable with the headers' reset hint; a bad token (190), an unknown account (100/33) and
//! missing permissions are permanent.
//!
//! The token goes in an `Authorization` header, never in a URL we build or log; the
//! `access_token` Graph puts back into `paging.next` is removed, and a `next` pointing anywhere
//! but the configured base is refused (it would receive the token).

use super::{bounded, call_timeout, read_body_limited, row_currency, transport_error, CostSource, PlatformError, Redacted, SecretCache};
use crate::config::{Clients, Config};
use crate::job::{JobSpec, Platform};
use crate::normalize::{parse_count, parse_spend, CostRow, RowError};
use chrono::NaiveDate;
use common::deadline::Deadline;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::time::Duration;
use url::Url;

const PLATFORM: Platform = Platform::Meta;
/// Rows per page asked for; Graph serves up to a few thousand, 500 keeps pages a few hundred KB.
pub const PAGE_LIMIT: usize = 500;
/// Largest page body accepted.
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// A report longer than this many pages is a paging loop, not a report.
pub const MAX_PAGES: usize = 10_000;
pub const FIELDS: &str = "campaign_id,campaign_name,spend,impressions,clicks,account_currency";

#[derive(Deserialize)]
struct MetaSecret {
    access_token: Redacted,
}

pub struct MetaAdapter {
    http: reqwest::Client,
    base: String,
    version: String,
    token: SecretCache<MetaSecret>,
    timeout: Duration,
}

impl MetaAdapter {
    pub fn new(config: &Config, clients: &Clients) -> MetaAdapter {
        MetaAdapter {
            http: clients.http.clone(),
            base: config.endpoints.meta_api_base.clone(),
            version: config.endpoints.meta_api_version.clone(),
            token: SecretCache::new(clients.secrets.clone(), config.secret_id(PLATFORM)),
            timeout: config.platform_timeout,
        }
    }

    async fn fetch_all(&self, job: &JobSpec, deadline: Deadline) -> Result<Vec<CostRow>, PlatformError> {
        let secret = self.token.get().await.map_err(|source| PlatformError::Credentials { platform: PLATFORM, source })?;
        let mut url = first_page_url(&self.base, &self.version, job)?;
        let mut rows = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = match self.get_page(url, secret.access_token.expose(), job, deadline).await {
                Err(e @ PlatformError::InvalidCredentials { .. }) => {
                    // Next record re-reads the secret: a rotation is picked up without a cold start.
                    self.token.invalidate().await;
                    return Err(e);
                }
                other => other?,
            };
            for raw in page.data {
                rows.push(normalize_row(job, raw).map_err(|row| PlatformError::BadRow { platform: PLATFORM, row })?);
            }
            match page.paging.and_then(|p| p.next) {
                Some(next) => url = follow_next(&self.base, &next)?,
                None => return Ok(rows),
            }
        }
        Err(PlatformError::BadResponse { platform: PLATFORM, detail: format!("more than {MAX_PAGES} pages; paging does not end") })
    }

    async fn get_page(&self, url: Url, token: &str, job: &JobSpec, deadline: Deadline) -> Result<Page, PlatformError> {
        let timeout = call_timeout(PLATFORM, self.timeout, deadline)?;
        let response = self.http.get(url).bearer_auth(token).timeout(timeout).send().await.map_err(|e| transport_error(PLATFORM, e, timeout))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let usage = Usage::from_headers(header("x-business-use-case-usage").as_deref(), header("x-app-usage").as_deref(), header("x-ad-account-usage").as_deref());
        let body = read_body_limited(PLATFORM, response, MAX_PAGE_BYTES, timeout).await?;
        if status == 200 {
            parse_page(&body)
        } else {
            Err(classify_error(status, &body, &usage, job.account_id.as_str()))
        }
    }
}

impl CostSource for MetaAdapter {
    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn fetch<'a>(&'a self, job: &'a JobSpec, deadline: Deadline) -> BoxFuture<'a, Result<Vec<CostRow>, PlatformError>> {
        Box::pin(self.fetch_all(job, deadline))
    }
}

/// The first page of the job's report.
pub fn first_page_url(base: &str, version: &str, job: &JobSpec) -> Result<Url, PlatformError> {
    let time_range = serde_json::json!({"since": job.date_from.to_string(), "until": job.date_to.to_string()}).to_string();
    let limit = PAGE_LIMIT.to_string();
    Url::parse_with_params(
        &format!("{base}/{version}/{}/insights", job.account_id),
        [("level", "campaign"), ("time_increment", "1"), ("time_range", time_range.as_str()), ("fields", FIELDS), ("limit", limit.as_str())],
    )
    .map_err(|e| PlatformError::Rejected { platform: PLATFORM, status: 0, detail: format!("META_API_BASE does not make a valid URL: {e}") })
}

/// `paging.next`, checked: same scheme, host and port as the configured base (the token is sent
/// along), with any `access_token` parameter removed (it goes in the header).
pub fn follow_next(base: &str, next: &str) -> Result<Url, PlatformError> {
    let bad = |why: &str| PlatformError::BadResponse { platform: PLATFORM, detail: format!("paging.next {why}") };
    let base = Url::parse(base).map_err(|_| bad("cannot be checked: META_API_BASE is not a URL"))?;
    let mut url = Url::parse(next).map_err(|_| bad("is not a URL"))?;
    if url.scheme() != base.scheme() || url.host_str() != base.host_str() || url.port_or_known_default() != base.port_or_known_default() {
        return Err(bad("points to another server; not following it with our token"));
    }
    let kept: Vec<(String, String)> = url.query_pairs().filter(|(k, _)| k != "access_token").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    Ok(url)
}

/// What the usage headers say: the highest percentage of any budget, and when access returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub max_percent: Option<u64>,
    pub regain: Option<Duration>,
}

impl Usage {
    /// From `X-Business-Use-Case-Usage` (`{"<id>":[{"call_count":..,"total_time":..,
    /// "total_cputime":..,"estimated_time_to_regain_access":<minutes>}]}`), `X-App-Usage`
    /// (`{"call_count":..,"total_time":..,"total_cputime":..}`) and `X-Ad-Account-Usage`
    /// (`{"acc_id_util_pct":..,"reset_time_duration":<seconds>}`). Unreadable headers count as absent.
    pub fn from_headers(business: Option<&str>, app: Option<&str>, ad_account: Option<&str>) -> Usage {
        let parse = |h: Option<&str>| h.and_then(|h| serde_json::from_str::<serde_json::Value>(h).ok());
        let mut usage = Usage::default();
        let mut percent = |v: &serde_json::Value, keys: &[&str]| {
            for key in keys {
                if let Some(p) = v.get(*key).and_then(|p| p.as_u64()) {
                    usage.max_percent = Some(usage.max_percent.unwrap_or(0).max(p));
                }
            }
        };
        let mut regain_secs: Option<u64> = None;
        if let Some(serde_json::Value::Object(ids)) = parse(business) {
            for entries in ids.values() {
                for entry in entries.as_array().into_iter().flatten() {
                    percent(entry, &["call_count", "total_time", "total_cputime"]);
                    if let Some(minutes) = entry.get("estimated_time_to_regain_access").and_then(|m| m.as_u64()) {
                        regain_secs = Some(regain_secs.unwrap_or(0).max(minutes * 60));
                    }
                }
            }
        }
        if let Some(v) = parse(app) {
            percent(&v, &["call_count", "total_time", "total_cputime"]);
        }
        if let Some(v) = parse(ad_account) {
            percent(&v, &["acc_id_util_pct"]);
            if let Some(secs) = v.get("reset_time_duration").and_then(|s| s.as_u64()) {
                regain_secs = Some(regain_secs.unwrap_or(0).max(secs));
            }
        }
        usage.regain = regain_secs.filter(|s| *s > 0).map(Duration::from_secs);
        usage
    }

    pub fn budget_spent(&self) -> bool {
        self.max_percent.is_some_and(|p| p >= 100)
    }
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: GraphError,
}

#[derive(Debug, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

/// A non-200 answer, classified.
pub fn classify_error(status: u16, body: &[u8], usage: &Usage, account: &str) -> PlatformError {
    let graph = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let code = graph.as_ref().and_then(|g| g.code);
    let subcode = graph.as_ref().and_then(|g| g.error_subcode);
    let detail = match &graph {
        Some(g) => {
            let sub = subcode.map(|s| format!("/{s}")).unwrap_or_default();
            format!("HTTP {status}, {} code {}{sub}: {}", g.kind, code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()), bounded(&g.message, 300))
        }
        None => format!("HTTP {status}, body is not a Graph error"),
    };
    let transient = graph.as_ref().is_some_and(|g| g.is_transient);
    match code {
        Some(4 | 17 | 32 | 613) | Some(80000..=80014) => PlatformError::RateLimited { platform: PLATFORM, detail, retry_after: usage.regain },
        Some(190 | 102) => PlatformError::InvalidCredentials { platform: PLATFORM, detail },
        Some(100) if subcode == Some(33) => PlatformError::UnknownAccount { platform: PLATFORM, account: account.to_string(), detail },
        Some(10 | 200..=299) => PlatformError::PermissionDenied { platform: PLATFORM, detail },
        _ if status == 429 || ((400..500).contains(&status) && usage.budget_spent()) => PlatformError::RateLimited { platform: PLATFORM, detail, retry_after: usage.regain },
        Some(1 | 2) => PlatformError::Unavailable { platform: PLATFORM, status, detail },
        _ if status >= 500 || transient => PlatformError::Unavailable { platform: PLATFORM, status, detail },
        _ => PlatformError::Rejected { platform: PLATFORM, status, detail },
    }
}

#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<RawInsight>,
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    next: Option<String>,
}

/// An Insights row as Graph sends it: every value a string.
#[derive(Debug, Default, Deserialize)]
pub struct RawInsight {
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    pub spend: Option<String>,
    pub impressions: Option<String>,
    pub clicks: Option<String>,
    pub account_currency: Option<String>,
    pub date_start: Option<String>,
    pub date_stop: Option<String>,
}

fn parse_page(body: &[u8]) -> Result<Page, PlatformError> {
    serde_json::from_slice(body).map_err(|e| PlatformError::BadResponse {
        platform: PLATFORM,
        detail: format!("not an Insights page: {}", common::config::json_error_without_values(&e)),
    })
}

/// One Insights row to the common schema. Graph leaves out metrics it has nothing for, so a
/// missing spend, impressions or clicks is zero; a missing id, currency or date is an error.
pub fn normalize_row(job: &JobSpec, raw: RawInsight) -> Result<CostRow, RowError> {
    let required = |field: &'static str, v: Option<String>| v.filter(|s| !s.is_empty()).ok_or(RowError::Missing { field });
    let date_text = required("date_start", raw.date_start)?;
    let date: NaiveDate = date_text.parse().map_err(|_| RowError::Invalid { field: "date_start", reason: format!("{:?} is not a date", bounded(&date_text, 20)) })?;
    if let Some(stop) = raw.date_stop.as_deref() {
        if stop != date_text {
            return Err(RowError::Invalid { field: "date_stop", reason: format!("{:?} differs from date_start; the report is not daily", bounded(stop, 20)) });
        }
    }
    let currency = row_currency("account_currency", required("account_currency", raw.account_currency)?)?;
    Ok(CostRow {
        date,
        platform: PLATFORM,
        account_id: job.account_id.to_string(),
        campaign_id: required("campaign_id", raw.campaign_id)?,
        campaign_name: raw.campaign_name.unwrap_or_default(),
        currency,
        spend_micros: raw.spend.as_deref().map(|s| parse_spend("spend", s)).transpose()?.unwrap_or(0),
        impressions: raw.impressions.as_deref().map(|s| parse_count("impressions", s)).transpose()?.unwrap_or(0),
        clicks: raw.clicks.as_deref().map(|s| parse_count("clicks", s)).transpose()?.unwrap_or(0),
    })
}

/// Normalize a whole page body (for the bench: the pure part of a fetch).
pub fn normalize_page(job: &JobSpec, body: &[u8]) -> Result<(Vec<CostRow>, Option<String>), PlatformError> {
    let page = parse_page(body)?;
    let rows = page.data.into_iter().map(|raw| normalize_row(job, raw)).collect::<Result<Vec<_>, _>>().map_err(|row| PlatformError::BadRow { platform: PLATFORM, row })?;
    Ok((rows, page.paging.and_then(|p| p.next)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::Retryable;

    fn job() -> JobSpec {
        JobSpec::parse(r#"{"platform":"meta","account_id":"act_1234","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap()
    }

    #[test]
    fn first_url_asks_for_a_daily_campaign_report_over_the_job_range() {
        let url = first_page_url("http://127.0.0.1:9", "v23.0", &job()).unwrap();
        assert_eq!(url.path(), "/v23.0/act_1234/insights");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["level"], "campaign");
        assert_eq!(q["time_increment"], "1");
        assert_eq!(q["time_range"], r#"{"since":"2026-11-20","until":"2026-11-22"}"#);
        assert_eq!(q["fields"], FIELDS);
        assert_eq!(q["limit"], "500");
        assert!(!q.contains_key("access_token"));
    }

    #[test]
    fn next_links_are_followed_only_to_the_same_server_and_lose_their_token() {
        let base = "http://127.0.0.1:9";
        let url = follow_next(base, "http://127.0.0.1:9/v23.0/act_1234/insights?access_token=SECRET&after=QQ&limit=500").unwrap();
        assert!(!url.as_str().contains("SECRET"), "{url}");
        assert!(url.as_str().contains("after=QQ"));
        for hostile in ["http://evil.example/x?after=1", "https://127.0.0.1:9/x", "http://127.0.0.1:10/x", "not a url"] {
            let err = follow_next(base, hostile).unwrap_err();
            assert_eq!(err.code(), "bad_response", "{hostile}");
        }
    }

    #[test]
    fn rows_normalize_to_exact_micros_and_the_job_account() {
        let raw = RawInsight {
            campaign_id: Some("120".into()),
            campaign_name: Some("Brand".into()),
            spend: Some("1234.5".into()),
            impressions: Some("1000".into()),
            clicks: Some("10".into()),
            account_currency: Some("KRW".into()),
            date_start: Some("2026-11-20".into()),
            date_stop: Some("2026-11-20".into()),
        };
        let row = normalize_row(&job(), raw).unwrap();
        assert_eq!(serde_json::to_string(&row).unwrap(), r#"{"date":"2026-11-20","platform":"meta","account_id":"act_1234","campaign_id":"120","campaign_name":"Brand","currency":"KRW","spend_micros":1234500000,"impressions":1000,"clicks":10}"#);
    }

    #[test]
    fn missing_metrics_are_zero_but_missing_identity_is_an_error() {
        let base = || RawInsight { campaign_id: Some("1".into()), account_currency: Some("USD".into()), date_start: Some("2026-11-20".into()), ..RawInsight::default() };
        let row = normalize_row(&job(), base()).unwrap();
        assert_eq!((row.spend_micros, row.impressions, row.clicks), (0, 0, 0));
        assert!(matches!(normalize_row(&job(), RawInsight { campaign_id: None, ..base() }), Err(RowError::Missing { field: "campaign_id" })));
        assert!(matches!(normalize_row(&job(), RawInsight { account_currency: Some("krw".into()), ..base() }), Err(RowError::Invalid { .. })));
        assert!(matches!(normalize_row(&job(), RawInsight { date_stop: Some("2026-11-21".into()), ..base() }), Err(RowError::Invalid { field: "date_stop", .. })));
        assert!(matches!(normalize_row(&job(), RawInsight { spend: Some("1e3".into()), ..base() }), Err(RowError::Money { .. })));
    }

    fn graph(code: i64, subcode: Option<i64>) -> Vec<u8> {
        let mut error = serde_json::json!({"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "x"});
        if let Some(s) = subcode {
            error["error_subcode"] = s.into();
        }
        serde_json::json!({ "error": error }).to_string().into_bytes()
    }

    #[test]
    fn graph_errors_are_classified_by_code() {
        let none = Usage::default();
        for code in [4, 17, 32, 613, 80000, 80004, 80014] {
            let err = classify_error(400, &graph(code, None), &none, "act_1");
            assert_eq!(err.code(), "rate_limited", "{code}");
            assert!(err.is_retryable());
        }
        assert_eq!(classify_error(403, &graph(4, None), &none, "act_1").code(), "rate_limited");
        let token = classify_error(400, &graph(190, Some(463)), &none, "act_1");
        assert_eq!(token.code(), "invalid_credentials");
        assert!(!token.is_retryable());
        let unknown = classify_error(400, &graph(100, Some(33)), &none, "act_1");
        assert_eq!(unknown.code(), "unknown_account");
        assert!(!unknown.is_retryable());
        assert_eq!(classify_error(400, &graph(100, None), &none, "act_1").code(), "rejected");
        assert_eq!(classify_error(403, &graph(200, None), &none, "act_1").code(), "permission_denied");
        assert_eq!(classify_error(500, &graph(2, None), &none, "act_1").code(), "unavailable");
        assert_eq!(classify_error(502, b"<html>bad gateway</html>", &none, "act_1").code(), "unavailable");
        assert_eq!(classify_error(429, b"", &none, "act_1").code(), "rate_limited");
    }

    #[test]
    fn a_4xx_while_the_usage_headers_say_the_budget_is_spent_is_a_rate_limit_with_their_reset_hint() {
        let usage = Usage::from_headers(
            Some(r#"{"1234":[{"type":"ads_insights","call_count":100,"total_cputime":40,"total_time":40,"estimated_time_to_regain_access":5}]}"#),
            Some(r#"{"call_count":12,"total_cputime":3,"total_time":3}"#),
            None,
        );
        assert_eq!(usage, Usage { max_percent: Some(100), regain: Some(Duration::from_secs(300)) });
        let err = classify_error(400, &graph(1234, None), &usage, "act_1");
        assert_eq!(err.code(), "rate_limited");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
        let quiet = Usage::from_headers(None, Some(r#"{"call_count":12}"#), Some(r#"{"acc_id_util_pct":9,"reset_time_duration":0}"#));
        assert!(!quiet.budget_spent());
        assert_eq!(quiet.regain, None);
        assert_eq!(Usage::from_headers(Some("garbage"), Some("[]"), Some("{")), Usage::default());
    }

    #[test]
    fn error_details_are_bounded_and_never_include_the_body_raw() {
        let long = serde_json::json!({"error": {"message": "x".repeat(5000), "type": "OAuthException", "code": 100}}).to_string();
        let err = classify_error(400, long.as_bytes(), &Usage::default(), "act_1");
        assert!(err.to_string().len() < 500, "{}", err.to_string().len());
    }

    #[test]
    fn pages_parse_with_their_next_link() {
        let body = br#"{"data":[{"campaign_id":"1","spend":"0.5","impressions":"3","clicks":"0","account_currency":"USD","date_start":"2026-11-21","date_stop":"2026-11-21"}],"paging":{"cursors":{"before":"a","after":"b"},"next":"http://x/next"}}"#;
        let (rows, next) = normalize_page(&job(), body).unwrap();
        assert_eq!(rows[0].spend_micros, 500_000);
        assert_eq!(next.as_deref(), Some("http://x/next"));
        let (_, next) = normalize_page(&job(), br#"{"data":[],"paging":{"cursors":{}}}"#).unwrap();
        assert_eq!(next, None);
        assert_eq!(normalize_page(&job(), br#"{"data":[{"campaign_id":1}]}"#).unwrap_err().code(), "bad_response");
    }
}
