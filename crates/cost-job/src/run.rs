//! Runs: the orchestrator's unit of waiting (an Airflow DAG run), and the record the worker keeps
//! of each run's outcomes, from which the orchestrator learns when its run is done and which jobs
//! were dead-lettered and why (without peeking at the DLQ, which would hide messages from other
//! readers and raise their receive counts).
//!
//! The record is one item of the worker's idempotency table, `id` = [`RunId::record_id`]:
//! - `expected_<part>` (N): jobs one `cost-jobs enqueue` sent for this run; `<part>` is a digest
//!   of that enqueue's request, so a retried enqueue overwrites its own count and several
//!   enqueues of one run (one per platform) add up;
//! - `done` (SS): a token per job of the run that completed (written or already done);
//! - `dead_<token>` (M: `job`, `reason_code`, `reason`): a job of the run that was dead-lettered;
//! - `expiration` (N, epoch seconds, the table's TTL): [`RECORD_TTL_DAYS`] after the last update.
//!
//! A job is counted once whatever happens to it (tokens are per job); a job dead-lettered and
//! later redriven and done counts as done. [`RunStatus`] is the pure reading of a record.

use crate::spec::JobSpec;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The longest run id accepted (Airflow run ids are well under 100 characters).
pub const MAX_RUN_ID_LEN: usize = 200;
/// How long a run's record is kept after its last update.
pub const RECORD_TTL_DAYS: i64 = 14;
/// Attribute names of the run record.
pub const ATTR_DONE: &str = "done";
pub const EXPECTED_PREFIX: &str = "expected_";
pub const DEAD_PREFIX: &str = "dead_";

/// An orchestrator run id: 1 to [`MAX_RUN_ID_LEN`] printable characters, no control characters
/// (it is echoed in logs and keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(String);

impl RunId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `id` of the run's record in the idempotency table.
    pub fn record_id(&self) -> String {
        format!("run#{}", self.0)
    }
}

impl FromStr for RunId {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let ok = !raw.trim().is_empty() && raw.chars().count() <= MAX_RUN_ID_LEN && !raw.chars().any(char::is_control);
        if ok {
            Ok(RunId(raw.to_string()))
        } else {
            Err(format!("{} is not a run id: 1 to {MAX_RUN_ID_LEN} printable characters", common::text::quote_bounded(raw, 40)))
        }
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The token of one job within its run's record: the first 16 hex digits of its idempotency
/// key's digest (64 bits: no collision within a run of any size the orchestrator sends).
pub fn job_token(key: &common::key::IdempotencyKey) -> String {
    let digest = key.as_str().rsplit('#').next().unwrap_or_default();
    digest.chars().take(16).collect()
}

/// The `<part>` of an `expected_<part>` attribute for one enqueue request.
pub fn expected_part(request: &str) -> String {
    common::key::sha256_hex(request).chars().take(16).collect()
}

/// A dead-lettered job of a run, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadJob {
    /// `platform/account/from..to`, as [`JobSpec::label`] writes it.
    pub job: String,
    pub reason_code: String,
    pub reason: String,
}

impl DeadJob {
    /// At most this many characters of the reason are kept in the record.
    pub const MAX_REASON_CHARS: usize = 300;

    pub fn new(job: &JobSpec, reason_code: &str, reason: &str) -> DeadJob {
        DeadJob { job: job.label(), reason_code: common::text::bounded(reason_code, 100), reason: common::text::bounded(reason, Self::MAX_REASON_CHARS) }
    }
}

/// What a run's record says, read without I/O.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunStatus {
    pub expected: u64,
    pub done: u64,
    /// Dead-lettered jobs that did not complete later, in token order.
    pub dead_lettered: Vec<DeadJob>,
    /// Every expected job is done or dead-lettered (and something was expected).
    pub finished: bool,
}

impl RunStatus {
    /// From a record's parts: the `expected_*` counts, the `done` tokens and the `dead_*` entries
    /// by token. A missing record is `RunStatus::from_parts(&[], &[], &BTreeMap::new())`.
    pub fn from_parts(expected: &[u64], done: &[String], dead: &BTreeMap<String, DeadJob>) -> RunStatus {
        let expected: u64 = expected.iter().fold(0u64, |sum, n| sum.saturating_add(*n));
        let done_count = done.len() as u64;
        let dead_lettered: Vec<DeadJob> = dead.iter().filter(|(token, _)| !done.contains(token)).map(|(_, job)| job.clone()).collect();
        let settled = done_count.saturating_add(dead_lettered.len() as u64);
        RunStatus { expected, done: done_count, finished: expected > 0 && settled >= expected, dead_lettered }
    }
}
