//! An SQS event source that behaves like Lambda's: receive a batch, invoke the function with an
//! `SqsEvent`, delete the records that are not in `batchItemFailures`, and leave the rest to come
//! back when their visibility timeout runs out (or whatever the function set it to), until the
//! queue's redrive policy moves exhausted ones to the dead-letter queue.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use test_support::LambdaFunction;

/// The Lambda event for a received batch, shaped as Lambda delivers it.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str, region: &str) -> SqsEvent {
    let records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(String::from);
            record.receipt_handle = m.receipt_handle().map(String::from);
            record.body = m.body().map(String::from);
            record.md5_of_body = m.md5_of_body().map(String::from);
            record.attributes = m.attributes().map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect()).unwrap_or_default();
            record.message_attributes = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| {
                            let mut attribute = aws_lambda_events::sqs::SqsMessageAttribute::default();
                            attribute.data_type = Some(v.data_type().to_string());
                            attribute.string_value = v.string_value().map(String::from);
                            (k.clone(), attribute)
                        })
                        .collect()
                })
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".to_string());
            record.event_source_arn = Some(queue_arn.to_string());
            record.aws_region = Some(region.to_string());
            record
        })
        .collect();
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// What to do with each received record after the function answered.
#[derive(Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Message ids to delete (acknowledged).
    pub delete: Vec<String>,
    /// Message ids left on the queue (to be delivered again).
    pub keep: Vec<String>,
}

/// Lambda's rule: a failed invocation, an unparseable answer, or a failure naming a record that
/// was not in the batch fails the whole batch; otherwise everything not listed is acknowledged.
pub fn settle(batch_ids: &[String], answer: Option<&SqsBatchResponse>) -> Settlement {
    let all_kept = || Settlement { delete: vec![], keep: batch_ids.to_vec() };
    let Some(answer) = answer else { return all_kept() };
    let failed: BTreeSet<&str> = answer.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    if failed.iter().any(|id| !batch_ids.iter().any(|b| b == id)) {
        return all_kept();
    }
    let (keep, delete) = batch_ids.iter().cloned().partition(|id| failed.contains(id.as_str()));
    Settlement { delete, keep }
}

/// Counters the summary prints.
#[derive(Debug, Default)]
pub struct DrainStats {
    pub batches: u32,
    pub records: u32,
    pub acknowledged: u32,
    pub returned: u32,
    pub invocation_errors: u32,
}

/// Drive `function` from `queue_url` until the queue is empty (visible, in flight and delayed)
/// or `limit`.
pub async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    function: &LambdaFunction,
    batch_size: i32,
    limit: Duration,
    progress: impl Fn(&str),
) -> Result<DrainStats, String> {
    poll(sqs, queue_url, function, batch_size, Some(limit), progress).await
}

/// Drive `function` from `queue_url` for as long as the caller keeps the future (an event source
/// that is always on, as on AWS); returns only on an error.
pub async fn serve(sqs: &aws_sdk_sqs::Client, queue_url: &str, function: &LambdaFunction, batch_size: i32, progress: impl Fn(&str)) -> Result<DrainStats, String> {
    poll(sqs, queue_url, function, batch_size, None, progress).await
}

/// `limit`: stop once the queue is empty, or fail when it is not empty by then; `None`: never stop.
async fn poll(sqs: &aws_sdk_sqs::Client, queue_url: &str, function: &LambdaFunction, batch_size: i32, limit: Option<Duration>, progress: impl Fn(&str)) -> Result<DrainStats, String> {
    let queue_arn = queue_attribute(sqs, queue_url, QueueAttributeName::QueueArn).await?;
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1").to_string();
    let started = Instant::now();
    let mut stats = DrainStats::default();
    loop {
        if let Some(limit) = limit.filter(|limit| started.elapsed() > *limit) {
            return Err(format!("the queue did not drain within {limit:?}"));
        }
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(batch_size)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let messages = received.messages();
        if messages.is_empty() {
            if limit.is_none() {
                continue;
            }
            let (visible, in_flight) = depth(sqs, queue_url).await?;
            if visible == 0 && in_flight == 0 {
                return Ok(stats);
            }
            progress(&format!("waiting: {in_flight} message(s) in flight or delayed until their visibility timeout or delay ends"));
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let event = sqs_event(messages, &queue_arn, &region);
        let ids: Vec<String> = event.records.iter().filter_map(|r| r.message_id.clone()).collect();
        let payload = serde_json::to_string(&event).map_err(|e| e.to_string())?;
        let invocation = function.invoke(&payload).await;
        let answer: Option<SqsBatchResponse> = if invocation.success { serde_json::from_str(&invocation.output).ok() } else { None };
        if !invocation.success {
            stats.invocation_errors += 1;
        }
        let settlement = settle(&ids, answer.as_ref());
        let receipts: HashMap<&str, &str> = messages.iter().filter_map(|m| Some((m.message_id()?, m.receipt_handle()?))).collect();
        for id in &settlement.delete {
            if let Some(receipt) = receipts.get(id.as_str()) {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(*receipt)
                    .send()
                    .await
                    .map_err(|e| format!("DeleteMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            }
        }
        stats.batches += 1;
        stats.records += ids.len() as u32;
        stats.acknowledged += settlement.delete.len() as u32;
        stats.returned += settlement.keep.len() as u32;
        progress(&format!(
            "batch {}: {} record(s), {} acknowledged, {} to be delivered again{}",
            stats.batches,
            ids.len(),
            settlement.delete.len(),
            settlement.keep.len(),
            if invocation.success { String::new() } else { format!(" (invocation failed: {})", invocation.error.trim()) }
        ));
    }
}

/// `(visible, in flight or delayed)` message counts.
pub async fn depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<(u64, u64), String> {
    let count = |text: String| text.parse::<u64>().unwrap_or(0);
    let visible = count(queue_attribute(sqs, queue_url, QueueAttributeName::ApproximateNumberOfMessages).await?);
    let in_flight = count(queue_attribute(sqs, queue_url, QueueAttributeName::ApproximateNumberOfMessagesNotVisible).await?);
    // A delayed message (a requeued copy) is still to come.
    let delayed = count(queue_attribute(sqs, queue_url, QueueAttributeName::ApproximateNumberOfMessagesDelayed).await?);
    Ok((visible, in_flight + delayed))
}

async fn queue_attribute(sqs: &aws_sdk_sqs::Client, queue_url: &str, name: QueueAttributeName) -> Result<String, String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(name.clone())
        .send()
        .await
        .map_err(|e| format!("GetQueueAttributes: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(out.attributes().and_then(|a| a.get(&name)).cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::BatchItemFailure;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn failures(v: &[&str]) -> SqsBatchResponse {
        let mut r = SqsBatchResponse::default();
        r.batch_item_failures = v
            .iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id.to_string();
                f
            })
            .collect();
        r
    }

    #[test]
    fn everything_not_listed_is_acknowledged() {
        let s = settle(&ids(&["a", "b", "c"]), Some(&failures(&["b"])));
        assert_eq!(s, Settlement { delete: ids(&["a", "c"]), keep: ids(&["b"]) });
    }

    #[test]
    fn a_failed_invocation_keeps_the_whole_batch() {
        assert_eq!(settle(&ids(&["a", "b"]), None), Settlement { delete: vec![], keep: ids(&["a", "b"]) });
    }

    #[test]
    fn a_failure_naming_an_unknown_record_fails_the_whole_batch_as_lambda_does() {
        assert_eq!(settle(&ids(&["a", "b"]), Some(&failures(&["zz"]))).keep, ids(&["a", "b"]));
    }

    #[test]
    fn the_event_carries_the_attributes_lambda_sends() {
        let m = aws_sdk_sqs::types::Message::builder()
            .message_id("m1")
            .receipt_handle("r1")
            .body("{}")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .build();
        let event = sqs_event(&[m], "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["Records"][0]["messageId"], "m1");
        assert_eq!(json["Records"][0]["eventSourceARN"], "arn:aws:sqs:us-east-1:123456789012:jobs");
        assert_eq!(json["Records"][0]["attributes"]["ApproximateReceiveCount"], "2");
    }
}
