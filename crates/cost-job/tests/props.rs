//! Property tests of the job contract (proptest, 256 cases each; `PROPTEST_CASES` overrides).
//!
//! Whatever an SQS body holds, parsing never panics and either gives a job that serializes back
//! to a body parsing to the same job, or refuses it with a well-formed error (a stable code, the
//! `invalid job message:` prefix, no control character). A message the CLI builds from typed
//! parts parses back in the worker to the same value and the same idempotency key; run ids,
//! account ids, date-range splitting and run records hold their invariants for any input.

use chrono::{Days, NaiveDate};
use cost_job::run::{DeadJob, RunStatus, MAX_RUN_ID_LEN};
use cost_job::{idempotency_key, split_range, AccountId, JobError, JobLimits, JobMessage, JobSpec, Platform, RunId, MAX_ACCOUNT_ID_LEN, MAX_BODY_BYTES};
use proptest::prelude::*;
use test_support::strategies::{text, json_value};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

// --- strategies -------------------------------------------------------------------------------

/// A message field: mostly a plausible string, sometimes any JSON value, sometimes absent.
fn field(plausible: BoxedStrategy<String>) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(0.9, prop_oneof![3 => plausible.prop_map(Value::String), 1 => json_value()]).boxed()
}

fn platform_text() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec!["meta", "google_ads", "tiktok"]).prop_map(|p| p.to_string()),
        "[a-zA-Z_]{0,12}",
        text(20),
    ]
    .boxed()
}

fn account_text() -> BoxedStrategy<String> {
    prop_oneof!["(act_)?[0-9]{1,66}", "-?[0-9]{1,5}(-{1,2}[0-9]{1,5}){0,4}-?", "[A-Za-z0-9_-]{0,70}", text(80)].boxed()
}

fn date_text() -> BoxedStrategy<String> {
    prop_oneof![
        "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}",
        text(20),
    ]
    .boxed()
}

prop_compose! {
    /// A JSON object with the message's keys (each maybe absent) and random values.
    fn job_object()(
        platform in field(platform_text()),
        account in field(account_text()),
        from in field(date_text()),
        to in field(date_text()),
        refresh in prop::option::of(prop_oneof![3 => any::<bool>().prop_map(Value::Bool), 1 => json_value()]),
        extra in prop::option::of(("[a-z_]{1,10}", json_value())),
    ) -> Value {
        let mut object = Map::new();
        for (key, value) in [("platform", platform), ("account_id", account), ("date_from", from), ("date_to", to), ("refresh", refresh)] {
            if let Some(value) = value {
                object.insert(key.to_string(), value);
            }
        }
        if let Some((key, value)) = extra {
            object.insert(key, value);
        }
        Value::Object(object)
    }
}

/// A platform and one valid spelling of one of its account ids.
fn account_for_platform() -> BoxedStrategy<(Platform, String)> {
    prop_oneof![
        "(act_)?[0-9]{1,20}".prop_map(|raw| (Platform::Meta, raw)),
        "[0-9]{3}-[0-9]{3}-[0-9]{4}|[0-9]{10}".prop_map(|raw| (Platform::GoogleAds, raw)),
        "[0-9]{1,19}".prop_map(|raw| (Platform::Tiktok, raw)),
    ]
    .boxed()
}

prop_compose! {
    /// A message as the CLI builds it from typed parts, the limits it respects, and the raw
    /// account spelling it was built from.
    fn typed_message()(
        (platform, raw_account) in account_for_platform(),
        (year, month, day) in (1000i32..=9980, 1u32..=12, 1u32..=28),
        max_days in 1u32..=3660,
        span in any::<u32>(),
        refresh in any::<bool>(),
    ) -> (JobMessage, JobLimits, String) {
        let limits = JobLimits { max_days };
        let from = NaiveDate::from_ymd_opt(year, month, day).expect("days 1-28 exist in every month");
        // At most max_days - 1 days later: the range holds at most max_days days, before year 10000.
        let to = from.checked_add_days(Days::new(u64::from(span % max_days))).expect("a representable date");
        let account = AccountId::parse(platform, &raw_account).expect("generated account ids are valid");
        let job = JobSpec::new(platform, account, from, to, &limits).expect("the range fits the limit");
        (JobMessage { job, refresh }, limits, raw_account)
    }
}

/// A date `days` away from `date` (the same date when that is not representable).
fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 { date.checked_add_days(Days::new(days.unsigned_abs())) } else { date.checked_sub_days(Days::new(days.unsigned_abs())) };
    moved.unwrap_or(date)
}

/// Two dates, in order or not: ordinary ones, and ones at the end of chrono's calendar.
fn date_pair() -> BoxedStrategy<(NaiveDate, NaiveDate)> {
    prop_oneof![
        4 => (1i32..=3_652_059, -30i64..=20_000).prop_map(|(day, span)| {
            let from = NaiveDate::from_num_days_from_ce_opt(day).unwrap_or_default();
            (from, shift(from, span))
        }),
        1 => (0u64..=400, 0u64..=400).prop_map(|(a, b)| {
            let back = |n: u64| NaiveDate::MAX.checked_sub_days(Days::new(n)).unwrap_or(NaiveDate::MAX);
            (back(a), back(b))
        }),
    ]
    .boxed()
}

// --- checks -----------------------------------------------------------------------------------

/// Every refusal is well formed: a stable code, the contract's prefix, one printable line of
/// bounded length (the body chose part of it).
fn check_job_error(err: &JobError) -> Result<(), TestCaseError> {
    let text = err.to_string();
    prop_assert!(!err.code().is_empty());
    prop_assert!(text.starts_with("invalid job message: "), "{}", text);
    prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
    prop_assert!(text.len() <= 1024, "{} bytes: {:?}", text.len(), text);
    Ok(())
}

/// An accepted message serializes to a body that parses back to the same message.
fn round_trips(message: &JobMessage, limits: &JobLimits) -> Result<(), TestCaseError> {
    let body = message.body();
    match JobMessage::parse_with(&body, limits) {
        Ok(read) => prop_assert_eq!(&read, message),
        Err(err) => prop_assert!(false, "{} did not parse back: {}", body, err),
    }
    Ok(())
}

// --- properties -------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_a_job_that_round_trips_or_a_well_formed_refusal(body in prop_oneof![text(300), "[ -~]{0,300}"], max_days in any::<u32>()) {
        let limits = JobLimits { max_days };
        let parsed = JobMessage::parse_with(&body, &limits);
        match &parsed {
            Ok(message) => round_trips(message, &limits)?,
            Err(err) => check_job_error(err)?,
        }
        prop_assert_eq!(JobSpec::parse_with(&body, &limits), parsed.map(|message| message.job));
        let _ = JobSpec::parse(&body);
        let _ = serde_json::from_str::<JobMessage>(&body);
    }

    #[test]
    fn any_object_with_the_message_keys_is_a_job_that_round_trips_or_a_well_formed_refusal(object in job_object(), max_days in prop_oneof![1u32..=100, any::<u32>()]) {
        let limits = JobLimits { max_days };
        let body = object.to_string();
        let parsed = JobMessage::parse_with(&body, &limits);
        match &parsed {
            Ok(message) => round_trips(message, &limits)?,
            Err(err) => check_job_error(err)?,
        }
        // The body and the decoded value are judged alike (unless the body is too large to look at).
        if body.len() <= MAX_BODY_BYTES {
            prop_assert_eq!(&parsed, &JobMessage::from_value(&object, &limits));
        } else {
            prop_assert_eq!(parsed.map_err(|err| err.code()), Err("too_large"));
        }
    }

    #[test]
    fn a_message_built_from_typed_parts_parses_back_to_the_same_value_and_key(
        (message, limits, raw_account) in typed_message(),
        message_id in prop::option::of("[a-f0-9-]{1,36}"),
        run in prop::option::of("[A-Za-z0-9_:+.-]{1,60}"),
    ) {
        round_trips(&message, &limits)?;
        let run: Option<RunId> = run.map(|r| r.parse().expect("a printable run id"));
        let id = message_id.as_deref();
        let body = message.body();
        if !message.refresh {
            prop_assert_eq!(&body, &message.job.canonical());
        }
        let read = JobMessage::parse_with(&body, &limits).expect("round trip checked above");
        prop_assert_eq!(idempotency_key(&read, id, run.as_ref()), idempotency_key(&message, id, run.as_ref()));
        // The same job as an orchestrator might spell it: the raw account id, other field
        // order, an unknown field. Same job, same canonical text, same key.
        let spelled = json!({
            "date_to": message.job.date_to.to_string(),
            "note": "again",
            "account_id": raw_account,
            "date_from": message.job.date_from.to_string(),
            "platform": message.job.platform.as_str(),
            "refresh": message.refresh,
        })
        .to_string();
        match JobMessage::parse_with(&spelled, &limits) {
            Ok(reread) => {
                prop_assert_eq!(&reread, &message);
                prop_assert_eq!(reread.job.canonical(), message.job.canonical());
                prop_assert_eq!(idempotency_key(&reread, id, run.as_ref()), idempotency_key(&message, id, run.as_ref()));
            }
            Err(err) => prop_assert!(false, "{} was refused: {}", spelled, err),
        }
    }

    #[test]
    fn account_ids_are_canonical_safe_and_stable(
        platform in prop::sample::select(Platform::ALL.to_vec()),
        raw in account_text(),
    ) {
        match AccountId::parse(platform, &raw) {
            Ok(id) => {
                let canonical = id.as_str();
                prop_assert!(!canonical.is_empty() && canonical.len() <= MAX_ACCOUNT_ID_LEN, "{:?}", canonical);
                prop_assert!(canonical.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{:?}", canonical);
                prop_assert!(!id.numeric().is_empty() && id.numeric().bytes().all(|b| b.is_ascii_digit()), "{:?}", canonical);
                prop_assert_eq!(AccountId::parse(platform, canonical).ok(), Some(id.clone()));
            }
            Err(err) => {
                prop_assert_eq!(err.code(), "invalid_account_id");
                check_job_error(&err)?;
            }
        }
    }

    /// `act_` is added to bare Meta digits: 61 to 64 of them used to pass the raw length check
    /// and trip an assertion on the canonical one (a panic in debug builds, a 68-character id in
    /// release ones).
    #[test]
    fn meta_ids_are_refused_when_their_canonical_form_is_too_long(raw in "(act_)?[0-9]{55,64}") {
        let digits = raw.strip_prefix("act_").unwrap_or(&raw).len();
        match AccountId::parse(Platform::Meta, &raw) {
            Ok(id) => {
                prop_assert!(digits <= MAX_ACCOUNT_ID_LEN - 4, "{} digits accepted", digits);
                prop_assert_eq!(id.as_str().len(), digits + 4);
            }
            Err(err) => {
                prop_assert!(digits > MAX_ACCOUNT_ID_LEN - 4, "{} digits refused: {}", digits, err);
                prop_assert_eq!(err.code(), "invalid_account_id");
                check_job_error(&err)?;
            }
        }
    }

    #[test]
    fn run_ids_are_printable_bounded_and_never_panic(raw in prop_oneof![text(260), "[ -~]{0,260}", "[a-z ]{195,205}"]) {
        match raw.parse::<RunId>() {
            Ok(run) => {
                prop_assert!(!raw.trim().is_empty());
                prop_assert!(raw.chars().count() <= MAX_RUN_ID_LEN);
                prop_assert!(!raw.chars().any(char::is_control));
                prop_assert_eq!(run.as_str(), raw.as_str());
                prop_assert_eq!(run.record_id(), format!("run#{raw}"));
            }
            Err(err) => {
                prop_assert!(err.contains("is not a run id"), "{}", err);
                prop_assert!(!err.chars().any(char::is_control), "{:?}", err);
            }
        }
    }

    #[test]
    fn split_range_covers_the_range_exactly((from, to) in date_pair(), max_days in prop_oneof![0u32..=40, any::<u32>()]) {
        let ranges = split_range(from, to, max_days);
        if from > to {
            prop_assert!(ranges.is_empty());
            return Ok(());
        }
        let step = i64::from(max_days.max(1));
        prop_assert_eq!(ranges.first().map(|r| r.0), Some(from));
        prop_assert_eq!(ranges.last().map(|r| r.1), Some(to));
        for (start, end) in &ranges {
            prop_assert!(start <= end);
            prop_assert!((*end - *start).num_days() < step);
        }
        for pair in ranges.windows(2) {
            // Consecutive, no gap, no overlap; every piece but the last is full.
            prop_assert_eq!(pair[0].1.succ_opt(), Some(pair[1].0));
            prop_assert_eq!((pair[0].1 - pair[0].0).num_days() + 1, step);
        }
        let days = (to - from).num_days() + 1;
        prop_assert_eq!(ranges.len() as i64, (days + step - 1) / step);
    }

    #[test]
    fn run_records_never_overflow_and_keep_reasons_bounded(
        expected in prop::collection::vec(prop_oneof![any::<u64>(), 0u64..10], 0..6),
        done in prop::collection::vec("[a-f0-9]{1,3}", 0..20),
        dead in prop::collection::btree_map("[a-f0-9]{1,3}", (text(120), text(400)), 0..6),
    ) {
        let job = JobSpec::parse(r#"{"platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-20"}"#).expect("a valid job");
        let dead: BTreeMap<String, DeadJob> = dead.into_iter().map(|(token, (code, reason))| (token, DeadJob::new(&job, &code, &reason))).collect();
        for entry in dead.values() {
            prop_assert!(!entry.reason.chars().any(char::is_control) && !entry.reason_code.chars().any(char::is_control));
            // At most the kept characters, each escaped to at most 6 (`\u{9f}`), and `...`.
            prop_assert!(entry.reason.chars().count() <= DeadJob::MAX_REASON_CHARS * 6 + 3);
            prop_assert!(entry.reason_code.chars().count() <= 100 * 6 + 3);
        }
        let status = RunStatus::from_parts(&expected, &done, &dead);
        let sum = expected.iter().fold(0u64, |total, n| total.saturating_add(*n));
        prop_assert_eq!(status.expected, sum);
        prop_assert_eq!(status.done, done.len() as u64);
        prop_assert!(status.dead_lettered.len() <= dead.len());
        prop_assert_eq!(status.finished, sum > 0 && done.len() as u64 + status.dead_lettered.len() as u64 >= sum);
    }
}

#[test]
fn the_longest_meta_id_is_sixty_digits() {
    let id = AccountId::parse(Platform::Meta, &"7".repeat(60)).expect("60 digits fit");
    assert_eq!(id.as_str().len(), MAX_ACCOUNT_ID_LEN);
    for raw in ["7".repeat(61), "7".repeat(64)] {
        let err = AccountId::parse(Platform::Meta, &raw).expect_err("too long once act_ is added");
        assert_eq!(err.code(), "invalid_account_id");
        assert!(err.to_string().contains("longer than 64"), "{err}");
    }
    let body = format!(r#"{{"platform":"meta","account_id":"{}","date_from":"2026-11-20","date_to":"2026-11-20"}}"#, "7".repeat(62));
    assert_eq!(JobSpec::parse(&body).unwrap_err().code(), "invalid_account_id");
}
