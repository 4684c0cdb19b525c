//! Typed configuration read from the environment once, at cold start.
//!
//! Every getter names the variable in its error and says what a valid value looks like, so a
//! misconfigured deploy fails its first invocation with a message that says what to fix. Values
//! are never echoed back in errors: a URL or JSON document may carry credentials.

use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// A variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: environment variable {var} {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &str, problem: impl Into<String>) -> Self {
        ConfigError { var: var.to_string(), problem: problem.into() }
    }
}

/// Where settings come from: the process environment in production, a map in unit tests
/// (so tests never mutate the shared process environment).
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// A snapshot of the process environment.
    pub fn from_process() -> Self {
        Env { vars: std::env::vars().collect() }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// The value, with surrounding white space removed; empty counts as unset.
    pub fn optional(&self, var: &str) -> Option<String> {
        self.vars.get(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    pub fn required(&self, var: &str) -> Result<String, ConfigError> {
        self.optional(var).ok_or_else(|| ConfigError::new(var, "is not set; it is required"))
    }

    /// Parse with `FromStr`; `expected` describes a valid value for the error message.
    pub fn parse_or<T: FromStr>(&self, var: &str, default: T, expected: &str) -> Result<T, ConfigError> {
        match self.optional(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| ConfigError::new(var, format!("is not {expected}"))),
        }
    }

    pub fn bool_or(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
            Some(_) => Err(ConfigError::new(var, "is not a boolean (use true or false)")),
        }
    }

    /// A whole number of seconds.
    pub fn seconds_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        self.parse_or::<u64>(var, default.as_secs(), "a whole number of seconds").map(Duration::from_secs)
    }

    /// A JSON document parsed into `T`; the error keeps serde's path and reason, not the value.
    pub fn json_opt<T: DeserializeOwned>(&self, var: &str) -> Result<Option<T>, ConfigError> {
        match self.optional(var) {
            None => Ok(None),
            Some(raw) => serde_json::from_str(&raw)
                .map(Some)
                .map_err(|e| ConfigError::new(var, format!("is not valid: {}", json_error_without_values(&e)))),
        }
    }

    /// An `http://` or `https://` base URL, without a trailing slash.
    pub fn url_or(&self, var: &str, default: &str) -> Result<String, ConfigError> {
        let url = self.optional(var).unwrap_or_else(|| default.to_string());
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::new(var, "is not an http(s) URL"));
        }
        Ok(url.trim_end_matches('/').to_string())
    }
}

/// Describe a serde_json error without quoting the input: serde's "invalid type: string \"...\""
/// messages echo values, which may be secrets.
pub fn json_error_without_values(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // These name a field of our own schema, never a value of the input.
    if text.starts_with("missing field") || text.starts_with("duplicate field") {
        return text;
    }
    let kind = match err.classify() {
        serde_json::error::Category::Syntax => "JSON syntax error",
        serde_json::error::Category::Eof => "JSON ends early",
        serde_json::error::Category::Data => "a value has the wrong type or shape",
        serde_json::error::Category::Io => "read error",
    };
    format!("{kind} at line {} column {}", err.line(), err.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_names_the_missing_variable() {
        let env = Env::from_pairs([("OTHER", "x"), ("EMPTY", "  ")]);
        let err = env.required("OUTPUT_BUCKET").unwrap_err();
        assert_eq!(err.to_string(), "configuration error: environment variable OUTPUT_BUCKET is not set; it is required");
        assert!(env.required("EMPTY").is_err(), "blank counts as unset");
    }

    #[test]
    fn parse_errors_say_what_is_expected_and_do_not_echo_the_value() {
        let env = Env::from_pairs([("N", "lots"), ("B", "maybe"), ("T", "5")]);
        let err = env.parse_or::<u32>("N", 3, "a whole number").unwrap_err();
        assert_eq!(err.to_string(), "configuration error: environment variable N is not a whole number");
        assert!(!err.to_string().contains("lots"));
        assert!(env.bool_or("B", false).is_err());
        assert_eq!(env.seconds_or("T", Duration::from_secs(1)).unwrap(), Duration::from_secs(5));
        assert_eq!(env.parse_or::<u32>("UNSET", 3, "n").unwrap(), 3);
    }

    #[test]
    fn json_errors_hide_values() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            n: u32,
        }
        let env = Env::from_pairs([("J", r#"{"n":"hunter2"}"#), ("M", "{}")]);
        let err = env.json_opt::<S>("J").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("wrong type"), "{err}");
        let err = env.json_opt::<S>("M").unwrap_err().to_string();
        assert!(err.contains("missing field `n`"), "{err}");
    }

    #[test]
    fn urls_must_be_http_and_lose_their_trailing_slash() {
        let env = Env::from_pairs([("U", "http://127.0.0.1:9/"), ("F", "ftp://x")]);
        assert_eq!(env.url_or("U", "https://d").unwrap(), "http://127.0.0.1:9");
        assert_eq!(env.url_or("UNSET", "https://d/").unwrap(), "https://d");
        assert!(env.url_or("F", "https://d").is_err());
    }
}
