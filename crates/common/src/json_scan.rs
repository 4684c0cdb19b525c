//! What the two incremental JSON scanners share, byte by byte: Google Ads' searchStream array
//! splitter (cost-etl) and connect-health's `?expand=status` reader. Each reads structure
//! (brackets, commas) outside strings and hands whole values to serde; both need to know when a
//! byte is inside a string, where `"`, `{`, `,` and `]` are text.

/// Whether a scanner is inside a JSON string literal, and whether the next byte there is escaped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StringState {
    inside: bool,
    escaped: bool,
}

impl StringState {
    pub fn inside(self) -> bool {
        self.inside
    }

    /// The opening `"` of a string, read outside one.
    pub fn open(&mut self) {
        *self = StringState { inside: true, escaped: false };
    }

    /// A byte read inside a string: an unescaped `"` closes it, a `\` escapes the next byte
    /// (`\"`, `\\`, `\u…`: whatever follows a backslash never closes the string).
    pub fn byte(&mut self, byte: u8) {
        if self.escaped {
            self.escaped = false;
        } else if byte == b'\\' {
            self.escaped = true;
        } else if byte == b'"' {
            self.inside = false;
        }
    }
}

/// JSON's insignificant white space (RFC 8259 §2): space, tab, line feed, carriage return.
pub fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the string opened at `text[0]` ends: the index of its closing quote.
    fn closing_quote(text: &str) -> Option<usize> {
        let mut state = StringState::default();
        state.open();
        text.bytes().enumerate().skip(1).find_map(|(i, b)| {
            state.byte(b);
            (!state.inside()).then_some(i)
        })
    }

    #[test]
    fn only_an_unescaped_quote_closes_a_string() {
        assert_eq!(closing_quote(r#""plain" rest"#), Some(6));
        assert_eq!(closing_quote(r#""say \"hi\"" rest"#), Some(11));
        assert_eq!(closing_quote(r#""ends in a backslash \\" rest"#), Some(23));
        assert_eq!(closing_quote(r#""\\\"" rest"#), Some(5));
        assert_eq!(closing_quote(r#""{[,]}" rest"#), Some(6), "structure inside a string is text");
        assert_eq!(closing_quote(r#""unfinished \""#), None);
    }

    #[test]
    fn white_space_is_the_four_bytes_of_the_rfc() {
        let white: Vec<u8> = (0..=255u8).filter(|&b| is_whitespace(b)).collect();
        assert_eq!(white, b"\t\n\r ");
    }
}
