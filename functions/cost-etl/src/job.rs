//! The job message, parsed once into a typed [`JobSpec`] ("parse, don't validate").
//!
//! Everything downstream (the platform adapters, the S3 keys, the idempotency key) trusts a
//! `JobSpec` without re-checking it, so every rule lives here: a known platform, an account id
//! that is safe to put in an S3 key and a URL path, real calendar dates in order, and a range no
//! longer than the configured limit. Every parse error is permanent: the same body can never
//! succeed, so it goes to the dead-letter queue instead of being retried.

use chrono::NaiveDate;
use common::{ErrorClass, Retryable};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest job body we look at. SQS allows 256 KiB; a job is under 200 bytes, so anything near
/// the SQS limit is not a job and is refused before JSON parsing allocates for it.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest account id accepted (platform ids are 10-20 digits; the limit keeps S3 keys short).
pub const MAX_ACCOUNT_ID_LEN: usize = 64;

/// Default for [`JobLimits::max_days`]: one quarter, the longest backfill the orchestrator sends
/// in one job.
pub const DEFAULT_MAX_DAYS: u32 = 93;

/// The ad platforms the worker knows. Serde names are the `platform` values of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Meta,
    GoogleAds,
    Tiktok,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Meta, Platform::GoogleAds, Platform::Tiktok];

    /// The message / S3 key / secret-name spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Meta => "meta",
            Platform::GoogleAds => "google_ads",
            Platform::Tiktok => "tiktok",
        }
    }

    /// The platform's own spelling of an account id, so that two spellings of one account are
    /// one job, one idempotency key and one S3 prefix.
    ///
    /// - Meta ad accounts are numeric; the Graph API path is `act_{id}`. `1234` and `act_1234`
    ///   both become `act_1234`.
    /// - Google Ads customer ids are 10 digits, often written `123-456-7890`; the dashes go.
    /// - TikTok advertiser ids are numeric.
    fn canonical_account(self, raw: &str) -> Result<String, &'static str> {
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Platform::Meta => {
                let digits = raw.strip_prefix("act_").unwrap_or(raw);
                if digits_only(digits) {
                    Ok(format!("act_{digits}"))
                } else {
                    Err("a Meta ad account id is digits, optionally prefixed with act_ (e.g. act_1234)")
                }
            }
            Platform::GoogleAds => {
                let digits: String = raw.chars().filter(|c| *c != '-').collect();
                if digits_only(&digits) && !raw.starts_with('-') && !raw.ends_with('-') && !raw.contains("--") {
                    Ok(digits)
                } else {
                    Err("a Google Ads customer id is digits, optionally grouped with dashes (e.g. 123-456-7890)")
                }
            }
            Platform::Tiktok => {
                if digits_only(raw) {
                    Ok(raw.to_string())
                } else {
                    Err("a TikTok advertiser id is digits (e.g. 7012345678901234567)")
                }
            }
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = JobError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| JobError::UnknownPlatform { value: quote_bounded(s) })
    }
}

/// An account id in its platform's canonical spelling; only `[A-Za-z0-9_-]`, at most
/// [`MAX_ACCOUNT_ID_LEN`] bytes, so it can be used in an S3 key or a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Parse `raw` as an account id of `platform`.
    pub fn parse(platform: Platform, raw: &str) -> Result<AccountId, JobError> {
        let safe = |s: &str| !s.is_empty() && s.len() <= MAX_ACCOUNT_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !safe(raw) {
            return Err(JobError::InvalidAccountId {
                reason: format!("must be 1 to {MAX_ACCOUNT_ID_LEN} characters of A-Z, a-z, 0-9, _ and -"),
            });
        }
        let canonical = platform.canonical_account(raw).map_err(|why| JobError::InvalidAccountId { reason: format!("{} is not valid: {why}", quote_bounded(raw)) })?;
        debug_assert!(safe(&canonical));
        Ok(AccountId(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id without a platform prefix (`act_1234` -> `1234`); what the platform's API calls
    /// the account in query parameters and report rows.
    pub fn numeric(&self) -> &str {
        self.0.strip_prefix("act_").unwrap_or(&self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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
/// Serializes to the DESIGN.md message shape, field order fixed, so `serde_json::to_string` of
/// a `JobSpec` is both the message an orchestrator sends and (see [`JobSpec::canonical`]) the
/// input of the idempotency key.
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
    fn from_object(object: &serde_json::Map<String, serde_json::Value>, limits: &JobLimits) -> Result<JobSpec, JobError> {
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

    /// Short human-readable form for logs: `meta/act_1234/2026-11-20..2026-11-22`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}..{}", self.platform, self.account_id, self.date_from, self.date_to)
    }
}

/// A job message: the job and how to treat an earlier completion of it.
///
/// `refresh: true` asks for the days to be fetched and replaced even when the same job already
/// completed (platforms restate recent days). It is not part of the [`JobSpec`] (the job, its
/// canonical text and S3 keys are the same either way); the handler gives a refresh message its
/// own idempotency key (see docs/cost-etl.md, "Restated days").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMessage {
    pub job: JobSpec,
    pub refresh: bool,
}

impl JobMessage {
    /// Parse an SQS body: the [`JobSpec`] rules plus the optional boolean `refresh`
    /// (absent or `null` is `false`; any other type is a permanent error).
    pub fn parse_with(body: &str, limits: &JobLimits) -> Result<JobMessage, JobError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(JobError::TooLarge { bytes: body.len() });
        }
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| JobError::NotJson { reason: common::config::json_error_without_values(&e) })?;
        JobMessage::from_value(&value, limits)
    }

    /// Parse an already decoded JSON value.
    pub fn from_value(value: &serde_json::Value, limits: &JobLimits) -> Result<JobMessage, JobError> {
        let object = value.as_object().ok_or(JobError::NotAnObject)?;
        let job = JobSpec::from_object(object, limits)?;
        Ok(JobMessage { job, refresh: parse_refresh(object)? })
    }
}

fn parse_refresh(object: &serde_json::Map<String, serde_json::Value>) -> Result<bool, JobError> {
    match object.get("refresh") {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(_) => Err(JobError::NotABoolean { field: "refresh" }),
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
    date.ok_or_else(|| JobError::InvalidDate { field, value: quote_bounded(raw) })
}

/// Echo a piece of hostile input safely: debug-quoted (no control characters reach the log)
/// and cut to a length that keeps error messages readable.
fn quote_bounded(raw: &str) -> String {
    const MAX: usize = 40;
    if raw.chars().count() <= MAX {
        format!("{raw:?}")
    } else {
        let head: String = raw.chars().take(MAX).collect();
        format!("{head:?}...")
    }
}

/// Why a message is not a job. Every variant is permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("invalid job message: body is {bytes} bytes, larger than the {MAX_BODY_BYTES} a job can be")]
    TooLarge { bytes: usize },
    #[error("invalid job message: not JSON ({reason}); send {{\"platform\",\"account_id\",\"date_from\",\"date_to\"}}")]
    NotJson { reason: String },
    #[error("invalid job message: the body must be a JSON object with platform, account_id, date_from and date_to")]
    NotAnObject,
    #[error("invalid job message: field {field} is missing")]
    MissingField { field: &'static str },
    #[error("invalid job message: field {field} must be a string")]
    NotAString { field: &'static str },
    #[error("invalid job message: field {field} must be true or false")]
    NotABoolean { field: &'static str },
    #[error("invalid job message: platform {value} is unknown; use one of meta, google_ads, tiktok")]
    UnknownPlatform { value: String },
    #[error("invalid job message: account_id {reason}")]
    InvalidAccountId { reason: String },
    #[error("invalid job message: {field} {value} is not a date; use YYYY-MM-DD")]
    InvalidDate { field: &'static str, value: String },
    #[error("invalid job message: date_from {date_from} is after date_to {date_to}")]
    Reversed { date_from: NaiveDate, date_to: NaiveDate },
    #[error("invalid job message: the range covers {days} days, more than the {max_days} allowed (MAX_JOB_DAYS); split it into several jobs")]
    RangeTooLong { days: i64, max_days: u32 },
}

impl JobError {
    /// A short stable code for the DLQ `reason` attribute and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            JobError::TooLarge { .. } => "too_large",
            JobError::NotJson { .. } => "not_json",
            JobError::NotAnObject => "not_an_object",
            JobError::MissingField { .. } => "missing_field",
            JobError::NotAString { .. } | JobError::NotABoolean { .. } => "wrong_type",
            JobError::UnknownPlatform { .. } => "unknown_platform",
            JobError::InvalidAccountId { .. } => "invalid_account_id",
            JobError::InvalidDate { .. } => "invalid_date",
            JobError::Reversed { .. } => "reversed_dates",
            JobError::RangeTooLong { .. } => "range_too_long",
        }
    }
}

impl Retryable for JobError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_design_example() {
        let job = JobSpec::parse(r#"{"platform": "meta", "account_id": "act_1234", "date_from": "2026-11-20", "date_to": "2026-11-22"}"#).unwrap();
        assert_eq!(job.platform, Platform::Meta);
        assert_eq!(job.account_id.as_str(), "act_1234");
        assert_eq!(job.account_id.numeric(), "1234");
        assert_eq!(job.date_from, d("2026-11-20"));
        assert_eq!(job.days().collect::<Vec<_>>(), vec![d("2026-11-20"), d("2026-11-21"), d("2026-11-22")]);
        assert_eq!(job.day_count(), 3);
        assert_eq!(job.label(), "meta/act_1234/2026-11-20..2026-11-22");
    }

    #[test]
    fn serializes_to_the_message_shape_and_round_trips() {
        let job = JobSpec::parse(r#"{"date_to":"2026-11-20","account_id":"123-456-7890","platform":"google_ads","date_from":"2026-11-20","extra":[1]}"#).unwrap();
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(text, r#"{"platform":"google_ads","account_id":"1234567890","date_from":"2026-11-20","date_to":"2026-11-20"}"#);
        assert_eq!(JobSpec::parse(&text).unwrap(), job);
    }

    #[test]
    fn one_job_has_one_canonical_form_whatever_its_spelling() {
        let a = JobSpec::parse(r#"{"platform":"meta","account_id":"1234","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap();
        let b = JobSpec::parse(r#"{"date_to":"2026-11-22","note":"again","date_from":"2026-11-20","account_id":"act_1234","platform":"meta"}"#).unwrap();
        assert_eq!(a.canonical(), b.canonical());
        let c = JobSpec::parse(r#"{"platform":"meta","account_id":"act_1234","date_from":"2026-11-20","date_to":"2026-11-23"}"#).unwrap();
        assert_ne!(a.canonical(), c.canonical());
    }

    #[test]
    fn refresh_is_an_optional_boolean_outside_the_job() {
        let base = r#""platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-22""#;
        let parse = |extra: &str| JobMessage::parse_with(&format!("{{{base}{extra}}}"), &JobLimits::default());
        let plain = parse("").unwrap();
        assert!(!plain.refresh);
        assert!(!parse(r#","refresh":false"#).unwrap().refresh);
        assert!(!parse(r#","refresh":null"#).unwrap().refresh);
        let refresh = parse(r#","refresh":true"#).unwrap();
        assert!(refresh.refresh);
        // Same job, same canonical text and S3 keys: refresh only changes the idempotency key.
        assert_eq!(refresh.job, plain.job);
        assert_eq!(refresh.job.canonical(), plain.job.canonical());
        let err = parse(r#","refresh":"yes""#).unwrap_err();
        assert_eq!(err, JobError::NotABoolean { field: "refresh" });
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert!(err.to_string().contains("refresh"), "{err}");
        assert_eq!(parse(r#","date_from":"x","refresh":true"#).unwrap_err().code(), "invalid_date");
    }

    #[test]
    fn platform_names_follow_the_message() {
        for (name, platform) in [("meta", Platform::Meta), ("google_ads", Platform::GoogleAds), ("tiktok", Platform::Tiktok)] {
            assert_eq!(name.parse::<Platform>().unwrap(), platform);
            assert_eq!(serde_json::to_string(&platform).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Platform>(&format!("\"{name}\"")).unwrap(), platform);
        }
    }

    #[test]
    fn every_invalid_shape_is_a_permanent_error_with_a_code() {
        let ok = |overrides: &str| format!(r#"{{"platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-22"{overrides}}}"#);
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "not_json"),
            ("".into(), "not_json"),
            (r#"{"platform":"meta""#.into(), "not_json"),
            ("[1,2]".into(), "not_an_object"),
            ("\"meta\"".into(), "not_an_object"),
            ("null".into(), "not_an_object"),
            (r#"{"account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-22"}"#.into(), "missing_field"),
            (r#"{"platform":"meta","date_from":"2026-11-20","date_to":"2026-11-22"}"#.into(), "missing_field"),
            (r#"{"platform":"meta","account_id":"act_1","date_to":"2026-11-22"}"#.into(), "missing_field"),
            (r#"{"platform":"meta","account_id":"act_1","date_from":"2026-11-22"}"#.into(), "missing_field"),
            (ok(r#","platform":null"#), "missing_field"),
            (ok(r#","platform":7"#), "wrong_type"),
            (ok(r#","account_id":1234"#), "wrong_type"),
            (ok(r#","date_from":20261120"#), "wrong_type"),
            (ok(r#","refresh":"true""#), "wrong_type"),
            (ok(r#","refresh":1"#), "wrong_type"),
            (ok(r#","refresh":[true]"#), "wrong_type"),
            (ok(r#","platform":"snapchat""#), "unknown_platform"),
            (ok(r#","platform":"Meta""#), "unknown_platform"),
            (ok(r#","account_id":"""#), "invalid_account_id"),
            (ok(r#","account_id":"../../etc""#), "invalid_account_id"),
            (ok(r#","account_id":"act_1/x""#), "invalid_account_id"),
            (ok(r#","account_id":"act 1""#), "invalid_account_id"),
            (ok(r#","account_id":"act_""#), "invalid_account_id"),
            (ok(r#","account_id":"act_12a""#), "invalid_account_id"),
            (ok(&format!(r#","account_id":"{}""#, "1".repeat(65))), "invalid_account_id"),
            (ok(r#","account_id":"act_１２""#), "invalid_account_id"),
            (ok(r#","date_from":"2026-02-30""#), "invalid_date"),
            (ok(r#","date_from":"2026-1-5""#), "invalid_date"),
            (ok(r#","date_from":"+2026-01-05""#), "invalid_date"),
            (ok(r#","date_from":"2026-11-20T00:00:00Z""#), "invalid_date"),
            (ok(r#","date_to":"yesterday""#), "invalid_date"),
            (ok(r#","date_from":"2026-11-23""#), "reversed_dates"),
            (ok(r#","date_from":"2026-01-01","date_to":"2026-12-31""#), "range_too_long"),
            (format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES)), "too_large"),
        ];
        for (body, code) in cases {
            let err = JobSpec::parse(&body).expect_err(&body);
            assert_eq!(err.code(), code, "{body} -> {err}");
            assert_eq!(err.class(), ErrorClass::Permanent);
            assert!(err.to_string().starts_with("invalid job message: "), "{err}");
        }
    }

    #[test]
    fn google_and_tiktok_ids_are_canonical_digits() {
        let g = |id: &str| AccountId::parse(Platform::GoogleAds, id).map(|a| a.to_string());
        assert_eq!(g("123-456-7890").unwrap(), "1234567890");
        assert_eq!(g("1234567890").unwrap(), "1234567890");
        assert!(g("-123").is_err());
        assert!(g("12--3").is_err());
        assert!(g("act_1").is_err());
        assert_eq!(AccountId::parse(Platform::Tiktok, "7012345678901234567").unwrap().as_str(), "7012345678901234567");
        assert!(AccountId::parse(Platform::Tiktok, "adv_1").is_err());
    }

    #[test]
    fn range_limit_is_inclusive_and_configurable() {
        let body = |to: &str| format!(r#"{{"platform":"tiktok","account_id":"1","date_from":"2026-11-01","date_to":"{to}"}}"#);
        let limits = JobLimits { max_days: 7 };
        assert_eq!(JobSpec::parse_with(&body("2026-11-07"), &limits).unwrap().day_count(), 7);
        let err = JobSpec::parse_with(&body("2026-11-08"), &limits).unwrap_err();
        assert_eq!(err, JobError::RangeTooLong { days: 8, max_days: 7 });
        assert!(err.to_string().contains("MAX_JOB_DAYS"));
        assert_eq!(JobSpec::parse_with(&body("2026-11-01"), &limits).unwrap().day_count(), 1);
    }

    #[test]
    fn errors_quote_hostile_input_bounded_and_escaped() {
        let long = format!("{}\n\u{1b}[31m", "p".repeat(100));
        let body = serde_json::json!({"platform": long, "account_id": "1", "date_from": "2026-11-20", "date_to": "2026-11-20"}).to_string();
        let text = JobSpec::parse(&body).unwrap_err().to_string();
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
        assert!(text.len() < 200, "{text}");
    }
}
