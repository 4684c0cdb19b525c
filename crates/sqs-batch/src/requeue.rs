//! Records that never started, on their last delivery: a fresh copy instead of the DLQ.
//!
//! SQS counts every delivery toward the queue's `maxReceiveCount`, failed or not. A record that
//! could not start (another invocation holds its idempotency claim, too little time was left,
//! its FIFO group stopped) has not failed, but returning it in `batchItemFailures` on the last
//! delivery the redrive policy allows sends it to the DLQ unprocessed. Waiting alone cannot fix
//! that near the limit. So such a record is sent to its queue again as a new message (receive
//! count 1), delayed until the hold is expected to end, and the original is acknowledged.
//!
//! Bounded: each copy carries a [`REQUEUES_ATTRIBUTE`] count, and a record already requeued
//! [`RequeueConfig::max_requeues`] times is left to the redrive policy. On a FIFO queue the copy
//! goes to the end of its message group with the group's id and no per-message delay (FIFO
//! queues have none); the deduplication id is derived from the original message id and the
//! requeue count, so a retried send is not a second copy.

use crate::batch::{BatchReport, NotStarted, RecordStatus};
use crate::pacing::{visibility_timeout, PacingConfig};
use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::types::MessageAttributeValue;
use std::time::Duration;

/// Message attribute (Number): how many times the message was requeued this way.
pub const REQUEUES_ATTRIBUTE: &str = "requeues";

/// SQS's longest per-message delay.
pub const SQS_MAX_DELAY: Duration = Duration::from_secs(900);

/// When a record counts as on its last delivery, and how often it may be requeued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequeueConfig {
    /// The queue's redrive policy `maxReceiveCount`; `None`: no redrive policy, nothing to do.
    pub max_receive_count: Option<u32>,
    /// A record requeued this many times is left to the redrive policy.
    pub max_requeues: u32,
}

impl Default for RequeueConfig {
    fn default() -> Self {
        RequeueConfig { max_receive_count: Some(5), max_requeues: 10 }
    }
}

/// Whether this delivery is the last one the redrive policy allows: failing it moves the
/// message to the DLQ.
pub fn is_last_delivery(receive_count: Option<u32>, max_receive_count: Option<u32>) -> bool {
    matches!((receive_count, max_receive_count), (Some(n), Some(max)) if n >= max)
}

/// How often `record` was requeued already (its [`REQUEUES_ATTRIBUTE`]).
pub fn requeues(record: &SqsMessage) -> u32 {
    record.message_attributes.get(REQUEUES_ATTRIBUTE).and_then(|a| a.string_value.as_deref()).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Whether a record's status means its work never began.
pub fn never_started<O>(status: &RecordStatus<O>) -> bool {
    match status {
        RecordStatus::NotStarted(NotStarted::DeadlineNear | NotStarted::GroupStopped { .. }) => true,
        RecordStatus::Failed(f) => f.not_started,
        _ => false,
    }
}

/// The records of `report` to requeue, with the delay of each copy: never started, on their last
/// delivery, requeued fewer than `max_requeues` times. The delay is the pacing wait (for a held
/// claim, the rest of the hold), capped at SQS's 15 minutes. Pure.
pub fn requeue_plan<O>(records: &[SqsMessage], report: &BatchReport<O>, pacing: &PacingConfig, config: &RequeueConfig) -> Vec<(usize, Duration)> {
    report
        .failed()
        .filter(|r| never_started(&r.status) && is_last_delivery(r.receive_count, config.max_receive_count))
        .filter(|r| records.get(r.index).is_some_and(|m| requeues(m) < config.max_requeues))
        .map(|r| {
            // From the second delivery on, pacing already waits out a held claim.
            let wait = visibility_timeout(&r.status, Some(r.receive_count.unwrap_or(2).max(2)), pacing).unwrap_or(pacing.not_started);
            (r.index, wait.min(SQS_MAX_DELAY))
        })
        .collect()
}

/// Send a delayed copy of every record of [`requeue_plan`] to the queue it came from; returns
/// the indexes whose copy was accepted (acknowledge those originals). A refused send leaves the
/// record failed, as it was.
pub async fn requeue<O>(client: &aws_sdk_sqs::Client, records: &[SqsMessage], report: &BatchReport<O>, pacing: &PacingConfig, config: &RequeueConfig) -> Vec<usize> {
    let mut sent = Vec::new();
    for (index, delay) in requeue_plan(records, report, pacing, config) {
        let record = &records[index];
        let Some(arn) = record.event_source_arn.as_deref().and_then(|arn| arn.parse::<common::arn::SqsQueueArn>().ok()) else { continue };
        let count = requeues(record) + 1;
        let mut send = client.send_message().queue_url(arn.queue_url()).message_body(record.body.as_deref().unwrap_or_default());
        for (name, value) in &record.message_attributes {
            let (Some(data_type), Some(text)) = (value.data_type.as_deref(), value.string_value.as_deref()) else { continue };
            if name != REQUEUES_ATTRIBUTE {
                send = send.message_attributes(name, MessageAttributeValue::builder().data_type(data_type).string_value(text).build().expect("data type set"));
            }
        }
        send = send.message_attributes(REQUEUES_ATTRIBUTE, MessageAttributeValue::builder().data_type("Number").string_value(count.to_string()).build().expect("data type set"));
        if arn.is_fifo() {
            send = send.message_group_id(record.attributes.get("MessageGroupId").map(String::as_str).unwrap_or("requeued"));
            let original = record.message_id.as_deref().unwrap_or_default();
            send = send.message_deduplication_id(common::key::sha256_hex(&format!("{original}:requeue:{count}")));
        } else {
            send = send.delay_seconds(i32::try_from(delay.as_secs()).unwrap_or(900));
        }
        match send.send().await {
            Ok(_) => {
                tracing::info!(message_id = record.message_id.as_deref().unwrap_or("-"), outcome = "requeued", delay_s = delay.as_secs(), requeues = count, "never started on its last delivery; sent again as a new message");
                sent.push(index);
            }
            Err(e) => tracing::warn!(message_id = record.message_id.as_deref().unwrap_or("-"), error = %common::error::AwsError::new("sqs.SendMessage", &e), "could not requeue; the record stays failed"),
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{RecordFailure, RecordReport};
    use aws_lambda_events::sqs::SqsMessageAttribute;

    fn message(id: &str, receive_count: u32, requeued: Option<&str>) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some("{}".into());
        m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:jobs".into());
        m.attributes.insert("ApproximateReceiveCount".into(), receive_count.to_string());
        if let Some(n) = requeued {
            let mut a = SqsMessageAttribute::default();
            a.data_type = Some("Number".into());
            a.string_value = Some(n.into());
            m.message_attributes.insert(REQUEUES_ATTRIBUTE.into(), a);
        }
        m
    }

    fn report(statuses: Vec<(u32, RecordStatus<()>)>) -> BatchReport<()> {
        BatchReport {
            records: statuses.into_iter().enumerate().map(|(index, (count, status))| RecordReport { index, message_id: Some(format!("m{index}")), receive_count: Some(count), status }).collect(),
        }
    }

    #[test]
    fn the_last_delivery_is_the_one_at_the_queues_max_receive_count() {
        assert!(!is_last_delivery(Some(4), Some(5)));
        assert!(is_last_delivery(Some(5), Some(5)));
        assert!(is_last_delivery(Some(6), Some(5)));
        assert!(!is_last_delivery(None, Some(5)));
        assert!(!is_last_delivery(Some(9), None));
    }

    #[test]
    fn only_records_that_never_started_on_their_last_delivery_are_requeued() {
        let held = RecordStatus::Failed(RecordFailure::not_started("held").with_retry_after(Some(Duration::from_secs(40))));
        let failed = RecordStatus::Failed(RecordFailure::new("HTTP 503"));
        let statuses = vec![
            (5, held.clone()),                                             // last delivery, held: requeue, wait out the hold
            (4, held.clone()),                                             // not the last: pacing's business
            (5, failed),                                                   // a real failure: the handler dead-letters it itself
            (5, RecordStatus::NotStarted(NotStarted::DeadlineNear)),       // no time left: requeue soon
            (5, RecordStatus::Done(())),                                   // acknowledged already
            (5, RecordStatus::TimedOut(Duration::from_secs(1))),           // it ran: not "never started"
            (5, held.clone()),                                             // requeued too often: left to the redrive policy
            (5, RecordStatus::Failed(RecordFailure::not_started("held").with_retry_after(Some(Duration::from_secs(5000))))),
        ];
        let records: Vec<SqsMessage> = statuses.iter().enumerate().map(|(i, (n, _))| message(&format!("m{i}"), *n, if i == 6 { Some("10") } else { None })).collect();
        let plan = requeue_plan(&records, &report(statuses), &PacingConfig::default(), &RequeueConfig::default());
        assert_eq!(plan, vec![(0, Duration::from_secs(40)), (3, Duration::from_secs(5)), (7, SQS_MAX_DELAY)]);
        assert_eq!(requeues(&records[6]), 10);
        assert_eq!(requeues(&records[0]), 0);
    }

    #[test]
    fn without_a_redrive_policy_nothing_is_requeued() {
        let records = vec![message("m0", 50, None)];
        let r = report(vec![(50, RecordStatus::NotStarted(NotStarted::DeadlineNear))]);
        assert!(requeue_plan(&records, &r, &PacingConfig::default(), &RequeueConfig { max_receive_count: None, max_requeues: 10 }).is_empty());
    }
}
