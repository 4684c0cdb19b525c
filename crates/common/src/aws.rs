//! AWS SDK setup, done once per cold start.
//!
//! `aws_config` already honours `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>`), which is how tests and the local pipeline point every client
//! at `moto_server`; build service clients with `aws_sdk_<service>::Client::new(&config)`. The one
//! client that needs more is S3: a local endpoint has no virtual-host buckets, so path-style
//! addressing is switched on whenever an endpoint is set (feature `s3`).

use aws_config::{BehaviorVersion, SdkConfig};

/// Load the shared SDK configuration from the environment (region, credentials, endpoint).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client; path-style addressing when a custom endpoint is configured.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}
