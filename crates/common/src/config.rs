//! Typed configuration read from the environment once, at cold start.
//!
//! Every getter names the variable in its error and says what a valid value looks like, so a
//! misconfigured deploy fails its first invocation with a message that says what to fix. Values
//! are never echoed back in errors: a URL or JSON document may carry credentials.
//!
//! Numbers and durations have ranges ([`Env::number_in`], [`Env::seconds_in`]): a TTL or time-out
//! out of its range is an error at cold start, not a surprise at run time. URLs that carry
//! credentials or data must be `https://` unless they point at the machine itself
//! ([`require_https`], [`Env::secure_url_or`]).

use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt::Display;
use std::net::Ipv6Addr;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// Set to `true` to let `http://` reach hosts that are not loopback ([`require_https`]). Only for
/// tests that run behind a trusted proxy; never in a deploy.
pub const ALLOW_INSECURE_HTTP: &str = "ALLOW_INSECURE_HTTP";

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

    /// A whole number within `range`; `unit` names what it counts (`bytes`, `restarts`) in the
    /// error, which gives the range: "is not a whole number of bytes from 1024 to 1073741824".
    pub fn number_in<T>(&self, var: &str, default: T, range: RangeInclusive<T>, unit: &str) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display,
    {
        let expected = format!("a whole number of {unit} from {} to {}", range.start(), range.end());
        let value = self.parse_or(var, default, &expected)?;
        if !range.contains(&value) {
            return Err(ConfigError::new(var, format!("is not {expected}")));
        }
        Ok(value)
    }

    /// A whole number of seconds within `range` (in seconds).
    pub fn seconds_in(&self, var: &str, default: Duration, range: RangeInclusive<u64>) -> Result<Duration, ConfigError> {
        self.number_in(var, default.as_secs(), range, "seconds").map(Duration::from_secs)
    }

    /// `ALLOW_INSECURE_HTTP`: whether `http://` may reach hosts that are not loopback.
    pub fn allow_insecure_http(&self) -> Result<bool, ConfigError> {
        self.bool_or(ALLOW_INSECURE_HTTP, false)
    }

    /// [`Env::url_or`] for a URL that receives credentials or data: `http://` is refused unless
    /// the host is loopback or `ALLOW_INSECURE_HTTP` is true ([`require_https`]).
    pub fn secure_url_or(&self, var: &str, default: &str) -> Result<String, ConfigError> {
        let url = self.url_or(var, default)?;
        require_https(var, &url, self.allow_insecure_http()?)?;
        Ok(url)
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

/// Why an `http://` URL is refused, after the variable's name.
pub const INSECURE_HTTP_PROBLEM: &str = "uses http:// to a host that is not loopback, so credentials and data would cross the network unencrypted; \
     use https://, or set ALLOW_INSECURE_HTTP=true (only for tests behind a trusted proxy)";

/// `Err` when `url` is [`insecure_http`] and `allow_insecure` (`ALLOW_INSECURE_HTTP`) is not set.
pub fn require_https(var: &str, url: &str, allow_insecure: bool) -> Result<(), ConfigError> {
    if allow_insecure || !insecure_http(url) {
        return Ok(());
    }
    Err(ConfigError::new(var, INSECURE_HTTP_PROBLEM))
}

/// True when `url` is `http://` to a host that is not loopback: loopback is `localhost`,
/// 127.0.0.0/8 written as four decimal numbers, or `[::1]` (any spelling of it), with or
/// without a port. Anything else counts as not loopback, so whatever this cannot read safely is
/// refused: credentials in the URL, other IPv4 spellings (`127.1`, `0x7f.0.0.1`), a trailing dot,
/// percent-encoded or non-ASCII host names. The authority ends where URL parsers end it for
/// http, including at `\`, so `http://evil.example\@127.0.0.1` is not taken for loopback.
/// Not `http://` (https, or no URL at all) is not this rule's business: false.
pub fn insecure_http(url: &str) -> bool {
    match url.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => !loopback_authority(&url[7..]),
        _ => false,
    }
}

fn loopback_authority(after_scheme: &str) -> bool {
    let end = after_scheme.find(['/', '?', '#', '\\']).unwrap_or(after_scheme.len());
    let authority = &after_scheme[..end];
    if authority.contains('@') || authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let port_ok = |port: &str| port.is_empty() || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((address, rest)) = bracketed.split_once(']') else { return false };
        let port = match rest.strip_prefix(':') {
            Some(port) => port,
            None if rest.is_empty() => "",
            None => return false,
        };
        return port_ok(port) && address.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
    if !port_ok(port) {
        return false;
    }
    host.eq_ignore_ascii_case("localhost") || loopback_ipv4(host)
}

/// `127.a.b.c` in plain dotted decimal (no leading zeros, which some parsers read as octal).
fn loopback_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    let decimal = |p: &&str| {
        !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 1 || !p.starts_with('0')) && p.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    parts.len() == 4 && parts.iter().all(decimal) && parts[0] == "127"
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
    fn numbers_out_of_range_name_the_variable_and_the_range() {
        let env = Env::from_pairs([("BIG", "2000"), ("SMALL", "0"), ("NEG", "-1"), ("OK", "30"), ("WORD", "ten")]);
        let err = env.number_in::<u32>("BIG", 10, 1..=1000, "restarts").unwrap_err();
        assert_eq!(err.to_string(), "configuration error: environment variable BIG is not a whole number of restarts from 1 to 1000");
        assert_eq!(env.number_in::<u32>("SMALL", 10, 1..=1000, "restarts").unwrap_err().var, "SMALL");
        assert_eq!(env.seconds_in("NEG", Duration::from_secs(5), 0..=600).unwrap_err().problem, "is not a whole number of seconds from 0 to 600");
        assert_eq!(env.seconds_in("WORD", Duration::from_secs(5), 1..=900).unwrap_err().var, "WORD");
        assert_eq!(env.seconds_in("OK", Duration::from_secs(5), 1..=900).unwrap(), Duration::from_secs(30));
        assert_eq!(env.seconds_in("UNSET", Duration::from_secs(5), 1..=900).unwrap(), Duration::from_secs(5));
        // The ends are in the range.
        let ends = Env::from_pairs([("LOW", "1024"), ("HIGH", "1073741824")]);
        assert_eq!(ends.number_in::<usize>("LOW", 0, 1024..=1 << 30, "bytes").unwrap(), 1024);
        assert_eq!(ends.number_in::<usize>("HIGH", 0, 1024..=1 << 30, "bytes").unwrap(), 1 << 30);
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        for loopback in [
            "http://127.0.0.1:8083",
            "http://127.0.0.1",
            "http://127.1.2.3:9/api",
            "http://localhost:4566/",
            "http://LocalHost",
            "http://[::1]:8080",
            "http://[0:0:0:0:0:0:0:1]/x",
            "HTTP://127.0.0.1:1",
        ] {
            assert!(!insecure_http(loopback), "{loopback}");
            assert_eq!(require_https("V", loopback, false), Ok(()), "{loopback}");
        }
        for remote in [
            "http://connect.internal:8083",
            "http://10.0.0.5",
            "http://128.0.0.1",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1@evil.example",
            "http://evil.example\\@127.0.0.1",
            "http://user:pw@127.0.0.1",
            "http://127.1",
            "http://0x7f.0.0.1",
            "http://0127.0.0.1",
            "http://127.0.0.1.",
            "http://[::ffff:127.0.0.1]",
            "http://[::1]evil",
            "http://127.0.0.1:80x",
            "http://%6cocalhost",
            "http://",
        ] {
            assert!(insecure_http(remote), "{remote}");
            let err = require_https("META_API_BASE", remote, false).unwrap_err();
            assert_eq!(err.var, "META_API_BASE");
            assert!(err.to_string().contains("ALLOW_INSECURE_HTTP=true"), "{err}");
            assert!(!err.to_string().contains("evil") && !err.to_string().contains("pw@"), "never echoes the URL: {err}");
            assert_eq!(require_https("META_API_BASE", remote, true), Ok(()), "the flag lets it through: {remote}");
        }
        for secure in ["https://graph.facebook.com", "https://10.0.0.5:8083", "ftp://x"] {
            assert!(!insecure_http(secure), "{secure}: not http, not this rule's business");
        }
    }

    #[test]
    fn secure_urls_read_the_flag_from_the_environment() {
        let env = Env::from_pairs([("BASE", "http://api.example/"), ("LOCAL", "http://127.0.0.1:9/")]);
        assert_eq!(env.secure_url_or("BASE", "https://d").unwrap_err().var, "BASE");
        assert_eq!(env.secure_url_or("LOCAL", "https://d").unwrap(), "http://127.0.0.1:9");
        assert_eq!(env.secure_url_or("UNSET", "https://d/").unwrap(), "https://d");
        let allowed = Env::from_pairs([("BASE", "http://api.example/"), (ALLOW_INSECURE_HTTP, "true")]);
        assert_eq!(allowed.secure_url_or("BASE", "https://d").unwrap(), "http://api.example");
        let bad_flag = Env::from_pairs([("BASE", "http://api.example/"), (ALLOW_INSECURE_HTTP, "sometimes")]);
        assert_eq!(bad_flag.secure_url_or("BASE", "https://d").unwrap_err().var, ALLOW_INSECURE_HTTP);
    }

    #[test]
    fn urls_must_be_http_and_lose_their_trailing_slash() {
        let env = Env::from_pairs([("U", "http://127.0.0.1:9/"), ("F", "ftp://x")]);
        assert_eq!(env.url_or("U", "https://d").unwrap(), "http://127.0.0.1:9");
        assert_eq!(env.url_or("UNSET", "https://d/").unwrap(), "https://d");
        assert!(env.url_or("F", "https://d").is_err());
    }
}
