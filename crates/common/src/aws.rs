//! AWS SDK setup, done once per cold start.
//!
//! `aws_config` already honours `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>`), which is how tests and the local pipeline point every client
//! at `moto_server`; build service clients with `aws_sdk_<service>::Client::new(&config)`. The one
//! client that needs more is S3: a local endpoint has no virtual-host buckets, so path-style
//! addressing is switched on whenever an endpoint is set (feature `s3`).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
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
/// Every SDK configuration must carry it: the SDK is built without a default client, so one
/// without it fails its first call ("no HTTP client").
///
/// Trusted roots are read from the system store on the first connection, not at cold start:
/// the SDK's client loads them when a service client is built ("so that native certs load at
/// client initialization time"), which was most of a cold start here (3-10 ms, see the README's
/// cold-start figures); [`LazyRoots`] skips that step, and the first call pays it instead,
/// only when the function calls AWS at all.
pub fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    SharedHttpClient::new(LazyRoots(aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()))
}

/// The SDK's HTTPS client without its eager certificate loading: connectors (and with the first,
/// the system's roots) are made on the first request, as the SDK makes them for every later one.
#[derive(Debug)]
struct LazyRoots(SharedHttpClient);

impl HttpClient for LazyRoots {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps the trait's default (nothing to check): the wrapped
    // client's only builds a connector, to load the roots early.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// An S3 client; path-style addressing when a custom endpoint is configured.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}
