//! Restart bookkeeping that tells the truth, against moto and the Kafka Connect peer: a restart
//! Connect refused (409) gives its claim back, a real one counts; `onlyFailed` is not used when
//! a task failed between the bulk read and the restart; connector names such as `..` never
//! address another path; the restart-state table is read page by page, and past its limit the
//! run stops with an error instead of working from part of it.

mod common_setup;

use aws_sdk_dynamodb::types::AttributeValue;
use common_setup::*;
use connect_health::state::{RestartState, StateError};
use peers::kafka_connect::{Restarted, FAILED, RUNNING};
use std::collections::HashMap;
use test_support::Moto;

type Item = HashMap<String, AttributeValue>;

fn ddb(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto.sdk_config())
}

async fn item(moto: &Moto, key: &str) -> Option<Item> {
    ddb(moto).get_item().table_name(TABLE).key("connector_task", AttributeValue::S(key.into())).consistent_read(true).send().await.unwrap().item().cloned()
}

fn n(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).unwrap_or_else(|| panic!("no {name} in {item:?}")).parse().unwrap()
}

/// A restart record as connect-health writes it: `count` restarts, the last `minutes_ago`.
async fn seed(moto: &Moto, key: &str, count: u32, minutes_ago: i64, version: u64) -> Item {
    let last = chrono::Utc::now().timestamp() - minutes_ago * 60;
    let num = |v: i64| AttributeValue::N(v.to_string());
    let record: Item = [
        ("connector_task".to_string(), AttributeValue::S(key.into())),
        ("restart_count".to_string(), num(count.into())),
        ("last_restart_at".to_string(), num(last)),
        ("version".to_string(), num(version as i64)),
        ("expires_at".to_string(), num(last + 30 * 86_400)),
    ]
    .into_iter()
    .collect();
    ddb(moto).put_item().table_name(TABLE).set_item(Some(record.clone())).send().await.unwrap();
    record
}

#[tokio::test]
async fn a_restart_refused_with_409_gives_its_claim_back_and_a_real_one_counts() {
    let moto = Moto::start();
    create_table(&moto).await;
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 2, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 1, FAILED, Some(TIMEOUT_TRACE));
    // Task 1 was restarted twice before, an hour ago (past its 6-minute backoff); task 0 never.
    let before = seed(&moto, "main/es-sink/1", 2, 60, 5).await;
    let mut c = config(vec![cluster("main", &url)]);
    c.restart_state_table = Some(TABLE.into());
    let app = app(&moto, c);

    // A rebalance that does not end: every try of the one onlyFailed call answers 409.
    peer.inject_conflicts(100);
    let report = run(&app).await;
    assert!(peer.restarts().is_empty());
    assert_eq!(posts(&peer), vec!["/connectors/es-sink/restart?includeTasks=true&onlyFailed=true"; 3], "three tries, then deferred");
    for action in connector(&report, "main", "es-sink")["actions"].as_array().unwrap() {
        assert_eq!(action["action"], "deferred", "{action}");
        let detail = action["detail"].as_str().unwrap();
        assert!(detail.contains("answered 409") && detail.ends_with("; not counted as a restart"), "{detail}");
    }
    assert_eq!(item(&moto, "main/es-sink/1").await, Some(before.clone()), "the record is as it was: count 2, version 5");
    assert_eq!(item(&moto, "main/es-sink/0").await, None, "no record before, none after");

    // The rebalance is over: the same failures are restarted, and now they count.
    peer.inject_conflicts(0);
    peer.clear_log();
    let report = run(&app).await;
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 0), Restarted::Task("es-sink".into(), 1)]);
    assert_eq!(actions(&report, "main", "es-sink").iter().map(|a| a.1.as_str()).collect::<Vec<_>>(), ["restarted", "restarted"]);
    let one = item(&moto, "main/es-sink/1").await.unwrap();
    assert_eq!((n(&one, "restart_count"), n(&one, "version")), (3, 6));
    let zero = item(&moto, "main/es-sink/0").await.unwrap();
    assert_eq!((n(&zero, "restart_count"), n(&zero, "version")), (1, 1));
}

#[tokio::test]
async fn only_failed_is_not_used_when_a_task_failed_after_the_bulk_read() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 3, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 2, FAILED, Some(TIMEOUT_TRACE));
    // The snapshot shows tasks 0 and 2 FAILED, both to restart: exactly every FAILED target. Then
    // task 1 fails with a poison record, which a restart must not touch.
    peer.set_task_on_next_status_read("es-sink", 1, FAILED, Some(POISON_TRACE));
    let report = run(&app(&moto, config(vec![cluster("main", &url)]))).await;

    let calls: Vec<String> = peer.calls().into_iter().map(|c| format!("{} {}", c.method, c.uri)).collect();
    assert_eq!(
        calls,
        [
            "GET /",
            "GET /connectors?expand=status",
            "GET /connectors/es-sink/status",
            "POST /connectors/es-sink/tasks/0/restart",
            "POST /connectors/es-sink/tasks/2/restart",
        ],
        "a fresh read, then exactly the chosen tasks one by one"
    );
    assert!(!calls.iter().any(|c| c.contains("onlyFailed")));
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 0), Restarted::Task("es-sink".into(), 2)]);
    assert_eq!(peer.task_state("es-sink", 1).as_deref(), Some(FAILED), "the poison record is left alone");
    assert_eq!(actions(&report, "main", "es-sink").iter().map(|a| (a.0.as_str(), a.1.as_str())).collect::<Vec<_>>(), [("0", "restarted"), ("2", "restarted")]);
}

#[tokio::test]
async fn a_connector_named_dot_dot_never_addresses_another_path() {
    let moto = Moto::start();
    create_table(&moto).await;
    let (new, new_url) = peer("3.7.0").await;
    let (old, old_url) = peer("2.2.0").await;
    for peer in [&new, &old] {
        for name in ["..", "a/b"] {
            peer.add_connector(name, "sink", RUNNING, 1, RUNNING);
            peer.set_task(name, 0, FAILED, Some(TIMEOUT_TRACE));
        }
    }
    let mut c = config(vec![cluster("new", &new_url), cluster("old", &old_url)]);
    c.restart_state_table = Some(TABLE.into());
    let report = run(&app(&moto, c)).await;

    let calls = |peer: &peers::kafka_connect::KafkaConnect| -> Vec<String> {
        let mut calls: Vec<String> = peer.calls().into_iter().map(|c| format!("{} {}", c.method, c.uri)).collect();
        calls.sort();
        calls
    };
    // Connect >= 2.3: `..` is read in the bulk answer, its restart refused before any request.
    assert_eq!(calls(&new), ["GET /", "GET /connectors?expand=status", "POST /connectors/a%2Fb/tasks/0/restart"]);
    assert_eq!(new.restarts(), [Restarted::Task("a/b".into(), 0)], "a '/' in a name stays in the name");
    assert_eq!(new.task_state("..", 0).as_deref(), Some(FAILED));
    let refused = &connector(&report, "new", "..")["actions"][0];
    assert_eq!(refused["action"], "error", "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains(r#"the connector name ".." cannot be put in a URL"#) && detail.ends_with("; not counted as a restart"), "{detail}");
    assert_eq!(item(&moto, "new/../0").await, None, "the claim of a restart never sent is given back");
    assert_eq!(n(&item(&moto, "new/a/b/0").await.unwrap(), "restart_count"), 1);

    // Connect < 2.3: statuses are read by name, and `..` cannot be; it is left out.
    assert_eq!(calls(&old), ["GET /", "GET /connectors", "GET /connectors/a%2Fb/status", "POST /connectors/a%2Fb/tasks/0/restart"]);
    assert_eq!(old.restarts(), [Restarted::Task("a/b".into(), 0)]);
    let old_report = report["clusters"].as_array().unwrap().iter().find(|c| c["name"] == "old").unwrap();
    assert_eq!(old_report["connectors_total"], 1, "{old_report}");
}

#[tokio::test]
async fn the_restart_state_is_read_page_by_page_and_never_silently_cut() {
    let moto = Moto::start();
    create_table(&moto).await;
    for task in 0..5 {
        seed(&moto, &format!("main/es-sink/{task}"), 1, 10, 1).await;
    }
    let state = |max_items: usize| RestartState::DynamoDb { client: ddb(&moto), table: TABLE.into(), max_items, page_items: Some(2) };

    // Five items in pages of two: all five, through LastEvaluatedKey.
    let records = state(5).load().await.expect("five items are within the limit");
    let mut keys: Vec<&String> = records.keys().collect();
    keys.sort();
    assert_eq!(keys, ["main/es-sink/0", "main/es-sink/1", "main/es-sink/2", "main/es-sink/3", "main/es-sink/4"]);

    // One item past the limit: an error that says what to check, not four of the five.
    let err = state(4).load().await.expect_err("more items than the limit");
    assert!(matches!(err, StateError::TooManyItems { limit: 4, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("restart-state table {TABLE} holds more than 4 items")), "{text}");
    assert!(text.contains("expires_at"), "{text}");
}
