//! AWS SDK setup, done once per cold start.
//!
//! Two ways in. The functions use [`lambda_config`]: region, credentials and endpoint from the
//! environment Lambda sets, nothing else (no profile files, no instance metadata, no STS), which
//! keeps `aws-config`'s default chain (~400 KB of every zip) out of them. The CLI, run by people
//! with profiles and SSO, uses [`load_config`] (feature `aws-config`): the SDK's default chain.
//! Both honour `AWS_ENDPOINT_URL`, which is how tests and the local pipeline point every client at
//! `moto_server` (the CLI also the per-service `AWS_ENDPOINT_URL_<SERVICE>`); build service clients
//! with `aws_sdk_<service>::Client::new(&config)`. The one client that needs more is S3: a local
//! endpoint has no virtual-host buckets, so path-style addressing is switched on whenever an
//! endpoint is set (feature `s3`).

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
pub use aws_types::SdkConfig;
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

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).operation_attempt_timeout(ATTEMPT_TIMEOUT).operation_timeout(OPERATION_TIMEOUT).build()
}

/// The SDK's default chain (environment, profiles, SSO, web identity, container and instance
/// credentials), with the time-outs above and [`http_client`]: for the CLI.
#[cfg(feature = "aws-config")]
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).timeout_config(timeouts()).load().await
}

/// A function's SDK configuration, from what Lambda puts in its environment: `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`), the execution role's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
/// `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL` when set (tests, local runs; one endpoint for
/// every service). With the time-outs above, standard retries, tokio's sleep and [`http_client`].
/// Without credentials in the environment the first AWS call fails saying none were configured.
pub fn lambda_config() -> SdkConfig {
    lambda_config_from(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

/// [`lambda_config`] from any source of variables (tests).
pub fn lambda_config_from(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard())
        .time_source(aws_smithy_async::time::SharedTimeSource::default());
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        builder = builder.region(Region::new(region));
    }
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let credentials = Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "Environment");
        builder = builder.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
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

#[cfg(test)]
mod lambda_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> SdkConfig {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        lambda_config_from(|name| vars.get(name).cloned())
    }

    #[tokio::test]
    async fn what_lambda_sets_is_what_the_sdk_gets() {
        use aws_credential_types::provider::ProvideCredentials;
        let sdk = config(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret"), ("AWS_SESSION_TOKEN", "token"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")]);
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        let credentials = sdk.credentials_provider().expect("credentials from the environment").provide_credentials().await.unwrap();
        assert_eq!((credentials.access_key_id(), credentials.session_token()), ("AKIDEXAMPLE", Some("token")));
        assert!(sdk.sleep_impl().is_some(), "retries and time-outs need a sleep");
        assert_eq!(sdk.timeout_config().and_then(|t| t.operation_timeout()), Some(OPERATION_TIMEOUT));
    }

    #[test]
    fn the_default_region_variable_and_missing_credentials() {
        let sdk = config(&[("AWS_DEFAULT_REGION", "ap-northeast-2"), ("AWS_ACCESS_KEY_ID", "only the id")]);
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("ap-northeast-2"));
        assert!(sdk.credentials_provider().is_none(), "half a key pair is no credentials");
        assert_eq!(sdk.endpoint_url(), None);
    }
}
