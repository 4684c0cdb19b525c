//! The JSON report the function returns: what it saw and did, per cluster and connector, so
//! that `serverless invoke` shows it. Metrics are derived from it too, so the report and the
//! dashboards never disagree. A cluster's totals are summed here from its connectors, and each
//! action's log line is shaped here from its report entry.

use crate::plan::{TaskCounts, Target};
use crate::status::State;
use chrono::{DateTime, Utc};
use common::text::bounded;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_at: DateTime<Utc>,
    pub dry_run: bool,
    pub clusters: Vec<ClusterReport>,
    pub metrics: MetricsReport,
}

/// What publishing the run's metrics came to. Every batch is sent even when one fails; a
/// failed batch then fails the invocation (see `metrics::failure`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricsReport {
    pub namespace: String,
    pub datums: usize,
    /// `PutMetricData` calls made: one per batch.
    pub put_calls: usize,
    /// Calls that failed.
    pub failed_batches: usize,
    /// The first failure, when a call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    pub name: String,
    pub reachable: bool,
    /// `version` of `GET /`, as the worker reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the cluster could not be read (unreachable, auth, time budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub connectors_total: u32,
    pub failed_connectors: u32,
    pub tasks: TaskCounts,
    pub actions: ActionCounts,
    /// HTTP requests made to this cluster, retries included.
    pub http_calls: u32,
    /// Time spent on this cluster: reading, planning, restarting (metrics excluded).
    pub elapsed_ms: u64,
    pub connectors: Vec<ConnectorReport>,
}

impl ClusterReport {
    pub fn unreachable(name: &str, error: String, http_calls: u32) -> ClusterReport {
        ClusterReport {
            name: name.to_string(),
            reachable: false,
            version: None,
            error: Some(error),
            connectors_total: 0,
            failed_connectors: 0,
            tasks: TaskCounts::default(),
            actions: ActionCounts::default(),
            http_calls,
            elapsed_ms: 0,
            connectors: Vec::new(),
        }
    }

    /// A cluster that was read: its totals are summed from its connectors. `elapsed_ms` is left
    /// to the caller, who times the whole cluster.
    pub fn from_connectors(name: &str, version: String, connectors: Vec<ConnectorReport>, http_calls: u32) -> ClusterReport {
        ClusterReport {
            name: name.to_string(),
            reachable: true,
            version: Some(version),
            error: None,
            connectors_total: connectors.len() as u32,
            failed_connectors: connectors.iter().filter(|c| c.state == State::Failed).count() as u32,
            tasks: task_totals(&connectors),
            actions: action_totals(&connectors),
            http_calls,
            elapsed_ms: 0,
            connectors,
        }
    }
}

/// Tasks by state, summed over connectors.
pub fn task_totals(connectors: &[ConnectorReport]) -> TaskCounts {
    let mut t = TaskCounts::default();
    for c in connectors {
        t.running += c.tasks.running;
        t.failed += c.tasks.failed;
        t.paused += c.tasks.paused;
        t.unassigned += c.tasks.unassigned;
        t.restarting += c.tasks.restarting;
        t.other += c.tasks.other;
    }
    t
}

/// Actions by kind, over every connector's actions.
pub fn action_totals(connectors: &[ConnectorReport]) -> ActionCounts {
    let mut counts = ActionCounts::default();
    for a in connectors.iter().flat_map(|c| &c.actions) {
        counts.add(a.action);
    }
    counts
}

/// Number of actions of each kind in a cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub restarted: u32,
    pub would_restart: u32,
    pub skipped: u32,
    pub backing_off: u32,
    pub deferred: u32,
    pub gone: u32,
    pub error: u32,
}

impl ActionCounts {
    pub fn add(&mut self, action: ActionTaken) {
        match action {
            ActionTaken::Restarted => self.restarted += 1,
            ActionTaken::WouldRestart => self.would_restart += 1,
            ActionTaken::Skipped => self.skipped += 1,
            ActionTaken::BackingOff => self.backing_off += 1,
            ActionTaken::Deferred => self.deferred += 1,
            ActionTaken::Gone => self.gone += 1,
            ActionTaken::Error => self.error += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectorReport {
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub state: State,
    pub tasks: TaskCounts,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionReport>,
}

impl ConnectorReport {
    pub fn count(&self, action: ActionTaken) -> u32 {
        self.actions.iter().filter(|a| a.action == action).count() as u32
    }
}

/// What happened to one failed target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionTaken {
    /// Restart requested and accepted by the worker.
    Restarted,
    /// Dry run: it would have been restarted.
    WouldRestart,
    /// The policy says a restart cannot fix it, or its restart cap is reached.
    Skipped,
    /// Restarted recently; waiting for its backoff.
    BackingOff,
    /// Could not be done this run (rebalance under way, another invocation got there first,
    /// run budget spent); the next run decides again.
    Deferred,
    /// The connector was deleted between reading and restarting.
    Gone,
    /// The restart call failed.
    Error,
}

impl ActionTaken {
    /// The name the report's JSON uses (`restarted`, `would_restart`, ...), for log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionTaken::Restarted => "restarted",
            ActionTaken::WouldRestart => "would_restart",
            ActionTaken::Skipped => "skipped",
            ActionTaken::BackingOff => "backing_off",
            ActionTaken::Deferred => "deferred",
            ActionTaken::Gone => "gone",
            ActionTaken::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    /// A task id, or `"connector"` for the connector instance.
    pub task: Target,
    pub action: ActionTaken,
    /// The policy rule that decided (`default` when none matched), or `restart_cap`.
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One action as its `task action` log line shows it: the report's names (`skipped`, `task 2`),
/// and every text that came from the worker (connector name, root cause, detail) bounded with
/// control characters escaped, so that it cannot forge a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedAction {
    pub connector: String,
    /// `connector` or `task N`.
    pub task: String,
    pub action: &'static str,
    pub rule: String,
    /// Empty when the report has none.
    pub root_cause: String,
    /// Empty when the report has none.
    pub detail: String,
}

impl LoggedAction {
    pub fn new(connector: &str, action: &ActionReport) -> LoggedAction {
        let text = |value: &Option<String>, max: usize| value.as_deref().map(|t| bounded(t, max)).unwrap_or_default();
        LoggedAction {
            connector: bounded(connector, 1024),
            task: action.task.to_string(),
            action: action.action.as_str(),
            rule: bounded(&action.rule, 200),
            root_cause: text(&action.root_cause, 500),
            detail: text(&action.detail, 1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(kinds: &[(ActionTaken, usize)]) -> Vec<ActionReport> {
        kinds
            .iter()
            .flat_map(|&(action, n)| std::iter::repeat_n(action, n))
            .enumerate()
            .map(|(i, action)| ActionReport { task: Target::Task(i as u32), action, rule: "r".into(), root_cause: None, detail: None })
            .collect()
    }

    fn connector(name: &str, state: State, tasks: TaskCounts, actions: Vec<ActionReport>) -> ConnectorReport {
        ConnectorReport { name: name.into(), kind: Some("sink".into()), state, tasks, actions }
    }

    /// Every count differs from every other, so a total summed into the wrong field fails.
    fn connectors() -> Vec<ConnectorReport> {
        use ActionTaken::*;
        vec![
            connector(
                "es-sink",
                State::Running,
                TaskCounts { running: 2, failed: 2, unassigned: 1, ..Default::default() },
                actions(&[(Restarted, 1), (Skipped, 1), (WouldRestart, 2)]),
            ),
            connector("jdbc", State::Failed, TaskCounts { failed: 1, restarting: 4, ..Default::default() }, actions(&[(Skipped, 2), (BackingOff, 4), (Deferred, 5)])),
            connector("s3", State::Paused, TaskCounts { paused: 5, other: 6, ..Default::default() }, actions(&[(Gone, 6), (Error, 7)])),
            connector("idle", State::Running, TaskCounts::default(), Vec::new()),
        ]
    }

    #[test]
    fn totals_are_summed_over_connectors() {
        assert_eq!(task_totals(&connectors()), TaskCounts { running: 2, failed: 3, paused: 5, unassigned: 1, restarting: 4, other: 6 });
        assert_eq!(
            action_totals(&connectors()),
            ActionCounts { restarted: 1, would_restart: 2, skipped: 3, backing_off: 4, deferred: 5, gone: 6, error: 7 }
        );
        assert_eq!(task_totals(&[]), TaskCounts::default());
        assert_eq!(action_totals(&[]), ActionCounts::default());
    }

    #[test]
    fn a_read_cluster_carries_its_connectors_and_their_totals() {
        let r = ClusterReport::from_connectors("main", "3.7.0".into(), connectors(), 9);
        assert!(r.reachable);
        assert_eq!(r.name, "main");
        assert_eq!(r.version.as_deref(), Some("3.7.0"));
        assert_eq!(r.error, None);
        assert_eq!(r.connectors_total, 4);
        assert_eq!(r.failed_connectors, 1, "only the FAILED connector instance, not the paused one");
        assert_eq!(r.tasks, task_totals(&connectors()));
        assert_eq!(r.actions.error, 7);
        assert_eq!(r.actions.restarted, 1);
        assert_eq!(r.http_calls, 9);
        assert_eq!(r.elapsed_ms, 0);
        assert_eq!(r.connectors.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["es-sink", "jdbc", "s3", "idle"], "order kept");

        let empty = ClusterReport::from_connectors("empty", "2.2.0".into(), Vec::new(), 2);
        assert!(empty.reachable);
        assert_eq!((empty.connectors_total, empty.failed_connectors), (0, 0));
        assert_eq!((empty.tasks, empty.actions), (TaskCounts::default(), ActionCounts::default()));
    }

    #[test]
    fn a_cluster_report_keeps_its_json_shape() {
        let json = serde_json::to_value(ClusterReport::from_connectors("main", "3.7.0".into(), connectors(), 9)).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = ["name", "reachable", "version", "connectors_total", "failed_connectors", "tasks", "actions", "http_calls", "elapsed_ms", "connectors"];
        expected.sort_unstable();
        assert_eq!(keys, expected, "no `error` key on a reachable cluster");
        assert_eq!(
            json["actions"],
            serde_json::json!({"restarted": 1, "would_restart": 2, "skipped": 3, "backing_off": 4, "deferred": 5, "gone": 6, "error": 7})
        );
        assert_eq!(json["tasks"], serde_json::json!({"running": 2, "failed": 3, "paused": 5, "unassigned": 1, "restarting": 4, "other": 6}));
        assert_eq!(json["connectors"][0]["type"], "sink");
        assert_eq!(json["connectors"][1]["state"], "FAILED");
        assert_eq!(json["connectors"][1]["actions"][0], serde_json::json!({"task": 0, "action": "skipped", "rule": "r"}));
        assert!(json["connectors"][3].get("actions").is_none(), "no actions, no key");
    }

    #[test]
    fn log_names_are_the_report_json_names() {
        use ActionTaken::*;
        for action in [Restarted, WouldRestart, Skipped, BackingOff, Deferred, Gone, Error] {
            assert_eq!(serde_json::to_value(action).unwrap(), serde_json::json!(action.as_str()));
        }
        assert_eq!(Skipped.as_str(), "skipped");
    }

    #[test]
    fn a_logged_action_names_the_target_and_escapes_remote_text() {
        let report = ActionReport {
            task: Target::Task(2),
            action: ActionTaken::Skipped,
            rule: "poison-serialization".into(),
            root_cause: Some("org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n{\"level\":\"ERROR\"}".into()),
            detail: None,
        };
        let line = LoggedAction::new("es-sink\r\u{1b}[2J", &report);
        assert_eq!(line.task, "task 2");
        assert_eq!(line.action, "skipped");
        assert_eq!(line.rule, "poison-serialization");
        assert_eq!(line.connector, "es-sink\\r\\u{1b}[2J");
        assert_eq!(line.root_cause, "org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\\n{\"level\":\"ERROR\"}");
        assert_eq!(line.detail, "");
        for text in [&line.connector, &line.root_cause] {
            assert!(!text.chars().any(char::is_control), "{text}");
        }

        let connector = ActionReport { task: Target::Connector, action: ActionTaken::BackingOff, rule: "r".into(), root_cause: None, detail: Some("x".repeat(2000)) };
        let line = LoggedAction::new("jdbc", &connector);
        assert_eq!((line.task.as_str(), line.action), ("connector", "backing_off"));
        assert_eq!(line.detail, format!("{}...", "x".repeat(1000)), "bounded");
        assert_eq!(line.root_cause, "");
    }
}
