//! Insights rows to [`CostRow`]s: spend to exact micros, absent metrics as zero, identity and a
//! daily date required.

use super::wire::{parse_page, RawInsight};
use super::PLATFORM;
use cost_job::JobSpec;
use crate::normalize::{parse_count, parse_spend, CostRow, RowError};
use crate::platforms::{row_currency, PlatformError};
use common::text::bounded;
use chrono::NaiveDate;

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
