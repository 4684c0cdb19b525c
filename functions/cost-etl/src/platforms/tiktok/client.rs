//! The TikTok adapter: the token secret, the advertiser's currency (looked up once per cold
//! start), report requests split into 30-day sub-ranges and paged (all pages of a job together
//! within its share of the function's memory), their URLs, and the [`CostSource`] impl.

use cost_job::split_range;
use super::errors::{bad, classify_http};
use super::normalize::parse_report;
use super::wire::parse_advertiser_currency;
use super::PLATFORM;
use crate::clients::Clients;
use crate::config::{Config, JobMemory};
use cost_job::{JobSpec, Platform};
use crate::normalize::CostRow;
use crate::platforms::{call_timeout, read_body_limited, retry_after_header, transport_error, CostSource, JobBudget, PlatformError, Redacted, SecretCache};
use chrono::NaiveDate;
use common::deadline::Deadline;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

pub const REPORT_PATH: &str = "/open_api/v1.3/report/integrated/get/";
pub const ADVERTISER_INFO_PATH: &str = "/open_api/v1.3/advertiser/info/";
/// Longest `start_date..=end_date` span the API accepts with the `stat_time_day` dimension.
pub const MAX_DAYS_PER_REQUEST: u32 = 30;
/// Rows per page asked for: the API's maximum.
pub const PAGE_SIZE: u32 = 1000;
/// Largest body accepted (a page of 1000 rows is about 250 KB), when the job's share of memory
/// leaves that much (`JobMemory::answer_cap`); all pages of a job together are capped by that share.
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// A sub-range with more pages than this is a paging loop, not a report.
pub const MAX_PAGES: u32 = 10_000;
pub const DIMENSIONS: &str = r#"["campaign_id","stat_time_day"]"#;
/// `campaign_name` is an attribute metric: valid because `campaign_id` is a dimension.
pub const METRICS: &str = r#"["spend","impressions","clicks","campaign_name"]"#;
pub const ADVERTISER_FIELDS: &str = r#"["advertiser_id","currency"]"#;
/// Jobs one invocation fetches from TikTok at once. The Business API allows 10 requests per
/// second per app for reporting, shared by every advertiser and every function instance; a job's
/// requests follow one another (~5 a second at 200 ms each), so two jobs at once per invocation,
/// times the event source's `maximumConcurrency` (5 in prod), stays near that ceiling, and a
/// rate-limit answer is retried with its reset hint. Held only while TikTok is being asked: a
/// duplicate, the S3 writes and the ledger do not wait for it.
pub const JOBS_AT_ONCE: usize = 2;

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
    memory: JobMemory,
    currencies: Mutex<HashMap<String, CurrencyCell>>,
    /// [`JOBS_AT_ONCE`] permits.
    jobs: tokio::sync::Semaphore,
}

impl TiktokAdapter {
    pub fn new(config: &Config, clients: &Clients) -> TiktokAdapter {
        TiktokAdapter {
            http: clients.http.clone(),
            base: config.endpoints.tiktok_api_base.trim_end_matches('/').to_string(),
            token: SecretCache::new(clients.secret_source(), config.secret_id(PLATFORM)),
            timeout: config.platform_timeout,
            memory: config.job_memory,
            currencies: Mutex::new(HashMap::new()),
            jobs: tokio::sync::Semaphore::new(JOBS_AT_ONCE),
        }
    }

    async fn fetch_all(&self, job: &JobSpec, deadline: Deadline) -> Result<Vec<CostRow>, PlatformError> {
        let _slot = self.jobs.acquire().await.expect("the semaphore is never closed");
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
        // Every page of every sub-range counts against the one share of the job.
        let mut budget = JobBudget::new(PLATFORM, self.memory);
        for (from, to) in split_range(job.date_from, job.date_to, MAX_DAYS_PER_REQUEST) {
            let mut page = 1;
            loop {
                let url = report_url(&self.base, advertiser, from, to, page)?;
                let cap = budget.next_cap(MAX_PAGE_BYTES);
                let body = self.get(url, token, advertiser, deadline, cap).await.map_err(|e| budget.explain(e))?;
                let (page_rows, info) = parse_report(job, &currency, from, to, &body)?;
                budget.record(body.len(), page_rows.len());
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
                // Shared by every job of the advertiser, so not counted against this one's share;
                // capped like a page (a few hundred bytes in practice).
                let body = self.get(advertiser_info_url(&self.base, advertiser)?, token, advertiser, deadline, self.memory.answer_cap(MAX_PAGE_BYTES)).await?;
                parse_advertiser_currency(&body, advertiser)
            })
            .await?;
        Ok(currency.clone())
    }

    /// One GET with the whole-call deadline, its body read up to `cap` bytes; the body when the
    /// API said `code: 0`'s HTTP 200.
    async fn get(&self, url: Url, token: &str, advertiser: &str, deadline: Deadline, cap: usize) -> Result<Vec<u8>, PlatformError> {
        let timeout = call_timeout(PLATFORM, self.timeout, deadline)?;
        let mut header = reqwest::header::HeaderValue::from_str(token).map_err(|_| PlatformError::InvalidCredentials {
            platform: PLATFORM,
            detail: "access_token holds characters an HTTP header cannot carry".into(),
        })?;
        header.set_sensitive(true);
        let response = self.http.get(url).header("Access-Token", header).timeout(timeout).send().await.map_err(|e| transport_error(PLATFORM, e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = retry_after_header(response.headers());
        let body = read_body_limited(PLATFORM, response, cap, timeout).await?;
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
