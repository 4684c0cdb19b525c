//! A connector's status reduced to what restart planning needs, read straight from the worker's
//! answer.
//!
//! `GET /connectors?expand=status` carries every task of every connector and, for each failed
//! one, its stack trace: about 9 MB at 10,000 connectors of 10 tasks. The decisions need far
//! less: per connector its name, type and state, its tasks counted by state, which targets are
//! RUNNING (their restart records may be marked healthy) and, per FAILED target, what the policy
//! makes of its trace. So the body is read as it arrives ([`ExpandedReader`]): it is cut into
//! its top-level entries (one connector each), and each entry is deserialized in one pass
//! straight into a [`StatusDigest`], without an intermediate tree (no `serde_json::Value`, and no
//! `#[serde(untagged)]`, which buffers the whole document before choosing a variant), then
//! dropped. Strings are borrowed from the entry where they hold no escapes, a RUNNING task is
//! kept as its id and any other only as a count, and a trace lives only while its task is read:
//! it is judged there and dropped, and the judgement keeps bounded summaries (the rule, the
//! matched cause and the root cause, each `class: first line`). Memory thus grows with the failed
//! targets, not with all tasks, and the body is never held whole: only the connector being read.
//!
//! A hostile worker could still fill its answer with tiny entries that each cost a few hundred
//! bytes once planned and reported: [`entry_limit`] bounds how many one answer may hold, from
//! the body cap, which is the cluster's share of the function's memory.

use crate::plan::Target;
use crate::policy::{Judgement, Policy};
use crate::status::{ConnectorStatus, State};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::ops::Deref;

mod reader;

pub use reader::ExpandedReader;

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
    pub fn add(&mut self, state: &State) {
        match state {
            State::Running => self.running += 1,
            State::Failed => self.failed += 1,
            State::Paused => self.paused += 1,
            State::Unassigned => self.unassigned += 1,
            State::Restarting => self.restarting += 1,
            State::Stopped | State::Other(_) => self.other += 1,
        }
    }

    /// Every task counted, whatever its state.
    pub fn total(&self) -> u64 {
        [self.running, self.failed, self.paused, self.unassigned, self.restarting, self.other].iter().map(|&n| u64::from(n)).sum()
    }
}

/// One FAILED target and what the policy made of its trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTarget {
    pub target: Target,
    pub judgement: Judgement,
}

/// What restart planning needs of one connector's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusDigest {
    pub name: String,
    /// `source`, `sink` or `unknown`; absent on very old workers.
    pub kind: Option<String>,
    /// The connector instance's state.
    pub state: State,
    /// Tasks by state (the connector instance is not a task).
    pub tasks: TaskCounts,
    /// RUNNING targets, the connector instance first: their restart records may be marked
    /// healthy or forgotten.
    pub running: Vec<Target>,
    /// FAILED targets with their judgements, the connector instance first, then the tasks in the
    /// worker's order.
    pub failed: Vec<FailedTarget>,
}

impl StatusDigest {
    /// The entries this digest holds against an entry limit, counted as [`Budget`] counts them
    /// while a body is read: the connector, and each failed target.
    pub fn entries(&self) -> usize {
        1 + self.failed.len()
    }

    /// The digest of a status read whole (a connector's own `GET /connectors/{name}/status`,
    /// which is small): the same as reading its body with [`status_from_slice`].
    pub fn from_status(status: &ConnectorStatus, policy: &Policy) -> StatusDigest {
        let budget = Budget::new(usize::MAX);
        let mut builder = Builder::new(policy, &budget);
        // An unlimited budget is never spent, so neither call can fail.
        let instance = builder.instance(&status.connector.state, status.connector.trace.as_deref()).unwrap_or(None);
        for task in &status.tasks {
            let _ = builder.task(task.id, &task.state, task.trace.as_deref());
        }
        builder.finish(status.name.clone(), status.kind.clone(), status.connector.state.clone(), instance)
    }

    /// Every FAILED target, the connector instance first.
    pub fn failed_targets(&self) -> Vec<Target> {
        self.failed.iter().map(|f| f.target).collect()
    }
}

/// Bytes of body cap allowed per entry (a connector, or a failed connector instance or task).
/// What one entry turns into (its digest, its plan and decision, its report entry and log line,
/// its metric datums and its part of the answer) takes a few hundred bytes, so with one entry
/// per 512 bytes of the cap, what a cluster's answer becomes stays within about the memory share
/// the cap was derived from. A real answer uses far more bytes per entry (a task's status with
/// its worker id is ~60 bytes, a stack trace some kilobytes), so only a body near its cap made of
/// tiny entries reaches the limit.
pub const BYTES_PER_ENTRY: usize = 512;

/// Entries always allowed, whatever the cap (a small cap still reads a small cluster).
pub const MIN_ENTRY_LIMIT: usize = 10_000;

/// Connectors plus failed targets that one cluster's answer may hold with body cap
/// `max_body_bytes`: one per [`BYTES_PER_ENTRY`] bytes, at least [`MIN_ENTRY_LIMIT`].
pub fn entry_limit(max_body_bytes: usize) -> usize {
    (max_body_bytes / BYTES_PER_ENTRY).max(MIN_ENTRY_LIMIT)
}

/// What `GET /connectors?expand=status` answered: every connector's status digest, or (a worker
/// before 2.3, which ignores `expand`) only the names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expanded {
    Statuses(Vec<StatusDigest>),
    Names(Vec<String>),
}

/// Why a Connect body could not be read into digests.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// More connectors and failed targets than [`entry_limit`] allows.
    #[error("more than {limit} connectors and failed connectors or tasks")]
    TooManyEntries { limit: usize },
    /// Not JSON of the expected shape; serde's reason (it can quote the body: bound it before
    /// showing it).
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// The body of `GET /connectors?expand=status` (`{"name": {"status": {...}, "info": ...}, ...}`,
/// or a list of names) at once: what [`ExpandedReader`] makes of it.
pub fn expanded_from_slice(body: &[u8], policy: &Policy, max_entries: usize) -> Result<Expanded, DigestError> {
    let mut reader = ExpandedReader::new(policy, max_entries);
    reader.feed(body)?;
    reader.finish()
}

/// One `ConnectorStateInfo` body (`{"name", "connector", "tasks", "type"}`) into its digest.
pub fn status_from_slice(body: &[u8], policy: &Policy) -> Result<StatusDigest, serde_json::Error> {
    let budget = Budget::new(usize::MAX);
    from_slice_seed(body, StatusSeed { policy, budget: &budget })
}

/// `seed` over the whole of `body`; trailing characters are an error, as with `serde_json::from_slice`.
fn from_slice_seed<'de, S: DeserializeSeed<'de>>(body: &'de [u8], seed: S) -> serde_json::Result<S::Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = seed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The entry budget ran out.
struct Spent;

impl Spent {
    fn into_error<E: de::Error>(self) -> E {
        E::custom("more connectors and failed targets than the entry limit")
    }
}

/// How many more entries (connectors and failed targets) one parse may keep.
struct Budget {
    left: Cell<usize>,
    /// Set when a parse failed for want of entries, so the error can say so.
    spent: Cell<bool>,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget { left: Cell::new(limit), spent: Cell::new(false) }
    }

    fn take(&self) -> Result<(), Spent> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.spent.set(true);
                Err(Spent)
            }
        }
    }
}

/// Folds one connector's targets into a digest as they are read, judging each FAILED target's
/// trace at once, so the trace need not be kept.
struct Builder<'p, 'b> {
    policy: &'p Policy,
    budget: &'b Budget,
    tasks: TaskCounts,
    running: Vec<Target>,
    failed: Vec<FailedTarget>,
}

impl<'p, 'b> Builder<'p, 'b> {
    fn new(policy: &'p Policy, budget: &'b Budget) -> Builder<'p, 'b> {
        Builder { policy, budget, tasks: TaskCounts::default(), running: Vec::new(), failed: Vec::new() }
    }

    /// The connector instance: its judgement when it is FAILED.
    fn instance(&mut self, state: &State, trace: Option<&str>) -> Result<Option<Judgement>, Spent> {
        if *state != State::Failed {
            return Ok(None);
        }
        self.budget.take()?;
        Ok(Some(self.policy.judge_trace(trace.unwrap_or(""))))
    }

    fn task(&mut self, id: u32, state: &State, trace: Option<&str>) -> Result<(), Spent> {
        self.tasks.add(state);
        match state {
            State::Running => self.running.push(Target::Task(id)),
            State::Failed => {
                self.budget.take()?;
                let judgement = self.policy.judge_trace(trace.unwrap_or(""));
                self.failed.push(FailedTarget { target: Target::Task(id), judgement });
            }
            // Paused, stopped, unassigned and restarting tasks are counted, never judged.
            _ => {}
        }
        Ok(())
    }

    /// `instance` is what [`Builder::instance`] gave for the instance's `state`.
    fn finish(mut self, name: String, kind: Option<String>, state: State, instance: Option<Judgement>) -> StatusDigest {
        match (&state, instance) {
            (State::Failed, Some(judgement)) => self.failed.insert(0, FailedTarget { target: Target::Connector, judgement }),
            (State::Running, _) => self.running.insert(0, Target::Connector),
            _ => {}
        }
        StatusDigest { name, kind, state, tasks: self.tasks, running: self.running, failed: self.failed }
    }
}

/// A JSON string as the body holds it: borrowed when it has no escapes; copied when it has
/// (serde_json hands those out from a scratch buffer), as every Java stack trace does.
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

/// A task's status; `worker_id` and anything else is skipped.
#[derive(Deserialize)]
struct TaskDoc<'a> {
    id: u32,
    #[serde(borrow)]
    state: Text<'a>,
    #[serde(borrow, default)]
    trace: Option<Text<'a>>,
}

/// The connector instance's status; `worker_id` and anything else is skipped.
#[derive(Deserialize)]
struct InstanceDoc<'a> {
    #[serde(borrow)]
    state: Text<'a>,
    #[serde(borrow, default)]
    trace: Option<Text<'a>>,
}

/// The top level of the `?expand=status` body: an object of connectors, or a list of names.
struct ExpandedSeed<'p, 'b> {
    policy: &'p Policy,
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for ExpandedSeed<'_, '_> {
    type Value = Expanded;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Expanded, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExpandedSeed<'_, '_> {
    type Value = Expanded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of connectors with their status, or a list of connector names")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expanded, A::Error> {
        let mut statuses = Vec::new();
        while map.next_key::<IgnoredAny>()?.is_some() {
            if let Some(status) = map.next_value_seed(ExpansionSeed { policy: self.policy, budget: self.budget })? {
                self.budget.take().map_err(Spent::into_error::<A::Error>)?;
                statuses.push(status);
            }
        }
        Ok(Expanded::Statuses(statuses))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Expanded, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<String>()? {
            names.push(name);
        }
        Ok(Expanded::Names(names))
    }
}

/// One connector's value in the `?expand=status` object: `{"status": {...}, "info": ...}`;
/// `None` when it has no status (absent or null). Other expansions are skipped.
struct ExpansionSeed<'p, 'b> {
    policy: &'p Policy,
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for ExpansionSeed<'_, '_> {
    type Value = Option<StatusDigest>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<StatusDigest>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ExpansionSeed<'_, '_> {
    type Value = Option<StatusDigest>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with the connector's status")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<StatusDigest>, A::Error> {
        let mut status: Option<Option<StatusDigest>> = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if &*key == "status" {
                if status.is_some() {
                    return Err(de::Error::duplicate_field("status"));
                }
                status = Some(map.next_value_seed(OptionalStatus(StatusSeed { policy: self.policy, budget: self.budget }))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(status.flatten())
    }
}

/// A status, or null.
struct OptionalStatus<'p, 'b>(StatusSeed<'p, 'b>);

impl<'de> DeserializeSeed<'de> for OptionalStatus<'_, '_> {
    type Value = Option<StatusDigest>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<StatusDigest>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalStatus<'_, '_> {
    type Value = Option<StatusDigest>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a connector status or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<StatusDigest>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<StatusDigest>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<StatusDigest>, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// One `ConnectorStateInfo` object into its digest: the same fields, the same required ones
/// (`name`, `connector`) and the same errors for a wrong type or a repeated field as
/// [`ConnectorStatus`], whatever the order of the fields; the tasks are folded in as they are read.
struct StatusSeed<'p, 'b> {
    policy: &'p Policy,
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for StatusSeed<'_, '_> {
    type Value = StatusDigest;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<StatusDigest, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StatusSeed<'_, '_> {
    type Value = StatusDigest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a connector status object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StatusDigest, A::Error> {
        let mut builder = Builder::new(self.policy, self.budget);
        let mut name: Option<String> = None;
        let mut kind: Option<Option<String>> = None;
        let mut instance: Option<(State, Option<Judgement>)> = None;
        let mut tasks_read = false;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key {
                "name" => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("name"));
                    }
                    name = Some(map.next_value::<Text<'de>>()?.into_owned());
                }
                "type" => {
                    if kind.is_some() {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    kind = Some(map.next_value::<Option<Text<'de>>>()?.map(Text::into_owned));
                }
                "connector" => {
                    if instance.is_some() {
                        return Err(de::Error::duplicate_field("connector"));
                    }
                    let doc = map.next_value::<InstanceDoc<'de>>()?;
                    let state = State::parse(&doc.state);
                    let judgement = builder.instance(&state, doc.trace.as_deref()).map_err(Spent::into_error::<A::Error>)?;
                    instance = Some((state, judgement));
                }
                "tasks" => {
                    if tasks_read {
                        return Err(de::Error::duplicate_field("tasks"));
                    }
                    tasks_read = true;
                    map.next_value_seed(TasksSeed { builder: &mut builder })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| <A::Error as de::Error>::missing_field("name"))?;
        let (state, judgement) = instance.ok_or_else(|| <A::Error as de::Error>::missing_field("connector"))?;
        Ok(builder.finish(name, kind.flatten(), state, judgement))
    }
}

/// A connector's `tasks` array, each task folded into the builder as soon as it is read.
struct TasksSeed<'r, 'p, 'b> {
    builder: &'r mut Builder<'p, 'b>,
}

impl<'de> DeserializeSeed<'de> for TasksSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TasksSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of task statuses")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(task) = seq.next_element::<TaskDoc<'de>>()? {
            let state = State::parse(&task.state);
            // The trace (`task.trace`) is dropped at the end of this iteration: only the
            // judgement's summaries stay.
            self.builder.task(task.id, &state, task.trace.as_deref()).map_err(Spent::into_error::<A::Error>)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
