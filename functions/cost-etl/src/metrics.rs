//! What a batch did, as one log line and one set of CloudWatch metrics (EMF).

use crate::handler::Outcome;
use sqs_batch::batch::{BatchReport, RecordStatus};
use crate::emf::{MetricSet, Unit};
use std::time::Duration;

/// Per-batch counts; every record lands in exactly one of the five outcome counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchCounts {
    pub records: usize,
    pub succeeded: usize,
    pub duplicate: usize,
    pub retry: usize,
    pub dead_lettered: usize,
    /// Never started on their last delivery; a delayed copy went back to the queue.
    pub requeued: usize,
    pub rows_written: usize,
    pub objects_written: usize,
}

impl BatchCounts {
    pub fn of(report: &BatchReport<Outcome>) -> BatchCounts {
        let mut counts = BatchCounts { records: report.records.len(), ..BatchCounts::default() };
        for record in &report.records {
            match &record.status {
                RecordStatus::Done(Outcome::Processed(summary)) => {
                    counts.succeeded += 1;
                    counts.rows_written += summary.rows;
                    counts.objects_written += summary.days;
                }
                RecordStatus::Done(Outcome::Duplicate) => counts.duplicate += 1,
                RecordStatus::Done(Outcome::DeadLettered { .. }) => counts.dead_lettered += 1,
                RecordStatus::Done(Outcome::Requeued) => counts.requeued += 1,
                _ => counts.retry += 1,
            }
        }
        counts
    }

    /// The EMF line: as metrics, only the series an alarm or the dashboard reads (each is a
    /// CloudWatch custom metric billed by the hours it receives data); the other counts ride on
    /// the same line as plain members, for Logs Insights.
    pub fn metrics(&self, namespace: &str, elapsed: Duration) -> MetricSet {
        MetricSet::new(namespace)
            .dimension("Service", "cost-etl")
            .count("JobsSucceeded", self.succeeded as u64)
            .count("JobsDuplicate", self.duplicate as u64)
            .count("JobsRetried", self.retry as u64)
            .count("JobsDeadLettered", self.dead_lettered as u64)
            .metric("BatchDuration", Unit::Milliseconds, elapsed.as_millis() as f64)
            .property("BatchRecords", self.records.to_string())
            .property("JobsRequeued", self.requeued.to_string())
            .property("RowsWritten", self.rows_written.to_string())
            .property("ObjectsWritten", self.objects_written.to_string())
    }
}

/// Log each record that will come back (with why), then the batch line, then the metrics.
pub fn report_batch(report: &BatchReport<Outcome>, namespace: &str, elapsed: Duration, request_id: Option<&str>) -> BatchCounts {
    for record in &report.records {
        let message_id = record.message_id.as_deref().unwrap_or("-");
        match &record.status {
            RecordStatus::Done(_) => {}
            RecordStatus::Failed(f) => tracing::warn!(message_id, outcome = "retry", reason = %f.reason, retry_after_s = f.retry_after.map(|d| d.as_secs()), "record will be delivered again"),
            RecordStatus::Panicked(p) => tracing::error!(message_id, outcome = "retry", panic = %p, "record panicked; will be delivered again"),
            RecordStatus::TimedOut(after) => tracing::warn!(message_id, outcome = "retry", after_s = after.as_secs(), "record timed out; will be delivered again"),
            RecordStatus::NotStarted(why) => tracing::warn!(message_id, outcome = "retry", kind = record.status.kind(), ?why, "record not started; will be delivered again"),
        }
    }
    let counts = BatchCounts::of(report);
    tracing::info!(
        records = counts.records,
        succeeded = counts.succeeded,
        duplicate = counts.duplicate,
        retry = counts.retry,
        dead_lettered = counts.dead_lettered,
        requeued = counts.requeued,
        rows_written = counts.rows_written,
        elapsed_ms = elapsed.as_millis() as u64,
        "cost-etl batch"
    );
    let mut metrics = counts.metrics(namespace, elapsed);
    if let Some(id) = request_id {
        metrics = metrics.property("requestId", id);
    }
    metrics.emit();
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::WriteSummary;
    use sqs_batch::batch::{NotStarted, RecordFailure, RecordReport};

    #[test]
    fn every_record_is_counted_once() {
        let r = |status| RecordReport { index: 0, message_id: Some("m".into()), receive_count: Some(1), status };
        let report = BatchReport {
            records: vec![
                r(RecordStatus::Done(Outcome::Processed(WriteSummary { days: 3, rows: 12, bytes: 100 }))),
                r(RecordStatus::Done(Outcome::Duplicate)),
                r(RecordStatus::Done(Outcome::DeadLettered { reason_code: "invalid_job.not_json".into() })),
                r(RecordStatus::Failed(RecordFailure::new("429"))),
                r(RecordStatus::Panicked("boom".into())),
                r(RecordStatus::NotStarted(NotStarted::DeadlineNear)),
                r(RecordStatus::Done(Outcome::Requeued)),
            ],
        };
        let counts = BatchCounts::of(&report);
        assert_eq!(counts, BatchCounts { records: 7, succeeded: 1, duplicate: 1, retry: 3, dead_lettered: 1, requeued: 1, rows_written: 12, objects_written: 3 });
        let doc = counts.metrics("CostEtl", Duration::from_millis(5)).to_json(std::time::UNIX_EPOCH);
        assert_eq!(doc["JobsRetried"], 3.0);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CostEtl");
        let metric_names: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
        assert_eq!(metric_names, ["JobsSucceeded", "JobsDuplicate", "JobsRetried", "JobsDeadLettered", "BatchDuration"], "only the series an alarm or the dashboard reads");
        assert_eq!(doc["RowsWritten"], "12", "the rest is on the line for Logs Insights, not a metric");
    }
}
