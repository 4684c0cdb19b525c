//! AWS endpoints that read a request and never answer (a proxy in front of moto hangs chosen
//! operations): the function still answers before its deadline with the right
//! `batchItemFailures`, nothing is dead-lettered because AWS stalled, and the same records
//! delivered again once AWS answers succeed.

mod support;

use peers::meta::synthetic_rows;
use sqs_batch::batch::{Deadline, RecordStatus};
use std::time::{Duration, Instant};
use support::*;
use test_support::stall::StallProxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_s3_dynamodb_and_sqs_calls_cannot_make_the_function_answer_late() {
    // A short start margin, so an 8-second invocation starts its records.
    let world = World::builder().env("DEADLINE_MARGIN_SECONDS", "1").start().await;
    world.meta.add_account("1", "EUR", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
    world.meta.add_account("2", "EUR", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
    world.meta.add_account("3", "EUR", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    let moto_endpoint = world.sdk_config().endpoint_url().unwrap().to_string();
    let proxy = StallProxy::start(&moto_endpoint).await;
    let through_proxy = world.sdk_config().to_builder().endpoint_url(proxy.endpoint()).build();
    let app = cost_etl::App::new(world.config.clone(), cost_etl::clients::Clients::from_sdk_config(&through_proxy).unwrap());
    let budget = Duration::from_secs(8);

    // 1. S3 PUTs hang: the job is cut by its record time-out, its claim is given back, the
    // function answers in time, and nothing goes to the DLQ.
    proxy.stall(|head| head.starts_with("put /costs/"));
    let first = job("meta", "act_1", "2026-11-20", "2026-11-21");
    let (_, records) = world.queue_with("jobs", 300, &[("j1", first.as_str())]).await;
    let started = Instant::now();
    let report = app.process(&records, Deadline::after(budget)).await;
    assert!(started.elapsed() < budget, "answered after {:?}", started.elapsed());
    assert!(matches!(report.records[0].status, RecordStatus::TimedOut(_)), "{:?}", report.records[0].status);
    assert_eq!(failed_ids(&report), vec!["j1"]);
    assert!(!proxy.stalled().is_empty(), "the PUT was stalled");
    let released = world.ledger.get(&world.key_of(&first)).await.unwrap().unwrap();
    assert_eq!(released.in_progress_expiration, Some(0), "the claim was given back before the answer");
    assert_eq!(released.last_failure.unwrap().code, "timeout");

    // Delivered again right after, with S3 answering: written.
    proxy.release();
    let again = app.process(&records, far()).await;
    assert!(matches!(again.records[0].status, RecordStatus::Done(_)), "{:?}", again.records[0].status);
    assert_eq!(world.objects().await.len(), 2);

    // 2. DynamoDB and SQS's visibility change hang: no job can claim, and the retry pacing of
    // the records that come back cannot reach SQS; the function still answers in time.
    let (second, third) = (job("meta", "act_2", "2026-11-20", "2026-11-21"), job("meta", "act_3", "2026-11-20", "2026-11-20"));
    let (_, records) = world.queue_with("jobs-2", 300, &[("j2", second.as_str()), ("j3", third.as_str())]).await;
    proxy.stall(|head| head.contains("x-amz-target: dynamodb_20120810.updateitem") && head.contains("content-length") || head.contains("x-amz-target: amazonsqs.changemessagevisibilitybatch"));
    let started = Instant::now();
    let report = app.process(&records, Deadline::after(budget)).await;
    assert!(started.elapsed() < budget, "answered after {:?}", started.elapsed());
    assert!(proxy.stalled().iter().any(|line| line.starts_with("POST")), "{:?}", proxy.stalled());
    let mut failed = failed_ids(&report);
    failed.sort();
    assert_eq!(failed, vec!["j2", "j3"]);
    assert!(world.dead_letters().await.is_empty(), "nothing dead-lettered because AWS stalled");

    proxy.release();
    let again = app.process(&records, far()).await;
    assert!(failed_ids(&again).is_empty(), "{:?}", again.records);
    assert_eq!(world.objects().await.len(), 2 + 2 + 1);
}
