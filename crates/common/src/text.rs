//! Untrusted text made safe for messages and logs: cut to a bound, control characters escaped,
//! and an error's whole source chain in one line.
//!
//! Remote peers (ad platforms, Kafka Connect) and message bodies choose this text; a log line or
//! a DLQ attribute must neither grow without bound nor carry a newline that forges another line.

/// At most `max` characters of `text`, control characters escaped (`\n` stays on one line, so
/// remote text cannot forge a log line or a terminal escape), with `...` appended when cut.
pub fn bounded(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)) + 3);
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` debug-quoted (control characters escaped, so no log line can be forged) and cut to
/// `max` characters (`...` after the closing quote when cut). For echoing input in errors.
pub fn quote_bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}...", &text[..end]),
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An error and each of its sources, joined with `: `; a source whose text the chain already
/// holds (wrappers often repeat their cause) is not repeated.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_on_characters_and_marks_the_cut() {
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abcd", 3), "abc...");
        assert_eq!(bounded("ééé", 2), "éé...");
        assert_eq!(bounded("", 0), "");
    }

    #[test]
    fn bounded_escapes_control_characters_so_remote_text_cannot_forge_a_log_line() {
        let forged = "boom\n{\"_aws\":{\"CloudWatchMetrics\":[]}}\r\u{1b}[2J";
        let safe = bounded(forged, 1000);
        assert!(!safe.chars().any(char::is_control), "{safe}");
        assert_eq!(safe, "boom\\n{\"_aws\":{\"CloudWatchMetrics\":[]}}\\r\\u{1b}[2J");
        assert_eq!(bounded("a\u{1b}[2Jb\n", 100), "a\\u{1b}[2Jb\\n");
    }

    #[test]
    fn quote_bounded_escapes_control_characters_and_bounds_length() {
        let hostile = format!("{}\n{{\"_aws\":1}}\u{1b}[31m", "p".repeat(100));
        let quoted = quote_bounded(&hostile, 40);
        assert!(!quoted.contains('\n') && !quoted.contains('\u{1b}'), "{quoted}");
        assert_eq!(quoted, format!("{:?}...", "p".repeat(40)));
        assert_eq!(quote_bounded("a\nb", 40), "\"a\\nb\"");
    }

    #[test]
    fn truncate_bytes_never_splits_a_character() {
        assert_eq!(truncate_bytes("héllo", 2), "h");
        assert_eq!(truncate_bytes("héllo", 3), "hé");
        assert_eq!(truncate_bytes("hi", 10), "hi");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer: inner failed")]
    struct Outer(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("inner failed")]
    struct Inner(#[source] Root);
    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Root;

    #[test]
    fn error_chain_joins_sources_without_repeating_them() {
        assert_eq!(error_chain(&Outer(Inner(Root))), "outer: inner failed: connection refused");
    }
}
