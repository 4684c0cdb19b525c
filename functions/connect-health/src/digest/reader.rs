//! The `?expand=status` body read as it arrives: cut into its top-level entries (one connector
//! each), each digested and dropped as soon as it is complete, so the body is never held whole.

use super::{from_slice_seed, Budget, DigestError, Expanded, ExpandedSeed, StatusDigest};
use crate::policy::Policy;
use common::json_scan::{is_whitespace, StringState};
use serde::de;

/// Reads the body of `GET /connectors?expand=status` as it arrives, chunk by chunk, into
/// [`Expanded`]: each status is judged by `policy` as it is read, at most `max_entries`
/// connectors and failed targets ([`entry_limit`](super::entry_limit)) are kept, connectors whose `status` is
/// absent or null are left out, and the order is the body's.
///
/// An object of connectors is cut at its top-level commas (a scan that follows strings, their
/// escapes and the nesting of brackets), and each entry `"name": {...}` is parsed, digested and
/// dropped as soon as it is complete, so only the connector being read is held. Everything the
/// scan passes over goes into some entry, which serde then checks, so what is accepted is exactly
/// what parsing the whole body would accept. Any other body (a list of names from a worker that
/// ignores `expand`, or something that is not JSON) is kept whole, up to the body cap, and parsed
/// at the end.
pub struct ExpandedReader<'p> {
    policy: &'p Policy,
    budget: Budget,
    max_entries: usize,
    shape: Shape,
    /// `{` and the current top-level entry's bytes so far (`"name": {...}`); a `}` is added to
    /// parse it as an object of one connector.
    entry: Vec<u8>,
    /// Whether an entry was read already (so an empty one is a stray comma, not `{}`).
    entries_read: bool,
    /// Brackets open, the top-level object's included.
    depth: usize,
    string: StringState,
    statuses: Vec<StatusDigest>,
    /// A body that is not an object of connectors, kept whole.
    whole: Vec<u8>,
}

/// What the body has shown so far.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Only white space.
    Start,
    /// Inside the top-level object.
    Object,
    /// After the top-level object: only white space may follow.
    Done,
    /// Not an object: kept whole.
    Whole,
}

impl<'p> ExpandedReader<'p> {
    pub fn new(policy: &'p Policy, max_entries: usize) -> ExpandedReader<'p> {
        ExpandedReader {
            policy,
            budget: Budget::new(max_entries),
            max_entries,
            shape: Shape::Start,
            entry: Vec::new(),
            entries_read: false,
            depth: 0,
            string: StringState::default(),
            statuses: Vec::new(),
            whole: Vec::new(),
        }
    }

    /// The next bytes of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), DigestError> {
        for (at, &byte) in chunk.iter().enumerate() {
            match self.shape {
                Shape::Whole => {
                    self.whole.extend_from_slice(&chunk[at..]);
                    return Ok(());
                }
                Shape::Start if is_whitespace(byte) => {}
                Shape::Start if byte == b'{' => {
                    self.shape = Shape::Object;
                    self.depth = 1;
                    self.entry.push(b'{');
                }
                Shape::Start => {
                    self.shape = Shape::Whole;
                    self.whole.extend_from_slice(&chunk[at..]);
                    return Ok(());
                }
                Shape::Object => self.object_byte(byte)?,
                Shape::Done if is_whitespace(byte) => {}
                Shape::Done => return Err(DigestError::Json(json_error("trailing characters after the object of connectors"))),
            }
        }
        Ok(())
    }

    /// The end of the body.
    pub fn finish(self) -> Result<Expanded, DigestError> {
        match self.shape {
            Shape::Done => Ok(Expanded::Statuses(self.statuses)),
            // Not an object (a list of names, or not JSON): nothing was read into the budget yet.
            Shape::Start | Shape::Whole => self.parse(&self.whole),
            // Cut short: serde says where (the entry is never complete without its `}`).
            Shape::Object => Err(self.parse(&self.entry).err().unwrap_or_else(|| DigestError::Json(json_error("EOF while parsing the object of connectors")))),
        }
    }

    fn object_byte(&mut self, byte: u8) -> Result<(), DigestError> {
        if self.string.inside() {
            self.entry.push(byte);
            self.string.byte(byte);
            return Ok(());
        }
        match byte {
            b',' if self.depth == 1 => self.end_entry(false),
            b'}' if self.depth == 1 => {
                self.end_entry(true)?;
                self.shape = Shape::Done;
                Ok(())
            }
            _ => {
                match byte {
                    b'"' => self.string.open(),
                    b'{' | b'[' => self.depth += 1,
                    // A `]` at the top level stays in the entry, where serde refuses it.
                    b'}' | b']' if self.depth > 1 => self.depth -= 1,
                    _ => {}
                }
                self.entry.push(byte);
                Ok(())
            }
        }
    }

    /// The entry is complete (at a top-level `,`, or at the closing `}`): digest it, then start
    /// the next one.
    fn end_entry(&mut self, closing: bool) -> Result<(), DigestError> {
        if self.entry[1..].iter().all(|&b| is_whitespace(b)) {
            if closing && !self.entries_read {
                return Ok(()); // `{}`: no connector at all.
            }
            return Err(DigestError::Json(json_error(if closing { "trailing comma in the object of connectors" } else { "expected a connector before ','" })));
        }
        self.entries_read = true;
        self.entry.push(b'}');
        let read = self.parse(&self.entry);
        self.entry.clear();
        self.entry.push(b'{');
        match read? {
            Expanded::Statuses(found) => {
                self.statuses.extend(found);
                Ok(())
            }
            // An entry starts with `{`: serde reads it as an object, never as a list.
            Expanded::Names(_) => Err(DigestError::Json(json_error("expected an object of connectors"))),
        }
    }

    /// `bytes` read against this body's budget; a failure once the budget is spent is that.
    fn parse(&self, bytes: &[u8]) -> Result<Expanded, DigestError> {
        from_slice_seed(bytes, ExpandedSeed { policy: self.policy, budget: &self.budget })
            .map_err(|e| if self.budget.spent.get() { DigestError::TooManyEntries { limit: self.max_entries } } else { DigestError::Json(e) })
    }
}

/// A serde_json error saying `reason`, without a position.
fn json_error(reason: &str) -> serde_json::Error {
    <serde_json::Error as de::Error>::custom(reason)
}
