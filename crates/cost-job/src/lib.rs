//! The cost-etl job contract: what the orchestrator sends and the worker reads.
//!
//! One place for everything both sides must agree on, so neither copies it: the job message
//! ([`JobSpec`], [`JobMessage`], parsed once into typed values), the ad platforms and their
//! account-id rules ([`Platform`], [`AccountId`]), why a message can never be a job
//! ([`JobError`] and its stable codes), the names of the message attributes the worker sets on a
//! dead letter ([`attributes`]), the idempotency key of a message ([`idempotency_key`]), the
//! orchestrator's runs and the record of each run's outcomes ([`run`]) and how a date range is
//! split ([`split_range`]). No AWS SDK and no HTTP client: the CLI links this and
//! nothing of the worker. The wire format is pinned by this crate's tests.

pub mod attributes;
mod dates;
mod error;
mod key;
mod message;
mod platform;
pub mod run;
mod spec;

pub use dates::split_range;
pub use error::JobError;
pub use key::{idempotency_key, LEDGER_NAMESPACE};
pub use message::{JobMessage, MAX_BODY_BYTES};
pub use platform::{AccountId, Platform, MAX_ACCOUNT_ID_LEN};
pub use run::RunId;
pub use spec::{JobLimits, JobSpec, DEFAULT_MAX_DAYS};

#[cfg(test)]
mod tests;
