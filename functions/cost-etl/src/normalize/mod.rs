//! The one row schema every platform is normalized to, and the pure steps around it.
//!
//! Adapters turn their platform's report rows into [`CostRow`]s; [`group_by_day`] then lays the
//! rows of a job out per day (every day of the job present, even without rows, so a re-run that
//! now finds nothing still replaces yesterday's object) in a stable order, so that the same
//! platform answer always gives byte-identical objects.

pub mod money;

use cost_job::{JobSpec, Platform};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub use money::{decimal_to_micros, MoneyError};

/// One campaign-day, the DESIGN.md line schema (field order is the serialized order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostRow {
    pub date: NaiveDate,
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub campaign_name: String,
    pub currency: String,
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// A report row that cannot be normalized; the platform answered something we do not trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("field {field}: {source}")]
    Money { field: &'static str, source: MoneyError },
    #[error("field {field}: {value:?} is not a whole non-negative number")]
    Count { field: &'static str, value: String },
    #[error("field {field} is missing or empty")]
    Missing { field: &'static str },
    #[error("field {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("row for {date} is outside the job's range {from}..{to}")]
    OutsideRange { date: NaiveDate, from: NaiveDate, to: NaiveDate },
    #[error("campaign {campaign_id} appears twice for {date}")]
    Duplicate { date: NaiveDate, campaign_id: String },
}

/// A count sent as a string ("1000"), as Meta and Google do for int64 values.
pub fn parse_count(field: &'static str, text: &str) -> Result<i64, RowError> {
    let ok = !text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| RowError::Count { field, value: text.chars().take(32).collect() })
}

/// Spend as a decimal string in the account currency, in micros.
pub fn parse_spend(field: &'static str, text: &str) -> Result<i64, RowError> {
    decimal_to_micros(text).map_err(|source| RowError::Money { field, source })
}

/// Rows of one job laid out per day: every day of the job is a key (possibly with no rows);
/// rows within a day are sorted by campaign id.
pub fn group_by_day(job: &JobSpec, rows: Vec<CostRow>) -> Result<BTreeMap<NaiveDate, Vec<CostRow>>, RowError> {
    let mut days: BTreeMap<NaiveDate, Vec<CostRow>> = job.days().map(|d| (d, Vec::new())).collect();
    let mut seen = BTreeSet::new();
    for row in rows {
        if !seen.insert((row.date, row.campaign_id.clone())) {
            return Err(RowError::Duplicate { date: row.date, campaign_id: row.campaign_id });
        }
        match days.get_mut(&row.date) {
            Some(day) => day.push(row),
            None => return Err(RowError::OutsideRange { date: row.date, from: job.date_from, to: job.date_to }),
        }
    }
    for rows in days.values_mut() {
        rows.sort_by(|a, b| campaign_order(&a.campaign_id, &b.campaign_id));
    }
    Ok(days)
}

/// Numeric ids in numeric order (so "9" sorts before "10"), anything else after, by text.
fn campaign_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// JSON Lines: one row per line, each line ending in `\n`; no rows is an empty body.
pub fn to_jsonl(rows: &[CostRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 200);
    for row in rows {
        serde_json::to_writer(&mut out, row).expect("a CostRow always serializes");
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(from: &str, to: &str) -> JobSpec {
        JobSpec::parse(&format!(r#"{{"platform":"meta","account_id":"act_1234","date_from":"{from}","date_to":"{to}"}}"#)).unwrap()
    }

    fn row(date: &str, campaign: &str, spend: i64) -> CostRow {
        CostRow {
            date: date.parse().unwrap(),
            platform: Platform::Meta,
            account_id: "act_1234".into(),
            campaign_id: campaign.into(),
            campaign_name: format!("c{campaign}"),
            currency: "KRW".into(),
            spend_micros: spend,
            impressions: 1000,
            clicks: 10,
        }
    }

    #[test]
    fn every_day_of_the_job_gets_a_key_and_rows_land_on_their_day_in_campaign_order() {
        let rows = vec![row("2026-11-21", "10", 1), row("2026-11-20", "120", 2), row("2026-11-21", "9", 3), row("2026-11-21", "x", 4)];
        let days = group_by_day(&job("2026-11-20", "2026-11-22"), rows).unwrap();
        assert_eq!(days.keys().map(|d| d.to_string()).collect::<Vec<_>>(), ["2026-11-20", "2026-11-21", "2026-11-22"]);
        let ids = |d: &str| days[&d.parse().unwrap()].iter().map(|r| r.campaign_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids("2026-11-20"), ["120"]);
        assert_eq!(ids("2026-11-21"), ["9", "10", "x"]);
        assert!(ids("2026-11-22").is_empty());
    }

    #[test]
    fn grouping_is_independent_of_the_platform_answer_order() {
        let a = vec![row("2026-11-20", "1", 1), row("2026-11-20", "2", 2), row("2026-11-21", "1", 3)];
        let mut b = a.clone();
        b.reverse();
        let j = job("2026-11-20", "2026-11-21");
        assert_eq!(group_by_day(&j, a).unwrap(), group_by_day(&j, b).unwrap());
    }

    #[test]
    fn rows_outside_the_range_and_duplicates_are_refused() {
        let j = job("2026-11-20", "2026-11-21");
        assert!(matches!(group_by_day(&j, vec![row("2026-11-22", "1", 1)]), Err(RowError::OutsideRange { .. })));
        assert!(matches!(group_by_day(&j, vec![row("2026-11-20", "1", 1), row("2026-11-20", "1", 1)]), Err(RowError::Duplicate { .. })));
    }

    #[test]
    fn jsonl_follows_the_design_line_schema() {
        let text = String::from_utf8(to_jsonl(&[row("2026-11-20", "120", 1_234_500_000)])).unwrap();
        assert_eq!(
            text,
            "{\"date\":\"2026-11-20\",\"platform\":\"meta\",\"account_id\":\"act_1234\",\"campaign_id\":\"120\",\"campaign_name\":\"c120\",\"currency\":\"KRW\",\"spend_micros\":1234500000,\"impressions\":1000,\"clicks\":10}\n"
        );
        assert!(to_jsonl(&[]).is_empty());
    }

    #[test]
    fn counts_are_whole_non_negative_strings() {
        assert_eq!(parse_count("clicks", "0"), Ok(0));
        assert_eq!(parse_count("impressions", "9223372036854775807"), Ok(i64::MAX));
        for bad in ["", "-1", "1.5", "1e3", " 1", "9223372036854775808", "99999999999999999999"] {
            assert!(parse_count("clicks", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_spend("spend", "1.5"), Ok(1_500_000));
        assert!(parse_spend("spend", "abc").unwrap_err().to_string().starts_with("field spend:"));
    }
}
