//! Everything that stops a command, each with the exit code the orchestrator sees and a message
//! that says what to fix.

use crate::drain::exit;
use crate::plan::PlanError;
use common::error::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or a file it names is wrong; nothing was sent.
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("cannot read accounts file {path}: {reason}")]
    AccountsFile { path: String, reason: String },
    #[error("queue {url} does not exist (at {endpoint}, region {region}): check the URL, AWS_REGION and AWS_ENDPOINT_URL")]
    QueueMissing { url: String, endpoint: String, region: String },
    #[error("{0}")]
    Aws(AwsError),
    #[error("sent {sent} of {total} jobs; {failed} could not be sent (listed above). Run the same command again: jobs already sent are skipped by the worker's idempotency ledger")]
    PartialEnqueue { sent: usize, failed: usize, total: usize },
    #[error("redrive stopped: {moved} moved back, {failed} could not be sent and stay in the DLQ (listed above)")]
    PartialRedrive { moved: usize, failed: usize },
    #[error("{0}")]
    Other(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Plan(_) | CliError::AccountsFile { .. } => exit::USAGE,
            _ => exit::FAILED,
        }
    }
}
