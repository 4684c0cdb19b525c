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
