//! All three platforms in one batch, the way a real queue mixes them: every record ends where
//! it should (S3 objects, DLQ with reasons, `batchItemFailures`), per-cold-start caches are
//! shared across records, and pacing raises a rate-limited record's visibility timeout on the
//! real queue.

mod support;

use sqs_batch::batch::RecordStatus;
use cost_etl::handler::Outcome;
use std::time::{Duration, Instant};
use support::{d, job, World};

#[tokio::test]
async fn a_batch_across_meta_google_ads_and_tiktok_ends_every_record_where_it_should() {
    let w = World::start().await;
    w.meta.add_account("1234", "KRW", peers::meta::synthetic_rows(3, d("2026-11-20"), d("2026-11-21")));
    // Google Ads rows only on the 20th: the 21st must still be written, as an empty object.
    w.google.add_customer("1234567890", "JPY", peers::google_ads::synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.google.add_customer("2223334444", "USD", peers::google_ads::synthetic_rows(2, d("2026-11-20"), d("2026-11-20")));
    w.google.set_fault("2223334444", peers::google_ads::Fault::RateLimited { times: 1, retry_delay_secs: 30 });
    w.tiktok.add_advertiser("7012345678901234567", "USD", peers::tiktok::synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
    w.tiktok.add_advertiser("7098765432109876543", "USD", peers::tiktok::synthetic_rows(1, d("2026-11-20"), d("2026-11-21")));
    w.tiktok.set_fault("7098765432109876543", peers::tiktok::Fault::BadToken);

    let meta_good = job("meta", "act_1234", "2026-11-20", "2026-11-21");
    let google_good = job("google_ads", "123-456-7890", "2026-11-20", "2026-11-21");
    let google_same_spelled_otherwise = job("google_ads", "1234567890", "2026-11-20", "2026-11-21");
    let google_limited = job("google_ads", "222-333-4444", "2026-11-20", "2026-11-20");
    let tiktok_good = job("tiktok", "7012345678901234567", "2026-11-20", "2026-11-21");
    let tiktok_revoked = job("tiktok", "7098765432109876543", "2026-11-20", "2026-11-21");
    let bad_account = job("google_ads", "12-34-abc", "2026-11-20", "2026-11-21");
    let messages = [
        ("meta-good", meta_good.as_str()),
        ("google-good", google_good.as_str()),
        ("tiktok-good", tiktok_good.as_str()),
        ("google-limited", google_limited.as_str()),
        ("tiktok-revoked", tiktok_revoked.as_str()),
        ("bad-account", bad_account.as_str()),
    ];
    // The queue's own visibility timeout is 1 s: without pacing, a failed record is back at once.
    let (url, records) = w.queue_with("jobs-mixed", 1, &messages).await;
    let app = w.app();
    let report = app.process(&records, support_deadline()).await;

    let failed: Vec<String> = report.response().batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    assert_eq!(failed, ["google-limited"], "{:?}", report.records);
    assert_eq!(report.records[3].status.retry_after(), Some(Duration::from_secs(30)), "Google's retryDelay is the record's retry hint");
    for (i, record) in report.records.iter().enumerate().take(3) {
        assert!(matches!(record.status, RecordStatus::Done(Outcome::Processed(_))), "record {i}: {:?}", record.status);
    }
    let dead: Vec<(String, String)> = w.dead_letters().await.into_iter().map(|(id, code, _)| (id, code)).collect();
    assert_eq!(dead, [("bad-account".to_string(), "invalid_job.invalid_account_id".to_string()), ("tiktok-revoked".to_string(), "platform.invalid_credentials".to_string())]);

    let objects = w.objects().await;
    assert_eq!(
        objects.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl",
            "costs/platform=google_ads/account=1234567890/date=2026-11-21/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-20/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-21/costs.jsonl",
            "costs/platform=tiktok/account=7012345678901234567/date=2026-11-20/costs.jsonl",
            "costs/platform=tiktok/account=7012345678901234567/date=2026-11-21/costs.jsonl",
        ]
    );
    assert!(objects["costs/platform=google_ads/account=1234567890/date=2026-11-21/costs.jsonl"].is_empty(), "a day without rows is an empty object");
    for (key, body) in &objects {
        for line in std::str::from_utf8(body).unwrap().lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let platform = key.split("platform=").nth(1).unwrap().split('/').next().unwrap();
            assert_eq!(row["platform"], platform);
            assert!(row["spend_micros"].is_i64() && row["impressions"].is_i64() && row["clicks"].is_i64(), "{line}");
            assert_eq!(row["date"].as_str().unwrap(), key.split("date=").nth(1).unwrap().split('/').next().unwrap());
        }
    }

    // Lambda deletes what succeeded; what is left is the rate-limited record, whose visibility
    // pacing raised from the queue's 1 s to Google's 30 s: it must not be back for a while.
    for record in report.records.iter().zip(&records).filter(|(r, _)| r.status.is_done()).map(|(_, m)| m) {
        w.clients.sqs.delete_message().queue_url(&url).receipt_handle(record.receipt_handle.as_deref().unwrap()).send().await.unwrap();
    }
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(4) {
        let out = w.clients.sqs.receive_message().queue_url(&url).wait_time_seconds(1).send().await.unwrap();
        assert!(out.messages().is_empty(), "the rate-limited record came back after {:?}", watched.elapsed());
    }

    // The same spelling-insensitive job again, in the same cold start: a duplicate; Google's
    // token was exchanged once for the whole cold start, TikTok's currency looked up once.
    let (_, again) = w.queue_with("jobs-mixed-again", 30, &[("google-again", google_same_spelled_otherwise.as_str())]).await;
    let report = app.process(&again, support_deadline()).await;
    assert_eq!(report.records[0].status, RecordStatus::Done(Outcome::Duplicate));
    assert_eq!(w.google.exchanges(), 1, "one token exchange per cold start, not one per record");
    assert_eq!(w.tiktok.info_calls_for("7012345678901234567"), 1);
}

fn support_deadline() -> common::deadline::Deadline {
    common::deadline::Deadline::after(Duration::from_secs(600))
}
