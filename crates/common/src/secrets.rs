//! JSON secrets from Secrets Manager, read without letting their values reach a log or error.

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

/// Fetch `secret_id` and parse its string as `T`.
pub async fn read_json<T: DeserializeOwned>(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<T, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| SecretError::Read { secret_id: secret_id.to_string(), source: AwsError::new("secretsmanager.GetSecretValue", &e) })?;
    let text = out.secret_string().ok_or_else(|| SecretError::NotString { secret_id: secret_id.to_string() })?;
    parse_json(secret_id, text)
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
}
