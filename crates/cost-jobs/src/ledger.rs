//! The worker's idempotency ledger, read for one thing: a dead-lettered job's last failure.
//!
//! The worker remembers why each attempt at a job failed (`sqs_batch::idempotency::LastFailure`);
//! a job that the jobs queue's redrive policy moved to the DLQ (a crash or time-out on its last
//! receive) carries no reason attribute, so this is where `dlq list` finds one.

use crate::dead_letter::{DeadLetter, LastError};
use crate::error::CliError;
use sqs_batch::idempotency::{DynamoLedger, LedgerError};
use std::time::Duration;

pub struct LastErrors {
    ledger: DynamoLedger,
}

impl LastErrors {
    pub async fn from_env(table: &str) -> LastErrors {
        // Reading only: the completed TTL does not matter.
        LastErrors { ledger: DynamoLedger::new(crate::runs::table_client().await, table, Duration::ZERO) }
    }

    /// The last failure the ledger holds for the job of `dead`, if any.
    pub async fn of(&self, dead: &DeadLetter) -> Result<Option<LastError>, CliError> {
        let Some(key) = dead.ledger_key() else { return Ok(None) };
        let record = match self.ledger.get(&key).await {
            Ok(record) => record,
            // A malformed item is not worth stopping the listing for.
            Err(LedgerError::Malformed { .. }) => None,
            Err(LedgerError::Aws(e)) => return Err(CliError::Aws(e)),
        };
        Ok(record.and_then(|r| r.last_failure).map(|f| LastError {
            at: chrono::DateTime::from_timestamp(f.at, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            code: f.code,
            message: f.message,
        }))
    }
}
