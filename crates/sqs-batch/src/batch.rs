//! The reusable SQS batch loop: partial batch responses done right.
//!
//! Lambda's SQS integration redelivers exactly the records named in `batchItemFailures`, and the
//! whole batch when the handler throws. This loop makes the first the only path: it runs the
//! records of a batch concurrently (up to a limit), isolates each record (an error, a panic or
//! a time-out fails that record alone), never starts a record when too little time is left
//! (those are reported failed, not dropped), keeps FIFO message groups in order (after a failure
//! the rest of that group is reported failed without running), and always answers, with the
//! full list if every record failed.
//!
//! What a record *means* is the caller's business ([`RecordProcessor`]); the loop only knows
//! "done" (acknowledge) versus "deliver again". The per-record [`RecordReport`]s keep the
//! index, receive count and any retry hint so that later steps (logging, metrics, visibility
//! pacing) work from the same facts.
//!
//! A processor may name a *serial key* per record ([`RecordProcessor::serial_key`]): records
//! with the same key never run at once; they run one after another, in event order, in one
//! slot. cost-etl keys jobs by platform and account, because the platforms' rate limits are per
//! account and two copies of one job must not race for its idempotency claim. Unlike a FIFO
//! group, a failure does not stop the records after it. The longest chains start first, so a
//! batch ends as soon as its longest chain can.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use futures::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

pub use common::deadline::Deadline;

/// Knobs of the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    /// Records (standard queue) or message groups (FIFO) in flight at once; at least 1. The
    /// default matches Lambda's default SQS batch size, so a default batch runs in one wave.
    pub concurrency: usize,
    /// No record starts when less than this is left before the deadline.
    pub start_margin: Duration,
    /// Time kept free after every in-flight time-out, to write the response (and let the
    /// processor's own clean-up run).
    pub finish_reserve: Duration,
    /// Longest one record may run, whatever the deadline.
    pub record_timeout: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            concurrency: 10,
            start_margin: Duration::from_secs(10),
            finish_reserve: Duration::from_secs(2),
            record_timeout: Duration::from_secs(300),
        }
    }
}

/// A record's failure as the processor reports it: worth delivering again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    /// What failed; logged, never sent anywhere else.
    pub reason: String,
    /// When the cause says how long to wait (a `Retry-After`, a platform's reset hint).
    pub retry_after: Option<Duration>,
    /// The record's work never began (e.g. another invocation holds its claim): pacing brings
    /// it back in seconds rather than backing off.
    pub not_started: bool,
}

impl RecordFailure {
    pub fn new(reason: impl Into<String>) -> Self {
        RecordFailure { reason: reason.into(), retry_after: None, not_started: false }
    }

    /// A failure before the work began: worth another delivery soon.
    pub fn not_started(reason: impl Into<String>) -> Self {
        RecordFailure { not_started: true, ..RecordFailure::new(reason) }
    }

    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }
}

/// What a processor sees besides the record.
#[derive(Debug, Clone, Copy)]
pub struct RecordContext {
    /// The invocation's deadline (for claims that must not outlive the invocation, and for
    /// the processor's own whole-call time-outs).
    pub deadline: Deadline,
    /// The record's position in the event.
    pub index: usize,
}

/// The per-record work. `Output` says how a record was completed (processed, duplicate,
/// dead-lettered...); `Err` means "deliver it again".
///
/// A record is read once: [`RecordProcessor::parse`] turns its body into `Parsed` (a typed
/// message, or why it is not one) before anything runs, and that same value reaches
/// `serial_key`, `process` and `abandon`.
pub trait RecordProcessor: Sync {
    type Output: Send;
    /// What a record is to this processor. Parsing must not fail the batch: a body that is not
    /// a message is a value too (a `Result`), for `process` to route.
    type Parsed: Sync;

    fn parse(&self, record: &SqsMessage) -> Self::Parsed;

    fn process<'a>(&'a self, record: &'a SqsMessage, parsed: &'a Self::Parsed, ctx: RecordContext) -> impl Future<Output = Result<Self::Output, RecordFailure>> + Send + 'a;

    /// Records with the same key never run at once: they run one after another, in event order.
    /// `None` (the default): the record runs on its own. Ignored on a FIFO queue, whose message
    /// groups already run one record at a time.
    fn serial_key(&self, _record: &SqsMessage, _parsed: &Self::Parsed) -> Option<String> {
        None
    }

    /// Clean up after a record whose work was cut short (timed out or panicked), before the
    /// batch answers: e.g. give back a claim so an immediate redelivery can run it. Best effort;
    /// the loop gives it at most half the finish reserve.
    fn abandon<'a>(&'a self, _record: &'a SqsMessage, _parsed: &'a Self::Parsed, _ctx: RecordContext) -> impl Future<Output = ()> + Send + 'a {
        std::future::ready(())
    }
}

/// Why a record was reported failed without running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStarted {
    /// Less than the start margin was left.
    DeadlineNear,
    /// An earlier record of the same FIFO message group failed (its message id).
    GroupStopped { after: Option<String> },
}

/// How one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus<O> {
    /// Acknowledge: SQS deletes it.
    Done(O),
    /// The processor asked for another delivery.
    Failed(RecordFailure),
    /// The processor panicked; the message is kept for another delivery.
    Panicked(String),
    /// The processor ran out of time and was cancelled.
    TimedOut(Duration),
    /// Never started.
    NotStarted(NotStarted),
}

impl<O> RecordStatus<O> {
    pub fn is_done(&self) -> bool {
        matches!(self, RecordStatus::Done(_))
    }

    /// A hint for how long to wait before the next delivery, when the failure gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RecordStatus::Failed(f) => f.retry_after,
            _ => None,
        }
    }

    /// One word for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordStatus::Done(_) => "done",
            RecordStatus::Failed(_) => "failed",
            RecordStatus::Panicked(_) => "panicked",
            RecordStatus::TimedOut(_) => "timed_out",
            RecordStatus::NotStarted(NotStarted::DeadlineNear) => "not_started_deadline",
            RecordStatus::NotStarted(NotStarted::GroupStopped { .. }) => "not_started_group_stopped",
        }
    }
}

/// One record's result, in event order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport<O> {
    pub index: usize,
    pub message_id: Option<String>,
    /// SQS `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: Option<u32>,
    pub status: RecordStatus<O>,
}

/// All records of a batch, in event order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport<O> {
    pub records: Vec<RecordReport<O>>,
}

impl<O> BatchReport<O> {
    /// The records to deliver again, in event order.
    pub fn failed(&self) -> impl Iterator<Item = &RecordReport<O>> {
        self.records.iter().filter(|r| !r.status.is_done())
    }

    /// The partial batch response. A failed record without a message id cannot be named; it
    /// is reported with an empty identifier, which Lambda treats as "the whole batch failed",
    /// so nothing is lost (SQS always sets message ids, so this is a guard, not a path).
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = self
            .failed()
            .map(|r| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = r.message_id.clone().unwrap_or_default();
                failure
            })
            .collect();
        response
    }
}

/// True when the records come from a FIFO queue (its ARN ends in `.fifo`).
pub fn is_fifo(records: &[SqsMessage]) -> bool {
    records.iter().any(|r| r.event_source_arn.as_deref().is_some_and(|arn| arn.ends_with(".fifo")))
}

/// A list of record indexes that run one after another, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkUnit {
    pub records: Vec<usize>,
    /// A FIFO message group: after a record that is not done, the rest are not started.
    pub stops_on_failure: bool,
}

/// The units of work. On a FIFO queue a unit is one message group, in event order, stopping at
/// its first failure. On a standard queue a unit is the records sharing a serial key (`keys`, one
/// per record), or one record alone. Units are ordered longest first (then by first record), so
/// the longest chain starts at once and does not wait for a free slot at the end.
pub fn work_units(records: &[SqsMessage], keys: &[Option<String>]) -> Vec<WorkUnit> {
    let fifo = is_fifo(records);
    let mut units: Vec<WorkUnit> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        // A FIFO record always has a group; without one it can only be ordered alone.
        let key = if fifo { record.attributes.get("MessageGroupId") } else { keys.get(i).and_then(Option::as_ref) };
        match key {
            Some(key) => match by_key.get(key.as_str()) {
                Some(&unit) => units[unit].records.push(i),
                None => {
                    by_key.insert(key.as_str(), units.len());
                    units.push(WorkUnit { records: vec![i], stops_on_failure: fifo });
                }
            },
            None => units.push(WorkUnit { records: vec![i], stops_on_failure: fifo }),
        }
    }
    units.sort_by_key(|unit| std::cmp::Reverse(unit.records.len()));
    units
}

/// A record's parsed value, or the panic message of its parser.
type Parse<T> = Result<T, String>;

/// Run every record of `records` through `processor`. Never fails and never panics.
pub async fn run_batch<P: RecordProcessor>(processor: &P, records: &[SqsMessage], deadline: Deadline, config: &BatchConfig) -> BatchReport<P::Output> {
    // Each record read once, with its key; a parser (or key) that panics fails its record alone,
    // without running it.
    let (parsed, keys): (Vec<Parse<P::Parsed>>, Vec<Option<String>>) = records
        .iter()
        .map(|r| {
            let read = || {
                let parsed = processor.parse(r);
                let key = processor.serial_key(r, &parsed);
                (parsed, key)
            };
            match std::panic::catch_unwind(AssertUnwindSafe(read)) {
                Ok((parsed, key)) => (Ok(parsed), key),
                Err(panic) => (Err(panic_message(panic.as_ref())), None),
            }
        })
        .unzip();
    let units = work_units(records, &keys);
    let concurrency = config.concurrency.max(1);
    let mut finished: Vec<(usize, RecordStatus<P::Output>)> = futures::stream::iter(units)
        .map(|unit| run_unit(processor, records, &parsed, unit, deadline, config))
        .buffer_unordered(concurrency)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    finished.sort_by_key(|(i, _)| *i);
    let records = finished
        .into_iter()
        .map(|(index, status)| {
            let record = &records[index];
            RecordReport {
                index,
                message_id: record.message_id.clone(),
                receive_count: record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()),
                status,
            }
        })
        .collect();
    BatchReport { records }
}

/// One unit in order; in a FIFO group, after the first record that is not done, the rest are
/// not started.
async fn run_unit<P: RecordProcessor>(
    processor: &P,
    records: &[SqsMessage],
    parsed: &[Parse<P::Parsed>],
    unit: WorkUnit,
    deadline: Deadline,
    config: &BatchConfig,
) -> Vec<(usize, RecordStatus<P::Output>)> {
    let mut out = Vec::with_capacity(unit.records.len());
    let mut stopped_by: Option<Option<String>> = None;
    for index in unit.records {
        let status = match (&stopped_by, &parsed[index]) {
            (Some(after), _) => RecordStatus::NotStarted(NotStarted::GroupStopped { after: after.clone() }),
            (None, Ok(message)) => run_one(processor, &records[index], message, index, deadline, config).await,
            (None, Err(panic)) => RecordStatus::Panicked(format!("while parsing the record: {panic}")),
        };
        if unit.stops_on_failure && !status.is_done() && stopped_by.is_none() {
            stopped_by = Some(records[index].message_id.clone());
        }
        out.push((index, status));
    }
    out
}

async fn run_one<P: RecordProcessor>(processor: &P, record: &SqsMessage, parsed: &P::Parsed, index: usize, deadline: Deadline, config: &BatchConfig) -> RecordStatus<P::Output> {
    let remaining = deadline.remaining();
    if remaining <= config.start_margin {
        return RecordStatus::NotStarted(NotStarted::DeadlineNear);
    }
    let budget = config.record_timeout.min(remaining.saturating_sub(config.finish_reserve));
    let ctx = RecordContext { deadline, index };
    let work = AssertUnwindSafe(processor.process(record, parsed, ctx)).catch_unwind();
    let status = match tokio::time::timeout(budget, work).await {
        Ok(Ok(Ok(output))) => return RecordStatus::Done(output),
        Ok(Ok(Err(failure))) => return RecordStatus::Failed(failure),
        Ok(Err(panic)) => RecordStatus::Panicked(panic_message(panic.as_ref())),
        Err(_) => RecordStatus::TimedOut(budget),
    };
    // Cut short: let the processor clean up, inside the time kept for answering.
    let cleanup = AssertUnwindSafe(processor.abandon(record, parsed, ctx)).catch_unwind();
    let _ = tokio::time::timeout(config.finish_reserve / 2, cleanup).await;
    status
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    fn record(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_string());
        m.body = Some(body.to_string());
        m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:jobs".into());
        m.attributes.insert("ApproximateReceiveCount".into(), "1".into());
        m
    }

    fn fifo(id: &str, group: &str, body: &str) -> SqsMessage {
        let mut m = record(id, body);
        m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:jobs.fifo".into());
        m.attributes.insert("MessageGroupId".into(), group.into());
        m
    }

    /// Acts on the body: "ok", "fail", "panic", "hang"; yields a few times first so concurrent
    /// records interleave, and records the order in which bodies started.
    #[derive(Default)]
    struct Script {
        started: Mutex<Vec<String>>,
        abandoned: Mutex<Vec<String>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        /// Serial key: the message id's first letter.
        serial_by_letter: bool,
        /// Calls of `parse`.
        parsed: AtomicUsize,
    }

    impl RecordProcessor for Script {
        type Output = String;
        /// The body, read once; "parse-panic" panics here.
        type Parsed = String;

        fn parse(&self, record: &SqsMessage) -> String {
            self.parsed.fetch_add(1, Ordering::SeqCst);
            let body = record.body.clone().unwrap_or_default();
            assert_ne!(body, "parse-panic", "scripted parse panic");
            body
        }

        fn serial_key(&self, record: &SqsMessage, _body: &String) -> Option<String> {
            self.serial_by_letter.then(|| record.message_id.as_deref().unwrap_or("-")[..1].to_string())
        }

        async fn process(&self, record: &SqsMessage, body: &String, _ctx: RecordContext) -> Result<String, RecordFailure> {
            self.started.lock().unwrap().push(format!("{}:{}", record.message_id.as_deref().unwrap_or("-"), body));
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            match body.as_str() {
                "fail" => Err(RecordFailure::new("scripted failure").with_retry_after(Some(Duration::from_secs(7)))),
                "panic" => panic!("scripted panic"),
                "hang" => std::future::pending().await,
                _ => Ok(body.clone()),
            }
        }

        async fn abandon(&self, record: &SqsMessage, _body: &String, _ctx: RecordContext) {
            self.abandoned.lock().unwrap().push(record.message_id.clone().unwrap_or_default());
        }
    }

    fn failed_ids<O>(report: &BatchReport<O>) -> Vec<String> {
        report.response().batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
    }

    fn far() -> Deadline {
        Deadline::after(Duration::from_secs(3600))
    }

    #[tokio::test]
    async fn errors_and_panics_fail_only_their_own_record() {
        let records = vec![record("a", "ok"), record("b", "fail"), record("c", "panic"), record("d", "ok")];
        let script = Script::default();
        let report = run_batch(&script, &records, far(), &BatchConfig::default()).await;
        assert_eq!(failed_ids(&report), ["b", "c"]);
        assert_eq!(report.records[0].status, RecordStatus::Done("ok".to_string()));
        assert_eq!(report.records[1].status.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(report.records[2].status, RecordStatus::Panicked("scripted panic".into()));
        assert_eq!(report.records[3].receive_count, Some(1));
    }

    #[tokio::test]
    async fn each_record_is_parsed_once_and_a_parser_panic_fails_only_its_record() {
        let records = vec![record("a", "ok"), record("b", "parse-panic"), record("c", "hang"), record("d", "ok")];
        let script = Script { serial_by_letter: true, ..Script::default() };
        let config = BatchConfig { record_timeout: Duration::from_millis(50), ..BatchConfig::default() };
        let report = run_batch(&script, &records, far(), &config).await;
        assert_eq!(script.parsed.load(Ordering::SeqCst), 4, "once per record, for its key, its run and its clean-up");
        assert_eq!(failed_ids(&report), ["b", "c"]);
        assert!(matches!(&report.records[1].status, RecordStatus::Panicked(m) if m.contains("while parsing") && m.contains("scripted parse panic")), "{:?}", report.records[1].status);
        assert_eq!(*script.abandoned.lock().unwrap(), ["c"], "the timed-out record is cleaned up with its parsed value");
        assert!(!script.started.lock().unwrap().iter().any(|s| s.starts_with("b:")), "a record whose parse panicked never runs");
    }

    #[tokio::test]
    async fn all_failed_still_answers_with_every_record() {
        let records = vec![record("a", "fail"), record("b", "panic"), record("c", "fail")];
        let report = run_batch(&Script::default(), &records, far(), &BatchConfig::default()).await;
        assert_eq!(failed_ids(&report), ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn concurrency_is_bounded_by_the_limit() {
        let records: Vec<_> = (0..10).map(|i| record(&i.to_string(), "ok")).collect();
        let script = Script::default();
        let config = BatchConfig { concurrency: 3, ..BatchConfig::default() };
        let report = run_batch(&script, &records, far(), &config).await;
        assert_eq!(failed_ids(&report).len(), 0);
        assert_eq!(script.max_in_flight.load(Ordering::SeqCst), 3);
        let config = BatchConfig { concurrency: 1, ..BatchConfig::default() };
        let script = Script::default();
        run_batch(&script, &records, far(), &config).await;
        assert_eq!(script.max_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn fifo_groups_run_in_order_and_stop_at_their_first_failure() {
        let records = vec![
            fifo("a1", "A", "ok"),
            fifo("b1", "B", "ok"),
            fifo("a2", "A", "fail"),
            fifo("b2", "B", "ok"),
            fifo("a3", "A", "ok"),
            fifo("c1", "C", "panic"),
            fifo("b3", "B", "ok"),
            fifo("c2", "C", "ok"),
        ];
        let script = Script::default();
        let config = BatchConfig { concurrency: 10, ..BatchConfig::default() };
        let report = run_batch(&script, &records, far(), &config).await;
        assert_eq!(failed_ids(&report), ["a2", "a3", "c1", "c2"]);
        assert_eq!(report.records[4].status, RecordStatus::NotStarted(NotStarted::GroupStopped { after: Some("a2".into()) }));
        let started = script.started.lock().unwrap().clone();
        assert!(!started.iter().any(|s| s.starts_with("a3") || s.starts_with("c2")), "{started:?}");
        let order_of = |g: char| started.iter().filter(|s| s.starts_with(g)).map(|s| s[..2].to_string()).collect::<Vec<_>>();
        assert_eq!(order_of('a'), ["a1", "a2"]);
        assert_eq!(order_of('b'), ["b1", "b2", "b3"]);
        // Groups did run concurrently: B started before A finished.
        assert_eq!(script.max_in_flight.load(Ordering::SeqCst), 3);
    }

    fn indexes(units: &[WorkUnit]) -> Vec<Vec<usize>> {
        units.iter().map(|u| u.records.clone()).collect()
    }

    #[test]
    fn standard_queue_records_are_independent_units_and_fifo_groups_keep_event_order() {
        let standard = vec![record("a", "ok"), record("b", "ok")];
        assert_eq!(indexes(&work_units(&standard, &[None, None])), vec![vec![0], vec![1]]);
        let mut lone = fifo("x", "G", "ok");
        lone.attributes.remove("MessageGroupId");
        let mixed = vec![fifo("a", "G2", "ok"), fifo("b", "G1", "ok"), lone, fifo("c", "G2", "ok")];
        let units = work_units(&mixed, &[None, None, None, None]);
        assert_eq!(indexes(&units), vec![vec![0, 3], vec![1], vec![2]]);
        assert!(units.iter().all(|u| u.stops_on_failure));
    }

    #[test]
    fn serial_keys_chain_standard_records_longest_chain_first() {
        let records: Vec<_> = ["a", "b", "c", "d", "e"].iter().map(|id| record(id, "ok")).collect();
        let key = |k: &str| Some(k.to_string());
        let units = work_units(&records, &[key("x"), None, key("y"), key("y"), key("x")]);
        // Chains keep event order; the longer chains come before the lone record; ties by first record.
        assert_eq!(indexes(&units), vec![vec![0, 4], vec![2, 3], vec![1]]);
        assert!(units.iter().all(|u| !u.stops_on_failure));
    }

    #[tokio::test]
    async fn records_with_one_serial_key_never_overlap_and_a_failure_does_not_stop_the_chain() {
        // The longest chain (a) is not first in the event, so starting first is the sort's doing.
        let records = vec![record("b1", "ok"), record("c1", "ok"), record("a1", "ok"), record("b2", "ok"), record("a2", "fail"), record("a3", "ok")];
        let script = Script { serial_by_letter: true, ..Script::default() };
        let config = BatchConfig { concurrency: 10, ..BatchConfig::default() };
        let report = run_batch(&script, &records, far(), &config).await;
        assert_eq!(failed_ids(&report), ["a2"], "a3 ran after a2 failed");
        let started = script.started.lock().unwrap().clone();
        let order_of = |g: char| started.iter().filter(|s| s.starts_with(g)).map(|s| s[..2].to_string()).collect::<Vec<_>>();
        assert_eq!(order_of('a'), ["a1", "a2", "a3"]);
        assert_eq!(order_of('b'), ["b1", "b2"]);
        // One record per key at a time: three keys, never more than three in flight, and the
        // keys did run side by side.
        assert_eq!(script.max_in_flight.load(Ordering::SeqCst), 3);
        // The longest chain started first.
        assert!(started[0].starts_with("a1"), "{started:?}");
    }

    #[tokio::test]
    async fn no_record_starts_inside_the_deadline_margin() {
        let records = vec![record("a", "ok"), record("b", "ok")];
        let script = Script::default();
        let config = BatchConfig { start_margin: Duration::from_secs(10), ..BatchConfig::default() };
        let report = run_batch(&script, &records, Deadline::after(Duration::from_secs(5)), &config).await;
        assert_eq!(failed_ids(&report), ["a", "b"]);
        assert!(report.records.iter().all(|r| r.status == RecordStatus::NotStarted(NotStarted::DeadlineNear)));
        assert!(script.started.lock().unwrap().is_empty());
        // A passed deadline is the same, not an underflow.
        let passed = Deadline::after(Duration::ZERO);
        assert_eq!(failed_ids(&run_batch(&script, &records, passed, &config).await), ["a", "b"]);
    }

    #[tokio::test]
    async fn a_deadline_cut_in_a_fifo_group_stops_the_rest_of_it() {
        let records = vec![fifo("a1", "A", "ok"), fifo("a2", "A", "ok")];
        let config = BatchConfig { start_margin: Duration::from_secs(10), ..BatchConfig::default() };
        let report = run_batch(&Script::default(), &records, Deadline::after(Duration::from_secs(1)), &config).await;
        assert_eq!(report.records[0].status, RecordStatus::NotStarted(NotStarted::DeadlineNear));
        assert_eq!(report.records[1].status, RecordStatus::NotStarted(NotStarted::GroupStopped { after: Some("a1".into()) }));
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_work_is_cut_by_the_record_timeout() {
        let records = vec![record("a", "hang"), record("b", "ok")];
        let config = BatchConfig { record_timeout: Duration::from_secs(30), ..BatchConfig::default() };
        let script = Script::default();
        let report = run_batch(&script, &records, far(), &config).await;
        assert_eq!(report.records[0].status, RecordStatus::TimedOut(Duration::from_secs(30)));
        assert!(report.records[1].status.is_done());
        assert_eq!(failed_ids(&report), ["a"]);
        assert_eq!(*script.abandoned.lock().unwrap(), ["a"], "the cut-short record, and only it, was cleaned up");
    }

    #[test]
    fn a_failed_record_without_message_id_fails_the_whole_batch_instead_of_vanishing() {
        let report: BatchReport<()> = BatchReport {
            records: vec![RecordReport { index: 0, message_id: None, receive_count: None, status: RecordStatus::Failed(RecordFailure::new("x")) }],
        };
        assert_eq!(failed_ids(&report), [""]);
    }
}
