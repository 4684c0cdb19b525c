//! JSON secrets, read without letting their values reach a log or error, from either of two
//! stores: Secrets Manager ($0.40 per secret a month) or SSM Parameter Store `SecureString`
//! (standard tier: no per-parameter charge). The id's form says which (see [`SecretRef`]).

use crate::config::json_error_without_values;
use crate::error::{AwsError, ErrorClass, Retryable};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {secret_id} could not be read: {source}")]
    Read { secret_id: String, source: AwsError },
    #[error("secret {secret_id} has no string value (binary secrets are not supported)")]
    NotString { secret_id: String },
    #[error("secret {secret_id} is not the expected JSON: {reason}")]
    Shape { secret_id: String, reason: String },
}

impl Retryable for SecretError {
    fn class(&self) -> ErrorClass {
        match self {
            SecretError::Read { source, .. } => source.class(),
            _ => ErrorClass::Permanent,
        }
    }
}

/// Where a secret id points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRef<'a> {
    /// A Secrets Manager secret name or ARN: anything not below.
    SecretsManager(&'a str),
    /// An SSM parameter: `ssm:<name>` (e.g. `ssm:/pipeline/prod/ad-platforms/meta`) or a
    /// parameter ARN (`arn:<partition>:ssm:<region>:<account>:parameter/<name>`).
    Parameter(&'a str),
}

impl<'a> SecretRef<'a> {
    pub fn parse(id: &'a str) -> SecretRef<'a> {
        if let Some(name) = id.strip_prefix("ssm:") {
            return SecretRef::Parameter(name);
        }
        let parts: Vec<&str> = id.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "ssm", _, _, resource] if resource.starts_with("parameter/") => SecretRef::Parameter(id),
            _ => SecretRef::SecretsManager(id),
        }
    }
}

/// The two stores a secret can live in; cheap to clone.
#[derive(Clone, Debug)]
pub struct SecretSource {
    secrets_manager: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
}

impl SecretSource {
    pub fn new(secrets_manager: aws_sdk_secretsmanager::Client, ssm: aws_sdk_ssm::Client) -> Self {
        SecretSource { secrets_manager, ssm }
    }

    pub fn from_sdk_config(config: &aws_types::SdkConfig) -> Self {
        SecretSource::new(aws_sdk_secretsmanager::Client::new(config), aws_sdk_ssm::Client::new(config))
    }

    /// The secret's string value (a SecureString is decrypted).
    async fn read_text(&self, secret_id: &str) -> Result<String, SecretError> {
        let read = |source: AwsError| SecretError::Read { secret_id: secret_id.to_string(), source };
        let text = match SecretRef::parse(secret_id) {
            SecretRef::SecretsManager(id) => {
                let out = self.secrets_manager.get_secret_value().secret_id(id).send().await.map_err(|e| read(AwsError::new("secretsmanager.GetSecretValue", &e)))?;
                out.secret_string().map(str::to_string)
            }
            SecretRef::Parameter(name) => {
                let out = self.ssm.get_parameter().name(name).with_decryption(true).send().await.map_err(|e| read(AwsError::new("ssm.GetParameter", &e)))?;
                out.parameter().and_then(|p| p.value()).map(str::to_string)
            }
        };
        text.ok_or_else(|| SecretError::NotString { secret_id: secret_id.to_string() })
    }
}

/// Fetch `secret_id` and parse its string as `T`.
pub async fn read_json<T: DeserializeOwned>(source: &SecretSource, secret_id: &str) -> Result<T, SecretError> {
    let text = source.read_text(secret_id).await?;
    parse_json(secret_id, &text)
}

/// The parsing half of [`read_json`], separate so it is testable without I/O.
pub fn parse_json<T: DeserializeOwned>(secret_id: &str, text: &str) -> Result<T, SecretError> {
    serde_json::from_str(text).map_err(|e| SecretError::Shape { secret_id: secret_id.to_string(), reason: json_error_without_values(&e) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Basic {
        username: String,
        password: String,
    }

    #[test]
    fn shape_errors_never_quote_the_secret() {
        let err = parse_json::<Basic>("connect/main", r#"{"username":"u","password":12345678}"#).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("12345678"), "{text}");
        assert!(text.starts_with("secret connect/main is not the expected JSON"), "{text}");
        assert_eq!(err.class(), ErrorClass::Permanent);
        let err = parse_json::<Basic>("s", r#"{"username":"u"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `password`"));
    }

    #[test]
    fn the_id_says_which_store() {
        assert_eq!(SecretRef::parse("pipeline/prod/ad-platforms/meta"), SecretRef::SecretsManager("pipeline/prod/ad-platforms/meta"));
        assert_eq!(SecretRef::parse("ssm:/pipeline/prod/ad-platforms/meta"), SecretRef::Parameter("/pipeline/prod/ad-platforms/meta"));
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/pipeline/prod/connect/main";
        assert_eq!(SecretRef::parse(arn), SecretRef::Parameter(arn));
        let sm_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pipeline/prod/connect/main-AbCdEf";
        assert_eq!(SecretRef::parse(sm_arn), SecretRef::SecretsManager(sm_arn));
    }
}
