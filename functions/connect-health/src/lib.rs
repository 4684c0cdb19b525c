//! connect-health: reads the status of every Kafka Connect connector and task, publishes
//! counts to CloudWatch, and restarts failed tasks whose error a restart can fix.
//!
//! Parsing of remote input ([`status`], [`trace`], and [`digest`], which reads a cluster's
//! statuses straight into what planning needs) is apart from decisions ([`policy`], [`plan`],
//! [`backoff`], [`actions`], the totals of [`report`], the URLs of [`endpoint`]), which are
//! pure; I/O sits at the edges ([`connect`], [`state`], [`metrics`], with the AWS [`clients`])
//! and [`handler`] only orchestrates.

pub mod actions;
pub mod backoff;
pub mod clients;
pub mod config;
pub mod connect;
pub mod digest;
pub mod endpoint;
pub mod handler;
pub mod metrics;
pub mod plan;
pub mod policy;
pub mod report;
pub mod state;
pub mod status;
pub mod trace;

pub use clients::Clients;
pub use config::{ClusterConfig, Config};
pub use handler::App;
