//! cost-etl against real peers: moto (SQS, S3, DynamoDB, Secrets Manager) through the AWS SDK,
//! and the local Meta Insights peer over HTTP. Each test gets its own moto and peer.

mod support;

use aws_lambda_events::sqs::SqsMessage;
use sqs_batch::batch::{NotStarted, RecordStatus};
use common::deadline::Deadline;
use sqs_batch::idempotency::{Claim, Ledger, Status};
use cost_etl::handler::Outcome;
use cost_etl::App;
use peers::meta::{synthetic_rows, Fault};
use std::time::{Duration, SystemTime};
use support::{d, failed_ids, far, record, World, JOBS_ARN, TABLE};

fn fifo(id: &str, group: &str, body: &str) -> SqsMessage {
    let mut m = record(id, body);
    m.event_source_arn = Some(format!("{JOBS_ARN}.fifo"));
    m.attributes.insert("MessageGroupId".into(), group.into());
    m
}

fn job(account: &str, from: &str, to: &str) -> String {
    support::job("meta", account, from, to)
}

#[tokio::test]
async fn a_mixed_batch_gives_exactly_the_right_failures_dead_letters_and_objects() {
    let w = World::start().await;
    // 400 campaigns a day: 1200 rows, three pages of 500.
    w.meta.add_account("1234", "KRW", synthetic_rows(400, d("2026-11-20"), d("2026-11-22")));
    w.meta.add_account("2001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.add_account("3001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.set_fault("3001", Fault::RateLimited { code: 80000, times: 1, regain_minutes: 5 });
    w.meta.add_account("3002", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.set_fault("3002", Fault::ServerError { times: 1 });
    w.meta.add_account("4001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.set_fault("4001", Fault::TokenExpired);

    // A duplicate: the same job as one completed before, spelled differently.
    let done_before = job("2001", "2026-11-20", "2026-11-20");
    assert_eq!(w.ledger.claim(&w.key_of(&done_before), SystemTime::now() + Duration::from_secs(60)).await.unwrap(), Claim::Claimed);
    w.ledger.complete(&w.key_of(&done_before), None).await.unwrap();
    let duplicate = r#"{"date_to":"2026-11-20","date_from":"2026-11-20","account_id":"act_2001","platform":"meta","requested_by":"airflow"}"#;

    let rate_limited = job("act_3001", "2026-11-20", "2026-11-20");
    let records = vec![
        record("good", &job("act_1234", "2026-11-20", "2026-11-22")),
        record("not-json", "{platform: meta"),
        record("reversed", &job("act_1234", "2026-11-22", "2026-11-20")),
        record("duplicate", duplicate),
        record("rate-limited", &rate_limited),
        record("server-error", &job("act_3002", "2026-11-20", "2026-11-20")),
        record("unknown-account", &job("act_999", "2026-11-20", "2026-11-20")),
        record("token-expired", &job("act_4001", "2026-11-20", "2026-11-20")),
    ];
    let report = w.app().process(&records, far()).await;

    assert_eq!(failed_ids(&report), ["rate-limited", "server-error"]);
    assert_eq!(report.records[4].status.retry_after(), Some(Duration::from_secs(300)), "the usage header's regain time is kept for pacing");
    assert_eq!(report.records[3].status, RecordStatus::Done(Outcome::Duplicate));
    let RecordStatus::Done(Outcome::Processed(summary)) = &report.records[0].status else { panic!("{:?}", report.records[0].status) };
    assert_eq!((summary.days, summary.rows), (3, 1200));

    // Dead letters: the original body, its message id, and why.
    let dead = w.dead_letters().await;
    assert_eq!(
        dead.iter().map(|(id, code, _)| (id.as_str(), code.as_str())).collect::<Vec<_>>(),
        [
            ("not-json", "invalid_job.not_json"),
            ("reversed", "invalid_job.reversed_dates"),
            ("token-expired", "platform.invalid_credentials"),
            ("unknown-account", "platform.unknown_account"),
        ]
    );
    assert_eq!(dead[0].2, "{platform: meta");

    // Objects: the good job's three days, nothing else.
    let objects = w.objects().await;
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        [
            "costs/platform=meta/account=act_1234/date=2026-11-20/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-21/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-22/costs.jsonl",
        ]
    );
    for body in objects.values() {
        let lines: Vec<serde_json::Value> = std::str::from_utf8(body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 400);
        assert!(lines.iter().all(|l| l["account_id"] == "act_1234" && l["currency"] == "KRW" && l["spend_micros"].is_i64()));
    }

    // The platform: three pages for the good job, nothing for the duplicate.
    assert_eq!(w.meta.reports_for("1234"), 1);
    assert_eq!(w.meta.requests_for("1234"), 3);
    assert_eq!(w.meta.requests_for("2001"), 0);

    // Ledger: the good job completed; failed jobs gave their claim back (free to take at once)
    // and left why they failed.
    assert_eq!(w.ledger.get(&w.key_of(&job("act_1234", "2026-11-20", "2026-11-22"))).await.unwrap().unwrap().status, Status::Completed);
    let released = w.ledger.get(&w.key_of(&rate_limited)).await.unwrap().unwrap();
    assert_eq!((released.status, released.in_progress_expiration), (Status::InProgress, Some(0)));
    assert_eq!(released.last_failure.unwrap().code, "platform.rate_limited");

    // The retried records succeed on their next delivery (the faults were one-shot).
    let retried: Vec<_> = records.iter().filter(|r| failed_ids(&report).contains(r.message_id.as_ref().unwrap())).cloned().collect();
    let again = w.app().process(&retried, far()).await;
    assert!(failed_ids(&again).is_empty(), "{:?}", again.records);
}

#[tokio::test]
async fn the_same_batch_twice_leaves_s3_byte_for_byte_the_same_and_calls_the_platform_once_per_job() {
    let w = World::start().await;
    for account in ["5001", "5002", "5003"] {
        w.meta.add_account(account, "JPY", synthetic_rows(30, d("2026-11-18"), d("2026-11-22")));
    }
    let records = vec![
        record("m1", &job("act_5001", "2026-11-18", "2026-11-22")),
        record("m2", &job("act_5002", "2026-11-20", "2026-11-20")),
        record("m3", &job("act_5003", "2026-11-19", "2026-11-21")),
    ];
    let app = w.app();
    let first = app.process(&records, far()).await;
    assert!(failed_ids(&first).is_empty());
    let after_first = w.objects().await;
    assert_eq!(after_first.len(), 5 + 1 + 3);

    let second = app.process(&records, far()).await;
    assert!(failed_ids(&second).is_empty());
    assert!(second.records.iter().all(|r| r.status == RecordStatus::Done(Outcome::Duplicate)));
    assert_eq!(w.objects().await, after_first);
    for account in ["5001", "5002", "5003"] {
        assert_eq!(w.meta.reports_for(account), 1, "{account}");
    }

    // Even with the ledger forgotten (expired), a re-run replaces the objects with the same bytes.
    w.clients.dynamodb.delete_item().table_name(TABLE).key("id", aws_sdk_dynamodb::types::AttributeValue::S(w.key_of(&job("act_5001", "2026-11-18", "2026-11-22")).to_string())).send().await.unwrap();
    let third = app.process(&records[..1], far()).await;
    assert!(matches!(third.records[0].status, RecordStatus::Done(Outcome::Processed(_))));
    assert_eq!(w.meta.reports_for("5001"), 2);
    assert_eq!(w.objects().await, after_first);
}

#[tokio::test]
async fn two_copies_of_a_job_in_one_batch_run_once_and_the_copy_is_a_duplicate_in_the_same_invocation() {
    let w = World::start().await;
    w.meta.add_account("5101", "USD", synthetic_rows(10, d("2026-11-18"), d("2026-11-22")));
    w.meta.add_account("5102", "USD", synthetic_rows(10, d("2026-11-18"), d("2026-11-22")));
    let records = vec![
        record("copy-1", &job("act_5101", "2026-11-18", "2026-11-20")),
        record("other", &job("act_5102", "2026-11-18", "2026-11-22")),
        record("copy-2", &job("act_5101", "2026-11-18", "2026-11-20")),
        record("same-account", &job("act_5101", "2026-11-21", "2026-11-22")),
    ];
    let report = w.app().process(&records, far()).await;
    // Jobs of one account run one after another: the copy finds the first COMPLETED instead of
    // racing it for the claim (and coming back in another delivery).
    assert!(failed_ids(&report).is_empty(), "{:?}", report.records);
    assert!(matches!(report.records[0].status, RecordStatus::Done(Outcome::Processed(_))));
    assert!(matches!(report.records[1].status, RecordStatus::Done(Outcome::Processed(_))));
    assert_eq!(report.records[2].status, RecordStatus::Done(Outcome::Duplicate));
    assert!(matches!(report.records[3].status, RecordStatus::Done(Outcome::Processed(_))));
    assert_eq!(w.meta.reports_for("5101"), 2, "the job once, the other dates of that account once");
}

#[tokio::test]
async fn fifo_groups_stop_at_their_first_failure_and_other_groups_go_on() {
    let w = World::start().await;
    for account in ["6001", "6002", "6003", "6004", "6005"] {
        w.meta.add_account(account, "EUR", synthetic_rows(3, d("2026-11-20"), d("2026-11-21")));
    }
    w.meta.set_fault("6002", Fault::RateLimited { code: 17, times: 1, regain_minutes: 0 });
    let records = vec![
        fifo("a1", "advertiser-a", &job("6001", "2026-11-20", "2026-11-20")),
        fifo("b1", "advertiser-b", &job("6004", "2026-11-20", "2026-11-20")),
        fifo("a2", "advertiser-a", &job("6002", "2026-11-20", "2026-11-20")),
        fifo("a3", "advertiser-a", &job("6003", "2026-11-20", "2026-11-20")),
        fifo("b2", "advertiser-b", &job("6005", "2026-11-21", "2026-11-21")),
    ];
    let report = w.app().process(&records, far()).await;
    assert_eq!(failed_ids(&report), ["a2", "a3"]);
    assert_eq!(report.records[3].status, RecordStatus::NotStarted(NotStarted::GroupStopped { after: Some("a2".into()) }));
    assert_eq!(w.meta.requests_for("6003"), 0, "a3 must not run after a2 failed");
    let accounts: Vec<String> = w.objects().await.keys().map(|k| k.split('/').nth(2).unwrap().to_string()).collect();
    assert_eq!(accounts, ["account=act_6001", "account=act_6004", "account=act_6005"]);
}

#[tokio::test]
async fn a_claim_left_in_progress_by_a_crashed_run_is_taken_over_after_its_expiry() {
    let w = World::start().await;
    w.meta.add_account("7001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.add_account("7002", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    let crashed = job("act_7001", "2026-11-20", "2026-11-20");
    let live = job("act_7002", "2026-11-20", "2026-11-20");
    // A run that crashed: its invocation deadline has passed, its claim is still INPROGRESS.
    assert_eq!(w.ledger.claim(&w.key_of(&crashed), SystemTime::now() - Duration::from_secs(1)).await.unwrap(), Claim::Claimed);
    // A run still going: its deadline is ten minutes away.
    assert_eq!(w.ledger.claim(&w.key_of(&live), SystemTime::now() + Duration::from_secs(600)).await.unwrap(), Claim::Claimed);
    assert_eq!(w.ledger.get(&w.key_of(&crashed)).await.unwrap().unwrap().status, Status::InProgress);

    let report = w.app().process(&[record("crashed", &crashed), record("live", &live)], far()).await;
    assert!(matches!(report.records[0].status, RecordStatus::Done(Outcome::Processed(_))), "{:?}", report.records[0].status);
    assert_eq!(failed_ids(&report), ["live"]);
    let wait = report.records[1].status.retry_after().expect("held claims say how long they are held");
    assert!(wait > Duration::from_secs(500) && wait <= Duration::from_secs(600), "{wait:?}");
    assert_eq!(w.meta.requests_for("7002"), 0);
    assert_eq!(w.ledger.get(&w.key_of(&crashed)).await.unwrap().unwrap().status, Status::Completed);
}

#[tokio::test]
async fn an_invalid_message_whose_dead_letter_send_fails_is_kept_for_another_delivery() {
    let w = World::start().await;
    let mut config = w.config.clone();
    config.dlq_url = format!("{}/123456789012/no-such-queue", w.dlq_url.rsplit_once("/123456789012/").unwrap().0);
    let app = App::new(config, w.clients.clone());
    let report = app.process(&[record("bad", "not json"), record("also-bad", "{}")], far()).await;
    assert_eq!(failed_ids(&report), ["bad", "also-bad"]);
}

#[tokio::test]
async fn records_inside_the_deadline_margin_are_not_started_and_come_back() {
    let w = World::builder().env("DEADLINE_MARGIN_SECONDS", "30").start().await;
    w.meta.add_account("8001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    let report = w.app().process(&[record("late", &job("8001", "2026-11-20", "2026-11-20"))], Deadline::after(Duration::from_secs(20))).await;
    assert_eq!(failed_ids(&report), ["late"]);
    assert_eq!(w.meta.requests_for("8001"), 0);
    assert!(w.objects().await.is_empty());
}

#[tokio::test]
async fn handle_answers_a_lambda_event_with_a_partial_batch_response() {
    let w = World::start().await;
    w.meta.add_account("1234", "KRW", synthetic_rows(5, d("2026-11-20"), d("2026-11-23")));
    w.meta.add_account("5678", "KRW", synthetic_rows(5, d("2026-11-22"), d("2026-11-22")));
    let text = std::fs::read_to_string(test_support::tools::workspace_root().join("events/cost-etl-sqs.json")).unwrap();
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(&text).unwrap();
    let ids: Vec<_> = event.records.iter().map(|r| r.message_id.clone().unwrap()).collect();
    let mut context = lambda_runtime::Context::default();
    context.deadline = (SystemTime::now() + Duration::from_secs(120)).duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64;
    let response = w.app().handle(lambda_runtime::LambdaEvent::new(event, context)).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?} for {ids:?}");
    assert_eq!(w.objects().await.len(), 3 + 1 + 1);
}

#[tokio::test]
async fn a_never_started_record_comes_back_in_seconds_while_a_rate_limited_one_stays_away() {
    let w = World::start().await;
    w.meta.add_account("9001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.add_account("9002", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.meta.set_fault("9001", Fault::RateLimited { code: 80000, times: 1, regain_minutes: 5 });
    let limited_body = job("9001", "2026-11-20", "2026-11-20");
    let late_body = job("9002", "2026-11-20", "2026-11-20");
    // A queue of its own with the 15-minute visibility timeout of the deployed jobs queue.
    let (url, records) = w.queue_with("jobs-paced", 900, &[("limited", &limited_body), ("late", &late_body)]).await;
    let app = w.app();

    let limited = app.process(&records[..1], far()).await;
    assert_eq!(limited.records[0].status.retry_after(), Some(Duration::from_secs(300)));
    // Inside the default 10 s start margin: never started.
    let late = app.process(&records[1..], Deadline::after(Duration::from_secs(5))).await;
    assert_eq!(late.records[0].status, RecordStatus::NotStarted(NotStarted::DeadlineNear));
    assert_eq!(failed_ids(&limited).len() + failed_ids(&late).len(), 2, "pacing never turns a failure into a success");

    // The queue's own timeout is 900 s: only the pacing can bring the late record back soon.
    let started = std::time::Instant::now();
    let mut back: Vec<String> = Vec::new();
    while back.is_empty() && started.elapsed() < Duration::from_secs(30) {
        let out = w.clients.sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        back.extend(out.messages().iter().map(|m| m.body().unwrap().to_string()));
    }
    assert_eq!(back, [late_body], "after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    // The rate-limited record is still invisible: its 300 s wait was set, not the 5 s one.
    let out = w.clients.sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(2).send().await.unwrap();
    assert!(out.messages().is_empty(), "{:?}", out.messages());
}

#[tokio::test]
async fn pacing_failures_are_logged_and_the_records_stay_failed() {
    let w = World::start().await;
    // `record` carries fake receipt handles and a queue that does not exist in moto.
    let report = w.app().process(&[record("late", &job("9101", "2026-11-20", "2026-11-20"))], Deadline::after(Duration::from_secs(1))).await;
    assert_eq!(failed_ids(&report), ["late"]);
}

#[tokio::test]
async fn a_refresh_message_refetches_and_replaces_completed_days_once_per_message() {
    let w = World::start().await;
    w.meta.add_account("9201", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
    let plain = job("9201", "2026-11-20", "2026-11-21");
    let refresh = r#"{"platform":"meta","account_id":"9201","date_from":"2026-11-20","date_to":"2026-11-21","refresh":true}"#.to_string();
    let app = w.app();
    assert!(matches!(app.process(&[record("today", &plain)], far()).await.records[0].status, RecordStatus::Done(Outcome::Processed(_))));
    let before = w.objects().await;
    assert_eq!(before.len(), 2);
    // Tomorrow's plain job for the same days is a duplicate: nothing fetched.
    assert_eq!(app.process(&[record("tomorrow-plain", &plain)], far()).await.records[0].status, RecordStatus::Done(Outcome::Duplicate));
    assert_eq!(w.meta.reports_for("9201"), 1);

    // The platform restates both days (more campaigns); a refresh message replaces them.
    w.meta.add_account("9201", "USD", synthetic_rows(5, d("2026-11-20"), d("2026-11-21")));
    let report = app.process(&[record("tomorrow-refresh", &refresh)], far()).await;
    let RecordStatus::Done(Outcome::Processed(summary)) = &report.records[0].status else { panic!("{:?}", report.records[0].status) };
    assert_eq!((summary.days, summary.rows), (2, 10));
    let after = w.objects().await;
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "the same days, replaced in place");
    assert_ne!(after, before);
    // A redelivery of that refresh message is a duplicate; a later refresh message runs again.
    assert_eq!(app.process(&[record("tomorrow-refresh", &refresh)], far()).await.records[0].status, RecordStatus::Done(Outcome::Duplicate));
    assert_eq!(w.meta.reports_for("9201"), 2);
    assert!(matches!(app.process(&[record("next-refresh", &refresh)], far()).await.records[0].status, RecordStatus::Done(Outcome::Processed(_))));
    assert_eq!(w.meta.reports_for("9201"), 3);
}
