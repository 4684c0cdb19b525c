//! Run records in the worker's idempotency table (`cost_job::run`): `enqueue --run-id` records
//! how many jobs it sent, `wait --run-id` reads what became of them.

use crate::error::CliError;
use aws_sdk_dynamodb::types::AttributeValue;
use common::error::AwsError;
use cost_job::run::{expected_part, DeadJob, RunId, RunStatus, ATTR_DONE, DEAD_PREFIX, EXPECTED_PREFIX, RECORD_TTL_DAYS};
use std::collections::{BTreeMap, HashMap};

pub struct Runs {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// A DynamoDB client for the worker's idempotency table (the SDK's time-out ceilings apply,
/// `common::aws`), shared by the run records and the ledger reader.
pub async fn table_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&common::aws::load_config().await)
}

impl Runs {
    pub async fn from_env(table: &str) -> Runs {
        Runs { client: table_client().await, table: table.to_string() }
    }

    /// Record that the enqueue described by `request` sent `jobs` jobs for `run`. Idempotent
    /// per request (a retried enqueue overwrites its own count); several requests add up.
    pub async fn expect(&self, run: &RunId, request: &str, jobs: usize) -> Result<(), CliError> {
        let expiration = chrono::Utc::now().timestamp() + RECORD_TTL_DAYS * 86_400;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(run.record_id()))
            .update_expression("SET #part = :jobs, #expiration = :expiration")
            .expression_attribute_names("#part", format!("{EXPECTED_PREFIX}{}", expected_part(request)))
            .expression_attribute_names("#expiration", "expiration")
            .expression_attribute_values(":jobs", AttributeValue::N(jobs.to_string()))
            .expression_attribute_values(":expiration", AttributeValue::N(expiration.to_string()))
            .send()
            .await
            .map_err(|e| CliError::Aws(AwsError::new("dynamodb.UpdateItem", &e)))?;
        Ok(())
    }

    /// What the run's record says now (consistent read); `None` when the run has no record.
    pub async fn status(&self, run: &RunId) -> Result<Option<RunStatus>, CliError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(run.record_id()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| CliError::Aws(AwsError::new("dynamodb.GetItem", &e)))?;
        Ok(out.item().map(status_of))
    }
}

/// A run record's item, read (malformed parts are skipped).
pub fn status_of(item: &HashMap<String, AttributeValue>) -> RunStatus {
    let mut expected = Vec::new();
    let mut dead = BTreeMap::new();
    let mut done = Vec::new();
    for (name, value) in item {
        if name.starts_with(EXPECTED_PREFIX) {
            if let Some(n) = value.as_n().ok().and_then(|n| n.parse::<u64>().ok()) {
                expected.push(n);
            }
        } else if let Some(token) = name.strip_prefix(DEAD_PREFIX) {
            if let Ok(entry) = value.as_m() {
                let text = |k: &str| entry.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                dead.insert(token.to_string(), DeadJob { job: text("job"), reason_code: text("reason_code"), reason: text("reason") });
            }
        } else if name == ATTR_DONE {
            if let Ok(tokens) = value.as_ss() {
                done = tokens.clone();
            }
        }
    }
    RunStatus::from_parts(&expected, &done, &dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_record_reads_as_its_status() {
        let mut item = HashMap::new();
        item.insert("id".to_string(), AttributeValue::S("run#r1".into()));
        item.insert("expected_aaaa".to_string(), AttributeValue::N("2".into()));
        item.insert("expected_bbbb".to_string(), AttributeValue::N("1".into()));
        item.insert("done".to_string(), AttributeValue::Ss(vec!["t1".into(), "t2".into()]));
        let entry = HashMap::from([("job".to_string(), AttributeValue::S("meta/act_1/2026-11-20..2026-11-20".into())), ("reason_code".to_string(), AttributeValue::S("platform.invalid_credentials".into())), ("reason".to_string(), AttributeValue::S("token expired".into()))]);
        item.insert("dead_t3".to_string(), AttributeValue::M(entry));
        item.insert("expected_bad".to_string(), AttributeValue::S("x".into()));
        let status = status_of(&item);
        assert_eq!((status.expected, status.done, status.finished), (3, 2, true));
        assert_eq!(status.dead_lettered[0].reason_code, "platform.invalid_credentials");
        assert!(!status_of(&HashMap::new()).finished, "no record yet: not finished");
    }
}
