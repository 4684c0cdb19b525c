//! The restart policy: which failures a restart can fix.
//!
//! A policy is an ordered list of rules; each matches an exception class and/or a message
//! pattern and says `restart` or `skip`. Causes are judged from the root outwards: for the
//! deepest cause every rule is tried in order, and only when none matches is the next outer
//! cause tried. So the root cause decides before its wrappers (a `DataException` caused by a
//! socket time-out is a network fault), and between rules that match the same cause the first
//! wins. The reason for each built-in rule is in docs/connect-health.md.

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
    message: Option<Regex>,
    pub action: Action,
}

impl Rule {
    fn matches(&self, cause: &Cause) -> bool {
        let class_ok = self.classes.is_empty() || self.classes.iter().any(|p| p.matches(cause));
        let message_ok = self.message.as_ref().is_none_or(|re| re.is_match(&cause.message));
        class_ok && message_ok
    }
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

/// `*`-only glob, iterative so that a hostile pattern cannot blow the stack.
fn glob_match(pattern: &str, subject: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = subject.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
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
    p[pi..].iter().all(|&c| c == '*')
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

    /// The built-in rules; see docs/connect-health.md for the reason behind each.
    pub fn builtin() -> Policy {
        use Action::{Restart, Skip};
        let rule = |name: &str, classes: &[&str], message: Option<&str>, action| Rule {
            name: name.to_string(),
            classes: classes.iter().map(|c| ClassPattern::new(c)).collect(),
            message: message.map(|m| RegexBuilder::new(m).case_insensitive(true).build().expect("built-in regex")),
            action,
        };
        let rules = vec![
            // Restarting cannot fix what a human must change.
            rule("config", &["*ConfigException"], None, Skip),
            rule("kafka-authentication", &["*AuthenticationException"], None, Skip),
            rule("kafka-authorization", &["*AuthorizationException"], None, Skip),
            rule("elasticsearch-security", &[], Some(r"security_exception|HTTP/[0-9.]+ 40[13]\b"), Skip),
            // Poison records: the same record fails again after a restart.
            rule("poison-data", &["*DataException"], None, Skip),
            rule("poison-serialization", &["*SerializationException"], None, Skip),
            rule("poison-magic-byte", &[], Some(r"Unknown magic byte!"), Skip),
            rule("poison-json-envelope", &[], Some(r#"requires "schema" and "payload""#), Skip),
            rule(
                "elasticsearch-malformed-document",
                &[],
                Some(
                    r"mapper_parsing_exception|strict_dynamic_mapping_exception|document_parsing_exception|action_request_validation_exception|illegal_argument_exception",
                ),
                Skip,
            ),
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
            rule("network-message", &[], Some(r"connection refused|connection reset|broken pipe|timed out|timeout expired"), Restart),
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
            rule("elasticsearch-overloaded", &[], Some(r"es_rejected_execution_exception|circuit_breaking_exception|HTTP/[0-9.]+ 429\b|Too Many Requests"), Restart),
            rule(
                "http-gateway",
                &[],
                Some(r"HTTP/[0-9.]+ 50[234]\b|\b50[234] (Bad Gateway|Service Unavailable|Gateway Time-?out)"),
                Restart,
            ),
            rule("elasticsearch-bulk-failed", &[], Some(r"Bulk request failed|Failed to execute bulk request"), Restart),
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
            (Some(text), None) => Some(regex::escape(&text)),
            (None, Some(re)) => Some(re),
            (None, None) => None,
        };
        if classes.is_empty() && message.is_none() {
            return Err(PolicyError(format!("{at}: needs `exception` and/or `message`/`message_regex`, else it would match every failure")));
        }
        let message = match message {
            None => None,
            Some(re) => Some(
                RegexBuilder::new(&re)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| PolicyError(format!("{at}: `message_regex` is not a valid regular expression: {e}")))?,
            ),
        };
        Ok(Rule { name, classes: classes.iter().map(|c| ClassPattern::new(c.trim())).collect(), message, action: self.action })
    }
}

#[cfg(test)]
mod tests;
