//! The SQS calls the commands make, and nothing else: every decision lives in the pure modules.
//!
//! Each call has a whole-operation deadline, so a hung endpoint cannot stall an Airflow task past
//! its own `--timeout`. A missing queue becomes [`CliError::QueueMissing`] naming the URL.

use crate::dead_letter::{DeadLetter, DEAD_LETTER_ATTRIBUTES};
use crate::drain::Reading;
use crate::error::CliError;
use crate::queue::{dead_letter_target, QueueUrl};
use crate::retry::EntryFailure;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::config::http::HttpResponse;
use common::error::AwsError;
use std::collections::HashMap;
use std::time::Duration;

/// Long enough for a 1 s long poll and a slow network; short enough to notice a dead endpoint.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A receive waits this long for messages, so an empty answer means the queue is empty rather
/// than that a short poll sampled the wrong servers.
const RECEIVE_WAIT_SECONDS: i32 = 1;

/// One message for SendMessageBatch.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Unique within its batch: `A-Za-z0-9_-`, at most 80 characters.
    pub id: String,
    pub body: String,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// String message attributes (name, value).
    pub attributes: Vec<(&'static str, String)>,
}

pub struct Sqs {
    client: aws_sdk_sqs::Client,
    endpoint: String,
    region: String,
}

impl Sqs {
    pub async fn from_env() -> Sqs {
        let config = common::aws::load_config().await;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let endpoint = config.endpoint_url().unwrap_or("the default AWS endpoint").to_string();
        let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| "(none: set AWS_REGION)".to_string());
        let sqs_config = aws_sdk_sqs::config::Builder::from(&config).timeout_config(timeouts).build();
        Sqs { client: aws_sdk_sqs::Client::from_conf(sqs_config), endpoint, region }
    }

    fn error<E>(&self, operation: &'static str, queue: &str, err: &SdkError<E, HttpResponse>) -> CliError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let aws = AwsError::new(operation, err);
        if aws.is_not_found() {
            CliError::QueueMissing { url: queue.to_string(), endpoint: self.endpoint.clone(), region: self.region.clone() }
        } else {
            CliError::Aws(aws)
        }
    }

    async fn attributes(&self, queue: &QueueUrl, names: &[QueueAttributeName]) -> Result<HashMap<QueueAttributeName, String>, CliError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(queue.as_str())
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| self.error("sqs.GetQueueAttributes", queue.as_str(), &e))?;
        Ok(out.attributes().cloned().unwrap_or_default())
    }

    /// Visible, in-flight and delayed message counts.
    pub async fn depth(&self, queue: &QueueUrl) -> Result<Reading, CliError> {
        use QueueAttributeName as N;
        let attrs = self.attributes(queue, &[N::ApproximateNumberOfMessages, N::ApproximateNumberOfMessagesNotVisible, N::ApproximateNumberOfMessagesDelayed]).await?;
        let count = |name: N| attrs.get(&name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Ok(Reading {
            visible: count(N::ApproximateNumberOfMessages),
            in_flight: count(N::ApproximateNumberOfMessagesNotVisible),
            delayed: count(N::ApproximateNumberOfMessagesDelayed),
        })
    }

    /// The DLQ named by the queue's redrive policy, or `None` when it has none.
    pub async fn dead_letter_queue_of(&self, queue: &QueueUrl) -> Result<Option<QueueUrl>, CliError> {
        let attrs = self.attributes(queue, &[QueueAttributeName::RedrivePolicy]).await?;
        let Some(policy) = attrs.get(&QueueAttributeName::RedrivePolicy).filter(|p| !p.trim().is_empty()) else {
            return Ok(None);
        };
        let arn = dead_letter_target(policy).map_err(|e| CliError::Other(format!("queue {queue}: {e}; pass --dlq-url")))?;
        let out = self
            .client
            .get_queue_url()
            .queue_name(&arn.name)
            .queue_owner_aws_account_id(&arn.account)
            .send()
            .await
            .map_err(|e| self.error("sqs.GetQueueUrl", &arn.name, &e))?;
        let url = out.queue_url().ok_or_else(|| CliError::Other(format!("GetQueueUrl gave no URL for {}", arn.name)))?;
        url.parse().map(Some).map_err(|e| CliError::Other(format!("GetQueueUrl answered {url:?}: {e}")))
    }

    /// One SendMessageBatch call; answers the entries that failed.
    pub async fn send_batch(&self, queue: &QueueUrl, batch: Vec<Outgoing>) -> Result<Vec<EntryFailure>, AwsError> {
        let entries = batch
            .into_iter()
            .map(|m| {
                let mut entry = SendMessageBatchRequestEntry::builder().id(m.id).message_body(m.body).set_message_group_id(m.group_id).set_message_deduplication_id(m.dedup_id);
                for (name, value) in m.attributes {
                    entry = entry.message_attributes(name, aws_sdk_sqs::types::MessageAttributeValue::builder().data_type("String").string_value(value).build().expect("data type set"));
                }
                entry.build().expect("id and body are always set")
            })
            .collect();
        let out = self
            .client
            .send_message_batch()
            .queue_url(queue.as_str())
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| AwsError::new("sqs.SendMessageBatch", &e))?;
        Ok(out.failed().iter().map(|f| EntryFailure { id: f.id().to_string(), code: f.code().to_string(), message: f.message().unwrap_or_default().to_string(), sender_fault: f.sender_fault() }).collect())
    }

    /// Receive up to `max` (<= 10) messages, hidden from others for `hold`.
    pub async fn receive(&self, queue: &QueueUrl, max: usize, hold: Duration) -> Result<Vec<DeadLetter>, CliError> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue.as_str())
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(hold.as_secs().min(43_200) as i32)
            .wait_time_seconds(RECEIVE_WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .set_message_attribute_names(Some(DEAD_LETTER_ATTRIBUTES.iter().map(|a| a.to_string()).collect()))
            .send()
            .await
            .map_err(|e| self.error("sqs.ReceiveMessage", queue.as_str(), &e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let attributes: HashMap<String, String> = m
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_string())))
                    .collect();
                let system: HashMap<String, String> = m.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
                Some(DeadLetter::from_parts(m.message_id()?, m.receipt_handle()?, m.body().unwrap_or_default(), &attributes, &system))
            })
            .collect())
    }

    /// Receive until `max` distinct messages or the queue answers empty. The messages stay
    /// hidden for `hold` so that later receives page on; release them with [`Sqs::release`].
    pub async fn peek(&self, queue: &QueueUrl, max: usize, hold: Duration) -> Result<Vec<DeadLetter>, CliError> {
        let mut seen: Vec<DeadLetter> = Vec::new();
        while seen.len() < max {
            let got = self.receive(queue, max - seen.len(), hold).await?;
            let fresh: Vec<DeadLetter> = got.into_iter().filter(|m| !seen.iter().any(|s| s.message_id == m.message_id)).collect();
            if fresh.is_empty() {
                break;
            }
            seen.extend(fresh);
        }
        Ok(seen)
    }

    /// Make received messages visible again at once. Best effort: a message not released here
    /// reappears by itself when its hold runs out.
    pub async fn release(&self, queue: &QueueUrl, messages: &[DeadLetter]) -> Result<(), CliError> {
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .receipt_handle(&m.receipt_handle)
                        .visibility_timeout(0)
                        .build()
                        .expect("id and handle are always set")
                })
                .collect();
            self.client
                .change_message_visibility_batch()
                .queue_url(queue.as_str())
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.error("sqs.ChangeMessageVisibilityBatch", queue.as_str(), &e))?;
        }
        Ok(())
    }

    /// Delete received messages; answers those that could not be deleted.
    pub async fn delete(&self, queue: &QueueUrl, messages: &[&DeadLetter]) -> Result<Vec<EntryFailure>, CliError> {
        let mut failures = Vec::new();
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| DeleteMessageBatchRequestEntry::builder().id(format!("m{i}")).receipt_handle(&m.receipt_handle).build().expect("id and handle are always set"))
                .collect();
            let out = self
                .client
                .delete_message_batch()
                .queue_url(queue.as_str())
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.error("sqs.DeleteMessageBatch", queue.as_str(), &e))?;
            for f in out.failed() {
                let index: usize = f.id().trim_start_matches('m').parse().unwrap_or(usize::MAX);
                let id = chunk.get(index).map_or_else(|| f.id().to_string(), |m| m.message_id.clone());
                failures.push(EntryFailure { id, code: f.code().to_string(), message: f.message().unwrap_or_default().to_string(), sender_fault: f.sender_fault() });
            }
        }
        Ok(failures)
    }
}
