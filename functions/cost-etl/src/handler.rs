//! One SQS record, start to finish: parse, claim, fetch, write, complete, or route the failure.
//!
//! Orchestration only; every decision it relies on lives elsewhere (`JobSpec::parse`, the
//! ledger's state machine, `PlatformError`'s class, `group_by_day`). The order is what makes
//! the guarantees: the message is acknowledged only after every day is written and the ledger
//! says COMPLETED (or after a permanent failure reached the DLQ); a failed job gives its claim
//! back so the next delivery can run at once.

use crate::config::Config;
use crate::runs::RunRecorder;
use cost_job::run::{job_token, DeadJob, RunId};
use cost_job::{attributes, idempotency_key, JobError, JobMessage, JobSpec};
use crate::normalize::group_by_day;
use crate::platforms::{PlatformError, Registry};
use crate::sink::{S3Sink, SinkError, WriteSummary};
use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::types::MessageAttributeValue;
use sqs_batch::batch::{RecordContext, RecordFailure, RecordProcessor};
use common::error::AwsError;
use sqs_batch::idempotency::{Claim, LastFailure, Ledger};
use sqs_batch::requeue::is_last_delivery;
use common::{ErrorClass, Retryable};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a record was acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rows fetched and every day written.
    Processed(WriteSummary),
    /// The job was already COMPLETED: nothing called, nothing written.
    Duplicate,
    /// Sent to the DLQ with its reason: a permanent failure, or a retryable one on the last
    /// delivery the queue's redrive policy allows.
    DeadLettered { reason_code: String },
    /// Never started on its last delivery: a delayed copy was sent to the queue instead
    /// (`sqs_batch::requeue`).
    Requeued,
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
    fn class(&self) -> ErrorClass {
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
    /// `original_message_id`, `source_queue_arn`, `receive_count` and `failed_at`, and the
    /// original's own message attributes (a run tag, say). A FIFO DLQ gets the original message
    /// group (so order survives a redrive) and the original message id as deduplication id (so a
    /// retried send is not a second copy).
    pub async fn send(&self, record: &SqsMessage, reason_code: &str, reason: &str, class: ErrorClass) -> Result<(), AwsError> {
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
            .message_attributes(attributes::ERROR_CLASS, string(&class.to_string()))
            .message_attributes(attributes::FAILED_AT, string(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        for (name, value) in &record.message_attributes {
            let (Some(data_type), Some(text)) = (value.data_type.as_deref(), value.string_value.as_deref()) else { continue };
            if !attributes::WORKER_SET.contains(&name.as_str()) {
                send = send.message_attributes(name, MessageAttributeValue::builder().data_type(data_type).string_value(text).build().expect("data type set"));
            }
        }
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
    pub(crate) runs: RunRecorder,
}

/// The run a record belongs to (its `run_id` attribute), if any; a malformed one is ignored.
fn run_of(record: &SqsMessage) -> Option<RunId> {
    let raw = record.message_attributes.get(attributes::RUN_ID)?.string_value.as_deref()?;
    match raw.parse() {
        Ok(run) => Some(run),
        Err(e) => {
            tracing::warn!(message_id = record.message_id.as_deref().unwrap_or("-"), error = %e, "ignoring the run_id attribute");
            None
        }
    }
}

/// A job of a message, with what its outcome is recorded under.
struct Tracked<'a> {
    job: &'a JobSpec,
    run: Option<RunId>,
    token: String,
}

impl JobHandler {
    async fn dead_letter(&self, record: &SqsMessage, reason_code: &str, reason: &str, class: ErrorClass) -> Result<Outcome, RecordFailure> {
        match self.dead_letters.send(record, reason_code, reason, class).await {
            Ok(()) => {
                tracing::warn!(message_id = record.message_id.as_deref().unwrap_or("-"), outcome = "dead_lettered", reason_code, reason, error_class = %class, "dead-lettered");
                Ok(Outcome::DeadLettered { reason_code: reason_code.to_string() })
            }
            // Not acknowledged: the record comes back and tries the DLQ again.
            Err(e) => Err(RecordFailure::new(format!("{reason_code}: {reason}; and the DLQ send failed: {e}"))),
        }
    }

    /// A job's dead letter, recorded in its run (best effort: the DLQ has it either way).
    async fn dead_letter_job(&self, record: &SqsMessage, tracked: &Tracked<'_>, reason_code: &str, reason: &str, class: ErrorClass) -> Result<Outcome, RecordFailure> {
        let outcome = self.dead_letter(record, reason_code, reason, class).await?;
        if let Some(run) = &tracked.run {
            if let Err(e) = self.runs.dead(run, &tracked.token, &DeadJob::new(tracked.job, reason_code, reason)).await {
                tracing::warn!(message_id = record.message_id.as_deref().unwrap_or("-"), run = %run, error = %e, "dead letter not recorded in its run; the run's wait will time out");
            }
        }
        Ok(outcome)
    }

    /// A job of a run is done: recorded before the message is acknowledged (a failed write
    /// brings the message back, which then finds the job done and records it again).
    async fn record_done(&self, tracked: &Tracked<'_>, label: &str) -> Result<(), RecordFailure> {
        match &tracked.run {
            Some(run) => self.runs.done(run, &tracked.token).await.map_err(|e| RecordFailure::new(format!("{label}: done, but not recorded in run {run}: {e}"))),
            None => Ok(()),
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
    /// The job of the body, or why it is not one (dead-lettered by `process`).
    type Parsed = Result<JobMessage, JobError>;

    fn parse(&self, record: &SqsMessage) -> Self::Parsed {
        JobMessage::parse_with(record.body.as_deref().unwrap_or(""), &self.config.limits)
    }

    /// Jobs of one account run one after another (`slots.rs`); a body that is not a job runs
    /// alone (it is dead-lettered without calling anything).
    fn serial_key(&self, _record: &SqsMessage, parsed: &Self::Parsed) -> Option<String> {
        parsed.as_ref().ok().map(crate::slots::serial_key)
    }

    async fn process(&self, record: &SqsMessage, parsed: &Self::Parsed, ctx: RecordContext) -> Result<Outcome, RecordFailure> {
        let message_id = record.message_id.as_deref().unwrap_or("-");
        let message = match parsed {
            Ok(message) => message,
            Err(e) => return self.dead_letter(record, &format!("invalid_job.{}", e.code()), &e.to_string(), ErrorClass::Permanent).await,
        };
        let job = &message.job;
        let label = if message.refresh { format!("{} (refresh)", job.label()) } else { job.label() };
        let run = run_of(record);
        let key = idempotency_key(message, record.message_id.as_deref(), run.as_ref());
        let tracked = Tracked { job, run, token: job_token(&key) };
        // Failing the last delivery the redrive policy allows would move the message to the DLQ
        // without a reason; on that delivery a failure is dead-lettered here, with its reason.
        let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse::<u32>().ok());
        let last_delivery = is_last_delivery(receive_count, self.config.requeue.max_receive_count);
        let hold_until = hold_until(&ctx);
        match self.ledger.claim(&key, hold_until).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::AlreadyCompleted { .. }) => {
                self.record_done(&tracked, &label).await?;
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
            Err(e) if !last_delivery => return Err(RecordFailure::new(format!("{label}: {e}"))),
            Err(e) => return self.dead_letter_job(record, &tracked, "aws.ledger", &gave_up(receive_count, &format!("{label}: {e}")), ErrorClass::Retryable).await,
        }

        match self.run_job(job, &ctx).await {
            Ok(summary) => {
                let data = serde_json::to_string(&summary).ok();
                if let Err(e) = self.ledger.complete(&key, data.as_deref()).await {
                    // The rows are written; a redelivery would only rewrite the same objects.
                    tracing::warn!(message_id, job = %label, error = %e, "rows written but the ledger was not updated");
                }
                self.record_done(&tracked, &label).await?;
                tracing::info!(message_id, job = %label, outcome = "processed", days = summary.days, rows = summary.rows, bytes = summary.bytes, "job done");
                Ok(Outcome::Processed(summary))
            }
            Err(failure) => {
                let reason_code = failure.reason_code();
                let reason = format!("{label}: {failure}");
                if let Err(e) = self.ledger.release(&key, hold_until, &LastFailure::now(&reason_code, &reason)).await {
                    // The claim then lapses with this invocation's deadline.
                    tracing::warn!(message_id, job = %label, error = %e, "could not release the claim");
                }
                match failure.class() {
                    ErrorClass::Retryable if !last_delivery => {
                        // The record's one `outcome` line is the batch summary's (metrics.rs); this one says why.
                        tracing::warn!(message_id, job = %label, reason_code, error = %failure, "job failed with a retryable error");
                        Err(RecordFailure::new(reason).with_retry_after(failure.retry_after()))
                    }
                    ErrorClass::Retryable => self.dead_letter_job(record, &tracked, &reason_code, &gave_up(receive_count, &reason), ErrorClass::Retryable).await,
                    ErrorClass::Permanent => self.dead_letter_job(record, &tracked, &reason_code, &reason, ErrorClass::Permanent).await,
                }
            }
        }
    }

    /// A record cut short by its time-out (or a panic) gives its claim back before the batch
    /// answers, so an immediate redelivery can run it instead of waiting for this invocation's
    /// deadline. Only this invocation's own claim is touched.
    async fn abandon(&self, record: &SqsMessage, parsed: &Self::Parsed, ctx: RecordContext) {
        let Ok(message) = parsed else { return };
        let run = run_of(record);
        let key = idempotency_key(message, record.message_id.as_deref(), run.as_ref());
        let failure = LastFailure::now("timeout", &format!("{}: cut short by the record time-out or a panic; its claim was given back", message.job.label()));
        if let Err(e) = self.ledger.release(&key, hold_until(&ctx), &failure).await {
            tracing::warn!(message_id = record.message_id.as_deref().unwrap_or("-"), error = %e, "could not give back the claim of a record that was cut short");
        }
    }
}

/// How long a claim of this invocation holds: until its deadline (one value per invocation, so
/// the claim can be given back by the same invocation and by no other).
fn hold_until(ctx: &RecordContext) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ctx.deadline.epoch_millis())
}

/// The DLQ reason of a retryable failure on the last delivery.
fn gave_up(receive_count: Option<u32>, reason: &str) -> String {
    let deliveries = receive_count.map_or_else(|| "the last".to_string(), |n| n.to_string());
    format!("gave up after {deliveries} deliveries (the queue's maxReceiveCount): {reason}")
}
