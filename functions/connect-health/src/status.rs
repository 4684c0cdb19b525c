//! Kafka Connect status shapes (`ConnectorStateInfo`) and the worker version, as parsed from
//! the REST API; no I/O here. These owned shapes serve the small, per-connector answers (a
//! connector's status, a restart's 202 body); the bulk `?expand=status` body is read straight
//! into compact digests instead ([`digest`](crate::digest)).

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// A connector or task state. Unknown states (from a newer worker) are kept as text and
/// counted as neither healthy nor failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum State {
    Running,
    Failed,
    Paused,
    Unassigned,
    Restarting,
    Stopped,
    Other(String),
}

impl State {
    /// Any ASCII case. Called for every task of every connector, so it allocates only for a
    /// state it does not know.
    pub fn parse(text: &str) -> State {
        let known = [
            ("RUNNING", State::Running),
            ("FAILED", State::Failed),
            ("PAUSED", State::Paused),
            ("UNASSIGNED", State::Unassigned),
            ("RESTARTING", State::Restarting),
            ("STOPPED", State::Stopped),
        ];
        match known.into_iter().find(|(name, _)| text.eq_ignore_ascii_case(name)) {
            Some((_, state)) => state,
            None => State::Other(common::text::truncate_bytes(text, 64).to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            State::Running => "RUNNING",
            State::Failed => "FAILED",
            State::Paused => "PAUSED",
            State::Unassigned => "UNASSIGNED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
            State::Other(s) => s,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(State::parse(&text))
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `GET /connectors/{name}/status`, and each `status` of `GET /connectors?expand=status`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: InstanceStatus,
    #[serde(default)]
    pub tasks: Vec<TaskStatus>,
    /// `source`, `sink` or `unknown`; absent on very old workers.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InstanceStatus {
    pub state: State,
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Absent when empty (Connect serialises it with `NON_EMPTY`).
    #[serde(default)]
    pub trace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TaskStatus {
    pub id: u32,
    pub state: State,
    #[serde(default)]
    pub worker_id: Option<String>,
    #[serde(default)]
    pub trace: Option<String>,
}

/// The Apache Kafka release a worker runs, from `GET /`'s `version`. Confluent Platform
/// builds report their own numbers (`7.4.0-ccs`); those are mapped to the Kafka release they
/// ship, since that is what decides the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KafkaVersion {
    pub major: u32,
    pub minor: u32,
}

impl KafkaVersion {
    /// `None` when the text is not a version; callers then assume the oldest API.
    pub fn parse(text: &str) -> Option<KafkaVersion> {
        let text = text.trim();
        let (numbers, suffix) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
            Some(i) => (&text[..i], &text[i..]),
            None => (text, ""),
        };
        let mut parts = numbers.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next().unwrap_or("0").parse().ok()?;
        let confluent = suffix.starts_with("-ccs") || suffix.starts_with("-ce");
        if confluent && major >= 5 {
            // CP 5.x ships AK 2.x, 6.0-6.2 ship AK 2.6-2.8, 7.x ships AK 3.x, 8.x ships AK 4.x.
            return Some(match major {
                5 => KafkaVersion { major: 2, minor },
                // Saturating: the worker chose the text, and "6.4294967295-ccs" must not overflow.
                6 => KafkaVersion { major: 2, minor: minor.saturating_add(6) },
                m => KafkaVersion { major: m - 4, minor },
            });
        }
        Some(KafkaVersion { major, minor })
    }

    /// `GET /connectors?expand=status` exists (KIP-465, Kafka 2.3).
    pub fn has_expand_status(self) -> bool {
        self >= KafkaVersion { major: 2, minor: 3 }
    }

    /// `POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true` exists (KIP-745,
    /// Kafka 3.0); older workers ignore the query and restart only the connector instance.
    pub fn has_restart_only_failed(self) -> bool {
        self >= KafkaVersion { major: 3, minor: 0 }
    }
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_status_bodies() {
        let body = r#"{"name":"es-sink","connector":{"state":"RUNNING","worker_id":"10.0.0.5:8083"},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":"10.0.0.5:8083"},
                     {"id":1,"state":"FAILED","worker_id":"10.0.0.6:8083","trace":"java.net.SocketTimeoutException: Read timed out\n"}],
            "type":"sink"}"#;
        let s: ConnectorStatus = serde_json::from_str(body).unwrap();
        assert_eq!(s.connector.state, State::Running);
        assert!(s.connector.trace.is_none());
        assert_eq!(s.tasks[1].state, State::Failed);
        assert_eq!(s.kind.as_deref(), Some("sink"));
        let odd: ConnectorStatus = serde_json::from_str(r#"{"name":"x","connector":{"state":"DEGRADED"}}"#).unwrap();
        assert_eq!(odd.connector.state, State::Other("DEGRADED".into()));
        assert!(odd.tasks.is_empty());
    }

    #[test]
    fn versions_and_features() {
        let v = |s| KafkaVersion::parse(s).unwrap();
        assert_eq!(v("2.2.1"), KafkaVersion { major: 2, minor: 2 });
        assert!(!v("2.2.1").has_expand_status());
        assert!(v("2.3.0").has_expand_status());
        assert!(!v("2.8.2").has_restart_only_failed());
        assert!(v("3.0.0").has_restart_only_failed());
        assert!(v("3.7.1").has_restart_only_failed());
        assert_eq!(v("7.4.0-ccs"), KafkaVersion { major: 3, minor: 4 });
        assert_eq!(v("6.2.1-ce"), KafkaVersion { major: 2, minor: 8 });
        assert_eq!(v("5.2.0-ccs"), KafkaVersion { major: 2, minor: 2 });
        assert_eq!(v("3.9.0-SNAPSHOT"), KafkaVersion { major: 3, minor: 9 });
        assert_eq!(KafkaVersion::parse("unknown"), None);
        assert_eq!(KafkaVersion::parse(""), None);
    }
}
