//! What the pipeline functions and the orchestrator's CLI share, and nothing else.
//!
//! Always there (pure, no I/O, no SDK): [`error`] says whether a failure is worth a retry,
//! [`config`] reads typed settings from the environment once, [`text`] bounds and escapes
//! untrusted text for messages and walks an error's source chain, [`key`] derives idempotency
//! keys, [`arn`] parses SQS queue ARNs, [`deadline`] is an invocation's time budget, and
//! [`json_scan`] is the string state the incremental JSON scanners share.
//!
//! Behind features, so the job contract crate links no SDK and the CLI links no Lambda runtime:
//! - `aws`: [`aws`] loads the SDK configuration (honouring `AWS_ENDPOINT_URL`) and
//!   [`error::AwsError`] keeps the service error code and HTTP status of a failed call;
//! - `s3`: an S3 client that works against local endpoints;
//! - `lambda`: [`telemetry`], the deadline from the Lambda context, [`secrets`] (JSON secrets
//!   that never reach a log);
//! - `http`: [`http`], a response reader with a byte cap, chunk by chunk.
//!
//! Why features and not more crates: these pieces are small and layered (secrets need the AWS
//! error type, the deadline is the same type with or without the Lambda context), and each user
//! needs a different slice of them. The SQS batch machinery, which only cost-etl uses and which
//! has its own state and tests, is its own crate (`sqs-batch`).

pub mod arn;
pub mod config;
pub mod deadline;
pub mod error;
pub mod json_scan;
pub mod key;
pub mod memory;
pub mod text;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "lambda")]
pub mod secrets;
#[cfg(feature = "lambda")]
pub mod telemetry;

pub use error::{ErrorClass, Retryable};
