//! Restart state in DynamoDB: what each task's restarts were, so that backoff and caps hold
//! across invocations.
//!
//! Table (see docs/connect-health.md): partition key `connector_task` (S) =
//! `{cluster}/{connector}/{task id|connector}`; attributes `restart_count` (N),
//! `last_restart_at` (N, epoch seconds), `healthy_since` (N, optional), `version` (N) and the
//! TTL attribute `expires_at` (N). Every write is conditional on the version the run read,
//! so two overlapping invocations never both restart the same task: the second one's claim
//! fails and it reports the task as deferred.
//!
//! Without a table (`RESTART_STATE_TABLE` unset) nothing is remembered and every eligible
//! failure is restarted on every run.

use crate::backoff::RestartRecord;
use crate::plan::HistoryUpdate;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::error::AwsError;
use std::collections::HashMap;

pub const KEY: &str = "connector_task";
/// Records untouched this long are removed by DynamoDB's TTL (deleted connectors, tasks that
/// were left alone for good).
pub const RECORD_TTL_DAYS: i64 = 30;
/// More records than this are not read: the table holds only tasks restarted recently.
const MAX_RECORDS: usize = 200_000;

pub enum RestartState {
    Disabled,
    DynamoDb { client: aws_sdk_dynamodb::Client, table: String },
}

/// Result of trying to take the right to restart one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Won,
    /// Another invocation wrote the record since this run read it.
    Lost,
}

impl RestartState {
    pub fn enabled(&self) -> bool {
        matches!(self, RestartState::DynamoDb { .. })
    }

    /// All records (one paginated, strongly consistent Scan).
    pub async fn load(&self) -> Result<HashMap<String, RestartRecord>, AwsError> {
        let RestartState::DynamoDb { client, table } = self else { return Ok(HashMap::new()) };
        let mut items = client.scan().table_name(table).consistent_read(true).into_paginator().items().send();
        let mut records = HashMap::new();
        while let Some(item) = items.next().await {
            let item = item.map_err(|e| AwsError::new("dynamodb.Scan", &e))?;
            match parse_record(&item) {
                Some((key, record)) => {
                    records.insert(key, record);
                }
                None => tracing::warn!(table, "ignoring a restart-state item that is not in the expected shape"),
            }
            if records.len() >= MAX_RECORDS {
                tracing::warn!(table, MAX_RECORDS, "restart-state table holds more records than expected; reading no more");
                break;
            }
        }
        Ok(records)
    }

    /// Record a restart of `key`, provided nobody changed its record since `previous` was read.
    pub async fn claim(&self, key: &str, previous: Option<&RestartRecord>, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let RestartState::DynamoDb { client, table } = self else { return Ok(Claim::Won) };
        let count = previous.map_or(1, |r| r.count.saturating_add(1));
        let version = previous.map_or(1, |r| r.version + 1);
        let mut request = client
            .put_item()
            .table_name(table)
            .item(KEY, AttributeValue::S(key.to_string()))
            .item("restart_count", number(count))
            .item("last_restart_at", number(now.timestamp()))
            .item("version", number(version))
            .item("expires_at", number((now + Duration::days(RECORD_TTL_DAYS)).timestamp()));
        request = match previous {
            None => request.condition_expression("attribute_not_exists(#k)").expression_attribute_names("#k", KEY),
            Some(r) => request.condition_expression("#v = :v").expression_attribute_names("#v", "version").expression_attribute_values(":v", number(r.version)),
        };
        match request.send().await {
            Ok(_) => Ok(Claim::Won),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(Claim::Lost),
            Err(e) => Err(AwsError::new("dynamodb.PutItem", &e)),
        }
    }

    /// Apply one bookkeeping update; a lost race is not an error (the other run's write wins).
    pub async fn apply(&self, update: &HistoryUpdate, now: DateTime<Utc>) -> Result<(), AwsError> {
        let RestartState::DynamoDb { client, table } = self else { return Ok(()) };
        let (key, version) = match update {
            HistoryUpdate::MarkHealthy { key, version } | HistoryUpdate::ClearHealthy { key, version } | HistoryUpdate::Forget { key, version } => (key, *version),
        };
        let result = match update {
            HistoryUpdate::Forget { .. } => client
                .delete_item()
                .table_name(table)
                .key(KEY, AttributeValue::S(key.clone()))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", number(version))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()), AwsError::new("dynamodb.DeleteItem", &e))),
            HistoryUpdate::MarkHealthy { .. } | HistoryUpdate::ClearHealthy { .. } => {
                let expression = if matches!(update, HistoryUpdate::MarkHealthy { .. }) { "SET healthy_since = :now, #v = :next" } else { "REMOVE healthy_since SET #v = :next" };
                let mut request = client
                    .update_item()
                    .table_name(table)
                    .key(KEY, AttributeValue::S(key.clone()))
                    .update_expression(expression)
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", number(version))
                    .expression_attribute_values(":next", number(version + 1));
                if matches!(update, HistoryUpdate::MarkHealthy { .. }) {
                    request = request.expression_attribute_values(":now", number(now.timestamp()));
                }
                request
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()), AwsError::new("dynamodb.UpdateItem", &e)))
            }
        };
        match result {
            Ok(()) | Err((true, _)) => Ok(()),
            Err((false, e)) => Err(e),
        }
    }
}

fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn parse_record(item: &HashMap<String, AttributeValue>) -> Option<(String, RestartRecord)> {
    let key = item.get(KEY)?.as_s().ok()?.clone();
    let n = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|s| s.parse::<i64>().ok());
    let time = |secs: i64| Utc.timestamp_opt(secs, 0).single();
    Some((
        key,
        RestartRecord {
            count: u32::try_from(n("restart_count")?).ok()?,
            last_restart_at: time(n("last_restart_at")?)?,
            healthy_since: n("healthy_since").and_then(time),
            version: u64::try_from(n("version")?).ok()?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_items_and_rejects_malformed_ones() {
        let item: HashMap<String, AttributeValue> = [
            (KEY.to_string(), AttributeValue::S("main/es/1".into())),
            ("restart_count".to_string(), number(2)),
            ("last_restart_at".to_string(), number(1_700_000_000)),
            ("version".to_string(), number(4)),
        ]
        .into_iter()
        .collect();
        let (key, record) = parse_record(&item).unwrap();
        assert_eq!(key, "main/es/1");
        assert_eq!(record.count, 2);
        assert_eq!(record.version, 4);
        assert_eq!(record.healthy_since, None);
        assert_eq!(record.last_restart_at.timestamp(), 1_700_000_000);
        let mut bad = item.clone();
        bad.insert("restart_count".into(), number(-1));
        assert!(parse_record(&bad).is_none());
        let mut bad = item;
        bad.remove("version");
        assert!(parse_record(&bad).is_none());
    }
}
