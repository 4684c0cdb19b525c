//! Backoff, caps and resets across invocations through the DynamoDB restart-state table
//! (moto), and two overlapping invocations that must not both restart a task.

mod common_setup;

use aws_sdk_dynamodb::types::AttributeValue;
use common_setup::*;
use peers::kafka_connect::{Restarted, FAILED, RUNNING};
use std::collections::HashMap;
use test_support::Moto;

fn ddb(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto.sdk_config())
}

async fn item(moto: &Moto, key: &str) -> Option<HashMap<String, AttributeValue>> {
    ddb(moto).get_item().table_name(TABLE).key("connector_task", AttributeValue::S(key.into())).consistent_read(true).send().await.unwrap().item().cloned()
}

fn n(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).unwrap_or_else(|| panic!("no {name} in {item:?}")).parse().unwrap()
}

/// Move a timestamp attribute into the past, as if the minutes had gone by.
async fn age(moto: &Moto, key: &str, attribute: &str, minutes: i64) {
    let at = chrono::Utc::now().timestamp() - minutes * 60;
    ddb(moto)
        .update_item()
        .table_name(TABLE)
        .key("connector_task", AttributeValue::S(key.into()))
        .update_expression("SET #a = :t")
        .expression_attribute_names("#a", attribute)
        .expression_attribute_values(":t", AttributeValue::N(at.to_string()))
        .send()
        .await
        .unwrap();
}

async fn setup(max_restarts: u32) -> (Moto, peers::kafka_connect::KafkaConnect, connect_health::App) {
    let moto = Moto::start();
    create_table(&moto).await;
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 2, RUNNING);
    peer.set_task("es-sink", 1, FAILED, Some(TIMEOUT_TRACE));
    let mut c = config(vec![cluster("main", &url)]);
    c.restart_state_table = Some(TABLE.into());
    c.max_restarts = max_restarts;
    let app = app(&moto, c);
    (moto, peer, app)
}

const KEY: &str = "main/es-sink/1";

#[tokio::test]
async fn backoff_holds_across_invocations_and_resets_after_a_healthy_spell() {
    let (moto, peer, app) = setup(10).await;

    let report = run(&app).await;
    assert_eq!(actions(&report, "main", "es-sink")[0].1, "restarted");
    let record = item(&moto, KEY).await.expect("restart recorded");
    assert_eq!((n(&record, "restart_count"), n(&record, "version")), (1, 1));
    assert!(n(&record, "expires_at") > chrono::Utc::now().timestamp() + 29 * 86400, "TTL set");

    // It fails again at once: the next run must wait 2 minutes.
    peer.set_task("es-sink", 1, FAILED, Some(TIMEOUT_TRACE));
    peer.clear_log();
    let report = run(&app).await;
    assert!(posts(&peer).is_empty(), "backing off: no restart call");
    let action = &connector(&report, "main", "es-sink")["actions"][0];
    assert_eq!(action["action"], "backing_off");
    assert!(action["detail"].as_str().unwrap().starts_with("next restart not before"));
    assert_eq!(metric(&moto, "KafkaConnect", "RestartsSkipped", "main", Some("es-sink")).await, None, "backing off is not a skip");

    // Three minutes later (> 2): restarted again, count 2.
    age(&moto, KEY, "last_restart_at", 3).await;
    let report = run(&app).await;
    assert_eq!(actions(&report, "main", "es-sink")[0].1, "restarted");
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 1)]);
    let record = item(&moto, KEY).await.unwrap();
    assert_eq!((n(&record, "restart_count"), n(&record, "version")), (2, 2));

    // Now healthy: first seen healthy, then healthy for longer than the 6-minute backoff.
    run(&app).await;
    let record = item(&moto, KEY).await.unwrap();
    assert!(record.contains_key("healthy_since"), "{record:?}");
    age(&moto, KEY, "healthy_since", 7).await;
    run(&app).await;
    assert!(item(&moto, KEY).await.is_none(), "count reset: record forgotten");
}

#[tokio::test]
async fn a_task_that_keeps_failing_is_capped() {
    let (moto, peer, app) = setup(1).await;
    run(&app).await;
    peer.set_task("es-sink", 1, FAILED, Some(TIMEOUT_TRACE));
    age(&moto, KEY, "last_restart_at", 120).await;
    peer.clear_log();
    let report = run(&app).await;
    assert!(posts(&peer).is_empty());
    assert_eq!(actions(&report, "main", "es-sink"), [("1".into(), "skipped".into(), "restart_cap".into())]);
    assert_eq!(metric(&moto, "KafkaConnect", "RestartsSkipped", "main", Some("es-sink")).await, Some(1.0));
}

#[tokio::test]
async fn overlapping_invocations_restart_a_task_once() {
    let (moto, peer, first) = setup(10).await;
    let mut c = first.config().clone();
    c.restart_state_table = Some(TABLE.into());
    let second = app(&moto, c);
    // Both read the FAILED task before either restart lands (a restart heals it at the peer, and
    // an invocation that read it healed would rightly have nothing to do).
    peer.hold_restarts_until_status_reads(2);
    let (a, b) = tokio::join!(run(&first), run(&second));
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 1)], "exactly one restart");
    let mut outcomes = vec![actions(&a, "main", "es-sink")[0].1.clone(), actions(&b, "main", "es-sink")[0].1.clone()];
    outcomes.sort();
    assert!(outcomes == ["backing_off", "restarted"] || outcomes == ["deferred", "restarted"], "{outcomes:?}");
    assert_eq!(n(&item(&moto, KEY).await.unwrap(), "restart_count"), 1);
}

#[tokio::test]
async fn an_unreadable_state_table_defers_restarts_but_still_publishes() {
    let moto = Moto::start(); // no table created
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 1, FAILED);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    let mut c = config(vec![cluster("main", &url)]);
    c.restart_state_table = Some("missing-table".into());
    let report = run(&app(&moto, c)).await;
    assert!(peer.restarts().is_empty());
    let action = &connector(&report, "main", "es-sink")["actions"][0];
    assert_eq!(action["action"], "deferred");
    assert!(action["detail"].as_str().unwrap().contains("restart state unavailable"), "{action}");
    assert_eq!(metric(&moto, "KafkaConnect", "FailedTasks", "main", Some("es-sink")).await, Some(1.0));
}
