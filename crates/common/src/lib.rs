//! Shared ground of the pipeline functions.
//!
//! Each module is one concept: [`config`] reads typed settings from the environment once,
//! [`aws`] builds SDK clients that honour `AWS_ENDPOINT_URL`, [`telemetry`] sets up JSON logs
//! that follow the Lambda log settings, [`error`] says whether a failure is worth a retry,
//! and [`secrets`] reads JSON secrets without ever letting their values reach a log.
//! [`batch`] is the reusable SQS batch loop (partial batch responses), [`idempotency`] the
//! ledger that makes a repeated job a no-op, [`pacing`] the visibility timeouts of records
//! delivered again, and [`emf`] writes CloudWatch metrics as log lines.

pub mod aws;
pub mod batch;
pub mod config;
pub mod emf;
pub mod deadline;
pub mod error;
pub mod idempotency;
pub mod pacing;
pub mod secrets;
pub mod telemetry;

pub use error::{ErrorClass, Retryable};
