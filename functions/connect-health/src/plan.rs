//! Restart planning: from the status digests of one cluster (each failed target already judged
//! by the policy, see [`digest`](crate::digest)) and its restart history, what to restart, what
//! to leave alone and why. Pure: no clock, no I/O, so every decision is unit-tested and the
//! bench can time it alone.

use crate::backoff::{eligibility, healthy_long_enough, Eligibility, RestartRecord};
use crate::digest::{FailedTarget, StatusDigest};
use crate::policy::{Action, Judgement};
use crate::status::{ConnectorStatus, State};
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

/// Counted as the digest is read; kept here too, where the report and metrics name it.
pub use crate::digest::TaskCounts;

/// The planner's verdict on one failed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Restart,
    /// The policy says a restart cannot fix it.
    Skip,
    BackingOff { until: DateTime<Utc> },
    CapReached { restarts: u32 },
}

/// One failed target and what to do about it. Its restart-state key is [`state_key`] of the
/// cluster, the connector and `target`, built where it is used: kept here, a long connector name
/// would be copied once per failed task.
#[derive(Debug, Clone)]
pub struct Decision {
    pub target: Target,
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
    /// Every FAILED target of the snapshot, whatever the verdict; an `onlyFailed` restart is
    /// considered only when the chosen targets are exactly these ([`only_failed_candidate`]).
    pub failed: Vec<Target>,
    pub decisions: Vec<Decision>,
    pub history: Vec<HistoryUpdate>,
}

#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    pub max_restarts: u32,
}

/// Decide for every connector of one cluster. The digests are consumed: their names and
/// judgements move into the plans rather than being copied.
pub fn restart_plan(cluster: &str, statuses: Vec<StatusDigest>, history: &HashMap<String, RestartRecord>, settings: PlanSettings, now: DateTime<Utc>) -> Vec<ConnectorPlan> {
    statuses.into_iter().map(|status| plan_connector(cluster, status, history, settings, now)).collect()
}

fn plan_connector(cluster: &str, status: StatusDigest, history: &HashMap<String, RestartRecord>, settings: PlanSettings, now: DateTime<Utc>) -> ConnectorPlan {
    let StatusDigest { name, kind, state, tasks, running, failed } = status;
    let mut updates = Vec::new();
    let mut failed_targets = Vec::with_capacity(failed.len());
    let mut decisions = Vec::with_capacity(failed.len());
    for FailedTarget { target, judgement } in failed {
        let record = record_of(history, cluster, &name, target);
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
            updates.push(HistoryUpdate::ClearHealthy { key: state_key(cluster, &name, target), version: r.version });
        }
        failed_targets.push(target);
        decisions.push(Decision { target, verdict, judgement, record: record.cloned() });
    }
    for target in running {
        if let Some(r) = record_of(history, cluster, &name, target) {
            if r.healthy_since.is_none() {
                updates.push(HistoryUpdate::MarkHealthy { key: state_key(cluster, &name, target), version: r.version });
            } else if healthy_long_enough(r, now) {
                updates.push(HistoryUpdate::Forget { key: state_key(cluster, &name, target), version: r.version });
            }
        }
    }
    // Paused, stopped, unassigned and restarting targets were counted, never judged.
    ConnectorPlan { name, kind, state, tasks, failed: failed_targets, decisions, history: updates }
}

/// The restart record of one target, if any. Without restart state (no table, or an empty one)
/// no key is built: a run without a table looks up nothing for its thousands of targets.
fn record_of<'h>(history: &'h HashMap<String, RestartRecord>, cluster: &str, connector: &str, target: Target) -> Option<&'h RestartRecord> {
    if history.is_empty() {
        return None;
    }
    history.get(&state_key(cluster, connector, target))
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

/// Every FAILED target of a status: the connector instance and its tasks.
pub fn failed_targets(status: &ConnectorStatus) -> Vec<Target> {
    let connector = (status.connector.state == State::Failed).then_some(Target::Connector);
    connector.into_iter().chain(status.tasks.iter().filter(|t| t.state == State::Failed).map(|t| Target::Task(t.id))).collect()
}

/// Whether the `onlyFailed` form might restart exactly `chosen`, going by the run's snapshot:
/// the worker understands it (Connect >= 3.0; older ones ignore the query and restart just the
/// connector instance), there is more than one target, and `chosen` is every FAILED target the
/// snapshot saw. Only then is the connector's status read again for [`restart_calls`].
pub fn only_failed_candidate(chosen: &[Target], snapshot_failed: &[Target], only_failed_supported: bool) -> bool {
    let chosen = as_set(chosen);
    only_failed_supported && chosen.len() > 1 && chosen == as_set(snapshot_failed)
}

/// The calls that restart exactly `chosen`. `POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true`
/// restarts whatever is FAILED when the worker gets it, which may include a task that failed
/// after the snapshot with an error that must not be restarted; so it is used only when
/// `fresh_failed`, the FAILED targets of a status read made just before the call, is exactly
/// `chosen` (more than one). `None` (no fresh read, or it failed) means one call per target:
/// `POST .../tasks/{id}/restart` per task, `POST /connectors/{name}/restart` for the instance.
pub fn restart_calls(chosen: &[Target], fresh_failed: Option<&[Target]>) -> Vec<RestartCall> {
    let chosen = as_set(chosen);
    if chosen.len() > 1 && fresh_failed.is_some_and(|fresh| as_set(fresh) == chosen) {
        return vec![RestartCall::FailedConnectorAndTasks];
    }
    chosen
        .into_iter()
        .map(|t| match t {
            Target::Connector => RestartCall::Connector,
            Target::Task(id) => RestartCall::Task(id),
        })
        .collect()
}

fn as_set(targets: &[Target]) -> Vec<Target> {
    let mut set = targets.to_vec();
    set.sort();
    set.dedup();
    set
}

#[cfg(test)]
mod tests;
