//! Where normalized rows go: one S3 object per account and day, replaced whole on every run.
//!
//! `s3://{OUTPUT_BUCKET}/costs/platform={platform}/account={account_id}/date={YYYY-MM-DD}/costs.jsonl`
//! (Hive-style partitions, so Athena/Glue read it as a table). A PUT replaces an object
//! atomically, so a re-run of a job replaces its days instead of adding to them, and a reader
//! never sees half a day. Every day of a job is written (a day without rows as an empty
//! object), so a re-run that now finds nothing still clears what an earlier run wrote.
//! The key is built only from parsed parts (a `Platform`, a charset-checked `AccountId`, a
//! `NaiveDate`), so no input can choose a key outside `costs/`.

use cost_job::{AccountId, JobSpec, Platform};
use crate::normalize::{to_jsonl, CostRow};
use chrono::NaiveDate;
use common::error::AwsError;
use common::{ErrorClass, Retryable};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// Objects written at once for one job.
const PUT_CONCURRENCY: usize = 8;

pub fn object_key(platform: Platform, account: &AccountId, date: NaiveDate) -> String {
    format!("costs/platform={platform}/account={account}/date={date}/costs.jsonl")
}

#[derive(Debug, thiserror::Error)]
#[error("writing s3://{bucket}/{key} failed: {source}")]
pub struct SinkError {
    pub bucket: String,
    pub key: String,
    pub source: AwsError,
}

impl Retryable for SinkError {
    fn class(&self) -> ErrorClass {
        // Even a missing bucket is not the job's fault: keep the job, fix the deploy.
        ErrorClass::Retryable
    }
}

/// What a job wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteSummary {
    pub days: usize,
    pub rows: usize,
    pub bytes: usize,
}

#[derive(Clone)]
pub struct S3Sink {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Sink {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Sink { client, bucket: bucket.into() }
    }

    /// Write every day of `days` (from `normalize::group_by_day`); returns only when all are written.
    pub async fn write_days(&self, job: &JobSpec, days: &BTreeMap<NaiveDate, Vec<CostRow>>) -> Result<WriteSummary, SinkError> {
        // Owned work items: a stream of futures borrowing from `days` would not be provably
        // `Send` across the higher-ranked closure lifetimes.
        let puts: Vec<(String, Vec<u8>, usize)> = days.iter().map(|(date, rows)| (object_key(job.platform, &job.account_id, *date), to_jsonl(rows), rows.len())).collect();
        let summary = WriteSummary { days: puts.len(), rows: puts.iter().map(|p| p.2).sum(), bytes: puts.iter().map(|p| p.1.len()).sum() };
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        futures::stream::iter(puts.into_iter().map(move |(key, body, _)| put(client.clone(), bucket.clone(), key, body)))
            .buffer_unordered(PUT_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(summary)
    }
}

async fn put(client: aws_sdk_s3::Client, bucket: String, key: String, body: Vec<u8>) -> Result<(), SinkError> {
    client
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .content_type("application/x-ndjson")
        .body(body.into())
        .send()
        .await
        .map_err(|e| SinkError { source: AwsError::new("s3.PutObject", &e), bucket, key })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_design_layout() {
        let job = JobSpec::parse(r#"{"platform":"google_ads","account_id":"123-456-7890","date_from":"2026-11-20","date_to":"2026-11-20"}"#).unwrap();
        assert_eq!(object_key(job.platform, &job.account_id, job.date_from), "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl");
    }
}
