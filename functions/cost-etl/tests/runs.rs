//! The worker's side of run-scoped waiting: a job tagged with a run records its outcome in the
//! run's record (done, or dead-lettered with its reason) before its message is acknowledged.

mod support;

use aws_lambda_events::sqs::SqsMessageAttribute;
use aws_sdk_dynamodb::types::AttributeValue;
use cost_job::run::{job_token, RunId};
use cost_job::{idempotency_key, JobLimits, JobMessage};
use peers::meta::{synthetic_rows, Fault};
use support::*;

const RUN: &str = "manual__2026-12-01T06:00:00+00:00";

fn tagged(id: &str, body: &str) -> aws_lambda_events::sqs::SqsMessage {
    let mut r = record(id, body);
    let mut a = SqsMessageAttribute::default();
    a.data_type = Some("String".into());
    a.string_value = Some(RUN.into());
    r.message_attributes.insert("run_id".into(), a);
    r
}

fn token(body: &str, message_id: &str) -> String {
    let message = JobMessage::parse_with(body, &JobLimits::default()).unwrap();
    job_token(&idempotency_key(&message, Some(message_id), Some(&RUN.parse::<RunId>().unwrap())))
}

#[tokio::test]
async fn tagged_jobs_record_done_and_dead_lettered_outcomes_in_their_run() {
    let world = World::start().await;
    world.meta.add_account("1", "EUR", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    world.meta.add_account("2", "EUR", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    world.meta.set_fault("2", Fault::TokenExpired);
    let good = job("meta", "act_1", "2026-11-20", "2026-11-20");
    let refresh = good.replace('}', r#","refresh":true}"#);
    let bad = job("meta", "act_2", "2026-11-20", "2026-11-20");
    let app = world.app();
    let report = app.process(&[tagged("g", &good), tagged("r", &refresh), tagged("b", &bad)], far()).await;
    assert!(failed_ids(&report).is_empty());
    // A duplicate delivery of the good job records the same token once.
    assert!(failed_ids(&app.process(&[tagged("g2", &good)], far()).await).is_empty());

    let item = world.clients.dynamodb.get_item().table_name(TABLE).key("id", AttributeValue::S(format!("run#{RUN}"))).consistent_read(true).send().await.unwrap().item.unwrap();
    let mut done = item["done"].as_ss().unwrap().clone();
    done.sort();
    let mut want = vec![token(&good, "g"), token(&refresh, "r")];
    want.sort();
    assert_eq!(done, want, "one token per job: the duplicate of the good job did not add one");
    let dead = item[&format!("dead_{}", token(&bad, "b"))].as_m().unwrap();
    assert_eq!(dead["reason_code"].as_s().unwrap(), "platform.invalid_credentials");
    assert_eq!(dead["job"].as_s().unwrap(), "meta/act_2/2026-11-20..2026-11-20");
    assert!(item["expiration"].as_n().unwrap().parse::<i64>().unwrap() > chrono::Utc::now().timestamp() + 13 * 86_400);
}
