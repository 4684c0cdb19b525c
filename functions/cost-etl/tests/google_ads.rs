//! cost-etl's Google Ads adapter against real peers: moto (SQS, S3, DynamoDB, Secrets Manager)
//! through the AWS SDK, and the local Google Ads peer (OAuth token endpoint and searchStream)
//! over HTTP. Each test gets its own moto and peer.

mod support;

use sqs_batch::batch::RecordStatus;
use cost_etl::handler::Outcome;
use peers::google_ads::{synthetic_rows, Fault};
use std::time::Duration;
use support::{d, failed_ids, far, record, World, WorldBuilder, GOOGLE_CLIENT_SECRET as CLIENT_SECRET, GOOGLE_REFRESH_TOKEN as REFRESH_TOKEN};

const DEVELOPER_TOKEN: &str = "peer-developer-token";

/// The world with a Google Ads secret as a manager account's: a developer token (which the peer
/// insists on) and the manager's customer id.
fn builder() -> WorldBuilder {
    World::builder().google_developer_token(DEVELOPER_TOKEN).google_login_customer_id("111-222-3333")
}

async fn world() -> World {
    builder().start().await
}

/// Every DLQ message: (original message id, reason code, reason text).
async fn dead_letters(w: &World) -> Vec<(String, String, String)> {
    w.dead_letter_messages().await.into_iter().map(|l| (l.id, l.code, l.attributes.get("reason").cloned().unwrap_or_default())).collect()
}

fn job(customer: &str, from: &str, to: &str) -> String {
    support::job("google_ads", customer, from, to)
}

fn processed(status: &RecordStatus<Outcome>) -> bool {
    matches!(status, RecordStatus::Done(Outcome::Processed(_)))
}

#[tokio::test]
async fn google_ads_a_good_job_writes_one_object_per_day_from_several_batches_including_an_empty_day() {
    let w = world().await;
    // 7 campaigns on the 20th and 22nd, nothing on the 21st; 5 rows per batch: 3 batches.
    let rows: Vec<_> = synthetic_rows(7, d("2026-11-20"), d("2026-11-22")).into_iter().filter(|r| r.date != d("2026-11-21")).collect();
    w.google.add_customer("1234567890", "KRW", rows);
    w.google.set_batch_size(5);

    let report = w.app().process(&[record("good", &job("123-456-7890", "2026-11-20", "2026-11-22"))], far()).await;
    let RecordStatus::Done(Outcome::Processed(summary)) = &report.records[0].status else { panic!("{:?}", report.records[0].status) };
    assert_eq!((summary.days, summary.rows), (3, 14));

    let objects = w.objects().await;
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        [
            "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl",
            "costs/platform=google_ads/account=1234567890/date=2026-11-21/costs.jsonl",
            "costs/platform=google_ads/account=1234567890/date=2026-11-22/costs.jsonl",
        ]
    );
    assert!(objects["costs/platform=google_ads/account=1234567890/date=2026-11-21/costs.jsonl"].is_empty(), "a day without rows is an empty object");
    let day: Vec<serde_json::Value> = std::str::from_utf8(&objects["costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl"]).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(day.len(), 7);
    let seeded = &synthetic_rows(7, d("2026-11-20"), d("2026-11-20"))[0];
    assert_eq!(day[0]["campaign_id"], seeded.campaign_id.to_string());
    assert_eq!(day[0]["spend_micros"], seeded.cost_micros);
    assert_eq!(day[0]["impressions"], seeded.impressions);
    assert!(day.iter().all(|l| l["account_id"] == "1234567890" && l["platform"] == "google_ads" && l["currency"] == "KRW"));

    // One exchange, one searchStream call with the headers the API wants.
    assert_eq!(w.google.exchanges(), 1);
    let calls = w.google.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].customer.as_str(), calls[0].status), ("1234567890", 200));
    assert_eq!(calls[0].login_customer_id.as_deref(), Some("1112223333"));
    assert_eq!(calls[0].developer_token.as_deref(), Some(DEVELOPER_TOKEN));
    assert!(dead_letters(&w).await.is_empty());
}

#[tokio::test]
async fn google_ads_a_batch_of_several_records_exchanges_the_refresh_token_exactly_once() {
    let w = world().await;
    let customers = ["1000000001", "1000000002", "1000000003", "1000000004", "1000000005", "1000000006"];
    for c in customers {
        w.google.add_customer(c, "USD", synthetic_rows(3, d("2026-11-20"), d("2026-11-21")));
    }
    // Slow answers keep several records in flight at once (BATCH_CONCURRENCY is 4).
    w.google.set_delay(Duration::from_millis(200));
    let records: Vec<_> = customers.iter().enumerate().map(|(i, c)| record(&format!("m{i}"), &job(c, "2026-11-20", "2026-11-21"))).collect();
    let report = w.app().process(&records, far()).await;
    assert!(report.records.iter().all(|r| processed(&r.status)), "{:?}", report.records);
    assert_eq!(w.google.exchanges(), 1, "one token exchange per cold start, not per record");
    assert_eq!(w.google.calls().len(), customers.len());
    assert_eq!(w.objects().await.len(), customers.len() * 2);
}

#[tokio::test]
async fn google_ads_a_rate_limited_record_fails_with_the_retry_delay_and_succeeds_next_time() {
    let w = world().await;
    w.google.add_customer("2000000001", "EUR", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.google.set_fault("2000000001", Fault::RateLimited { times: 1, retry_delay_secs: 30 });
    let records = [record("limited", &job("2000000001", "2026-11-20", "2026-11-20"))];
    let app = w.app();
    let report = app.process(&records, far()).await;
    assert_eq!(failed_ids(&report), ["limited"]);
    assert_eq!(report.records[0].status.retry_after(), Some(Duration::from_secs(30)), "quotaErrorDetails.retryDelay is kept for pacing");
    assert!(w.objects().await.is_empty());

    let again = app.process(&records, far()).await;
    assert!(processed(&again.records[0].status), "{:?}", again.records[0].status);
    assert_eq!(w.google.calls_for("2000000001"), 2);
    assert_eq!(w.google.exchanges(), 1);
    assert!(dead_letters(&w).await.is_empty());
}

#[tokio::test]
async fn google_ads_an_expired_access_token_is_refreshed_once_and_the_request_retried() {
    let w = world().await;
    w.google.add_customer("3000000001", "JPY", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.google.add_customer("3000000002", "JPY", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    let app = w.app();
    assert!(processed(&app.process(&[record("first", &job("3000000001", "2026-11-20", "2026-11-20"))], far()).await.records[0].status));
    assert_eq!(w.google.exchanges(), 1);

    // Google ends the token early (revoked session, clock skew): the API answers 401.
    w.google.expire_access_tokens();
    let report = app.process(&[record("second", &job("3000000002", "2026-11-20", "2026-11-20"))], far()).await;
    assert!(processed(&report.records[0].status), "{:?}", report.records[0].status);
    assert_eq!(w.google.exchanges(), 2);
    let statuses: Vec<u16> = w.google.calls().iter().filter(|c| c.customer == "3000000002").map(|c| c.status).collect();
    assert_eq!(statuses, [401, 200]);
}

#[tokio::test]
async fn google_ads_a_revoked_refresh_token_sends_the_job_to_the_dlq_after_one_refresh() {
    let w = world().await;
    w.google.add_customer("4000000001", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.google.add_customer("4000000002", "USD", synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    let app = w.app();
    assert!(processed(&app.process(&[record("before", &job("4000000001", "2026-11-20", "2026-11-20"))], far()).await.records[0].status));

    w.google.revoke_refresh_token();
    let report = app.process(&[record("revoked", &job("4000000002", "2026-11-20", "2026-11-20"))], far()).await;
    assert!(failed_ids(&report).is_empty(), "a permanent failure goes to the DLQ, not back to the queue");
    assert_eq!(w.google.exchanges(), 2, "one refresh, refused");
    assert_eq!(w.google.calls_for("4000000002"), 1, "no second searchStream without a new token");
    let dead = dead_letters(&w).await;
    assert_eq!(dead.iter().map(|(id, code, _)| (id.as_str(), code.as_str())).collect::<Vec<_>>(), [("revoked", "platform.invalid_credentials")]);
    assert!(dead[0].2.contains("invalid_grant"), "{}", dead[0].2);
    for secret in [REFRESH_TOKEN, CLIENT_SECRET, "ya29."] {
        assert!(!dead[0].2.contains(secret), "the reason must not carry credentials: {}", dead[0].2);
    }
}

#[tokio::test]
async fn google_ads_unknown_and_disabled_customers_go_to_the_dlq_and_outages_come_back() {
    let w = world().await;
    w.google.add_customer("5000000002", "USD", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.google.set_fault("5000000002", Fault::NotEnabled);
    w.google.add_customer("5000000003", "USD", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.google.set_fault("5000000003", Fault::ServerError { unavailable: false });
    w.google.add_customer("5000000004", "USD", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.google.set_fault("5000000004", Fault::ServerError { unavailable: true });
    w.google.add_customer("5000000005", "USD", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.google.set_fault("5000000005", Fault::BreakStream);
    let records = [
        record("unknown", &job("500-000-0001", "2026-11-20", "2026-11-20")),
        record("disabled", &job("5000000002", "2026-11-20", "2026-11-20")),
        record("internal", &job("5000000003", "2026-11-20", "2026-11-20")),
        record("unavailable", &job("5000000004", "2026-11-20", "2026-11-20")),
        record("broken-stream", &job("5000000005", "2026-11-20", "2026-11-20")),
    ];
    let report = w.app().process(&records, far()).await;
    assert_eq!(failed_ids(&report), ["internal", "unavailable", "broken-stream"]);
    let dead = dead_letters(&w).await;
    assert_eq!(
        dead.iter().map(|(id, code, _)| (id.as_str(), code.as_str())).collect::<Vec<_>>(),
        [("disabled", "platform.unknown_account"), ("unknown", "platform.unknown_account")]
    );
    assert!(dead[0].2.contains("CUSTOMER_NOT_ENABLED"), "{}", dead[0].2);
    assert!(dead[1].2.contains("CUSTOMER_NOT_FOUND") && dead[1].2.contains("5000000001"), "{}", dead[1].2);
    // CUSTOMER_NOT_FOUND comes with a 401, but it is not a token problem: no refresh.
    assert_eq!(w.google.exchanges(), 1);
    assert_eq!(w.google.calls_for("5000000001"), 1);
    assert!(w.objects().await.is_empty(), "a stream that broke part-way writes nothing");
}

#[tokio::test]
async fn google_ads_a_slow_answer_is_cut_at_the_platform_timeout_and_retried_later() {
    let w = builder().env("PLATFORM_TIMEOUT_SECONDS", "1").start().await;
    w.google.add_customer("6000000001", "USD", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    w.google.set_delay(Duration::from_secs(3));
    let started = std::time::Instant::now();
    let report = w.app().process(&[record("slow", &job("6000000001", "2026-11-20", "2026-11-20"))], far()).await;
    assert_eq!(failed_ids(&report), ["slow"]);
    assert!(started.elapsed() < Duration::from_millis(2900), "{:?}", started.elapsed());
    assert!(dead_letters(&w).await.is_empty());
}
