//! TikTok API for Business: the synchronous integrated report at campaign level, one row per
//! campaign-day, and the advertiser's currency from the advertiser info endpoint.
//!
//! `GET {TIKTOK_API_BASE}/open_api/v1.3/report/integrated/get/?advertiser_id=..&report_type=BASIC
//! &data_level=AUCTION_CAMPAIGN&dimensions=["campaign_id","stat_time_day"]&metrics=[...]
//! &start_date=..&end_date=..&page=N&page_size=1000`, with the token in the `Access-Token` header.
//! With `stat_time_day` among the dimensions the API refuses spans longer than 30 days, so the
//! job's range is split into sub-ranges ([`cost_job::split_range`]) and each is paged by `page` until
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
//!
//! `client` holds the adapter (token, requests, paging, URLs and the range split), `wire` the
//! serde types of the answers and their envelope, `errors` the classification of error codes
//! and statuses, and `normalize` turns report pages into [`CostRow`](crate::normalize::CostRow)s.

mod client;
mod errors;
mod normalize;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{advertiser_info_url, report_url, TiktokAdapter, ADVERTISER_FIELDS, ADVERTISER_INFO_PATH, DIMENSIONS, JOBS_AT_ONCE, MAX_DAYS_PER_REQUEST, MAX_PAGES, MAX_PAGE_BYTES, METRICS, PAGE_SIZE, REPORT_PATH};
pub use errors::{classify_code, classify_http};
pub use normalize::{normalize_page, normalize_row, parse_report, parse_stat_time_day};
pub use wire::{parse_advertiser_currency, PageInfo, RawDimensions, RawMetrics, RawRow};

use cost_job::Platform;

const PLATFORM: Platform = Platform::Tiktok;
