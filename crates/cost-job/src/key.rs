//! The idempotency key of a job message: what makes a repeated or duplicated message a no-op.

use crate::message::JobMessage;
use common::key::IdempotencyKey;

/// Ledger namespace: keys are `cost-etl#<sha256 of the canonical job>`.
pub const LEDGER_NAMESPACE: &str = "cost-etl";

/// The ledger key of a message. A plain job is keyed by its canonical text ([`JobSpec::digest`]),
/// so any repeat of it (a redelivery, a second send) is a duplicate while its COMPLETED record
/// lives. A `refresh` message is keyed by its canonical text *and its SQS message id*: it never
/// meets the plain job's COMPLETED record (it re-fetches and replaces the days), while a
/// redelivery of that same refresh message is still a duplicate. A refresh without a message id
/// (not from SQS) cannot be told apart from its redeliveries and is keyed by the job alone,
/// marked as a refresh.
///
/// [`JobSpec::digest`]: crate::JobSpec::digest
pub fn idempotency_key(message: &JobMessage, message_id: Option<&str>) -> IdempotencyKey {
    if !message.refresh {
        return IdempotencyKey::from_digest(LEDGER_NAMESPACE, &message.job.digest());
    }
    let id = message_id.unwrap_or("");
    IdempotencyKey::derive(LEDGER_NAMESPACE, &format!("{}#refresh#{id}", message.job.canonical()))
}
