//! Queue addresses as the user types them: URLs, and the DLQ ARN of a redrive policy.
//!
//! Parsed once at the command line, so a typo fails before any AWS call with a message that
//! shows the expected shape.

use common::arn::{valid_queue_name, SqsQueueArn};
use std::fmt;
use std::str::FromStr;

/// An SQS queue URL: `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (or any http(s) endpoint
/// with a `/ACCOUNT/NAME` path, such as a local moto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    url: String,
    name: String,
}

impl QueueUrl {
    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// FIFO queues need a message group id and a deduplication id on every send.
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

impl fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

const URL_SHAPE: &str = "expected an SQS queue URL like https://sqs.eu-west-1.amazonaws.com/123456789012/cost-jobs";

impl FromStr for QueueUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        let parsed = url::Url::parse(raw).map_err(|e| format!("not a URL ({e}); {URL_SHAPE}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(format!("not an http(s) URL; {URL_SHAPE}"));
        }
        let segments: Vec<&str> = parsed.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
        let [_account, name] = segments.as_slice() else {
            return Err(format!("the path must be /ACCOUNT/QUEUE_NAME; {URL_SHAPE}"));
        };
        if !valid_queue_name(name) {
            return Err(format!("{name:?} is not a valid queue name (1-80 characters of A-Z a-z 0-9 _ -, optionally ending in .fifo)"));
        }
        Ok(QueueUrl { url: raw.to_string(), name: name.to_string() })
    }
}

/// The DLQ ARN from a queue's `RedrivePolicy` attribute (JSON with `deadLetterTargetArn`).
pub fn dead_letter_target(redrive_policy: &str) -> Result<SqsQueueArn, String> {
    let policy: serde_json::Value = serde_json::from_str(redrive_policy).map_err(|e| format!("RedrivePolicy is not JSON: {e}"))?;
    policy.get("deadLetterTargetArn").and_then(|v| v.as_str()).ok_or_else(|| "RedrivePolicy has no deadLetterTargetArn".to_string())?.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_and_local_queue_urls_parse_and_fifo_is_recognised() {
        let q: QueueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/cost-jobs".parse().unwrap();
        assert_eq!(q.name(), "cost-jobs");
        assert!(!q.is_fifo());
        let q: QueueUrl = "http://127.0.0.1:5000/123456789012/jobs.fifo".parse().unwrap();
        assert!(q.is_fifo());
    }

    #[test]
    fn malformed_urls_say_what_shape_is_expected() {
        for bad in ["cost-jobs", "https://sqs.eu-west-1.amazonaws.com/cost-jobs", "ftp://x/1/q", "https://x/1/bad name", "https://x/1/.fifo"] {
            let err = bad.parse::<QueueUrl>().unwrap_err();
            assert!(err.contains("queue"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_dlq_arn_comes_out_of_a_redrive_policy() {
        let arn = dead_letter_target(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:jobs-dlq","maxReceiveCount":5}"#).unwrap();
        assert_eq!((arn.account.as_str(), arn.name.as_str()), ("123456789012", "jobs-dlq"));
        assert!(dead_letter_target(r#"{"maxReceiveCount":5}"#).is_err());
        assert!(dead_letter_target(r#"{"deadLetterTargetArn":"arn:aws:sns:us-east-1:1:topic"}"#).is_err());
    }
}
