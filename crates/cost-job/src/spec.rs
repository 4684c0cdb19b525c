//! [`JobSpec`]: one job, parsed and typed ("parse, don't validate").
//!
//! Everything downstream (the platform adapters, the S3 keys, the idempotency key) trusts a
//! `JobSpec` without re-checking it, so every rule lives here or in [`crate::platform`]: a known
//! platform, an account id that is safe to put in an S3 key and a URL path, real calendar dates
//! in order, and a range no longer than the configured limit.

use crate::error::JobError;
use crate::message::JobMessage;
use crate::platform::{AccountId, Platform};
use chrono::NaiveDate;
use common::text::quote_bounded;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Default for [`JobLimits::max_days`]: one quarter, the longest backfill the orchestrator sends
/// in one job.
pub const DEFAULT_MAX_DAYS: u32 = 93;

/// Limits a message must respect; from configuration (`MAX_JOB_DAYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// The most days one job may cover, both ends included.
    pub max_days: u32,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits { max_days: DEFAULT_MAX_DAYS }
    }
}

/// One job: "the daily ad cost of `account_id` on `platform` for `date_from..=date_to`".
///
/// Serializes to the message shape, field order fixed, so `serde_json::to_string` of a `JobSpec`
/// is both the message an orchestrator sends and (see [`JobSpec::canonical`]) the input of the
/// idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct JobSpec {
    pub platform: Platform,
    pub account_id: AccountId,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
}

impl JobSpec {
    /// Parse an SQS body with the default [`JobLimits`].
    pub fn parse(body: &str) -> Result<JobSpec, JobError> {
        JobSpec::parse_with(body, &JobLimits::default())
    }

    /// Parse an SQS body. Unknown fields are ignored; a missing or invalid field is an error
    /// (the whole message is checked, `refresh` included, so every reader refuses the same bodies).
    pub fn parse_with(body: &str, limits: &JobLimits) -> Result<JobSpec, JobError> {
        JobMessage::parse_with(body, limits).map(|message| message.job)
    }

    /// Parse an already decoded JSON value (what `parse_with` does after decoding).
    pub fn from_value(value: &serde_json::Value, limits: &JobLimits) -> Result<JobSpec, JobError> {
        JobMessage::from_value(value, limits).map(|message| message.job)
    }

    /// The job fields of a message object.
    pub(crate) fn from_object(object: &serde_json::Map<String, serde_json::Value>, limits: &JobLimits) -> Result<JobSpec, JobError> {
        let field = |name: &'static str| -> Result<&str, JobError> {
            match object.get(name) {
                None | Some(serde_json::Value::Null) => Err(JobError::MissingField { field: name }),
                Some(serde_json::Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(JobError::NotAString { field: name }),
            }
        };
        let platform: Platform = field("platform")?.parse()?;
        let account_id = AccountId::parse(platform, field("account_id")?)?;
        let date_from = parse_date("date_from", field("date_from")?)?;
        let date_to = parse_date("date_to", field("date_to")?)?;
        JobSpec::new(platform, account_id, date_from, date_to, limits)
    }

    /// Build from typed parts, checking the date range (for the orchestrator CLI and tests).
    pub fn new(platform: Platform, account_id: AccountId, date_from: NaiveDate, date_to: NaiveDate, limits: &JobLimits) -> Result<JobSpec, JobError> {
        if date_from > date_to {
            return Err(JobError::Reversed { date_from, date_to });
        }
        let days = (date_to - date_from).num_days() + 1;
        if days > i64::from(limits.max_days) {
            return Err(JobError::RangeTooLong { days, max_days: limits.max_days });
        }
        Ok(JobSpec { platform, account_id, date_from, date_to })
    }

    /// Every day of the job, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.date_from.iter_days().take_while(move |d| *d <= self.date_to)
    }

    /// Number of days covered, both ends included.
    pub fn day_count(&self) -> u32 {
        ((self.date_to - self.date_from).num_days() + 1) as u32
    }

    /// The canonical text of the job: the message shape with canonical account id and ISO
    /// dates, in fixed field order, unknown fields dropped. Two messages meaning the same job
    /// (other field order, extra fields, `1234` vs `act_1234`) have the same canonical text and
    /// so the same idempotency key.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).expect("a JobSpec always serializes")
    }

    /// The SHA-256 (hex) of [`JobSpec::canonical`]: the idempotency key's digest and the
    /// orchestrator's FIFO deduplication id. Same job, same digest.
    pub fn digest(&self) -> String {
        common::key::sha256_hex(&self.canonical())
    }

    /// Short human-readable form for logs: `meta/act_1234/2026-11-20..2026-11-22`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}..{}", self.platform, self.account_id, self.date_from, self.date_to)
    }
}

/// Deserializing goes through [`JobSpec::from_value`] with the default limits, so a `JobSpec`
/// read by serde obeys the same rules as one parsed from an SQS body.
impl<'de> Deserialize<'de> for JobSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        JobSpec::from_value(&value, &JobLimits::default()).map_err(serde::de::Error::custom)
    }
}

impl FromStr for JobSpec {
    type Err = JobError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobSpec::parse(s)
    }
}

fn parse_date(field: &'static str, raw: &str) -> Result<NaiveDate, JobError> {
    // The exact shape YYYY-MM-DD: chrono alone would also take "2026-1-5" or "+2026-01-05".
    let shaped = raw.len() == 10 && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let date = shaped.then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()).flatten();
    date.ok_or_else(|| JobError::InvalidDate { field, value: quote_bounded(raw, 40) })
}
