//! Names of the message attributes the worker sets on a dead letter, which the CLI reads.
//!
//! Messages that SQS's redrive policy moved after `maxReceiveCount` failed receives carry none of
//! them (the CLI shows the receive count instead).

/// Why the worker gave up on the job (human-readable, at most 1,000 characters).
pub const REASON: &str = "reason";
/// A short stable code for the reason ([`crate::JobError::code`], or a platform or AWS code).
pub const REASON_CODE: &str = "reason_code";
/// `permanent`, or `retryable` for a failure that may pass but used up the deliveries the jobs
/// queue's redrive policy allows (`common::ErrorClass`).
pub const ERROR_CLASS: &str = "error_class";
/// When the worker gave up (RFC 3339, UTC, seconds).
pub const FAILED_AT: &str = "failed_at";
/// The SQS message id the job had on the jobs queue.
pub const ORIGINAL_MESSAGE_ID: &str = "original_message_id";
/// The ARN of the queue the job came from.
pub const SOURCE_QUEUE_ARN: &str = "source_queue_arn";
/// How many times the jobs queue had delivered it (a `Number` attribute).
pub const RECEIVE_COUNT: &str = "receive_count";

/// The orchestrator's run (e.g. an Airflow DAG run id) a job belongs to, set by `cost-jobs
/// enqueue --run-id`. The worker records each job's outcome under it ([`crate::run`]) and keys a
/// refresh job by it, so waiting is per run and a retried enqueue re-sends nothing new.
pub const RUN_ID: &str = "run_id";

/// The string attributes a reader of dead letters asks SQS for.
pub const DEAD_LETTER_ATTRIBUTES: [&str; 6] = [REASON, REASON_CODE, ERROR_CLASS, ORIGINAL_MESSAGE_ID, FAILED_AT, RUN_ID];

/// Every attribute the worker sets on a dead letter; any other attribute of the original
/// message (e.g. a run tag) is carried over unchanged.
pub const WORKER_SET: [&str; 7] = [REASON, REASON_CODE, ERROR_CLASS, FAILED_AT, ORIGINAL_MESSAGE_ID, SOURCE_QUEUE_ARN, RECEIVE_COUNT];
