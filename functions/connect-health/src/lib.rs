//! connect-health: reads the status of every Kafka Connect connector and task, publishes
//! counts to CloudWatch, and restarts failed tasks whose error a restart can fix.
//!
//! Parsing of remote input ([`status`], [`trace`]) is apart from decisions ([`policy`],
//! [`plan`], [`backoff`]), which are pure; I/O sits at the edges ([`connect`], [`state`],
//! [`metrics`]) and [`handler`] only orchestrates.

pub mod backoff;
pub mod config;
pub mod connect;
pub mod handler;
pub mod metrics;
pub mod plan;
pub mod policy;
pub mod report;
pub mod state;
pub mod status;
pub mod trace;

pub use config::{ClusterConfig, Config};
pub use handler::{App, Clients};
