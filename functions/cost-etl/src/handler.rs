//! One SQS record, start to finish: parse, claim, fetch, write, complete, or route the failure.
//!
//! Orchestration only; every decision it relies on lives elsewhere (`JobSpec::parse`, the
//! ledger's state machine, `PlatformError`'s class, `group_by_day`). The order is what makes
//! the guarantees: the message is acknowledged only after every day is written and the ledger
//! says COMPLETED (or after a permanent failure reached the DLQ); a failed job gives its claim
//! back so the next delivery can run at once.

use crate::config::Config;
use cost_job::{attributes, idempotency_key, JobMessage, JobSpec};
use crate::normalize::group_by_day;
use crate::platforms::{PlatformError, Registry};
use crate::sink::{S3Sink, SinkError, WriteSummary};
use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::types::MessageAttributeValue;
use sqs_batch::batch::{RecordContext, RecordFailure, RecordProcessor};
use common::error::AwsError;
use sqs_batch::idempotency::{Claim, Ledger};
use common::Retryable;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a record was acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rows fetched and every day written.
    Processed(WriteSummary),
    /// The job was already COMPLETED: nothing called, nothing written.
    Duplicate,
    /// A permanent failure, sent to the DLQ with its reason.
    DeadLettered { reason_code: String },
}


/// Why a claimed job did not complete.
#[derive(Debug, thiserror::Error)]
enum JobFailure {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl JobFailure {
    fn reason_code(&self) -> String {
        match self {
            JobFailure::Platform(e) => format!("platform.{}", e.code()),
            JobFailure::Sink(_) => "sink.s3".to_string(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            JobFailure::Platform(e) => e.retry_after(),
            JobFailure::Sink(_) => None,
        }
    }
}

impl Retryable for JobFailure {
    fn class(&self) -> common::ErrorClass {
        match self {
            JobFailure::Platform(e) => e.class(),
            JobFailure::Sink(e) => e.class(),
        }
    }
}

/// Sends permanent failures to `DLQ_URL` with their reason as message attributes.
#[derive(Clone)]
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl DeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        DeadLetters { client, url: url.into() }
    }

    /// The original body, unchanged, with attributes `reason`, `reason_code`, `error_class`,
    /// `original_message_id`, `source_queue_arn`, `receive_count` and `failed_at`. A FIFO DLQ
    /// gets the original message group (so order survives a redrive) and the original message id
    /// as deduplication id (so a retried send is not a second copy).
    pub async fn send(&self, record: &SqsMessage, reason_code: &str, reason: &str) -> Result<(), AwsError> {
        let string = |v: &str| MessageAttributeValue::builder().data_type("String").string_value(v).build().expect("data type set");
        // SQS refuses empty bodies; an empty original is itself the reason.
        let body = record.body.as_deref().filter(|b| !b.is_empty()).unwrap_or("(empty body)");
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes(attributes::REASON, string(&common::text::bounded(reason, 1000)))
            .message_attributes(attributes::REASON_CODE, string(reason_code))
            .message_attributes(attributes::ERROR_CLASS, string("permanent"))
            .message_attributes(attributes::FAILED_AT, string(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        if let Some(id) = record.message_id.as_deref() {
            send = send.message_attributes(attributes::ORIGINAL_MESSAGE_ID, string(id));
        }
        if let Some(arn) = record.event_source_arn.as_deref() {
            send = send.message_attributes(attributes::SOURCE_QUEUE_ARN, string(arn));
        }
        if let Some(count) = record.attributes.get("ApproximateReceiveCount") {
            send = send.message_attributes(attributes::RECEIVE_COUNT, MessageAttributeValue::builder().data_type("Number").string_value(count).build().expect("data type set"));
        }
        if self.url.ends_with(".fifo") {
            let group = record.attributes.get("MessageGroupId").map(String::as_str).unwrap_or("dead-letters");
            send = send.message_group_id(group);
            if let Some(id) = record.message_id.as_deref() {
                send = send.message_deduplication_id(id);
            }
        }
        send.send().await.map_err(|e| AwsError::new("sqs.SendMessage", &e))?;
        Ok(())
    }
}

/// The cost-etl record processor.
pub struct JobHandler {
    pub(crate) config: Arc<Config>,
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) registry: Registry,
    pub(crate) sink: S3Sink,
    pub(crate) dead_letters: DeadLetters,
}

impl JobHandler {
    async fn dead_letter(&self, record: &SqsMessage, reason_code: &str, reason: &str) -> Result<Outcome, RecordFailure> {
        match self.dead_letters.send(record, reason_code, reason).await {
            Ok(()) => {
                tracing::warn!(message_id = record.message_id.as_deref().unwrap_or("-"), outcome = "dead_lettered", reason_code, reason, "dead-lettered");
                Ok(Outcome::DeadLettered { reason_code: reason_code.to_string() })
            }
            // Not acknowledged: the record comes back and tries the DLQ again.
            Err(e) => Err(RecordFailure::new(format!("{reason_code}: {reason}; and the DLQ send failed: {e}"))),
        }
    }

    async fn run_job(&self, job: &JobSpec, ctx: &RecordContext) -> Result<WriteSummary, JobFailure> {
        let source = self.registry.get(job.platform).ok_or(PlatformError::NotSupported { platform: job.platform })?;
        let rows = source.fetch(job, ctx.deadline).await?;
        let days = group_by_day(job, rows).map_err(|row| PlatformError::BadRow { platform: job.platform, row })?;
        Ok(self.sink.write_days(job, &days).await?)
    }
}

impl RecordProcessor for JobHandler {
    type Output = Outcome;

    async fn process(&self, record: &SqsMessage, ctx: RecordContext) -> Result<Outcome, RecordFailure> {
        let message_id = record.message_id.as_deref().unwrap_or("-");
        let message = match JobMessage::parse_with(record.body.as_deref().unwrap_or(""), &self.config.limits) {
            Ok(message) => message,
            Err(e) => return self.dead_letter(record, &format!("invalid_job.{}", e.code()), &e.to_string()).await,
        };
        let job = &message.job;
        let label = if message.refresh { format!("{} (refresh)", job.label()) } else { job.label() };
        let key = idempotency_key(&message, record.message_id.as_deref());
        let hold_until = UNIX_EPOCH + Duration::from_millis(ctx.deadline.epoch_millis());
        match self.ledger.claim(&key, hold_until).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::AlreadyCompleted { .. }) => {
                tracing::info!(message_id, job = %label, outcome = "duplicate", "job already completed; acknowledged without calling the platform");
                return Ok(Outcome::Duplicate);
            }
            Ok(Claim::HeldElsewhere { until }) => {
                let wait = until.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
                // Not started: back in seconds (pacing), by when the holder has usually finished
                // and the next delivery is a duplicate or takes over a released claim.
                return Err(RecordFailure::not_started(format!("{label}: another invocation holds this job for {}s more", wait.as_secs())).with_retry_after(Some(wait)));
            }
            // Whatever the class, a ledger failure is not the message's fault: deliver it again.
            Err(e) => return Err(RecordFailure::new(format!("{label}: {e}"))),
        }

        match self.run_job(job, &ctx).await {
            Ok(summary) => {
                let data = serde_json::to_string(&summary).ok();
                if let Err(e) = self.ledger.complete(&key, data.as_deref()).await {
                    // The rows are written; a redelivery would only rewrite the same objects.
                    tracing::warn!(message_id, job = %label, error = %e, "rows written but the ledger was not updated");
                }
                tracing::info!(message_id, job = %label, outcome = "processed", days = summary.days, rows = summary.rows, bytes = summary.bytes, "job done");
                Ok(Outcome::Processed(summary))
            }
            Err(failure) => {
                if let Err(e) = self.ledger.release(&key).await {
                    // The claim then lapses with this invocation's deadline.
                    tracing::warn!(message_id, job = %label, error = %e, "could not release the claim");
                }
                let reason_code = failure.reason_code();
                if failure.is_retryable() {
                    // The record's one `outcome` line is the batch summary's (metrics.rs); this one says why.
                    tracing::warn!(message_id, job = %label, reason_code, error = %failure, "job failed with a retryable error");
                    Err(RecordFailure::new(format!("{label}: {failure}")).with_retry_after(failure.retry_after()))
                } else {
                    self.dead_letter(record, &reason_code, &format!("{label}: {failure}")).await
                }
            }
        }
    }
}
