//! The AWS clients a run uses, built once per cold start.

/// The AWS clients a run uses, built once per cold start.
#[derive(Clone)]
pub struct Clients {
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// For secrets kept as SSM parameters (`ssm:` ids).
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    pub fn from_sdk_config(config: &aws_types::SdkConfig) -> Clients {
        Clients {
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
        }
    }

    /// Where secrets are read from: Secrets Manager, or SSM for an `ssm:` id or parameter ARN.
    pub fn secret_source(&self) -> common::secrets::SecretSource {
        common::secrets::SecretSource::new(self.secrets.clone(), self.ssm.clone())
    }
}
