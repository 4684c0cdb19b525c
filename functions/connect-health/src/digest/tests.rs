//! Unit tests of status digests: what a status body becomes, read whole, streamed in any
//! pieces or as an entry of the `?expand=status` object; the shapes refused; the entry limit.

use super::*;
use serde_json::json;

const TIMEOUT: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed\nCaused by: java.net.SocketTimeoutException: Read timed out\n\tat x.Y(Y.java:1)\n";
const POISON: &str = "org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed\nCaused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n";

fn policy() -> Policy {
    Policy::builtin()
}

fn es_sink() -> serde_json::Value {
    json!({
        "name": "es-sink",
        "connector": {"state": "RUNNING", "worker_id": "10.0.0.5:8083"},
        "tasks": [
            {"id": 0, "state": "RUNNING", "worker_id": "10.0.0.5:8083"},
            {"id": 1, "state": "FAILED", "worker_id": "10.0.0.6:8083", "trace": TIMEOUT},
            {"id": 2, "state": "PAUSED", "worker_id": "10.0.0.6:8083"},
            {"id": 3, "state": "FAILED", "worker_id": "10.0.0.6:8083", "trace": POISON}
        ],
        "type": "sink"
    })
}

fn rules(digest: &StatusDigest) -> Vec<(Target, &str)> {
    digest.failed.iter().map(|f| (f.target, f.judgement.rule.as_str())).collect()
}

#[test]
fn a_status_becomes_counts_running_ids_and_judged_failures() {
    let digest = status_from_slice(es_sink().to_string().as_bytes(), &policy()).unwrap();
    assert_eq!(digest.name, "es-sink");
    assert_eq!(digest.kind.as_deref(), Some("sink"));
    assert_eq!(digest.state, State::Running);
    assert_eq!(digest.tasks, TaskCounts { running: 1, failed: 2, paused: 1, ..TaskCounts::default() });
    assert_eq!(digest.running, [Target::Connector, Target::Task(0)]);
    assert_eq!(rules(&digest), [(Target::Task(1), "network-fault"), (Target::Task(3), "poison-serialization")]);
    assert_eq!(digest.failed[0].judgement.root_cause.as_deref(), Some("java.net.SocketTimeoutException: Read timed out"));
    let owned: ConnectorStatus = serde_json::from_value(es_sink()).unwrap();
    assert_eq!(StatusDigest::from_status(&owned, &policy()), digest, "read whole or streamed, the same digest");
}

#[test]
fn field_order_does_not_matter_and_the_instance_comes_first() {
    let body = format!(r#"{{"type":"source","tasks":[{{"trace":{trace},"state":"FAILED","id":7}}],"connector":{{"trace":{trace},"state":"FAILED"}},"name":"jdbc"}}"#, trace = json!(TIMEOUT));
    let digest = status_from_slice(body.as_bytes(), &policy()).unwrap();
    assert_eq!(digest.failed_targets(), [Target::Connector, Target::Task(7)]);
    assert_eq!(digest.state, State::Failed);
    assert!(digest.running.is_empty());
    assert_eq!(digest.tasks.failed, 1, "the instance is not a task");
}

#[test]
fn escaped_names_are_read_as_written() {
    let body = json!({"a\"b\u{e9}\n": {"status": {"name": "a\"b\u{e9}\n", "connector": {"state": "running"}, "tasks": []}}}).to_string();
    let Expanded::Statuses(statuses) = expanded_from_slice(body.as_bytes(), &policy(), 10).unwrap() else { panic!("statuses") };
    assert_eq!(statuses[0].name, "a\"b\u{e9}\n");
    assert_eq!(statuses[0].state, State::Running, "states in any case");
    assert!(statuses[0].kind.is_none());
}

#[test]
fn the_expanded_body_keeps_the_body_order_and_skips_missing_statuses() {
    let body = json!({
        "b": {"status": es_sink(), "info": {"name": "b", "config": {"tasks.max": "4"}, "tasks": [], "type": "sink"}},
        "a": {"status": null},
        "c": {"info": {}},
        "d": {"status": {"name": "d", "connector": {"state": "PAUSED"}}}
    })
    .to_string();
    let Expanded::Statuses(statuses) = expanded_from_slice(body.as_bytes(), &policy(), 100).unwrap() else { panic!("statuses") };
    let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["es-sink", "d"]);
    assert_eq!(statuses[1].tasks.total(), 0);
    assert_eq!(expanded_from_slice(br#"["a","b"]"#, &policy(), 1).unwrap(), Expanded::Names(vec!["a".into(), "b".into()]));
}

#[test]
fn shapes_connect_never_sends_are_refused() {
    let refused = |body: &str| expanded_from_slice(body.as_bytes(), &policy(), 100).unwrap_err().to_string();
    assert!(refused(r#"{"a":{"status":{"connector":{"state":"RUNNING"}}}}"#).contains("missing field `name`"));
    assert!(refused(r#"{"a":{"status":{"name":"a"}}}"#).contains("missing field `connector`"));
    assert!(refused(r#"{"a":{"status":{"name":"a","name":"b","connector":{"state":"RUNNING"}}}}"#).contains("duplicate field `name`"));
    assert!(refused(r#"{"a":{"status":{"name":"a","connector":{"state":"RUNNING"},"tasks":null}}}"#).contains("invalid type"));
    assert!(refused(r#"{"a":{"status":{"name":"a","connector":{"state":"FAILED","trace":7}}}}"#).contains("invalid type"));
    assert!(refused(r#"{"a":{"status":{"name":"a","connector":{"state":"RUNNING"},"tasks":[{"id":-1,"state":"RUNNING"}]}}}"#).contains("invalid value"));
    assert!(refused(r#"{"a":{"status":{"name":"a","connector":{"state":"RUNNING"}}}} trailing"#).contains("trailing characters"));
    assert!(refused("7").contains("invalid type"));
}

#[test]
fn an_answer_with_more_entries_than_the_limit_is_refused_as_such() {
    let failed_tasks = |n: u32| json!({"name": "c", "connector": {"state": "RUNNING"}, "tasks": (0..n).map(|id| json!({"id": id, "state": "FAILED"})).collect::<Vec<_>>()});
    // One connector with 2 failed tasks: 3 entries.
    let body = json!({"c": {"status": failed_tasks(2)}}).to_string();
    assert!(expanded_from_slice(body.as_bytes(), &policy(), 3).is_ok());
    assert!(matches!(expanded_from_slice(body.as_bytes(), &policy(), 2), Err(DigestError::TooManyEntries { limit: 2 })));
    // Many connectors, no failure: one entry each.
    let many: serde_json::Map<String, serde_json::Value> =
        (0..5).map(|i| (format!("c{i}"), json!({"status": {"name": format!("c{i}"), "connector": {"state": "RUNNING"}, "tasks": []}}))).collect();
    let body = serde_json::Value::Object(many).to_string();
    assert!(expanded_from_slice(body.as_bytes(), &policy(), 5).is_ok());
    let err = expanded_from_slice(body.as_bytes(), &policy(), 4).unwrap_err();
    assert_eq!(err.to_string(), "more than 4 connectors and failed connectors or tasks");
    // A broken body is still a JSON error, not a limit.
    assert!(matches!(expanded_from_slice(b"{\"c\":", &policy(), 4), Err(DigestError::Json(_))));
}

#[test]
fn a_body_fed_in_any_pieces_reads_as_a_whole() {
    let p = policy();
    // Commas, brackets and escaped quotes inside strings do not cut an entry.
    let body = json!({
        "b": {"status": es_sink(), "info": {"config": {"topics.regex": "a,}{]\\\""}}},
        "a\"},{": {"status": {"name": "odd", "connector": {"state": "FAILED", "trace": POISON}, "tasks": []}}
    })
    .to_string();
    let whole = expanded_from_slice(body.as_bytes(), &p, 100).unwrap();
    let Expanded::Statuses(statuses) = &whole else { panic!("statuses") };
    let mut names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["es-sink", "odd"]);
    for piece in [1, 2, 7, 64, body.len()] {
        let mut reader = ExpandedReader::new(&p, 100);
        for chunk in body.as_bytes().chunks(piece) {
            reader.feed(chunk).unwrap();
        }
        assert_eq!(reader.finish().unwrap(), whole, "pieces of {piece} bytes");
    }
}

#[test]
fn the_object_of_connectors_is_cut_only_where_json_allows() {
    let p = policy();
    let read = |body: &str| expanded_from_slice(body.as_bytes(), &p, 100);
    assert_eq!(read(" {} ").unwrap(), Expanded::Statuses(Vec::new()));
    assert_eq!(read("{\n}\r\n").unwrap(), Expanded::Statuses(Vec::new()));
    assert!(read(r#" { "a" : { "status" : { "name" : "a", "connector" : { "state" : "RUNNING" } } } } "#).is_ok());
    for bad in [
        "{,}",
        r#"{"a":{"status":null},}"#,
        r#"{,"a":{"status":null}}"#,
        r#"{"a":{"status":null},,"b":{}}"#,
        r#"{"a":{"status":null}} {}"#,
        r#"{"a":{"status":null}]"#,
        r#"{"a" {"status":null}}"#,
        "{",
        r#"{"a":"#,
        "",
        "\u{c}{}",
    ] {
        assert!(matches!(read(bad), Err(DigestError::Json(_))), "{bad:?} is accepted");
    }
}

#[test]
fn the_limit_follows_the_body_cap() {
    assert_eq!(entry_limit(1 << 20), MIN_ENTRY_LIMIT);
    assert_eq!(entry_limit(64 << 20), (64 << 20) / BYTES_PER_ENTRY);
    // 10,000 connectors of 10 tasks with 5,000 failed fit the default cap at 128 MB.
    let share = common::memory::MemoryBudget::from_mb(common::memory::DEFAULT_MEMORY_MB).per_unit(4);
    assert!(entry_limit(share) >= 15_000, "{}", entry_limit(share));
}
