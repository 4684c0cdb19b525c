//! The record of each orchestrator run's outcomes (`cost_job::run`), written as jobs of the run
//! complete or are dead-lettered: one `UpdateItem` per job outcome on the idempotency table.

use common::error::AwsError;
use cost_job::run::{DeadJob, RunId, ATTR_DONE, DEAD_PREFIX, RECORD_TTL_DAYS};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Writes run records; cheap to clone.
#[derive(Clone)]
pub struct RunRecorder {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn expiration() -> AttributeValue {
    AttributeValue::N((chrono::Utc::now().timestamp() + RECORD_TTL_DAYS * 86_400).to_string())
}

impl RunRecorder {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        RunRecorder { client, table: table.into() }
    }

    /// The job `token` of `run` completed (written, or found done already).
    pub async fn done(&self, run: &RunId, token: &str) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(run.record_id()))
            .update_expression("ADD #done :token SET #expiration = :expiration")
            .expression_attribute_names("#done", ATTR_DONE)
            .expression_attribute_names("#expiration", "expiration")
            .expression_attribute_values(":token", AttributeValue::Ss(vec![token.to_string()]))
            .expression_attribute_values(":expiration", expiration())
            .send()
            .await
            .map_err(|e| AwsError::new("dynamodb.UpdateItem", &e))?;
        Ok(())
    }

    /// The job `token` of `run` was dead-lettered, and why.
    pub async fn dead(&self, run: &RunId, token: &str, dead: &DeadJob) -> Result<(), AwsError> {
        let entry = HashMap::from([
            ("job".to_string(), AttributeValue::S(dead.job.clone())),
            ("reason_code".to_string(), AttributeValue::S(dead.reason_code.clone())),
            ("reason".to_string(), AttributeValue::S(dead.reason.clone())),
        ]);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(run.record_id()))
            .update_expression("SET #dead = :entry, #expiration = :expiration")
            .expression_attribute_names("#dead", format!("{DEAD_PREFIX}{token}"))
            .expression_attribute_names("#expiration", "expiration")
            .expression_attribute_values(":entry", AttributeValue::M(entry))
            .expression_attribute_values(":expiration", expiration())
            .send()
            .await
            .map_err(|e| AwsError::new("dynamodb.UpdateItem", &e))?;
        Ok(())
    }
}
