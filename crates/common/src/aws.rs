//! AWS SDK setup, done once per cold start.
//!
//! `aws_config` already honours `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>`), which is how tests and the local pipeline point every client
//! at `moto_server`; build service clients with `aws_sdk_<service>::Client::new(&config)`. The one
//! client that needs more is S3: a local endpoint has no virtual-host buckets, so path-style
//! addressing is switched on whenever an endpoint is set (feature `s3`).

use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Ceilings for every AWS call: a stalled endpoint fails the call instead of holding it. The
/// functions also cut each call to what is left of the invocation (a record's time-out, the
/// batch's deadline); these bound what nothing else does (a cold start's reads, the CLI).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Load the shared SDK configuration from the environment (region, credentials, endpoint),
/// with the time-outs above.
pub async fn load_config() -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).load().await
}

/// An S3 client; path-style addressing when a custom endpoint is configured.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}
