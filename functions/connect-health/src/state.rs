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
//! A claim is written before the restart call; when the call then certainly restarted nothing
//! (never sent, 409, 404), the claim is given back ([`RestartState::rollback`]), so only
//! restarts that may have happened count toward backoff and caps.
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
/// Most items a run reads from the table. It holds only targets restarted in the last
/// `RECORD_TTL_DAYS`, so this many means TTL is off or something else writes there. Past it the
/// run stops reading with [`StateError::TooManyItems`] (restarts deferred) rather than work from
/// part of the history: a record left unread would look like a target never restarted. At
/// about 200 bytes an item, 100,000 items are some 20 MB: about 20 Scan pages of 1 MB and about
/// 4,900 read units per run (strongly consistent), a second or two (docs/connect-health.md).
pub const MAX_ITEMS: usize = 100_000;

pub enum RestartState {
    Disabled,
    DynamoDb {
        client: aws_sdk_dynamodb::Client,
        table: String,
        /// Most items read before [`StateError::TooManyItems`]; [`MAX_ITEMS`] in a deploy.
        max_items: usize,
        /// Items per Scan page; `None` (a deploy) lets DynamoDB fill 1 MB pages. Tests set a
        /// small page to make paging visible.
        page_items: Option<i32>,
    },
}

/// Why the restart state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "restart-state table {table} holds more than {limit} items, more than recent restarts can explain; \
         no restart is made until it holds fewer: check that TTL is enabled on its expires_at attribute \
         and that nothing else writes to the table (docs/connect-health.md#restart-state-table)"
    )]
    TooManyItems { table: String, limit: usize },
}

/// What giving a claim back came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollback {
    /// The record is as it was before the claim (or gone again, when there was none).
    Restored,
    /// Another invocation wrote the record after the claim; its write stands.
    Superseded,
}

/// The version a claim writes over `previous` (and that its rollback must find).
pub fn claimed_version(previous: Option<&RestartRecord>) -> u64 {
    previous.map_or(1, |r| r.version.saturating_add(1))
}

/// When DynamoDB's TTL removes a record whose last restart was at `last_restart`. A time read
/// back from the table can lie near chrono's last instant, where `+` would panic: it saturates.
fn expires_at(last_restart: DateTime<Utc>) -> i64 {
    last_restart.checked_add_signed(Duration::days(RECORD_TTL_DAYS)).unwrap_or(DateTime::<Utc>::MAX_UTC).timestamp()
}

/// Result of trying to take the right to restart one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Won,
    /// Another invocation wrote the record since this run read it.
    Lost,
}

impl RestartState {
    /// The table `table`, read up to [`MAX_ITEMS`] items in 1 MB pages.
    pub fn dynamodb(client: aws_sdk_dynamodb::Client, table: String) -> RestartState {
        RestartState::DynamoDb { client, table, max_items: MAX_ITEMS, page_items: None }
    }

    pub fn enabled(&self) -> bool {
        matches!(self, RestartState::DynamoDb { .. })
    }

    /// All records: a strongly consistent Scan, page after page (`LastEvaluatedKey`) to the
    /// end, or [`StateError::TooManyItems`] past `max_items` items; never a silent part of it.
    pub async fn load(&self) -> Result<HashMap<String, RestartRecord>, StateError> {
        let RestartState::DynamoDb { client, table, max_items, page_items } = self else { return Ok(HashMap::new()) };
        let mut items = client.scan().table_name(table).consistent_read(true).set_limit(*page_items).into_paginator().items().send();
        let mut records = HashMap::new();
        let mut read = 0usize;
        while let Some(item) = items.next().await {
            let item = item.map_err(|e| AwsError::new("dynamodb.Scan", &e))?;
            read += 1;
            if read > *max_items {
                return Err(StateError::TooManyItems { table: table.clone(), limit: *max_items });
            }
            match parse_record(&item) {
                Some((key, record)) => {
                    records.insert(key, record);
                }
                None => tracing::warn!(table, "ignoring a restart-state item that is not in the expected shape"),
            }
        }
        Ok(records)
    }

    /// Record a restart of `key`, provided nobody changed its record since `previous` was read.
    pub async fn claim(&self, key: &str, previous: Option<&RestartRecord>, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let RestartState::DynamoDb { client, table, .. } = self else { return Ok(Claim::Won) };
        let count = previous.map_or(1, |r| r.count.saturating_add(1));
        let version = claimed_version(previous);
        let mut request = client
            .put_item()
            .table_name(table)
            .item(KEY, AttributeValue::S(key.to_string()))
            .item("restart_count", number(count))
            .item("last_restart_at", number(now.timestamp()))
            .item("version", number(version))
            .item("expires_at", number(expires_at(now)));
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

    /// Give back a claim whose restart call certainly restarted nothing: put `previous` back as
    /// it was (or delete the record when there was none), provided the record is still the
    /// claim's, version `mine` ([`claimed_version`]). Restoring the same version is safe: a
    /// run that read it saw exactly this content.
    pub async fn rollback(&self, key: &str, previous: Option<&RestartRecord>, mine: u64) -> Result<Rollback, AwsError> {
        let RestartState::DynamoDb { client, table, .. } = self else { return Ok(Rollback::Restored) };
        let result = match previous {
            None => delete_at_version(client, table, key, mine).await,
            Some(r) => {
                let mut request = client
                    .put_item()
                    .table_name(table)
                    .item(KEY, AttributeValue::S(key.to_string()))
                    .item("restart_count", number(r.count))
                    .item("last_restart_at", number(r.last_restart_at.timestamp()))
                    .item("version", number(r.version))
                    .item("expires_at", number(expires_at(r.last_restart_at)))
                    .condition_expression("#v = :mine")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":mine", number(mine));
                if let Some(since) = r.healthy_since {
                    request = request.item("healthy_since", number(since.timestamp()));
                }
                request
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()), AwsError::new("dynamodb.PutItem", &e)))
            }
        };
        match result {
            Ok(()) => Ok(Rollback::Restored),
            Err((true, _)) => Ok(Rollback::Superseded),
            Err((false, e)) => Err(e),
        }
    }

    /// Apply one bookkeeping update; a lost race is not an error (the other run's write wins).
    pub async fn apply(&self, update: &HistoryUpdate, now: DateTime<Utc>) -> Result<(), AwsError> {
        let RestartState::DynamoDb { client, table, .. } = self else { return Ok(()) };
        let (key, version) = match update {
            HistoryUpdate::MarkHealthy { key, version } | HistoryUpdate::ClearHealthy { key, version } | HistoryUpdate::Forget { key, version } => (key, *version),
        };
        let result = match update {
            HistoryUpdate::Forget { .. } => delete_at_version(client, table, key, version).await,
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

/// Delete `key`'s record only while it is still at `version`; `Err((true, _))` when another run
/// wrote it since (the condition failed), `Err((false, _))` for any other failure.
async fn delete_at_version(client: &aws_sdk_dynamodb::Client, table: &str, key: &str, version: u64) -> Result<(), (bool, AwsError)> {
    client
        .delete_item()
        .table_name(table)
        .key(KEY, AttributeValue::S(key.to_string()))
        .condition_expression("#v = :v")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":v", number(version))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()), AwsError::new("dynamodb.DeleteItem", &e)))
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

    #[test]
    fn a_claim_writes_the_next_version_and_a_rollback_expects_it() {
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(claimed_version(None), 1);
        assert_eq!(claimed_version(Some(&RestartRecord { count: 2, last_restart_at: at, healthy_since: None, version: 7 })), 8);
        assert_eq!(claimed_version(Some(&RestartRecord { count: 2, last_restart_at: at, healthy_since: None, version: u64::MAX })), u64::MAX, "no overflow");
        assert_eq!(expires_at(at), 1_700_000_000 + 30 * 86_400, "restored records keep the expiry their restart gave them");
        assert_eq!(expires_at(DateTime::<Utc>::MAX_UTC), DateTime::<Utc>::MAX_UTC.timestamp(), "no panic at the end of time");
    }

    #[test]
    fn too_many_items_says_what_to_check() {
        let text = StateError::TooManyItems { table: "restarts".into(), limit: 100_000 }.to_string();
        assert!(text.starts_with("restart-state table restarts holds more than 100000 items"), "{text}");
        assert!(text.contains("TTL is enabled on its expires_at attribute"), "{text}");
        assert!(!text.contains("  "), "one line, no wrapped spaces: {text}");
    }
}
