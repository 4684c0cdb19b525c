//! [`ArraySplitter`]: the top-level elements of a JSON array that arrives in chunks, each handed
//! out as soon as its last byte has arrived.
//!
//! Why: searchStream answers with one JSON array of result batches, as large as the report. Fed
//! to serde whole, the body would have to be held whole; split here, each batch is parsed and
//! normalized as soon as it is complete, and only the unfinished tail of the current batch is
//! kept. The splitter only finds element boundaries (string and escape state, nesting of
//! brackets and braces); whether an element is valid JSON is serde's business, element by
//! element.

use common::json_scan::{is_whitespace, StringState};

/// Why a body is not one JSON array (the position counts bytes from the start of the body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the answer is not a JSON array (byte {at} is not '[')")]
    NotAnArray { at: u64 },
    #[error("a bracket or brace at byte {at} closes what was not opened")]
    Mismatched { at: u64 },
    #[error("an empty array element at byte {at} (a comma too many)")]
    EmptyElement { at: u64 },
    #[error("more data after the array's closing ']' (byte {at})")]
    TrailingData { at: u64 },
    #[error("the answer ended before its array was closed")]
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the opening `[` (white space only).
    Before,
    /// Between `[` and the closing `]`.
    Inside,
    /// After the closing `]` (white space only).
    After,
}

/// Splits a JSON array fed chunk by chunk into its top-level elements.
///
/// Use: [`ArraySplitter::feed`] a chunk, then call [`ArraySplitter::next_element`] until it
/// gives `None`, for every chunk; at the end of the body, [`ArraySplitter::finish`]. An element
/// that lies wholly inside one chunk is handed out as a slice of it; only an element that spans
/// chunks is copied, into a buffer that holds that one element.
pub struct ArraySplitter<B> {
    phase: Phase,
    /// The chunk being split, and the next byte of it to look at.
    chunk: Option<B>,
    pos: usize,
    /// Bytes of the body before `chunk`.
    offset: u64,
    /// The current element's bytes from earlier chunks.
    pending: Vec<u8>,
    /// `pending` was handed out: empty it before the next element.
    handed_out_pending: bool,
    /// Whether an element has started since the last separator, and where it starts in `chunk`.
    in_element: bool,
    element_start: usize,
    /// The closers the current element's open brackets and braces expect, innermost last.
    open: Vec<u8>,
    string: StringState,
    /// The last separator was a comma: an element must follow before `]`.
    after_comma: bool,
}

impl<B: AsRef<[u8]>> Default for ArraySplitter<B> {
    fn default() -> Self {
        ArraySplitter::new()
    }
}

impl<B: AsRef<[u8]>> ArraySplitter<B> {
    pub fn new() -> ArraySplitter<B> {
        ArraySplitter {
            phase: Phase::Before,
            chunk: None,
            pos: 0,
            offset: 0,
            pending: Vec::new(),
            handed_out_pending: false,
            in_element: false,
            element_start: 0,
            open: Vec::new(),
            string: StringState::default(),
            after_comma: false,
        }
    }

    /// The next chunk of the body, after [`ArraySplitter::next_element`] gave `None` for the last.
    pub fn feed(&mut self, chunk: B) {
        if let Some(done) = self.chunk.replace(chunk) {
            self.offset += done.as_ref().len() as u64;
        }
        self.pos = 0;
        self.element_start = 0;
    }

    /// The next element completed by what was fed, or `None` when the chunk is used up (its
    /// unfinished tail is kept for the next chunk).
    pub fn next_element(&mut self) -> Result<Option<&[u8]>, SplitError> {
        if self.handed_out_pending {
            self.pending.clear();
            self.handed_out_pending = false;
        }
        let Some(chunk) = self.chunk.as_ref() else { return Ok(None) };
        let bytes: &[u8] = chunk.as_ref();
        while self.pos < bytes.len() {
            let at = self.pos;
            let byte = bytes[at];
            self.pos += 1;
            let position = self.offset + at as u64;
            let phase = self.phase;
            match phase {
                Phase::Before if byte == b'[' => self.phase = Phase::Inside,
                Phase::Before if is_whitespace(byte) => {}
                Phase::Before => return Err(SplitError::NotAnArray { at: position }),
                Phase::After if is_whitespace(byte) => {}
                Phase::After => return Err(SplitError::TrailingData { at: position }),
                Phase::Inside if self.string.inside() => self.string.byte(byte),
                Phase::Inside if self.open.is_empty() && (byte == b',' || byte == b']') => {
                    let closing = byte == b']';
                    if !self.in_element {
                        // `[]` is an empty array; `[,`, `,,` and `,]` hold an empty element.
                        if closing && !self.after_comma {
                            self.phase = Phase::After;
                            continue;
                        }
                        return Err(SplitError::EmptyElement { at: position });
                    }
                    self.in_element = false;
                    self.after_comma = !closing;
                    if closing {
                        self.phase = Phase::After;
                    }
                    if self.pending.is_empty() {
                        return Ok(Some(&bytes[self.element_start..at]));
                    }
                    self.pending.extend_from_slice(&bytes[self.element_start..at]);
                    self.handed_out_pending = true;
                    return Ok(Some(&self.pending));
                }
                Phase::Inside => {
                    if !self.in_element {
                        if is_whitespace(byte) {
                            continue;
                        }
                        self.in_element = true;
                        self.element_start = at;
                    }
                    match byte {
                        b'"' => self.string.open(),
                        b'{' => self.open.push(b'}'),
                        b'[' => self.open.push(b']'),
                        b'}' | b']'
                            if self.open.pop() != Some(byte) => {
                                return Err(SplitError::Mismatched { at: position });
                            }
                        _ => {}
                    }
                }
            }
        }
        if self.in_element && self.element_start < bytes.len() {
            self.pending.extend_from_slice(&bytes[self.element_start..]);
            self.element_start = bytes.len();
        }
        Ok(None)
    }

    /// The body ended: an error unless the array was closed (a truncated answer).
    pub fn finish(&self) -> Result<(), SplitError> {
        match self.phase {
            Phase::After => Ok(()),
            Phase::Before | Phase::Inside => Err(SplitError::Truncated),
        }
    }

    /// Bytes held for the element that is not complete yet.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element of `body` fed as the given chunks, or the first error.
    fn split(chunks: &[&[u8]]) -> Result<Vec<String>, SplitError> {
        let mut splitter = ArraySplitter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.feed(*chunk);
            while let Some(element) = splitter.next_element()? {
                out.push(String::from_utf8(element.to_vec()).unwrap());
            }
        }
        splitter.finish()?;
        Ok(out)
    }

    /// The body fed whole, then cut in two at every byte, then in three at every pair of bytes:
    /// always the same elements (or the same error).
    fn split_everywhere(body: &str) -> Result<Vec<String>, SplitError> {
        let bytes = body.as_bytes();
        let whole = split(&[bytes]);
        for cut in 0..=bytes.len() {
            assert_eq!(split(&[&bytes[..cut], &bytes[cut..]]), whole, "{body:?} cut at {cut}");
        }
        for first in 0..=bytes.len() {
            for second in first..=bytes.len() {
                assert_eq!(split(&[&bytes[..first], &bytes[first..second], &bytes[second..]]), whole, "{body:?} cut at {first} and {second}");
            }
        }
        let byte_by_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(split(&byte_by_byte), whole, "{body:?} byte by byte");
        whole
    }

    #[test]
    fn elements_come_out_whatever_the_chunk_boundaries() {
        let body = r#"[{"results":[{"campaign":{"id":"1"}}],"fieldMask":"campaign.id","requestId":"a"},{"results":[],"requestId":"b"}]"#;
        assert_eq!(split_everywhere(body).unwrap(), [r#"{"results":[{"campaign":{"id":"1"}}],"fieldMask":"campaign.id","requestId":"a"}"#, r#"{"results":[],"requestId":"b"}"#]);
    }

    #[test]
    fn strings_may_hold_brackets_braces_commas_and_escaped_quotes() {
        let body = r#"[{"name":"a]b}c{d[e,f"},{"name":"say \"hi\", ]"},{"name":"back\\"},{"name":"\\\"]"}]"#;
        let elements = split_everywhere(body).unwrap();
        assert_eq!(elements, [r#"{"name":"a]b}c{d[e,f"}"#, r#"{"name":"say \"hi\", ]"}"#, r#"{"name":"back\\"}"#, r#"{"name":"\\\"]"}"#]);
        for element in &elements {
            serde_json::from_str::<serde_json::Value>(element).unwrap_or_else(|e| panic!("{element}: {e}"));
        }
    }

    #[test]
    fn white_space_around_and_between_elements_is_allowed() {
        let body = " \r\n[ \t{\"a\": [1, 2]} ,\n {\"b\":{}}\n]\n ";
        let elements = split_everywhere(body).unwrap();
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[0].trim(), r#"{"a": [1, 2]}"#);
        assert_eq!(elements[1].trim(), r#"{"b":{}}"#);
    }

    #[test]
    fn scalars_and_nested_arrays_are_elements_too() {
        assert_eq!(split_everywhere(r#"[1,"x,]",[2,[3]],null]"#).unwrap(), ["1", r#""x,]""#, "[2,[3]]", "null"]);
    }

    #[test]
    fn an_empty_array_has_no_elements() {
        assert_eq!(split_everywhere("[]").unwrap(), Vec::<String>::new());
        assert_eq!(split_everywhere(" [ \n ] ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_truncated_answer_is_an_error() {
        for body in ["", "  ", "[", r#"[{"results":[]}"#, r#"[{"results":[]},"#, r#"[{"results":["#, r#"[{"name":"unfinished"#, r#"[{"name":"escaped quote \""#] {
            assert_eq!(split_everywhere(body), Err(SplitError::Truncated), "{body:?}");
        }
    }

    #[test]
    fn elements_before_the_truncation_come_out() {
        let mut splitter = ArraySplitter::new();
        splitter.feed(&br#"[{"a":1},{"b":"#[..]);
        assert_eq!(splitter.next_element().unwrap(), Some(&br#"{"a":1}"#[..]));
        assert_eq!(splitter.next_element().unwrap(), None);
        assert_eq!(splitter.buffered(), r#"{"b":"#.len(), "only the unfinished element is kept");
        assert_eq!(splitter.finish(), Err(SplitError::Truncated));
    }

    #[test]
    fn data_after_the_array_is_an_error() {
        assert_eq!(split_everywhere(r#"[{"a":1}] x"#), Err(SplitError::TrailingData { at: 10 }));
        assert_eq!(split_everywhere(r#"[{"a":1}][]"#), Err(SplitError::TrailingData { at: 9 }));
        assert_eq!(split_everywhere("[]]"), Err(SplitError::TrailingData { at: 2 }));
    }

    #[test]
    fn what_is_not_an_array_is_an_error() {
        assert_eq!(split_everywhere(r#"{"results":[]}"#), Err(SplitError::NotAnArray { at: 0 }));
        assert_eq!(split_everywhere("  <html>"), Err(SplitError::NotAnArray { at: 2 }));
        assert_eq!(split_everywhere("\u{feff}[]"), Err(SplitError::NotAnArray { at: 0 }));
    }

    #[test]
    fn empty_elements_and_mismatched_brackets_are_errors() {
        assert_eq!(split_everywhere("[,1]"), Err(SplitError::EmptyElement { at: 1 }));
        assert_eq!(split_everywhere("[1,,2]"), Err(SplitError::EmptyElement { at: 3 }));
        assert_eq!(split_everywhere("[1, ]"), Err(SplitError::EmptyElement { at: 4 }));
        assert_eq!(split_everywhere(r#"[{"a":1]]"#), Err(SplitError::Mismatched { at: 7 }));
        assert_eq!(split_everywhere("[}]"), Err(SplitError::Mismatched { at: 1 }));
        assert_eq!(split_everywhere("[[}]"), Err(SplitError::Mismatched { at: 2 }));
    }

    #[test]
    fn only_the_unfinished_element_is_buffered() {
        let element = format!(r#"{{"results":[{}],"requestId":"r"}}"#, vec![r#"{"campaign":{"id":"1"}}"#; 100].join(","));
        let body = format!("[{}]", vec![element.as_str(); 50].join(","));
        let mut splitter = ArraySplitter::new();
        let (mut seen, mut most) = (0, 0);
        for chunk in body.as_bytes().chunks(1000) {
            splitter.feed(chunk);
            while let Some(got) = splitter.next_element().unwrap() {
                assert_eq!(got, element.as_bytes());
                seen += 1;
            }
            most = most.max(splitter.buffered());
        }
        splitter.finish().unwrap();
        assert_eq!(seen, 50);
        assert!(most < element.len(), "at most one element's worth is held: {most}");
    }
}
