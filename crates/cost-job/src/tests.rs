//! The contract's unit tests: message parsing, canonical forms, codes, and the wire format
//! the CLI and the worker share.

use crate::*;
use common::{ErrorClass, Retryable};
use chrono::NaiveDate;

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

#[test]
fn the_wire_format_is_pinned_and_a_message_built_by_the_cli_parses_in_the_worker_to_the_same_key() {
    let job = JobSpec::new(Platform::GoogleAds, AccountId::parse(Platform::GoogleAds, "123-456-7890").unwrap(), d("2026-11-20"), d("2026-11-22"), &JobLimits::default()).unwrap();
    // What the CLI sends.
    let plain = JobMessage::new(job.clone());
    let refresh = JobMessage { job: job.clone(), refresh: true };
    assert_eq!(plain.body(), r#"{"platform":"google_ads","account_id":"1234567890","date_from":"2026-11-20","date_to":"2026-11-22"}"#);
    assert_eq!(plain.body(), job.canonical());
    assert_eq!(refresh.body(), r#"{"platform":"google_ads","account_id":"1234567890","date_from":"2026-11-20","date_to":"2026-11-22","refresh":true}"#);
    // What the worker reads, and the key it claims.
    for (sent, message_id) in [(&plain, Some("m-1")), (&refresh, Some("m-1")), (&refresh, None)] {
        let read = JobMessage::parse_with(&sent.body(), &JobLimits::default()).unwrap();
        assert_eq!(&read, sent);
        assert_eq!(idempotency_key(&read, message_id, None), idempotency_key(sent, message_id, None));
        let via_serde: JobMessage = serde_json::from_str(&sent.body()).unwrap();
        assert_eq!(&via_serde, sent);
    }
    // The plain key is the namespace and the job's digest (the CLI's FIFO deduplication id).
    assert_eq!(idempotency_key(&plain, Some("m-1"), None).as_str(), format!("{LEDGER_NAMESPACE}#{}", job.digest()));
    assert_eq!(job.digest(), common::key::sha256_hex(&job.canonical()));
    assert_eq!(job.digest().len(), 64);
    // Deserializing refuses what parsing refuses.
    assert!(serde_json::from_str::<JobMessage>(r#"{"platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-22","refresh":"yes"}"#).is_err());
}

#[test]
fn refresh_messages_have_their_own_key_per_message_and_plain_ones_share_one() {
    let body = r#"{"platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-22"}"#;
    let plain = JobMessage::parse_with(body, &JobLimits::default()).unwrap();
    let refresh = JobMessage { job: plain.job.clone(), refresh: true };
    assert_eq!(idempotency_key(&plain, Some("m1"), None), common::key::IdempotencyKey::derive(LEDGER_NAMESPACE, &plain.job.canonical()));
    assert_eq!(idempotency_key(&plain, Some("m1"), None), idempotency_key(&plain, Some("m2"), None));
    assert_ne!(idempotency_key(&refresh, Some("m1"), None), idempotency_key(&plain, Some("m1"), None));
    assert_eq!(idempotency_key(&refresh, Some("m1"), None), idempotency_key(&refresh, Some("m1"), None));
    assert_ne!(idempotency_key(&refresh, Some("m1"), None), idempotency_key(&refresh, Some("m2"), None));
    assert_ne!(idempotency_key(&refresh, None, None), idempotency_key(&plain, None, None));
}

#[test]
fn unknown_platform_errors_list_every_platform() {
    let err = "snapchat".parse::<Platform>().unwrap_err();
    assert_eq!(err.to_string(), r#"invalid job message: platform "snapchat" is unknown; use one of meta, google_ads, tiktok"#);
}

#[test]
fn a_range_splits_into_consecutive_inclusive_chunks_with_a_short_last_one() {
    let ranges = split_range(d("2026-11-01"), d("2026-11-20"), 7);
    assert_eq!(ranges, vec![(d("2026-11-01"), d("2026-11-07")), (d("2026-11-08"), d("2026-11-14")), (d("2026-11-15"), d("2026-11-20"))]);
}

#[test]
fn a_single_day_is_one_range_and_one_day_per_range_gives_one_range_per_day() {
    assert_eq!(split_range(d("2026-11-01"), d("2026-11-01"), 7), vec![(d("2026-11-01"), d("2026-11-01"))]);
    let daily = split_range(d("2026-02-27"), d("2026-03-02"), 1);
    assert_eq!(daily.len(), 4);
    assert!(daily.iter().all(|(a, b)| a == b));
    assert_eq!(daily[2].0, d("2026-03-01"));
    assert_eq!(split_range(d("2026-11-01"), d("2026-11-03"), 0).len(), 3, "0 days counts as 1");
}

#[test]
fn an_exact_multiple_has_no_empty_tail_and_ranges_cover_without_gaps() {
    let ranges = split_range(d("2026-01-01"), d("2026-01-14"), 7);
    assert_eq!(ranges.len(), 2);
    for pair in ranges.windows(2) {
        assert_eq!(pair[0].1.succ_opt().unwrap(), pair[1].0);
    }
    assert_eq!(ranges.last().unwrap().1, d("2026-01-14"));
}

#[test]
fn a_reversed_range_is_empty_and_the_last_representable_day_terminates() {
    assert!(split_range(d("2026-11-20"), d("2026-11-01"), 7).is_empty());
    let ranges = split_range(NaiveDate::MAX.pred_opt().unwrap(), NaiveDate::MAX, 7);
    assert_eq!(ranges, vec![(NaiveDate::MAX.pred_opt().unwrap(), NaiveDate::MAX)]);
}

#[test]
fn a_refresh_job_is_keyed_by_its_run_so_a_retried_enqueue_is_a_duplicate() {
    let body = r#"{"platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-22","refresh":true}"#;
    let refresh = JobMessage::parse_with(body, &JobLimits::default()).unwrap();
    let run: RunId = "scheduled__2026-12-01T06:00:00+00:00".parse().unwrap();
    let tomorrow: RunId = "scheduled__2026-12-02T06:00:00+00:00".parse().unwrap();
    // Two sends of one run (a retried enqueue: new message ids) share one key...
    assert_eq!(idempotency_key(&refresh, Some("m1"), Some(&run)), idempotency_key(&refresh, Some("m2"), Some(&run)));
    // ...the next run refreshes again, and a plain job's key ignores the run.
    assert_ne!(idempotency_key(&refresh, Some("m1"), Some(&run)), idempotency_key(&refresh, Some("m1"), Some(&tomorrow)));
    let plain = JobMessage::new(refresh.job.clone());
    assert_eq!(idempotency_key(&plain, Some("m1"), Some(&run)), idempotency_key(&plain, Some("m9"), None));
}

#[test]
fn run_ids_are_printable_and_bounded() {
    assert_eq!("manual__2026-12-01".parse::<RunId>().unwrap().record_id(), "run#manual__2026-12-01");
    for bad in ["", "  ", "a\nb", &"r".repeat(201)] {
        assert!(bad.parse::<RunId>().is_err(), "{bad:?}");
    }
}

#[test]
fn a_run_is_finished_when_every_expected_job_is_done_or_dead_lettered() {
    use run::{DeadJob, RunStatus};
    use std::collections::BTreeMap;
    let job = JobSpec::parse(r#"{"platform":"meta","account_id":"act_1","date_from":"2026-11-20","date_to":"2026-11-20"}"#).unwrap();
    let dead = |code: &str| DeadJob::new(&job, code, "why");
    let tokens = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    // Nothing recorded yet: not finished (a wait that starts before the enqueue sees this).
    assert!(!RunStatus::from_parts(&[], &[], &BTreeMap::new()).finished);
    // Two enqueues (3 + 2 jobs), 4 done: not yet.
    let status = RunStatus::from_parts(&[3, 2], &tokens(4), &BTreeMap::new());
    assert_eq!((status.expected, status.done, status.finished), (5, 4, false));
    // The fifth dead-lettered: finished, with the reason.
    let mut dead_map = BTreeMap::new();
    dead_map.insert("t9".to_string(), dead("platform.invalid_credentials"));
    let status = RunStatus::from_parts(&[3, 2], &tokens(4), &dead_map);
    assert!(status.finished);
    assert_eq!(status.dead_lettered, vec![dead("platform.invalid_credentials")]);
    // A dead letter that was redriven and then completed counts as done, not dead.
    dead_map.insert("t0".to_string(), dead("platform.unavailable"));
    let status = RunStatus::from_parts(&[3, 2], &tokens(4), &dead_map);
    assert_eq!(status.dead_lettered.len(), 1);
    assert!(status.finished);
    assert_eq!(run::job_token(&idempotency_key(&JobMessage::new(job.clone()), None, None)), job.digest()[..16]);
}
