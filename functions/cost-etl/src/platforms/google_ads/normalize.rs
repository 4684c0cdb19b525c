//! Google Ads answers to [`CostRow`]s: a searchStream body to rows or a classified error, and one
//! `GoogleAdsRow` to the common schema.

use super::errors::classify_error;
use super::wire::{ErrorEnvelope, RawRow, StreamElement};
use super::PLATFORM;
use cost_job::JobSpec;
use crate::normalize::{CostRow, RowError};
use crate::platforms::{row_currency, scalar_count, PlatformError};
use common::text::bounded;
use chrono::NaiveDate;

/// Result batches accepted in one stream (the API sends up to 10,000 rows per batch).
pub const MAX_STREAM_BATCHES: usize = 10_000;

/// One `GoogleAdsRow` to the common schema. Zero metrics may be left out and count as 0;
/// a missing campaign id, currency or date is an error.
pub fn normalize_row(job: &JobSpec, raw: RawRow) -> Result<CostRow, RowError> {
    let date_text = raw.segments.and_then(|s| s.date).filter(|d| !d.is_empty()).ok_or(RowError::Missing { field: "segments.date" })?;
    let date: NaiveDate = date_text.parse().map_err(|_| RowError::Invalid { field: "segments.date", reason: format!("{:?} is not a date", bounded(&date_text, 20)) })?;
    let currency = raw.customer.and_then(|c| c.currency_code).filter(|c| !c.is_empty()).ok_or(RowError::Missing { field: "customer.currency_code" })?;
    let currency = row_currency("customer.currency_code", currency)?;
    let campaign = raw.campaign.unwrap_or_default();
    let campaign_id = campaign.id.map(|id| id.text()).filter(|id| !id.is_empty()).ok_or(RowError::Missing { field: "campaign.id" })?;
    if campaign_id.len() > 32 || !campaign_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RowError::Invalid { field: "campaign.id", reason: format!("{:?} is not a campaign id", bounded(&campaign_id, 32)) });
    }
    let metrics = raw.metrics.unwrap_or_default();
    Ok(CostRow {
        date,
        platform: PLATFORM,
        account_id: job.account_id.to_string(),
        campaign_id,
        campaign_name: campaign.name.unwrap_or_default(),
        currency,
        spend_micros: scalar_count("metrics.cost_micros", metrics.cost_micros.as_ref())?,
        impressions: scalar_count("metrics.impressions", metrics.impressions.as_ref())?,
        clicks: scalar_count("metrics.clicks", metrics.clicks.as_ref())?,
    })
}

/// A searchStream answer (`http_status` and body) to rows or a classified error. A 200 whose
/// array carries an error element failed part-way: the rows before it are not trusted.
pub fn parse_stream(job: &JobSpec, http_status: u16, body: &[u8]) -> Result<Vec<CostRow>, PlatformError> {
    let account = job.account_id.as_str();
    if http_status != 200 {
        // The error is one Status object, or (streamed) an array holding one. Which one is
        // decided by the first byte: serde would read a struct from an array too.
        let status = match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error),
            Some(b'[') => serde_json::from_slice::<Vec<StreamElement>>(body).ok().and_then(|elements| elements.into_iter().find_map(|e| e.error)),
            _ => None,
        };
        return Err(classify_error(http_status, status.as_ref(), account));
    }
    let elements: Vec<StreamElement> = serde_json::from_slice(body).map_err(|e| PlatformError::BadResponse {
        platform: PLATFORM,
        detail: format!("not a searchStream answer: {}", common::config::json_error_without_values(&e)),
    })?;
    if elements.len() > MAX_STREAM_BATCHES {
        return Err(PlatformError::BadResponse { platform: PLATFORM, detail: format!("more than {MAX_STREAM_BATCHES} result batches") });
    }
    let mut rows = Vec::with_capacity(elements.iter().map(|e| e.results.len()).sum());
    for element in elements {
        if let Some(status) = element.error {
            return Err(classify_error(http_status, Some(&status), account));
        }
        for raw in element.results {
            rows.push(normalize_row(job, raw).map_err(|row| PlatformError::BadRow { platform: PLATFORM, row })?);
        }
    }
    Ok(rows)
}

/// Normalize a whole searchStream body (for the bench: the pure part of a fetch).
pub fn normalize_page(job: &JobSpec, body: &[u8]) -> Result<Vec<CostRow>, PlatformError> {
    parse_stream(job, 200, body)
}
