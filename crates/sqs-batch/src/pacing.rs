//! Retry pacing: how long a record that is delivered again stays invisible.
//!
//! Without it every record named in `batchItemFailures` waits out the queue's visibility
//! timeout (15 minutes when the function may run 15 minutes): far too long for a record that
//! never started (deadline margin, FIFO group stopped, a claim held by another invocation), and
//! a fixed rhythm for a rate-limited platform whatever it asked for. [`visibility_timeout`] is
//! the pure decision; [`apply`] is the one I/O step that tells SQS (ChangeMessageVisibilityBatch).
//! Pacing is advice: if SQS refuses, the record still fails and comes back after the queue's
//! own timeout, so nothing is lost.

use crate::batch::{BatchReport, NotStarted, RecordStatus};
use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use std::collections::BTreeMap;
use std::time::Duration;

/// SQS refuses a visibility timeout above 12 hours.
pub const SQS_MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// ChangeMessageVisibilityBatch takes at most 10 entries.
const SQS_BATCH_MAX: usize = 10;

/// Knobs of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacingConfig {
    /// Wait after a first failed delivery.
    pub first_backoff: Duration,
    /// Each further delivery multiplies the wait by this.
    pub factor: u32,
    /// No wait is longer than this (and never longer than [`SQS_MAX_VISIBILITY`]).
    pub max_backoff: Duration,
    /// Wait for a record that never started its work.
    pub not_started: Duration,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            first_backoff: Duration::from_secs(10),
            factor: 3,
            max_backoff: Duration::from_secs(900),
            not_started: Duration::from_secs(5),
        }
    }
}

impl PacingConfig {
    fn cap(&self) -> Duration {
        self.max_backoff.min(SQS_MAX_VISIBILITY)
    }

    /// The growing part: `first_backoff * factor^(receive_count - 1)`, capped; a missing count
    /// counts as a first delivery.
    pub fn backoff(&self, receive_count: Option<u32>) -> Duration {
        let exponent = receive_count.unwrap_or(1).max(1) - 1;
        let multiplier = self.factor.max(1).checked_pow(exponent).unwrap_or(u32::MAX);
        self.first_backoff.checked_mul(multiplier).unwrap_or(Duration::MAX).min(self.cap())
    }
}

/// The visibility timeout for a record, or `None` when it is done (SQS deletes it).
///
/// - Never started (by the loop, or a processor failure marked `not_started`): the short wait,
///   so it comes back in seconds; a record whose job another invocation holds waits out the
///   hold from its second delivery on.
/// - Failed with a retry hint (`Retry-After`, a platform's reset time): the hint, since the
///   platform said when it will answer again.
/// - Any other failure (error, panic, time-out): the backoff for its receive count.
///
/// Always capped; rounded up to whole seconds (SQS's unit), at least one second.
pub fn visibility_timeout<O>(status: &RecordStatus<O>, receive_count: Option<u32>, config: &PacingConfig) -> Option<Duration> {
    let wait = match status {
        RecordStatus::Done(_) => return None,
        RecordStatus::NotStarted(NotStarted::DeadlineNear | NotStarted::GroupStopped { .. }) => config.not_started,
        // A claim held by another invocation (the hint is how long the hold lasts): the first
        // time, back in seconds (duplicate deliveries usually race a holder that is about to
        // finish); after that, wait out the hold, so a long-running holder cannot use up the
        // queue's maxReceiveCount and push its duplicate into the DLQ.
        RecordStatus::Failed(f) if f.not_started => match f.retry_after {
            Some(hold) if receive_count.unwrap_or(1) > 1 => hold.max(config.not_started),
            Some(hold) => hold.min(config.not_started),
            None => config.not_started,
        },
        RecordStatus::Failed(f) => f.retry_after.unwrap_or_else(|| config.backoff(receive_count)),
        RecordStatus::Panicked(_) | RecordStatus::TimedOut(_) => config.backoff(receive_count),
    };
    let capped = wait.min(config.cap());
    let secs = capped.as_secs() + u64::from(capped.subsec_nanos() > 0);
    Some(Duration::from_secs(secs.max(1)))
}

/// What [`apply`] did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacingSummary {
    /// Records whose visibility was changed.
    pub changed: usize,
    /// Records SQS refused (or that could not be named: no receipt handle or queue ARN).
    pub failed: usize,
}

/// Set the visibility of every failed record of `report` from [`visibility_timeout`]. Never
/// fails: a refused change is logged and the record keeps the queue's timeout.
pub async fn apply<O>(client: &aws_sdk_sqs::Client, records: &[SqsMessage], report: &BatchReport<O>, config: &PacingConfig) -> PacingSummary {
    let mut summary = PacingSummary::default();
    let mut by_queue: BTreeMap<String, Vec<ChangeMessageVisibilityBatchRequestEntry>> = BTreeMap::new();
    for r in report.failed() {
        let Some(timeout) = visibility_timeout(&r.status, r.receive_count, config) else { continue };
        let record = records.get(r.index);
        let handle = record.and_then(|m| m.receipt_handle.as_deref());
        let url = record.and_then(|m| m.event_source_arn.as_deref()).and_then(|arn| arn.parse::<common::arn::SqsQueueArn>().ok()).map(|arn| arn.queue_url());
        let (Some(handle), Some(url)) = (handle, url) else {
            tracing::warn!(index = r.index, "cannot pace a record without receipt handle or SQS queue ARN; it keeps the queue's visibility timeout");
            summary.failed += 1;
            continue;
        };
        let entry = ChangeMessageVisibilityBatchRequestEntry::builder()
            .id(format!("r{}", r.index))
            .receipt_handle(handle)
            .visibility_timeout(i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX))
            .build()
            .expect("id and receipt handle set");
        by_queue.entry(url).or_default().push(entry);
    }
    for (url, entries) in by_queue {
        for chunk in entries.chunks(SQS_BATCH_MAX) {
            match client.change_message_visibility_batch().queue_url(&url).set_entries(Some(chunk.to_vec())).send().await {
                Ok(out) => {
                    summary.changed += out.successful().len();
                    summary.failed += out.failed().len();
                    for f in out.failed() {
                        tracing::warn!(entry = f.id(), code = f.code(), "SQS refused a visibility change; the record keeps the queue's timeout");
                    }
                }
                Err(e) => {
                    summary.failed += chunk.len();
                    tracing::warn!(error = %common::error::AwsError::new("sqs.ChangeMessageVisibilityBatch", &e), records = chunk.len(), "could not pace records; they keep the queue's timeout");
                }
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RecordFailure;

    fn s(secs: u64) -> Option<Duration> {
        Some(Duration::from_secs(secs))
    }

    fn failed(retry_after: Option<Duration>) -> RecordStatus<()> {
        RecordStatus::Failed(RecordFailure::new("x").with_retry_after(retry_after))
    }

    #[test]
    fn backoff_grows_with_the_receive_count_and_stops_at_the_cap() {
        let c = PacingConfig::default();
        let schedule: Vec<_> = (1..=7).map(|n| visibility_timeout(&failed(None), Some(n), &c)).collect();
        assert_eq!(schedule, [s(10), s(30), s(90), s(270), s(810), s(900), s(900)]);
        assert_eq!(visibility_timeout(&failed(None), None, &c), s(10));
        assert_eq!(visibility_timeout(&failed(None), Some(0), &c), s(10));
        // Huge counts saturate instead of overflowing.
        assert_eq!(visibility_timeout(&failed(None), Some(u32::MAX), &c), s(900));
        let panicked: RecordStatus<()> = RecordStatus::Panicked("p".into());
        assert_eq!(visibility_timeout(&panicked, Some(2), &c), s(30));
        let timed_out: RecordStatus<()> = RecordStatus::TimedOut(Duration::from_secs(1));
        assert_eq!(visibility_timeout(&timed_out, Some(3), &c), s(90));
    }

    #[test]
    fn a_retry_hint_is_honoured_within_the_caps() {
        let c = PacingConfig::default();
        assert_eq!(visibility_timeout(&failed(s(300)), Some(1), &c), s(300));
        assert_eq!(visibility_timeout(&failed(s(2)), Some(4), &c), s(2));
        assert_eq!(visibility_timeout(&failed(Some(Duration::from_millis(1500))), Some(1), &c), s(2));
        assert_eq!(visibility_timeout(&failed(Some(Duration::ZERO)), Some(1), &c), s(1));
        assert_eq!(visibility_timeout(&failed(s(86_400)), Some(1), &c), s(900));
        let wide = PacingConfig { max_backoff: Duration::from_secs(100_000), ..c };
        assert_eq!(visibility_timeout(&failed(s(86_400)), Some(1), &wide), Some(SQS_MAX_VISIBILITY));
        assert_eq!(visibility_timeout(&failed(None), Some(30), &wide), Some(SQS_MAX_VISIBILITY));
    }

    #[test]
    fn records_that_never_started_come_back_in_seconds_and_done_ones_are_left_alone() {
        let c = PacingConfig::default();
        let near: RecordStatus<()> = RecordStatus::NotStarted(NotStarted::DeadlineNear);
        let stopped: RecordStatus<()> = RecordStatus::NotStarted(NotStarted::GroupStopped { after: None });
        let held: RecordStatus<()> = RecordStatus::Failed(RecordFailure::not_started("held elsewhere").with_retry_after(s(600)));
        for status in [&near, &stopped, &held] {
            assert_eq!(visibility_timeout(status, Some(1), &c), s(5), "{status:?}");
        }
        for status in [&near, &stopped] {
            assert_eq!(visibility_timeout(status, Some(4), &c), s(5), "{status:?}");
        }
        // From the second delivery on, a held claim is waited out (not 5 s per receive, which
        // would walk a duplicate into the DLQ while a slow holder is still working).
        assert_eq!(visibility_timeout(&held, Some(2), &c), s(600));
        let ending: RecordStatus<()> = RecordStatus::Failed(RecordFailure::not_started("held elsewhere").with_retry_after(Some(Duration::from_millis(1500))));
        assert_eq!(visibility_timeout(&ending, Some(1), &c), s(2), "a hold ending sooner than the short wait is not outwaited");
        assert_eq!(visibility_timeout(&ending, Some(3), &c), s(5));
        assert_eq!(visibility_timeout(&RecordStatus::Done(()), Some(1), &c), None);
    }
}
