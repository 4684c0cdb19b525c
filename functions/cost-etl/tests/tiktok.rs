//! cost-etl's TikTok adapter against real peers: moto (SQS, S3, DynamoDB, Secrets Manager)
//! through the AWS SDK, and the local TikTok API for Business peer over HTTP. Each test gets its
//! own moto and peer.

mod support;

use sqs_batch::batch::RecordStatus;
use cost_etl::handler::Outcome;
use peers::tiktok::{synthetic_rows, Endpoint, Fault};
use std::time::Duration;
use support::{d, failed_ids, far, record, World, TIKTOK_TOKEN as TOKEN};

/// Every DLQ message: (original message id, reason code, body, every attribute joined).
async fn dead_letters(w: &World) -> Vec<(String, String, String, String)> {
    w.dead_letter_messages().await.into_iter().map(|l| (l.id, l.code, l.body, format!("{:?}", l.attributes))).collect()
}

fn job(advertiser: &str, from: &str, to: &str) -> String {
    support::job("tiktok", advertiser, from, to)
}

fn lines(body: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn tiktok_a_forty_day_job_is_split_at_thirty_days_paged_and_written_day_by_day() {
    let w = World::start().await;
    // 40 campaigns a day for 40 days, except 2026-11-05, a day without activity.
    let rows: Vec<_> = synthetic_rows(40, d("2026-10-12"), d("2026-11-20")).into_iter().filter(|r| r.date != d("2026-11-05")).collect();
    w.tiktok.add_advertiser("7001", "KRW", rows);

    let report = w.app().process(&[record("m1", &job("7001", "2026-10-12", "2026-11-20"))], far()).await;
    let RecordStatus::Done(Outcome::Processed(summary)) = &report.records[0].status else { panic!("{:?}", report.records[0].status) };
    assert_eq!((summary.days, summary.rows), (40, 39 * 40));

    // 2026-10-12..2026-11-10 (30 days, 29 with rows: 1160 rows, two pages of 1000), then
    // 2026-11-11..2026-11-20 (400 rows, one page).
    let calls: Vec<_> = w.tiktok.report_calls_for("7001").into_iter().map(|c| (c.start_date.unwrap(), c.end_date.unwrap(), c.page.unwrap(), c.code)).collect();
    let call = |a: &str, b: &str, p: &str| (a.to_string(), b.to_string(), p.to_string(), 0);
    assert_eq!(calls, [call("2026-10-12", "2026-11-10", "1"), call("2026-10-12", "2026-11-10", "2"), call("2026-11-11", "2026-11-20", "1")]);
    assert_eq!(w.tiktok.info_calls_for("7001"), 1);

    let objects = w.objects().await;
    assert_eq!(objects.len(), 40);
    let key = |day: &str| format!("costs/platform=tiktok/account=7001/date={day}/costs.jsonl");
    assert_eq!(objects[&key("2026-11-05")], b"", "a day without rows is an empty object");
    for day in ["2026-10-12", "2026-11-10", "2026-11-11", "2026-11-20"] {
        let day_lines = lines(&objects[&key(day)]);
        assert_eq!(day_lines.len(), 40, "{day}");
        assert!(day_lines.iter().all(|l| l["platform"] == "tiktok" && l["account_id"] == "7001" && l["currency"] == "KRW" && l["date"] == day));
    }
    // Spend exactly as the peer sent it: "12345.67" KRW is 12_345_670_000 micros.
    let peer_row = synthetic_rows(40, d("2026-11-20"), d("2026-11-20")).into_iter().next().unwrap();
    let first = &lines(&objects[&key("2026-11-20")])[0];
    let (units, cents) = peer_row.spend.split_once('.').unwrap();
    assert_eq!(first["spend_micros"].as_i64().unwrap(), units.parse::<i64>().unwrap() * 1_000_000 + cents.parse::<i64>().unwrap() * 10_000);
    assert_eq!(first["campaign_id"], peer_row.campaign_id.as_str());
    assert_eq!(first["campaign_name"], peer_row.campaign_name.as_str());
    assert_eq!(first["impressions"].as_u64().unwrap(), peer_row.impressions);
}

#[tokio::test]
async fn tiktok_a_rate_limit_or_system_error_in_the_body_is_retried_and_a_bad_token_or_unknown_advertiser_goes_to_the_dlq() {
    let w = World::start().await;
    for id in ["7101", "7102", "7103", "7104", "7105"] {
        w.tiktok.add_advertiser(id, "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
    }
    w.tiktok.set_fault("7101", Fault::RateLimited { times: 1 });
    w.tiktok.set_fault("7102", Fault::ServerError { times: 1, http: false });
    w.tiktok.set_fault("7103", Fault::ServerError { times: 1, http: true });
    w.tiktok.set_fault("7104", Fault::BadToken);
    let records = vec![
        record("rate-limited", &job("7101", "2026-11-20", "2026-11-21")),
        record("system-error", &job("7102", "2026-11-20", "2026-11-21")),
        record("http-500", &job("7103", "2026-11-20", "2026-11-21")),
        record("bad-token", &job("7104", "2026-11-20", "2026-11-21")),
        record("unknown-advertiser", &job("7999", "2026-11-20", "2026-11-21")),
        record("good", &job("7105", "2026-11-20", "2026-11-21")),
    ];
    let app = w.app();
    let report = app.process(&records, far()).await;
    assert_eq!(failed_ids(&report), ["rate-limited", "system-error", "http-500"]);
    let reason = |i: usize| match &report.records[i].status {
        RecordStatus::Failed(f) => f.reason.clone(),
        other => panic!("{other:?}"),
    };
    assert!(reason(0).contains("tiktok: rate limited (code 40100"), "{}", reason(0));
    assert!(reason(1).contains("tiktok: unavailable") && reason(1).contains("code 50000"), "{}", reason(1));
    assert!(reason(2).contains("tiktok: unavailable, HTTP 500"), "{}", reason(2));
    assert!((0..3).all(|i| !reason(i).contains(TOKEN)));

    let dead = dead_letters(&w).await;
    assert_eq!(
        dead.iter().map(|(id, code, _, _)| (id.as_str(), code.as_str())).collect::<Vec<_>>(),
        [("bad-token", "platform.invalid_credentials"), ("unknown-advertiser", "platform.permission_denied")]
    );
    assert_eq!(dead[0].2, job("7104", "2026-11-20", "2026-11-21"), "the original body");
    assert!(dead.iter().all(|(_, _, _, attrs)| !attrs.contains(TOKEN)), "{dead:?}");
    assert_eq!(w.objects().await.keys().filter(|k| k.contains("account=7105")).count(), 2);
    assert!(w.objects().await.keys().all(|k| k.contains("account=7105")));

    // One-shot faults: the retried records succeed on their next delivery.
    let retried: Vec<_> = records[..3].to_vec();
    let again = app.process(&retried, far()).await;
    assert!(failed_ids(&again).is_empty(), "{:?}", again.records);
    assert_eq!(w.objects().await.len(), 4 * 2);
}

#[tokio::test]
async fn tiktok_the_currency_is_looked_up_once_per_advertiser_across_batches() {
    let w = World::start().await;
    w.tiktok.add_advertiser("7201", "JPY", synthetic_rows(3, d("2026-11-01"), d("2026-11-22")));
    w.tiktok.add_advertiser("7202", "KRW", synthetic_rows(3, d("2026-11-01"), d("2026-11-22")));
    let app = w.app();
    let first = vec![
        record("a1", &job("7201", "2026-11-20", "2026-11-20")),
        record("a2", &job("7201", "2026-11-21", "2026-11-22")),
        record("b1", &job("7202", "2026-11-20", "2026-11-22")),
        record("a3", &job("7201", "2026-11-01", "2026-11-02")),
    ];
    let report = app.process(&first, far()).await;
    assert!(failed_ids(&report).is_empty(), "{:?}", report.records);
    let second = app.process(&[record("b2", &job("7202", "2026-11-01", "2026-11-01"))], far()).await;
    assert!(failed_ids(&second).is_empty());

    assert_eq!(w.tiktok.info_calls_for("7201"), 1);
    assert_eq!(w.tiktok.info_calls_for("7202"), 1);
    assert_eq!(w.tiktok.report_calls_for("7201").len(), 3);
    let currencies: Vec<(String, String)> = w
        .objects()
        .await
        .iter()
        .flat_map(|(key, body)| lines(body).into_iter().map(move |l| (key.split('/').nth(2).unwrap().to_string(), l["currency"].as_str().unwrap().to_string())))
        .collect();
    assert_eq!(currencies.len(), 3 * (1 + 2 + 3 + 2 + 1));
    assert!(currencies.iter().all(|(account, c)| (account == "account=7201" && c == "JPY") || (account == "account=7202" && c == "KRW")), "{currencies:?}");

    // A new cold start (a new App) asks again.
    let cold = w.app().process(&[record("a4", &job("7201", "2026-11-03", "2026-11-03"))], far()).await;
    assert!(failed_ids(&cold).is_empty());
    assert_eq!(w.tiktok.info_calls_for("7201"), 2);
    assert!(w.tiktok.calls().iter().any(|c| c.endpoint == Endpoint::AdvertiserInfo));
}

#[tokio::test]
async fn tiktok_a_failed_currency_lookup_is_not_cached_and_a_rotated_token_is_picked_up() {
    let w = World::start().await;
    w.tiktok.add_advertiser("7301", "EUR", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.tiktok.set_fault("7301", Fault::RateLimited { times: 1 });
    let app = w.app();
    let body = job("7301", "2026-11-20", "2026-11-20");
    assert_eq!(failed_ids(&app.process(&[record("m1", &body)], far()).await), ["m1"]);
    assert_eq!(w.tiktok.info_calls_for("7301"), 1, "the rate limit hit the currency lookup");

    // The token is rotated at TikTok and in the secret: the next record reads the new secret
    // after the old token was refused, without a cold start.
    w.tiktok.set_access_token("tt-rotated");
    let refused = app.process(&[record("m2", &job("7301", "2026-11-19", "2026-11-19"))], far()).await;
    assert_eq!(refused.records[0].status, RecordStatus::Done(Outcome::DeadLettered { reason_code: "platform.invalid_credentials".into() }));
    w.clients.secrets.put_secret_value().secret_id("cost-etl/tiktok").secret_string(r#"{"access_token":"tt-rotated"}"#).send().await.unwrap();
    let report = app.process(&[record("m3", &body)], far()).await;
    assert!(matches!(report.records[0].status, RecordStatus::Done(Outcome::Processed(_))), "{:?}", report.records[0].status);
    assert_eq!(w.tiktok.info_calls_for("7301"), 3);
}

#[tokio::test]
async fn tiktok_slow_pages_run_into_the_platform_timeout_and_are_retried() {
    let w = World::builder().env("PLATFORM_TIMEOUT_SECONDS", "1").start().await;
    w.tiktok.add_advertiser("7401", "USD", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.tiktok.set_page_delay(Duration::from_millis(1500));
    let report = w.app().process(&[record("slow", &job("7401", "2026-11-20", "2026-11-20"))], far()).await;
    assert_eq!(failed_ids(&report), ["slow"]);
    let RecordStatus::Failed(f) = &report.records[0].status else { panic!("{:?}", report.records[0].status) };
    assert!(f.reason.contains("tiktok: no complete answer within"), "{}", f.reason);
    assert!(w.objects().await.is_empty());
}

#[tokio::test]
async fn tiktok_jobs_of_different_advertisers_are_fetched_at_most_two_at_once() {
    let w = World::start().await;
    // Slow answers, so jobs that could overlap do.
    w.tiktok.set_page_delay(Duration::from_millis(50));
    let records: Vec<_> = (0..6)
        .map(|i| {
            let advertiser = format!("710{i}");
            w.tiktok.add_advertiser(&advertiser, "KRW", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
            record(&format!("m{i}"), &job(&advertiser, "2026-11-20", "2026-11-21"))
        })
        .collect();
    let report = w.app().process(&records, far()).await;
    assert!(failed_ids(&report).is_empty(), "{:?}", report.records);
    // Six jobs on six advertisers under the default BATCH_CONCURRENCY (10): the adapter's limit,
    // and not less, is what the peer saw at once.
    assert_eq!(w.tiktok.most_in_flight(), cost_etl::platforms::tiktok::JOBS_AT_ONCE);
}

#[tokio::test]
async fn tiktok_a_job_past_its_share_of_memory_is_dead_lettered_as_too_large() {
    // 128 MB shared by 100 jobs: each job gets the 1 MiB floor, and 6,000 rows (6 report pages
    // of ~190 KB) are more than that.
    let w = World::builder().env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128").env("BATCH_CONCURRENCY", "100").start().await;
    w.tiktok.add_advertiser("7201", "KRW", synthetic_rows(200, d("2026-10-22"), d("2026-11-20")));
    let report = w.app().process(&[record("m1", &job("7201", "2026-10-22", "2026-11-20"))], far()).await;
    assert!(failed_ids(&report).is_empty(), "dead-lettered, not retried: {:?}", report.records);
    let dead = dead_letters(&w).await;
    assert_eq!(dead.iter().map(|(id, code, ..)| (id.as_str(), code.as_str())).collect::<Vec<_>>(), [("m1", "platform.job_too_large")]);
    assert!(w.objects().await.is_empty(), "nothing written for a job that did not fit");
}
