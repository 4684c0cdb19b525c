//! The Meta adapter: the token secret, Insights requests followed page by page (only to the
//! configured server, without the token in the URL, and only while the job's pages together stay
//! within its share of the function's memory), the first page's URL, and the [`CostSource`]
//! impl.

use super::errors::{classify_error, Usage};
use super::normalize::normalize_row;
use super::wire::{parse_page, Page};
use super::PLATFORM;
use crate::clients::Clients;
use crate::config::{Config, JobMemory};
use cost_job::{JobSpec, Platform};
use crate::normalize::CostRow;
use crate::platforms::{call_timeout, read_body_limited, transport_error, CostSource, JobBudget, PlatformError, Redacted, SecretCache};
use common::deadline::Deadline;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::time::Duration;
use url::Url;

/// Rows per page asked for; Graph serves up to a few thousand, 500 keeps pages a few hundred KB.
pub const PAGE_LIMIT: usize = 500;
/// Largest page body accepted, when the job's share of memory leaves that much
/// (`JobMemory::answer_cap`); all pages of a job together are capped by that share.
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
    memory: JobMemory,
}

impl MetaAdapter {
    pub fn new(config: &Config, clients: &Clients) -> MetaAdapter {
        MetaAdapter {
            http: clients.http.clone(),
            base: config.endpoints.meta_api_base.clone(),
            version: config.endpoints.meta_api_version.clone(),
            token: SecretCache::new(clients.secret_source(), config.secret_id(PLATFORM)),
            timeout: config.platform_timeout,
            memory: config.job_memory,
        }
    }

    async fn fetch_all(&self, job: &JobSpec, deadline: Deadline) -> Result<Vec<CostRow>, PlatformError> {
        let secret = self.token.get().await.map_err(|source| PlatformError::Credentials { platform: PLATFORM, source })?;
        let mut url = first_page_url(&self.base, &self.version, job)?;
        let mut rows = Vec::new();
        let mut budget = JobBudget::new(PLATFORM, self.memory);
        for _ in 0..MAX_PAGES {
            let page = match self.get_page(url, secret.access_token.expose(), job, deadline, &mut budget).await {
                Err(e @ PlatformError::InvalidCredentials { .. }) => {
                    // Next record re-reads the secret: a rotation is picked up without a cold start.
                    self.token.invalidate().await;
                    return Err(e);
                }
                other => other?,
            };
            budget.record(0, page.data.len());
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

    /// One page, read within what is left of the job's share (`budget`, which counts it).
    async fn get_page(&self, url: Url, token: &str, job: &JobSpec, deadline: Deadline, budget: &mut JobBudget) -> Result<Page, PlatformError> {
        let timeout = call_timeout(PLATFORM, self.timeout, deadline)?;
        let response = self.http.get(url).bearer_auth(token).timeout(timeout).send().await.map_err(|e| transport_error(PLATFORM, e, timeout))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let usage = Usage::from_headers(header("x-business-use-case-usage").as_deref(), header("x-app-usage").as_deref(), header("x-ad-account-usage").as_deref());
        let cap = budget.next_cap(MAX_PAGE_BYTES);
        let body = read_body_limited(PLATFORM, response, cap, timeout).await.map_err(|e| budget.explain(e))?;
        budget.record(body.len(), 0);
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
