//! The idempotency key of a job message: what makes a repeated or duplicated message a no-op.

use crate::message::JobMessage;
use crate::run::RunId;
use common::key::IdempotencyKey;

/// Ledger namespace: keys are `cost-etl#<sha256 of the canonical job>`.
pub const LEDGER_NAMESPACE: &str = "cost-etl";

/// The ledger key of a message. A plain job is keyed by its canonical text ([`JobSpec::digest`]),
/// so any repeat of it (a redelivery, a second send) is a duplicate while its COMPLETED record
/// lives. A `refresh` message never meets the plain job's COMPLETED record (it re-fetches and
/// replaces the days): it is keyed by its canonical text and its run ([`crate::RunId`], when the
/// orchestrator tagged it), so a retried enqueue of the same run is a duplicate while tomorrow's
/// run is not; untagged, by its SQS message id, so a redelivery of that same message is still a
/// duplicate. A refresh with neither (not from SQS) cannot be told apart from its redeliveries
/// and is keyed by the job alone, marked as a refresh.
///
/// [`JobSpec::digest`]: crate::JobSpec::digest
pub fn idempotency_key(message: &JobMessage, message_id: Option<&str>, run: Option<&RunId>) -> IdempotencyKey {
    if !message.refresh {
        return IdempotencyKey::from_digest(LEDGER_NAMESPACE, &message.job.digest());
    }
    let canonical = message.job.canonical();
    match run {
        Some(run) => IdempotencyKey::derive(LEDGER_NAMESPACE, &format!("{canonical}#refresh#run:{run}")),
        None => IdempotencyKey::derive(LEDGER_NAMESPACE, &format!("{canonical}#refresh#{}", message_id.unwrap_or(""))),
    }
}
