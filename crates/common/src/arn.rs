//! SQS queue ARNs (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`), parsed once into their parts.

use std::fmt;
use std::str::FromStr;

/// An SQS queue ARN whose parts are safe to put in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsQueueArn {
    pub partition: String,
    pub region: String,
    /// Twelve digits on AWS; moto uses digits too.
    pub account: String,
    /// Queue name: `A-Za-z0-9_-`, at most 80 characters, `.fifo` suffix for FIFO queues.
    pub name: String,
}

/// A queue name as SQS allows it.
pub fn valid_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty() && name.len() <= 80 && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SqsQueueArn {
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    /// The queue URL, built rather than looked up (no `sqs:GetQueueUrl` needed). SQS reads only
    /// the account and name from it; the request goes to the client's endpoint (moto included).
    pub fn queue_url(&self) -> String {
        let domain = match self.partition.as_str() {
            "aws-cn" => "amazonaws.com.cn",
            _ => "amazonaws.com",
        };
        format!("https://sqs.{}.{domain}/{}/{}", self.region, self.account, self.name)
    }
}

impl FromStr for SqsQueueArn {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let label = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        match raw.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", partition, "sqs", region, account, name]
                if label(partition) && label(region) && !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) && valid_queue_name(name) =>
            {
                Ok(SqsQueueArn { partition: partition.to_string(), region: region.to_string(), account: account.to_string(), name: name.to_string() })
            }
            _ => Err(format!("{} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", crate::text::quote_bounded(raw, 200))),
        }
    }
}

impl fmt::Display for SqsQueueArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:sqs:{}:{}:{}", self.partition, self.region, self.account, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_come_from_sqs_arns_only() {
        let url = |arn: &str| arn.parse::<SqsQueueArn>().map(|a| a.queue_url());
        assert_eq!(url("arn:aws:sqs:eu-west-1:123456789012:jobs").unwrap(), "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs");
        assert_eq!(url("arn:aws:sqs:us-east-1:123456789012:jobs.fifo").unwrap(), "https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo");
        assert_eq!(url("arn:aws-cn:sqs:cn-north-1:123456789012:q").unwrap(), "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q");
        for bad in ["", "arn:aws:sns:us-east-1:123456789012:t", "arn:aws:sqs:us-east-1:acct:q", "arn:aws:sqs:us-east-1:123:", "arn:aws:sqs:us-east-1:123:a/b", "arn:aws:sqs:us-east-1:123:q:extra", "arn:aws:sqs:us/east:123:q"] {
            assert!(bad.parse::<SqsQueueArn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parts_and_display_round_trip() {
        let arn: SqsQueueArn = "arn:aws:sqs:us-east-1:123456789012:jobs-dlq.fifo".parse().unwrap();
        assert_eq!((arn.account.as_str(), arn.name.as_str(), arn.is_fifo()), ("123456789012", "jobs-dlq.fifo", true));
        assert_eq!(arn.to_string(), "arn:aws:sqs:us-east-1:123456789012:jobs-dlq.fifo");
        let err = "arn:aws:sqs:x:1:a b\n".parse::<SqsQueueArn>().unwrap_err();
        assert!(err.contains("is not an SQS queue ARN") && !err.contains('\n'), "{err}");
    }
}
