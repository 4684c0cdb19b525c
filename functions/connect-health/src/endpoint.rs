//! Connector URLs: each path segment percent-encoded so that a connector's name, whatever it
//! is, stays one segment with exactly its own text, and names no encoding can carry refused.
//! Pure; `connect` sends what this builds.

use crate::connect::ConnectError;
use common::text::quote_bounded;
use reqwest::Url;

/// Whether `name` can be one path segment of a URL that names it and nothing else. `.` and `..`
/// cannot: they are refused rather than escaped, because no escape survives. The `url` crate
/// (under reqwest) drops them from pushed segments and resolves `%2E`/`%2E%2E` as dot-segments
/// when it parses or sets a path, so `/connectors/../status` would go out as
/// `/connectors/status`; and the servlet container in front of Connect (Jetty) either rejects
/// `%2E` segments as ambiguous or normalizes them the same way, depending on its compliance
/// mode. An empty name would make `//`, which proxies collapse. Every other name is
/// percent-encoded by [`endpoint`].
pub fn url_safe_name(name: &str) -> bool {
    !matches!(name, "" | "." | "..")
}

/// The URL of `segments` below `base`, each segment percent-encoded except for RFC 3986's
/// unreserved characters (letters, digits, `-`, `.`, `_`, `~`), so that it stays exactly one
/// segment with exactly its own text: `/`, `\`, `?`, `#`, `%` cannot end or change it, `;`
/// cannot start a servlet path parameter (Jetty strips `;...` from a segment, which would turn
/// `es-sink;x` into `es-sink`), and tab or newline characters, which URL parsers delete, are
/// kept as `%09`/`%0A`. A segment no encoding can carry ([`url_safe_name`]) is refused.
pub fn endpoint(base: &Url, segments: &[&str], what: &str) -> Result<Url, ConnectError> {
    if let Some(bad) = segments.iter().find(|s| !url_safe_name(s)) {
        return Err(ConnectError::UnsafeName { what: what.to_string(), name: quote_bounded(bad, 100) });
    }
    let mut path = base.path().trim_end_matches('/').to_string();
    for segment in segments {
        path.push('/');
        for byte in segment.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                path.push(char::from(byte));
            } else {
                path.push('%');
                path.push(char::from(HEX[usize::from(byte >> 4)]));
                path.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    let mut url = base.clone();
    url.set_path(&path);
    // The URL library keeps an encoded path as it is; should it ever rewrite one, nothing is sent.
    if url.path() != path {
        return Err(ConnectError::UnsafeName { what: what.to_string(), name: quote_bounded(&segments.join("/"), 100) });
    }
    Ok(url)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;
    use common::Retryable;

    fn status_url(base: &str, name: &str) -> Result<String, ConnectError> {
        let base = Url::parse(base).unwrap();
        endpoint(&base, &["connectors", name, "status"], "GET status").map(|u| u.to_string())
    }

    /// `%XX` back to bytes: what a server makes of a path segment.
    fn percent_decode(segment: &str) -> String {
        let bytes = segment.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&segment[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn connector_names_are_one_encoded_segment() {
        let base = "http://127.0.0.1:8083";
        for (name, expected) in [
            ("es-sink", "http://127.0.0.1:8083/connectors/es-sink/status"),
            ("a/b", "http://127.0.0.1:8083/connectors/a%2Fb/status"),
            ("a?b", "http://127.0.0.1:8083/connectors/a%3Fb/status"),
            ("a#b", "http://127.0.0.1:8083/connectors/a%23b/status"),
            ("%2e", "http://127.0.0.1:8083/connectors/%252e/status"),
            ("%2E%2E", "http://127.0.0.1:8083/connectors/%252E%252E/status"),
            ("a;b", "http://127.0.0.1:8083/connectors/a%3Bb/status"),
            ("a\\b", "http://127.0.0.1:8083/connectors/a%5Cb/status"),
            (".\n.", "http://127.0.0.1:8083/connectors/.%0A./status"),
            ("...", "http://127.0.0.1:8083/connectors/.../status"),
            ("é s", "http://127.0.0.1:8083/connectors/%C3%A9%20s/status"),
        ] {
            let url = status_url(base, name).unwrap();
            assert_eq!(url, expected, "{name:?}");
            // What goes on the wire parses back to the same three segments, the name intact.
            let parsed = Url::parse(&url).unwrap();
            let segments: Vec<&str> = parsed.path_segments().unwrap().collect();
            assert_eq!(segments.len(), 3, "{name:?}: {segments:?}");
            assert_eq!((segments[0], percent_decode(segments[1]), segments[2]), ("connectors", name.to_string(), "status"), "{name:?}");
        }
    }

    #[test]
    fn dot_and_empty_names_are_refused_not_resolved() {
        for name in [".", "..", ""] {
            let err = status_url("http://127.0.0.1:8083", name).unwrap_err();
            assert!(matches!(err, ConnectError::UnsafeName { .. }), "{name:?}: {err:?}");
            assert!(!err.is_retryable(), "renaming is the fix, not a retry");
            let text = err.to_string();
            assert!(text.starts_with("GET status: not sent: the connector name"), "{text}");
            assert!(text.contains(&format!("{name:?}")) && text.contains("rename the connector"), "{text}");
        }
        assert!(!url_safe_name(".") && !url_safe_name("..") && !url_safe_name(""));
        assert!(url_safe_name("...") && url_safe_name(".a") && url_safe_name("%2e"));
    }

    #[test]
    fn a_base_path_is_kept_below_a_proxy_prefix() {
        assert_eq!(status_url("https://gateway.example/connect/", "es-sink").unwrap(), "https://gateway.example/connect/connectors/es-sink/status");
        assert_eq!(status_url("https://gateway.example/connect", "a/b").unwrap(), "https://gateway.example/connect/connectors/a%2Fb/status");
        let base = Url::parse("http://127.0.0.1:8083").unwrap();
        assert_eq!(endpoint(&base, &[], "GET /").unwrap().as_str(), "http://127.0.0.1:8083/");
    }
}
