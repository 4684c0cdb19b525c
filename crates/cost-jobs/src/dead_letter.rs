//! A dead-lettered job as the CLI shows it: the body and the attributes the worker attached.
//!
//! The attribute names are the contract with cost-etl (`cost_job::attributes`), which sets them
//! when it sends a message to `DLQ_URL`. Messages that SQS moved after `maxReceiveCount` failed receives carry
//! none of them; they show the receive count instead.

use common::text::bounded;
use serde::Serialize;
use std::collections::HashMap;

use cost_job::attributes::{
    ERROR_CLASS as ATTR_ERROR_CLASS, FAILED_AT as ATTR_FAILED_AT, ORIGINAL_MESSAGE_ID as ATTR_ORIGINAL_MESSAGE_ID, REASON as ATTR_REASON, REASON_CODE as ATTR_REASON_CODE,
    RUN_ID as ATTR_RUN_ID,
};
pub use cost_job::attributes::DEAD_LETTER_ATTRIBUTES;

/// Bodies are printed for humans; a hostile or huge body is cut short.
const MAX_SHOWN_BODY_CHARS: usize = 2_000;

/// A job's last failure as the worker's ledger remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastError {
    pub code: String,
    pub message: String,
    /// RFC 3339, UTC.
    pub at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    /// The body as JSON when it is JSON, else the raw text.
    pub job: serde_json::Value,
    pub reason: Option<String>,
    pub reason_code: Option<String>,
    pub error_class: Option<String>,
    pub original_message_id: Option<String>,
    pub failed_at: Option<String>,
    /// The orchestrator run the job belongs to (kept on a redrive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub receive_count: Option<u64>,
    /// When the message was first sent (SQS keeps this across a redrive-policy move).
    pub sent_at: Option<String>,
    /// The job's last failure from the worker's idempotency ledger (`dlq list --ledger-table`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    #[serde(skip)]
    pub body: String,
    #[serde(skip)]
    pub receipt_handle: String,
}

impl DeadLetter {
    /// Build from the parts of an SQS message; `attributes` are its string message attributes,
    /// `system` its system attributes (ApproximateReceiveCount, SentTimestamp).
    pub fn from_parts(message_id: &str, receipt_handle: &str, body: &str, attributes: &HashMap<String, String>, system: &HashMap<String, String>) -> Self {
        let job = serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(body.to_string()));
        let sent_at = system
            .get("SentTimestamp")
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        DeadLetter {
            message_id: message_id.to_string(),
            job,
            reason: attributes.get(ATTR_REASON).cloned(),
            reason_code: attributes.get(ATTR_REASON_CODE).cloned(),
            error_class: attributes.get(ATTR_ERROR_CLASS).cloned(),
            original_message_id: attributes.get(ATTR_ORIGINAL_MESSAGE_ID).cloned(),
            failed_at: attributes.get(ATTR_FAILED_AT).cloned(),
            run_id: attributes.get(ATTR_RUN_ID).cloned(),
            receive_count: system.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()),
            sent_at,
            last_error: None,
            body: body.to_string(),
            receipt_handle: receipt_handle.to_string(),
        }
    }

    /// The ledger key of the job this dead letter carries, when its body is a job. A refresh job
    /// is keyed by the message id it had on the jobs queue.
    pub fn ledger_key(&self) -> Option<common::key::IdempotencyKey> {
        // Only the key matters here, not the worker's MAX_JOB_DAYS: take any range.
        let limits = cost_job::JobLimits { max_days: u32::MAX };
        let message = cost_job::JobMessage::parse_with(&self.body, &limits).ok()?;
        let run = self.run_id.as_deref().and_then(|r| r.parse::<cost_job::RunId>().ok());
        Some(cost_job::idempotency_key(&message, Some(self.original_message_id.as_deref().unwrap_or(&self.message_id)), run.as_ref()))
    }

    /// When it reached the DLQ as best known: the worker's `failed_at`, else the first send.
    pub fn arrived_at(&self) -> Option<&str> {
        self.failed_at.as_deref().or(self.sent_at.as_deref())
    }

    /// Two lines for a terminal: the job, then why it is here. Control characters are escaped so
    /// a body cannot rewrite the operator's terminal.
    pub fn render(&self) -> String {
        let reason = match (&self.reason, self.receive_count) {
            (Some(reason), _) => format!("reason: {}", bounded(reason, 500)),
            (None, Some(n)) => format!("reason: (none given; moved by the redrive policy after {n} receives)"),
            (None, None) => "reason: (none given)".to_string(),
        };
        let mut details = vec![reason];
        if let Some(code) = &self.reason_code {
            details.push(format!("code: {}", bounded(code, 50)));
        }
        if let Some(class) = &self.error_class {
            details.push(format!("class: {}", bounded(class, 50)));
        }
        if let Some(n) = self.receive_count {
            details.push(format!("receives: {n}"));
        }
        if let Some(id) = &self.original_message_id {
            details.push(format!("original message: {}", bounded(id, 100)));
        }
        if let Some(at) = &self.failed_at {
            details.push(format!("failed: {}", bounded(at, 40)));
        }
        if let Some(at) = &self.sent_at {
            details.push(format!("sent: {at}"));
        }
        if let Some(last) = &self.last_error {
            details.push(format!("last error: {}: {}", bounded(&last.code, 50), bounded(&last.message, 500)));
        }
        format!("{}  {}\n    {}", bounded(&self.message_id, 100), bounded(&self.body, MAX_SHOWN_BODY_CHARS), details.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn worker_attributes_and_receive_count_are_picked_up() {
        let dl = DeadLetter::from_parts(
            "m-1",
            "h",
            r#"{"platform":"nope","account_id":"act_1","date_from":"2026-11-01","date_to":"2026-11-01"}"#,
            &map(&[
                (ATTR_REASON, "unknown platform \"nope\""),
                (ATTR_REASON_CODE, "unknown_platform"),
                (ATTR_ERROR_CLASS, "permanent"),
                (ATTR_ORIGINAL_MESSAGE_ID, "orig-9"),
                (ATTR_FAILED_AT, "2026-11-18T12:00:00Z"),
            ]),
            &map(&[("ApproximateReceiveCount", "2"), ("SentTimestamp", "1795000000000")]),
        );
        assert_eq!(dl.job["platform"], "nope");
        assert_eq!(dl.reason.as_deref(), Some("unknown platform \"nope\""));
        assert_eq!(dl.error_class.as_deref(), Some("permanent"));
        assert_eq!(dl.original_message_id.as_deref(), Some("orig-9"));
        assert_eq!(dl.receive_count, Some(2));
        assert_eq!(dl.sent_at.as_deref(), Some("2026-11-18T11:06:40Z"));
        assert_eq!(dl.arrived_at(), Some("2026-11-18T12:00:00Z"), "the worker's time wins over the first send");
        assert_eq!(dl.reason_code.as_deref(), Some("unknown_platform"));
        let text = dl.render();
        assert!(text.contains("reason: unknown platform") && text.contains("original message: orig-9"), "{text}");
    }

    #[test]
    fn a_redrive_policy_move_says_so_and_a_non_json_body_is_kept_as_text() {
        let dl = DeadLetter::from_parts("m-2", "h", "not json", &HashMap::new(), &map(&[("ApproximateReceiveCount", "5")]));
        assert_eq!(dl.job, serde_json::Value::String("not json".into()));
        assert!(dl.render().contains("moved by the redrive policy after 5 receives"), "{}", dl.render());
    }

    #[test]
    fn control_characters_are_escaped_and_long_text_is_cut() {
        assert_eq!(bounded("a\u{1b}[2Jb\n", 100), "a\\u{1b}[2Jb\\n");
        assert_eq!(bounded(&"x".repeat(10), 3), "xxx...");
    }

    #[test]
    fn json_output_leaves_out_the_receipt_handle() {
        let dl = DeadLetter::from_parts("m-3", "secret-handle", "{}", &HashMap::new(), &HashMap::new());
        let json = serde_json::to_string(&dl).unwrap();
        assert!(!json.contains("secret-handle") && json.contains("\"message_id\":\"m-3\""), "{json}");
    }
}
