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
//!
//! `client` holds the adapter (token, requests, paging and its checks), `wire` the serde types
//! of the answers, `errors` the classification of error answers with the usage headers' hints,
//! and `normalize` turns Insights rows into [`CostRow`](crate::normalize::CostRow)s.

mod client;
mod errors;
mod normalize;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{first_page_url, follow_next, MetaAdapter, FIELDS, MAX_PAGES, MAX_PAGE_BYTES, PAGE_LIMIT};
pub use errors::{classify_error, Usage};
pub use normalize::{normalize_page, normalize_row};
pub use wire::RawInsight;

use cost_job::Platform;

const PLATFORM: Platform = Platform::Meta;
