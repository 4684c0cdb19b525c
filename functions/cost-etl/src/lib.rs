//! cost-etl: turns SQS job messages into normalized daily ad-cost objects in S3.
//!
//! The job message is the `cost_job` contract crate's `JobSpec`; [`platforms`] fetch rows from the ad platforms;
//! [`normalize`] holds the row schema and exact money; [`sink`] writes a day per S3 object;
//! [`handler`] runs one record through all of that, and `sqs_batch::batch` runs the batch.

pub mod clients;
pub mod config;
pub mod emf;
pub mod handler;
pub mod metrics;
pub mod normalize;
pub mod platforms;
pub mod runs;
pub mod sink;
pub mod slots;

use crate::clients::Clients;
use crate::config::Config;
use crate::handler::{DeadLetters, JobHandler, Outcome};
use crate::platforms::Registry;
use crate::sink::S3Sink;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use sqs_batch::batch::{run_batch, BatchReport, RecordStatus};
use common::deadline::Deadline;
use sqs_batch::idempotency::{DynamoLedger, Ledger};
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;
use std::time::Instant;

/// Kept free at the end of an invocation to write the answer.
const ANSWER_RESERVE: std::time::Duration = std::time::Duration::from_millis(500);

/// Everything built once per cold start.
pub struct App {
    config: Arc<Config>,
    handler: JobHandler,
    /// For visibility changes on the queue the records came from.
    sqs: aws_sdk_sqs::Client,
}

impl App {
    /// Configuration from the process environment, clients from the default AWS chain.
    pub async fn from_env() -> Result<Self, Error> {
        let config = Config::from_env(&common::config::Env::from_process())?;
        let sdk = common::aws::lambda_config();
        let clients = Clients::from_sdk_config(&sdk)?;
        Ok(App::new(config, clients))
    }

    /// The production wiring: DynamoDB ledger, every platform adapter, S3 sink, SQS DLQ.
    pub fn new(config: Config, clients: Clients) -> App {
        let ledger = Arc::new(DynamoLedger::new(clients.dynamodb.clone(), config.idempotency_table.clone(), config.completed_ttl));
        let registry = Registry::from_config(&config, &clients);
        App::with_parts(config, clients, ledger, registry)
    }

    /// Wiring with a chosen ledger and registry (benches, tests).
    pub fn with_parts(config: Config, clients: Clients, ledger: Arc<dyn Ledger>, registry: Registry) -> App {
        let config = Arc::new(config);
        let handler = JobHandler {
            config: config.clone(),
            ledger,
            registry,
            sink: S3Sink::new(clients.s3.clone(), config.output_bucket.clone()),
            dead_letters: DeadLetters::new(clients.sqs.clone(), config.dlq_url.clone()),
            runs: crate::runs::RunRecorder::new(clients.dynamodb.clone(), config.idempotency_table.clone()),
        };
        App { config, handler, sqs: clients.sqs }
    }

    /// The Lambda handler. Never returns an error: a thrown error would redeliver the whole
    /// batch; failures are reported per record in `batchItemFailures`.
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let deadline = Deadline::from_context(&event.context, self.config.fallback_budget);
        Ok(self.process_invocation(&event.payload.records, deadline, Some(&event.context.request_id)).await.response())
    }

    /// Run a batch, requeue what never started on its last delivery, pace the records that come
    /// back, and log/measure it; the full per-record report, for tests and benches.
    pub async fn process(&self, records: &[SqsMessage], deadline: Deadline) -> BatchReport<Outcome> {
        self.process_invocation(records, deadline, None).await
    }

    /// [`App::process`] for one invocation: its request id goes on the metrics line too (the log
    /// lines carry it from the runtime's span).
    async fn process_invocation(&self, records: &[SqsMessage], deadline: Deadline, request_id: Option<&str>) -> BatchReport<Outcome> {
        let started = Instant::now();
        let mut report = run_batch(&self.handler, records, deadline, &self.config.batch).await;
        // What follows the batch runs inside the deadline too: a stalled SQS endpoint must not
        // make the function answer late (Lambda would then count the whole batch as failed).
        let after_batch = |d: &Deadline| d.remaining().saturating_sub(ANSWER_RESERVE);
        // A copy went back to the queue: acknowledge the original instead of letting the redrive
        // policy move it to the DLQ unprocessed.
        match tokio::time::timeout(after_batch(&deadline), sqs_batch::requeue::requeue(&self.sqs, records, &report, &self.config.pacing, &self.config.requeue)).await {
            Ok(requeued) => {
                for index in requeued {
                    report.records[index].status = RecordStatus::Done(Outcome::Requeued);
                }
            }
            Err(_) => tracing::warn!("requeueing never-started records ran out of time; they stay failed"),
        }
        // Advice only: whatever SQS answers, the failed records stay in batchItemFailures.
        match tokio::time::timeout(after_batch(&deadline), sqs_batch::pacing::apply(&self.sqs, records, &report, &self.config.pacing)).await {
            Ok(paced) if paced.failed > 0 => tracing::warn!(changed = paced.changed, failed = paced.failed, "some failed records keep the queue's visibility timeout"),
            Ok(_) => {}
            Err(_) => tracing::warn!("retry pacing ran out of time; the failed records keep the queue's visibility timeout"),
        }
        metrics::report_batch(&report, &self.config.metrics_namespace, started.elapsed(), request_id);
        report
    }
}
