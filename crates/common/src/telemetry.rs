//! Logging set-up shared by every function.
//!
//! Lambda's advanced logging controls set `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`) and
//! `AWS_LAMBDA_LOG_LEVEL`; the runtime's default subscriber follows both (and `RUST_LOG` when
//! set), so a function's logs look the same as any other Lambda's in CloudWatch.

/// Install the global subscriber. Call once, first thing in `main`.
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
