//! Unit tests of restart planning: verdicts from statuses, history and the policy, backoff,
//! caps and resets, and the calls that restart exactly the chosen targets.

use super::*;
use crate::policy::Policy;
use crate::status::{InstanceStatus, TaskStatus};
use chrono::{Duration, TimeZone};

const TIMEOUT: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed\nCaused by: java.net.SocketTimeoutException: Read timed out\n\tat x.Y(Y.java:1)\n";
const POISON: &str = "org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed\nCaused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n";
const BAD_CONFIG: &str = "org.apache.kafka.common.config.ConfigException: Invalid value for configuration connection.url\n";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn task(id: u32, state: &str, trace: Option<&str>) -> TaskStatus {
    TaskStatus { id, state: State::parse(state), worker_id: Some("w:8083".into()), trace: trace.map(String::from) }
}

fn connector(name: &str, state: &str, trace: Option<&str>, tasks: Vec<TaskStatus>) -> ConnectorStatus {
    ConnectorStatus {
        name: name.into(),
        connector: InstanceStatus { state: State::parse(state), worker_id: None, trace: trace.map(String::from) },
        tasks,
        kind: Some("sink".into()),
    }
}

/// Statuses as a worker would answer them, digested with the built-in policy, then planned.
fn plan(statuses: &[ConnectorStatus], history: &HashMap<String, RestartRecord>) -> Vec<ConnectorPlan> {
    let policy = Policy::builtin();
    let digests = statuses.iter().map(|s| StatusDigest::from_status(s, &policy)).collect();
    restart_plan("main", digests, history, PlanSettings { max_restarts: 5 }, now())
}

fn verdicts(p: &ConnectorPlan) -> Vec<(Target, Verdict, String)> {
    p.decisions.iter().map(|d| (d.target, d.verdict.clone(), d.judgement.rule.clone())).collect()
}

#[test]
fn restarts_transient_failures_and_skips_the_rest() {
    let statuses = [connector(
        "es-sink",
        "RUNNING",
        None,
        vec![task(0, "RUNNING", None), task(1, "FAILED", Some(TIMEOUT)), task(2, "FAILED", Some(POISON)), task(3, "PAUSED", None), task(4, "FAILED", Some(BAD_CONFIG))],
    )];
    let plans = plan(&statuses, &HashMap::new());
    let p = &plans[0];
    assert_eq!(p.tasks, TaskCounts { running: 1, failed: 3, paused: 1, ..Default::default() });
    assert_eq!(
        verdicts(p),
        [
            (Target::Task(1), Verdict::Restart, "network-fault".to_string()),
            (Target::Task(2), Verdict::Skip, "poison-serialization".to_string()),
            (Target::Task(4), Verdict::Skip, "config".to_string()),
        ]
    );
    assert_eq!(p.failed, [Target::Task(1), Target::Task(2), Target::Task(4)]);
    assert_eq!(state_key("main", &p.name, p.decisions[0].target), "main/es-sink/1");
    assert!(p.history.is_empty());
}

#[test]
fn paused_and_stopped_connectors_are_counted_not_judged() {
    let statuses = [
        connector("paused", "PAUSED", None, vec![task(0, "PAUSED", None)]),
        connector("stopped", "STOPPED", None, vec![]),
        connector("unassigned", "RUNNING", None, vec![task(0, "UNASSIGNED", None)]),
    ];
    let plans = plan(&statuses, &HashMap::new());
    assert!(plans.iter().all(|p| p.decisions.is_empty()));
    assert_eq!(plans[0].tasks.paused, 1);
    assert_eq!(plans[1].state, State::Stopped);
    assert_eq!(plans[2].tasks.unassigned, 1);
}

#[test]
fn a_failed_connector_instance_is_judged_like_a_task() {
    let statuses = [
        connector("bad-creds", "FAILED", Some("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed"), vec![]),
        connector("flaky", "FAILED", Some("java.net.ConnectException: Connection refused"), vec![]),
    ];
    let plans = plan(&statuses, &HashMap::new());
    assert_eq!(verdicts(&plans[0]), [(Target::Connector, Verdict::Skip, "kafka-authentication".to_string())]);
    assert_eq!(verdicts(&plans[1]), [(Target::Connector, Verdict::Restart, "network-fault".to_string())]);
    assert_eq!(state_key("main", &plans[1].name, plans[1].decisions[0].target), "main/flaky/connector");
}

#[test]
fn history_drives_backoff_caps_and_resets() {
    let record = |count, minutes_ago, healthy_minutes_ago: Option<i64>| RestartRecord {
        count,
        last_restart_at: now() - Duration::minutes(minutes_ago),
        healthy_since: healthy_minutes_ago.map(|m| now() - Duration::minutes(m)),
        version: 7,
    };
    let history: HashMap<String, RestartRecord> = [
        ("main/c/0".to_string(), record(2, 3, None)),         // backoff 6 min, 3 elapsed
        ("main/c/1".to_string(), record(2, 6, None)),         // 6 elapsed: again
        ("main/c/2".to_string(), record(5, 600, Some(30))),   // capped; healthy streak broken
        ("main/c/3".to_string(), record(1, 30, None)),        // healthy now, first time seen
        ("main/c/4".to_string(), record(1, 30, Some(5))),     // healthy 5 min > 2 min backoff
        ("main/c/5".to_string(), record(3, 30, Some(5))),     // healthy 5 min < 12 min backoff
    ]
    .into_iter()
    .collect();
    let statuses = [connector(
        "c",
        "RUNNING",
        None,
        vec![
            task(0, "FAILED", Some(TIMEOUT)),
            task(1, "FAILED", Some(TIMEOUT)),
            task(2, "FAILED", Some(TIMEOUT)),
            task(3, "RUNNING", None),
            task(4, "RUNNING", None),
            task(5, "RUNNING", None),
        ],
    )];
    let p = &plan(&statuses, &history)[0];
    let v: Vec<Verdict> = p.decisions.iter().map(|d| d.verdict.clone()).collect();
    assert_eq!(v, [Verdict::BackingOff { until: now() + Duration::minutes(3) }, Verdict::Restart, Verdict::CapReached { restarts: 5 }]);
    assert_eq!(p.decisions[1].record.as_ref().map(|r| r.version), Some(7));
    assert_eq!(
        p.history,
        [
            HistoryUpdate::ClearHealthy { key: "main/c/2".into(), version: 7 },
            HistoryUpdate::MarkHealthy { key: "main/c/3".into(), version: 7 },
            HistoryUpdate::Forget { key: "main/c/4".into(), version: 7 },
        ]
    );
}

#[test]
fn skipped_failures_ignore_history() {
    let history: HashMap<String, RestartRecord> =
        [("main/c/0".to_string(), RestartRecord { count: 9, last_restart_at: now(), healthy_since: None, version: 1 })].into_iter().collect();
    let p = &plan(&[connector("c", "RUNNING", None, vec![task(0, "FAILED", Some(POISON))])], &history)[0];
    assert_eq!(p.decisions[0].verdict, Verdict::Skip);
}

#[test]
fn only_failed_is_a_candidate_only_when_the_snapshot_failed_set_is_the_chosen_one() {
    let t = Target::Task;
    let failed = [Target::Connector, t(1), t(2)];
    assert!(only_failed_candidate(&[t(2), Target::Connector, t(1)], &failed, true));
    assert!(!only_failed_candidate(&[Target::Connector, t(1), t(2)], &failed, false), "pre-3.0 workers ignore the query");
    assert!(!only_failed_candidate(&[t(1), t(2)], &failed, true), "would also restart the connector");
    assert!(!only_failed_candidate(&[t(1)], &[t(1)], true), "one call either way");
    assert!(only_failed_candidate(&[t(1), t(3), t(1)], &[t(3), t(1)], true), "order and repeats do not matter");
    assert!(!only_failed_candidate(&[], &[], true));
}

#[test]
fn only_failed_is_used_only_when_the_fresh_status_shows_exactly_the_chosen_failures() {
    use RestartCall::*;
    let t = Target::Task;
    let chosen = [Target::Connector, t(1), t(2)];
    assert_eq!(restart_calls(&chosen, Some(&[t(2), t(1), Target::Connector][..])), [FailedConnectorAndTasks]);
    assert_eq!(restart_calls(&chosen, Some(&[Target::Connector, t(1), t(2), t(3)][..])), [Connector, Task(1), Task(2)], "task 3 failed since the snapshot");
    assert_eq!(restart_calls(&chosen, Some(&[Target::Connector, t(1)][..])), [Connector, Task(1), Task(2)], "task 2 is no longer FAILED");
    assert_eq!(restart_calls(&chosen, Some(&[t(1), t(2), t(5)][..])), [Connector, Task(1), Task(2)], "same size, other targets");
    assert_eq!(restart_calls(&chosen, None), [Connector, Task(1), Task(2)], "no fresh read: one call per target");
    assert_eq!(restart_calls(&[t(1)], Some(&[t(1)][..])), [Task(1)], "one target: one call either way");
    assert_eq!(restart_calls(&[t(3), t(1), t(3)], None), [Task(1), Task(3)], "sorted, each once");
    let nothing: &[Target] = &[];
    assert!(restart_calls(nothing, Some(nothing)).is_empty());
}

#[test]
fn failed_targets_of_a_status() {
    let status = connector("c", "FAILED", Some(TIMEOUT), vec![task(0, "RUNNING", None), task(1, "FAILED", Some(POISON)), task(4, "FAILED", None), task(2, "UNASSIGNED", None)]);
    assert_eq!(failed_targets(&status), [Target::Connector, Target::Task(1), Target::Task(4)]);
    let healthy = connector("c", "RUNNING", None, vec![task(0, "RUNNING", None)]);
    assert!(failed_targets(&healthy).is_empty());
}
