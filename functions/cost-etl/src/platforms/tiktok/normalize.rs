//! TikTok report pages to [`CostRow`]s: spend read to exact micros from its decimal string,
//! `stat_time_day` checked against the requested range, counts from strings or numbers.

use super::errors::bad;
use super::wire::{open_envelope, PageInfo, RawRow, ReportData};
use super::PLATFORM;
use cost_job::JobSpec;
use crate::normalize::{parse_spend, CostRow, RowError};
use crate::platforms::{scalar_count, PlatformError, Scalar};
use common::text::bounded;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

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
