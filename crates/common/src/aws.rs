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
/// with the time-outs above and [`http_client`].
pub async fn load_config() -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).timeout_config(timeouts).load().await
}

/// The SDK's HTTPS client: hyper 1 and rustls 0.23 with ring, the same stack as reqwest's
/// (`crate::http`), so a zip carries one of each (the SDK's default client would add aws-lc-rs).
/// Trusted roots come from the system store, read on the first connection, not at cold start.
/// Every SDK configuration must carry it: the SDK is built without a default client, so one
/// without it fails its first call ("no HTTP client").
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// An S3 client; path-style addressing when a custom endpoint is configured.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}
