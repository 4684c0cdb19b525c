//! The clients cost-etl uses, built once per cold start: AWS (S3, SQS, DynamoDB, Secrets
//! Manager) from the shared SDK configuration, and the platforms' HTTP client.

use std::time::Duration;

/// The clients built once per cold start.
#[derive(Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// For secrets kept as SSM parameters (`ssm:` ids).
    pub ssm: aws_sdk_ssm::Client,
    pub http: reqwest::Client,
}

impl Clients {
    pub fn from_sdk_config(sdk: &aws_types::SdkConfig) -> Result<Clients, reqwest::Error> {
        Ok(Clients {
            s3: common::aws::s3_client(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            http: http_client()?,
        })
    }

    /// Where secrets are read from: Secrets Manager, or SSM for an `ssm:` id or parameter ARN.
    pub fn secret_source(&self) -> common::secrets::SecretSource {
        common::secrets::SecretSource::new(self.secrets.clone(), self.ssm.clone())
    }
}

/// The platforms' HTTP client: rustls, no redirects (an answer that redirects is not one we
/// trust with a token), a short connect time-out; whole-call time-outs are set per request.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    common::http::client_builder()
        .user_agent(concat!("cost-etl/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .build()
}
