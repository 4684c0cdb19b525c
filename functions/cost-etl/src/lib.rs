//! cost-etl: turns SQS job messages into normalized daily ad-cost objects in S3.

pub mod job;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};

/// Everything built once per cold start.
pub struct App {}

impl App {
    pub async fn from_env() -> Result<Self, Error> {
        Ok(App {})
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        tracing::info!(records = event.payload.records.len(), "cost-etl batch");
        Ok(SqsBatchResponse::default())
    }
}
