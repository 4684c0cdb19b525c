//! The whole pipeline on one machine, for `make run`.
//!
//! 1. build both functions; start moto, the Kafka Connect peer and the Meta peer on 127.0.0.1;
//! 2. create the queues, tables and bucket as serverless.yml defines them (stage `local`);
//! 3. run connect-health once under the Lambda Runtime API emulator and show what it published,
//!    restarted and skipped;
//! 4. enqueue a realistic set of jobs and drive cost-etl the way Lambda's SQS event source does;
//! 5. print a summary. Every process started here stops when the run ends.

pub mod demo;
pub mod event_source;
pub mod report;
pub mod stack;

use std::time::{Duration, Instant};
use test_support::{LambdaFunction, Moto};

pub const STAGE: &str = "local";

/// Progress printer: elapsed seconds, then the line.
pub struct Progress(Instant);

impl Progress {
    pub fn say(&self, line: &str) {
        eprintln!("[{:>5.1}s] {line}", self.0.elapsed().as_secs_f64());
    }
}

pub async fn run() -> Result<(), String> {
    let p = Progress(Instant::now());
    p.say("building connect-health and cost-etl (debug profile)");
    test_support::lambda::build_binary("connect-health");
    test_support::lambda::build_binary("cost-etl");

    p.say("starting moto_server, the Kafka Connect peer (Connect 3.7) and the Meta Insights peer");
    let moto = Moto::start();
    let aws = moto.sdk_config();
    let connect = demo::kafka_connect();
    let (connect_url, _connect_server) = peers::kafka_connect::serve(connect.clone()).await;
    let meta = demo::meta();
    let meta_url = peers::meta::serve(meta.clone()).await;

    p.say(&format!("creating queues, tables and bucket from serverless.yml (stage {STAGE}) on moto {}", moto.endpoint()));
    let stack = stack::create(&aws, STAGE).await?;
    let secrets_prefix = format!("pipeline/{STAGE}/ad-platforms");
    common::aws::secrets_client(&aws)
        .create_secret()
        .name(format!("{secrets_prefix}/meta"))
        .secret_string(serde_json::json!({ "access_token": demo::META_TOKEN }).to_string())
        .send()
        .await
        .map_err(|e| format!("CreateSecret: {e}"))?;

    // connect-health
    p.say("connect-health: one scheduled run");
    let mut env = moto.env();
    env.extend(
        [
            ("CONNECT_CLUSTERS", serde_json::json!([{ "name": "main", "url": connect_url }]).to_string()),
            ("METRICS_NAMESPACE", "KafkaConnect".to_string()),
            ("RESTART_STATE_TABLE", stack.restart_state_table.clone()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let health = LambdaFunction::start("connect-health", &env);
    let answer = health.invoke_event_file("connect-health-scheduled.json").await;
    if !answer.success {
        return Err(format!("connect-health failed: {}\n{}", answer.error, health.logs()));
    }
    let report: serde_json::Value = serde_json::from_str(&answer.output).map_err(|e| format!("connect-health answered no JSON: {e}"))?;
    println!("{}", report::connect_health(&report));
    let metrics = report::published_metrics(&common::aws::cloudwatch_client(&aws), "KafkaConnect").await?;
    println!("{metrics}");
    drop(health);

    // cost-etl
    let sqs = common::aws::sqs_client(&aws);
    let jobs = demo::job_messages();
    p.say(&format!("cost-etl: enqueueing {} job messages (good, duplicated, invalid, rate-limited, revoked)", jobs.len()));
    for (_, body) in &jobs {
        sqs.send_message().queue_url(&stack.jobs_queue_url).message_body(body).send().await.map_err(|e| format!("SendMessage: {e}"))?;
    }
    let mut env = moto.env();
    env.extend(
        [
            ("OUTPUT_BUCKET", stack.output_bucket.clone()),
            ("IDEMPOTENCY_TABLE", stack.idempotency_table.clone()),
            ("DLQ_URL", stack.dlq_url.clone()),
            ("SECRETS_PREFIX", secrets_prefix.clone()),
            ("META_API_BASE", meta_url.clone()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let etl = LambdaFunction::start("cost-etl", &env);
    p.say("cost-etl: draining the jobs queue like Lambda's SQS event source (batches of 10)");
    let stats = event_source::drain(&sqs, &stack.jobs_queue_url, &etl, 10, Duration::from_secs(240), |line| p.say(&format!("cost-etl: {line}"))).await;
    let logs = etl.logs();
    drop(etl);
    let stats = stats.map_err(|e| format!("{e}\n--- cost-etl logs ---\n{logs}"))?;

    let summary = report::cost_etl(&aws, &stack, &stats, &logs, meta.calls().len()).await?;
    println!("{summary}");
    p.say("done; stopping the peers and moto");
    Ok(())
}
