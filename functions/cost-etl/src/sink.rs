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
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::future::Future;

/// Objects written at once for one job; also the most day bodies that exist at once.
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
        write_lazily(job, days, PUT_CONCURRENCY, to_jsonl, |key, body| put(self.client.clone(), self.bucket.clone(), key, body)).await
    }
}

/// Serialize (`serialize`: `to_jsonl`) and write each day, `concurrency` at a time, in date
/// order. A day's body is built only when its write starts and dropped when it ends, so at most
/// `concurrency` bodies exist at once (serializing every day up front held a second copy of the
/// whole job next to its rows). The first failed write fails the whole; the writes still in
/// flight are dropped.
async fn write_lazily<S, W, F, E>(job: &JobSpec, days: &BTreeMap<NaiveDate, Vec<CostRow>>, concurrency: usize, serialize: S, mut write: W) -> Result<WriteSummary, E>
where
    S: Fn(&[CostRow]) -> Vec<u8>,
    W: FnMut(String, Vec<u8>) -> F,
    F: Future<Output = Result<(), E>>,
{
    let mut summary = WriteSummary::default();
    let mut in_flight: FuturesUnordered<F> = FuturesUnordered::new();
    for (date, rows) in days {
        if in_flight.len() >= concurrency.max(1) {
            if let Some(done) = in_flight.next().await {
                done?;
            }
        }
        let body = serialize(rows);
        summary.days += 1;
        summary.rows += rows.len();
        summary.bytes += body.len();
        in_flight.push(write(object_key(job.platform, &job.account_id, *date), body));
    }
    while let Some(done) = in_flight.next().await {
        done?;
    }
    Ok(summary)
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

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    fn job(from: &str, to: &str) -> JobSpec {
        JobSpec::parse(&format!(r#"{{"platform":"meta","account_id":"act_1","date_from":"{from}","date_to":"{to}"}}"#)).unwrap()
    }

    fn days_of(job: &JobSpec, campaigns: usize) -> BTreeMap<NaiveDate, Vec<CostRow>> {
        job.days()
            .map(|date| {
                let rows: Vec<CostRow> = (0..campaigns)
                    .map(|c| CostRow {
                        date,
                        platform: job.platform,
                        account_id: job.account_id.to_string(),
                        campaign_id: c.to_string(),
                        campaign_name: format!("Campaign {c}"),
                        currency: "KRW".into(),
                        spend_micros: 1_500_000,
                        impressions: 10,
                        clicks: 1,
                    })
                    .collect();
                (date, rows)
            })
            .collect()
    }

    #[tokio::test]
    async fn bodies_are_built_when_their_write_starts_and_at_most_concurrency_exist_at_once() {
        let job = job("2026-11-01", "2026-11-30");
        let days = days_of(&job, 3);
        let (alive, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let written = Arc::new(Mutex::new(Vec::new()));
        // A body exists from its serialization until its write ends.
        let serialize = |rows: &[CostRow]| {
            let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            to_jsonl(rows)
        };
        let write = |key: String, body: Vec<u8>| {
            let (alive, written) = (alive.clone(), written.clone());
            async move {
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                written.lock().unwrap().push((key, body));
                alive.fetch_sub(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        };
        let summary = write_lazily(&job, &days, PUT_CONCURRENCY, serialize, write).await.unwrap();
        assert_eq!(most.load(Ordering::SeqCst), PUT_CONCURRENCY, "never more bodies than writes in flight");
        let written = written.lock().unwrap().clone();
        let total: usize = days.values().map(|rows| to_jsonl(rows).len()).sum();
        assert_eq!(summary, WriteSummary { days: 30, rows: 90, bytes: total });
        assert_eq!(written.len(), 30);
        for (date, rows) in &days {
            let key = object_key(job.platform, &job.account_id, *date);
            let (_, body) = written.iter().find(|(k, _)| *k == key).expect("every day written");
            assert_eq!(*body, to_jsonl(rows), "{key}");
        }
    }

    #[tokio::test]
    async fn the_first_failed_write_fails_the_job_and_an_empty_day_is_an_empty_object() {
        let job = job("2026-11-20", "2026-11-22");
        let mut days = days_of(&job, 2);
        days.insert(job.date_to, Vec::new());
        let failing = |key: String, body: Vec<u8>| async move {
            if key.contains("date=2026-11-21") {
                Err(format!("refused {key}"))
            } else {
                drop(body);
                Ok(())
            }
        };
        assert_eq!(write_lazily(&job, &days, 2, to_jsonl, failing).await.unwrap_err(), "refused costs/platform=meta/account=act_1/date=2026-11-21/costs.jsonl");
        let empty = Mutex::new(Vec::new());
        let summary = write_lazily(&job, &days, 2, to_jsonl, |key, body: Vec<u8>| {
            empty.lock().unwrap().push((key, body.len()));
            async { Ok::<(), ()>(()) }
        })
        .await
        .unwrap();
        assert_eq!((summary.days, summary.rows), (3, 4));
        assert!(empty.lock().unwrap().contains(&("costs/platform=meta/account=act_1/date=2026-11-22/costs.jsonl".to_string(), 0)));
    }

    #[test]
    fn keys_follow_the_design_layout() {
        let job = JobSpec::parse(r#"{"platform":"google_ads","account_id":"123-456-7890","date_from":"2026-11-20","date_to":"2026-11-20"}"#).unwrap();
        assert_eq!(object_key(job.platform, &job.account_id, job.date_from), "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl");
    }
}
