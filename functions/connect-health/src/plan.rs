//! Restart planning: from the statuses of one cluster, its restart history and the policy, what
//! to restart, what to leave alone and why. Pure: no clock, no I/O, so every decision is
//! unit-tested and the bench can time it alone.

use crate::backoff::{eligibility, healthy_long_enough, Eligibility, RestartRecord};
use crate::policy::{Action, Judgement, Policy};
use crate::status::{ConnectorStatus, State};
use crate::trace::Trace;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// What can be restarted: the connector instance or one of its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Connector,
    Task(u32),
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Target::Connector => s.serialize_str("connector"),
            Target::Task(id) => s.serialize_u32(*id),
        }
    }
}

/// `connector` or `task N`, as log lines and details name a target.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Connector => f.write_str("connector"),
            Target::Task(id) => write!(f, "task {id}"),
        }
    }
}

/// The restart-state key of a target: `{cluster}/{connector}/{connector|task id}`. Cluster
/// names never contain `/` (checked in config) and the last segment never does, so the key is
/// unambiguous whatever the connector's name.
pub fn state_key(cluster: &str, connector: &str, target: Target) -> String {
    match target {
        Target::Connector => format!("{cluster}/{connector}/connector"),
        Target::Task(id) => format!("{cluster}/{connector}/{id}"),
    }
}

/// Tasks of one connector by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    pub running: u32,
    pub failed: u32,
    pub paused: u32,
    pub unassigned: u32,
    pub restarting: u32,
    pub other: u32,
}

impl TaskCounts {
    fn add(&mut self, state: &State) {
        match state {
            State::Running => self.running += 1,
            State::Failed => self.failed += 1,
            State::Paused => self.paused += 1,
            State::Unassigned => self.unassigned += 1,
            State::Restarting => self.restarting += 1,
            State::Stopped | State::Other(_) => self.other += 1,
        }
    }
}

/// The planner's verdict on one failed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Restart,
    /// The policy says a restart cannot fix it.
    Skip,
    BackingOff { until: DateTime<Utc> },
    CapReached { restarts: u32 },
}

/// One failed target and what to do about it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub target: Target,
    pub key: String,
    pub verdict: Verdict,
    pub judgement: Judgement,
    /// The record this decision read, so the restart claim can require it unchanged.
    pub record: Option<RestartRecord>,
}

/// Bookkeeping for targets that are healthy again (or failed again before their reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryUpdate {
    MarkHealthy { key: String, version: u64 },
    ClearHealthy { key: String, version: u64 },
    Forget { key: String, version: u64 },
}

#[derive(Debug, Clone)]
pub struct ConnectorPlan {
    pub name: String,
    pub kind: Option<String>,
    pub state: State,
    pub tasks: TaskCounts,
    /// Every FAILED target, whatever the verdict; a connector restart with
    /// `onlyFailed=true` restarts exactly these.
    pub failed: Vec<Target>,
    pub decisions: Vec<Decision>,
    pub history: Vec<HistoryUpdate>,
}

#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    pub max_restarts: u32,
}

/// Decide for every connector of one cluster.
pub fn restart_plan(
    cluster: &str,
    statuses: &[ConnectorStatus],
    history: &HashMap<String, RestartRecord>,
    policy: &Policy,
    settings: PlanSettings,
    now: DateTime<Utc>,
) -> Vec<ConnectorPlan> {
    statuses.iter().map(|status| plan_connector(cluster, status, history, policy, settings, now)).collect()
}

fn plan_connector(
    cluster: &str,
    status: &ConnectorStatus,
    history: &HashMap<String, RestartRecord>,
    policy: &Policy,
    settings: PlanSettings,
    now: DateTime<Utc>,
) -> ConnectorPlan {
    let mut plan = ConnectorPlan {
        name: status.name.clone(),
        kind: status.kind.clone(),
        state: status.connector.state.clone(),
        tasks: TaskCounts::default(),
        failed: Vec::new(),
        decisions: Vec::new(),
        history: Vec::new(),
    };
    let targets = std::iter::once((Target::Connector, &status.connector.state, status.connector.trace.as_deref()))
        .chain(status.tasks.iter().map(|t| (Target::Task(t.id), &t.state, t.trace.as_deref())));
    for (target, state, trace) in targets {
        if matches!(target, Target::Task(_)) {
            plan.tasks.add(state);
        }
        let key = state_key(cluster, &status.name, target);
        let record = history.get(&key);
        match state {
            State::Failed => {
                let judgement = policy.judge(&Trace::parse(trace.unwrap_or("")));
                let verdict = match judgement.action {
                    Action::Skip => Verdict::Skip,
                    Action::Restart => match eligibility(record, now, settings.max_restarts) {
                        Eligibility::Now => Verdict::Restart,
                        Eligibility::BackingOff { until } => Verdict::BackingOff { until },
                        Eligibility::CapReached { restarts } => Verdict::CapReached { restarts },
                    },
                };
                if let Some(r) = record.filter(|r| r.healthy_since.is_some() && verdict != Verdict::Restart) {
                    // It failed again: the healthy streak that would reset its count is over.
                    plan.history.push(HistoryUpdate::ClearHealthy { key: key.clone(), version: r.version });
                }
                plan.failed.push(target);
                plan.decisions.push(Decision { target, key, verdict, judgement, record: record.cloned() });
            }
            State::Running => {
                if let Some(r) = record {
                    if r.healthy_since.is_none() {
                        plan.history.push(HistoryUpdate::MarkHealthy { key, version: r.version });
                    } else if healthy_long_enough(r, now) {
                        plan.history.push(HistoryUpdate::Forget { key, version: r.version });
                    }
                }
            }
            // Paused, stopped, unassigned and restarting targets are counted, never judged.
            _ => {}
        }
    }
    plan
}

/// One REST call that restarts something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartCall {
    /// `POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true` (Connect >= 3.0).
    FailedConnectorAndTasks,
    /// `POST /connectors/{name}/restart`: the connector instance only.
    Connector,
    /// `POST /connectors/{name}/tasks/{id}/restart`.
    Task(u32),
}

/// The fewest calls that restart exactly `chosen`. The `onlyFailed` form restarts every
/// FAILED target, so it is used only when `chosen` is all of them, and only on workers that
/// understand it (older ones ignore the query and restart just the connector instance).
pub fn restart_calls(chosen: &[Target], failed: &[Target], only_failed_supported: bool) -> Vec<RestartCall> {
    let mut chosen_sorted = chosen.to_vec();
    chosen_sorted.sort();
    chosen_sorted.dedup();
    let mut failed_sorted = failed.to_vec();
    failed_sorted.sort();
    failed_sorted.dedup();
    if only_failed_supported && chosen_sorted.len() > 1 && chosen_sorted == failed_sorted {
        return vec![RestartCall::FailedConnectorAndTasks];
    }
    chosen_sorted
        .into_iter()
        .map(|t| match t {
            Target::Connector => RestartCall::Connector,
            Target::Task(id) => RestartCall::Task(id),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn plan(statuses: &[ConnectorStatus], history: &HashMap<String, RestartRecord>) -> Vec<ConnectorPlan> {
        restart_plan("main", statuses, history, &Policy::builtin(), PlanSettings { max_restarts: 5 }, now())
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
        assert_eq!(p.decisions[0].key, "main/es-sink/1");
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
        assert_eq!(plans[1].decisions[0].key, "main/flaky/connector");
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
    fn only_failed_restart_is_used_only_when_it_restarts_exactly_the_chosen_targets() {
        use RestartCall::*;
        let t = Target::Task;
        let failed = [Target::Connector, t(1), t(2)];
        assert_eq!(restart_calls(&[t(2), Target::Connector, t(1)], &failed, true), [FailedConnectorAndTasks]);
        assert_eq!(restart_calls(&[Target::Connector, t(1), t(2)], &failed, false), [Connector, Task(1), Task(2)], "pre-3.0 workers ignore the query");
        assert_eq!(restart_calls(&[t(1), t(2)], &failed, true), [Task(1), Task(2)], "would also restart the connector");
        assert_eq!(restart_calls(&[t(1)], &[t(1)], true), [Task(1)], "one call either way");
        assert_eq!(restart_calls(&[t(1), t(3)], &[t(1), t(3)], true), [FailedConnectorAndTasks]);
        assert!(restart_calls(&[], &failed, true).is_empty());
    }
}
