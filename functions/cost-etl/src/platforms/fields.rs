//! Field helpers for platform rows: [`Scalar`] (a value sent as a string or a number), counts,
//! ISO 4217 currency codes.

use common::text::bounded;
use crate::normalize::{parse_count, RowError};

/// A value platforms send as a JSON string or number: proto3 int64s, ids, counts.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

/// A count that may be left out (zero), sent as a string or a JSON number.
pub fn scalar_count(field: &'static str, value: Option<&Scalar>) -> Result<i64, RowError> {
    value.map(|v| parse_count(field, &v.text())).transpose().map(|n| n.unwrap_or(0))
}

/// Whether `code` looks like an ISO 4217 currency code (three upper-case letters).
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// A row's currency, checked to be an ISO 4217 code.
pub fn row_currency(field: &'static str, currency: String) -> Result<String, RowError> {
    if is_currency_code(&currency) {
        Ok(currency)
    } else {
        Err(RowError::Invalid { field, reason: format!("{:?} is not an ISO 4217 code", bounded(&currency, 10)) })
    }
}
