//! The SQS batch machinery of a Lambda function fed by an SQS event source.
//!
//! [`batch`] runs the records of one event with bounded concurrency (FIFO groups in order, a
//! panic or time-out isolated to its record) and builds the partial batch response;
//! [`idempotency`] is the ledger that makes a repeated piece of work a no-op (the Powertools
//! table shape); [`pacing`] sets the visibility timeout of records that will be delivered again;
//! [`requeue`] sends a fresh copy of a record that never started on its last delivery.
//!
//! Its own crate, not part of `common`: only cost-etl runs SQS batches, and this is the piece
//! that pulls the SQS and DynamoDB SDKs and the Lambda event types; connect-health and the CLI
//! link none of it.

pub mod batch;
pub mod idempotency;
pub mod pacing;
pub mod requeue;
