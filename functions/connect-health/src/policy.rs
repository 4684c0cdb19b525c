//! The restart policy: which failures a restart can fix.
//!
//! A policy is an ordered list of rules; each matches an exception class and/or a message
//! pattern and says `restart` or `skip`. Causes are judged from the root outwards: for the
//! deepest cause every rule is tried in order, and only when none matches is the next outer
//! cause tried. So the root cause decides before its wrappers (a `DataException` caused by a
//! socket time-out is a network fault), and between rules that match the same cause the first
//! wins. The reason for each built-in rule is in docs/connect-health.md.
//!
//! The built-in rules match with plain comparisons (exception-class globs, ASCII
//! case-insensitive substrings, an HTTP status-line check), not regular expressions: the policy
//! is built on every cold start, and compiling the dozen case-insensitive expressions it used to
//! have (Unicode tables for `\b` included, twice, since the configuration's defaults built it
//! again) was most of the function's init time. A regular expression is compiled only for a
//! `message_regex` of `RESTART_POLICY` (or a `message` that is not ASCII), when the
//! configuration is read, so a bad pattern still fails the cold start.

use crate::trace::{Cause, Trace};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// What to do with a failed task or connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Restart,
    Skip,
}

/// One rule: all given matchers must match the same cause.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    classes: Vec<ClassPattern>,
    message: Option<MessageMatch>,
    pub action: Action,
}

impl Rule {
    fn matches(&self, cause: &Cause) -> bool {
        let class_ok = self.classes.is_empty() || self.classes.iter().any(|p| p.matches(cause));
        let message_ok = self.message.as_ref().is_none_or(|m| m.is_match(&cause.message));
        class_ok && message_ok
    }
}

/// How a rule matches a cause's message; every form is case-insensitive.
#[derive(Debug, Clone)]
enum MessageMatch {
    /// The built-in rules: any of these needles.
    Any(&'static [Needle]),
    /// A custom `message` in ASCII: a substring, ASCII case-insensitively.
    Contains(String),
    /// A custom `message_regex` (or a `message` that is not ASCII, escaped, so that its case
    /// folds as Unicode's), compiled when the configuration is read.
    Regex(Regex),
}

impl MessageMatch {
    fn is_match(&self, message: &str) -> bool {
        match self {
            MessageMatch::Any(needles) => needles.iter().any(|needle| needle.is_in(message)),
            MessageMatch::Contains(text) => occurrences(message, text).next().is_some(),
            MessageMatch::Regex(re) => re.is_match(message),
        }
    }
}

/// One thing a built-in rule looks for in a message, ASCII case-insensitively. Needles are
/// lower-case ASCII, so a match starts and ends on character boundaries.
#[derive(Debug, Clone, Copy)]
enum Needle {
    /// Anywhere.
    Text(&'static str),
    /// At the start of a word: not right after a letter, digit or `_` (a regex's `\b` before it).
    Word(&'static str),
    /// An HTTP status line with one of these codes: `HTTP/`, a version of digits and dots, one
    /// space, the code, and then no letter, digit or `_` (the regex `HTTP/[0-9.]+ (code)\b`).
    HttpStatus(&'static [&'static str]),
}

impl Needle {
    fn is_in(self, message: &str) -> bool {
        match self {
            Needle::Text(text) => occurrences(message, text).next().is_some(),
            Needle::Word(text) => occurrences(message, text).any(|at| !message[..at].chars().next_back().is_some_and(is_word_char)),
            Needle::HttpStatus(codes) => occurrences(message, "http/").any(|at| status_code_follows(&message[at + "http/".len()..], codes)),
        }
    }
}

/// Where `needle` (ASCII) starts in `haystack`, ASCII case-insensitively, each occurrence in
/// order. Quadratic at worst, over messages the trace parser cuts to 8 KiB and needles of a few
/// dozen bytes.
fn occurrences<'a>(haystack: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let starts = if n.len() <= h.len() { 0..h.len() - n.len() + 1 } else { 0..0 };
    starts.filter(move |&at| h[at..at + n.len()].eq_ignore_ascii_case(n))
}

/// A regex word character (`\w`): a letter, a digit or `_`, in any script.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `rest` (what follows `HTTP/`) is a version of digits and dots, one space and one of `codes`,
/// not followed by a word character.
fn status_code_follows(rest: &str, codes: &[&str]) -> bool {
    let version = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    if version == 0 {
        return false;
    }
    let Some(after) = rest[version..].strip_prefix(' ') else { return false };
    codes.iter().any(|code| after.starts_with(code) && !after[code.len()..].chars().next().is_some_and(is_word_char))
}

/// An exception class pattern: `*` matches any run of characters. A pattern with a dot is
/// compared with the fully qualified name, one without with the simple name, so
/// `ConnectException` matches Connect's own exception but `java.net.ConnectException` only the
/// socket one.
#[derive(Debug, Clone)]
struct ClassPattern {
    pattern: String,
    qualified: bool,
}

impl ClassPattern {
    fn new(pattern: &str) -> ClassPattern {
        ClassPattern { pattern: pattern.to_string(), qualified: pattern.contains('.') }
    }

    fn matches(&self, cause: &Cause) -> bool {
        if cause.class.is_empty() {
            return false;
        }
        let subject = if self.qualified { cause.class.as_str() } else { cause.simple_class() };
        glob_match(&self.pattern, subject)
    }
}

/// `*`-only glob, iterative so that a hostile pattern cannot blow the stack. It compares bytes,
/// allocating nothing (it runs for every rule on every cause of every failure): the literal
/// parts between stars are whole UTF-8 sequences, which can only match on character boundaries
/// of the subject, so this is the same as comparing characters.
fn glob_match(pattern: &str, subject: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), subject.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The outcome of judging one trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub action: Action,
    /// Name of the rule that decided, or `default`.
    pub rule: String,
    /// `class: message` of the cause the rule matched (absent for the default).
    pub matched: Option<String>,
    /// `class: message` of the deepest cause.
    pub root_cause: Option<String>,
}

/// An ordered rule list plus the action for failures no rule matches.
#[derive(Debug, Clone)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub default_action: Action,
}

/// A `RESTART_POLICY` document that cannot be used; says which rule and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl Policy {
    pub fn judge(&self, trace: &Trace) -> Judgement {
        let root_cause = trace.root_cause().map(Cause::summary);
        for cause in trace.deepest_first() {
            if let Some(rule) = self.rules.iter().find(|r| r.matches(cause)) {
                return Judgement { action: rule.action, rule: rule.name.clone(), matched: Some(cause.summary()), root_cause };
            }
        }
        Judgement { action: self.default_action, rule: "default".to_string(), matched: None, root_cause }
    }

    /// The trace as a worker sent it, parsed and judged.
    pub fn judge_trace(&self, trace: &str) -> Judgement {
        self.judge(&Trace::parse(trace))
    }

    /// The built-in rules; see docs/connect-health.md for the reason behind each. Cheap to build:
    /// no regular expression (see the module's documentation).
    pub fn builtin() -> Policy {
        use Action::{Restart, Skip};
        use Needle::{HttpStatus, Text, Word};
        const ES_SECURITY: &[Needle] = &[Text("security_exception"), HttpStatus(&["401", "403"])];
        const MAGIC_BYTE: &[Needle] = &[Text("unknown magic byte!")];
        const JSON_ENVELOPE: &[Needle] = &[Text(r#"requires "schema" and "payload""#)];
        const ES_MALFORMED: &[Needle] = &[
            Text("mapper_parsing_exception"),
            Text("strict_dynamic_mapping_exception"),
            Text("document_parsing_exception"),
            Text("action_request_validation_exception"),
            Text("illegal_argument_exception"),
        ];
        const NETWORK_MESSAGE: &[Needle] = &[Text("connection refused"), Text("connection reset"), Text("broken pipe"), Text("timed out"), Text("timeout expired")];
        const ES_OVERLOADED: &[Needle] = &[Text("es_rejected_execution_exception"), Text("circuit_breaking_exception"), HttpStatus(&["429"]), Text("too many requests")];
        // `HTTP/x 50[234]`, or `50[234] (Bad Gateway|Service Unavailable|Gateway Time-?out)` at the start of a word.
        const HTTP_GATEWAY: &[Needle] = &[
            HttpStatus(&["502", "503", "504"]),
            Word("502 bad gateway"),
            Word("502 service unavailable"),
            Word("502 gateway timeout"),
            Word("502 gateway time-out"),
            Word("503 bad gateway"),
            Word("503 service unavailable"),
            Word("503 gateway timeout"),
            Word("503 gateway time-out"),
            Word("504 bad gateway"),
            Word("504 service unavailable"),
            Word("504 gateway timeout"),
            Word("504 gateway time-out"),
        ];
        const ES_BULK_FAILED: &[Needle] = &[Text("bulk request failed"), Text("failed to execute bulk request")];
        let rule = |name: &str, classes: &[&str], message: Option<&'static [Needle]>, action| Rule {
            name: name.to_string(),
            classes: classes.iter().map(|c| ClassPattern::new(c)).collect(),
            message: message.map(MessageMatch::Any),
            action,
        };
        let rules = vec![
            // Restarting cannot fix what a human must change.
            rule("config", &["*ConfigException"], None, Skip),
            rule("kafka-authentication", &["*AuthenticationException"], None, Skip),
            rule("kafka-authorization", &["*AuthorizationException"], None, Skip),
            rule("elasticsearch-security", &[], Some(ES_SECURITY), Skip),
            // Poison records: the same record fails again after a restart.
            rule("poison-data", &["*DataException"], None, Skip),
            rule("poison-serialization", &["*SerializationException"], None, Skip),
            rule("poison-magic-byte", &[], Some(MAGIC_BYTE), Skip),
            rule("poison-json-envelope", &[], Some(JSON_ENVELOPE), Skip),
            rule("elasticsearch-malformed-document", &[], Some(ES_MALFORMED), Skip),
            // Transient faults that pass on their own.
            rule(
                "network-fault",
                &[
                    "java.net.SocketTimeoutException",
                    "java.net.ConnectException",
                    "java.net.SocketException",
                    "java.net.NoRouteToHostException",
                    "*ConnectTimeoutException",
                    "*SocketTimeoutException",
                    "java.io.EOFException",
                    "javax.net.ssl.SSLException",
                ],
                None,
                Restart,
            ),
            rule("network-message", &[], Some(NETWORK_MESSAGE), Restart),
            rule(
                "retriable",
                &[
                    "*RetriableException",
                    "org.apache.kafka.common.errors.TimeoutException",
                    "*NetworkException",
                    "*DisconnectException",
                    "*NotLeaderOrFollowerException",
                    "*NotLeaderForPartitionException",
                    "*NotEnoughReplicasException",
                    "*NotEnoughReplicasAfterAppendException",
                    "*LeaderNotAvailableException",
                    "*CoordinatorNotAvailableException",
                    "*CoordinatorLoadInProgressException",
                ],
                None,
                Restart,
            ),
            rule("elasticsearch-overloaded", &[], Some(ES_OVERLOADED), Restart),
            rule("http-gateway", &[], Some(HTTP_GATEWAY), Restart),
            rule("elasticsearch-bulk-failed", &[], Some(ES_BULK_FAILED), Restart),
        ];
        Policy { rules, default_action: Action::Restart }
    }

    /// Parse `RESTART_POLICY`: either an array of rules (added before the built-in ones) or
    /// `{"mode": "extend"|"replace", "default": "restart"|"skip", "rules": [...]}`.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let doc: PolicyDoc = serde_json::from_str(text).map_err(|e| {
            PolicyError(format!("is not a valid policy ({e}); expected an array of rules or {{\"mode\":\"extend\"|\"replace\",\"default\":\"restart\"|\"skip\",\"rules\":[...]}}"))
        })?;
        let (mode, default, rules) = match doc {
            PolicyDoc::Rules(rules) => (Mode::Extend, None, rules),
            PolicyDoc::Full { mode, default, rules } => (mode.unwrap_or(Mode::Extend), default, rules),
        };
        let mut custom = Vec::with_capacity(rules.len());
        for (index, raw) in rules.into_iter().enumerate() {
            custom.push(raw.compile(index + 1)?);
        }
        let builtin = Policy::builtin();
        let rules = match mode {
            Mode::Replace => custom,
            Mode::Extend => custom.into_iter().chain(builtin.rules).collect(),
        };
        Ok(Policy { rules, default_action: default.unwrap_or(builtin.default_action) })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PolicyDoc {
    Rules(Vec<RawRule>),
    Full {
        mode: Option<Mode>,
        default: Option<Action>,
        #[serde(default)]
        rules: Vec<RawRule>,
    },
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Extend,
    Replace,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    exception: Option<OneOrMany>,
    /// Case-insensitive substring of the message.
    message: Option<String>,
    /// Case-insensitive regular expression on the message.
    message_regex: Option<String>,
    action: Action,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl RawRule {
    fn compile(self, index: usize) -> Result<Rule, PolicyError> {
        let name = self.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("custom-{index}"));
        let at = format!("rule {index} ({name})");
        let classes: Vec<String> = match self.exception {
            None => Vec::new(),
            Some(OneOrMany::One(c)) => vec![c],
            Some(OneOrMany::Many(cs)) => cs,
        };
        if classes.iter().any(|c| c.trim().is_empty()) {
            return Err(PolicyError(format!("{at}: `exception` has an empty class name")));
        }
        let message = match (self.message, self.message_regex) {
            (Some(_), Some(_)) => return Err(PolicyError(format!("{at}: give `message` or `message_regex`, not both"))),
            (Some(text), None) if text.is_empty() => return Err(PolicyError(format!("{at}: `message` is empty"))),
            (Some(text), None) if text.is_ascii() => Some(MessageMatch::Contains(text)),
            (Some(text), None) => Some(MessageMatch::Regex(compile(&regex::escape(&text), &at, "message")?)),
            (None, Some(re)) => Some(MessageMatch::Regex(compile(&re, &at, "message_regex")?)),
            (None, None) => None,
        };
        if classes.is_empty() && message.is_none() {
            return Err(PolicyError(format!("{at}: needs `exception` and/or `message`/`message_regex`, else it would match every failure")));
        }
        Ok(Rule { name, classes: classes.iter().map(|c| ClassPattern::new(c.trim())).collect(), message, action: self.action })
    }
}

/// A custom rule's case-insensitive expression, compiled (and so validated) when the
/// configuration is read; `field` names the rule's field in the error.
fn compile(pattern: &str, at: &str, field: &str) -> Result<Regex, PolicyError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| PolicyError(format!("{at}: `{field}` is not a valid regular expression: {e}")))
}

#[cfg(test)]
mod tests;
