//! The job message, from the worker itself: the CLI builds every message with cost-etl's own
//! `JobSpec`, so it cannot enqueue a job the worker would refuse as invalid.

pub use cost_etl::job::{AccountId, JobError, JobLimits, JobSpec, Platform, DEFAULT_MAX_DAYS};
