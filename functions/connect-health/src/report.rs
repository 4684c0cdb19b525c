//! The JSON report the function returns: what it saw and did, per cluster and connector, so
//! that `serverless invoke` shows it. Metrics are derived from it too, so the report and the
//! dashboards never disagree.

use crate::plan::{TaskCounts, Target};
use crate::status::State;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_at: DateTime<Utc>,
    pub dry_run: bool,
    pub clusters: Vec<ClusterReport>,
    pub metrics: MetricsReport,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricsReport {
    pub namespace: String,
    pub datums: usize,
    pub put_calls: usize,
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
