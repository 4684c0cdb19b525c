//! The whole pipeline on one machine, for `make run`.
//!
//! 1. build both functions; start moto, the Kafka Connect peer and the Meta, Google Ads and
//!    TikTok peers on 127.0.0.1;
//! 2. create the queues, tables and bucket as serverless.yml defines them (stage `local`);
//! 3. run connect-health once under the Lambda Runtime API emulator and show what it published,
//!    restarted and skipped;
//! 4. enqueue a realistic set of jobs and drive cost-etl the way Lambda's SQS event source does;
//! 5. print a summary. Every process started here stops when the run ends.

pub mod demo;
pub mod event_source;
pub mod report;
pub mod serve;
pub mod stack;

use std::time::{Duration, Instant};
use test_support::{LambdaFunction, Moto};

pub const STAGE: &str = "local";

/// Progress printer: elapsed seconds, then the line.
pub struct Progress(Instant);

impl Progress {
    pub fn start() -> Progress {
        Progress(Instant::now())
    }

    pub fn say(&self, line: &str) {
        eprintln!("[{:>5.1}s] {line}", self.0.elapsed().as_secs_f64());
    }
}

/// What the run did, for callers that check it (the pipeline's own test).
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// connect-health's JSON report.
    pub connect_health: serde_json::Value,
    pub cost_etl: report::CostEtlSummary,
}

/// Everything both modes start: moto with the stack from serverless.yml and the platform
/// secrets, the Kafka Connect peer and the three ad-platform peers seeded with the demo world.
/// Dropping it stops them.
struct World {
    moto: Moto,
    aws: aws_config::SdkConfig,
    stack: stack::Stack,
    connect_url: String,
    _connect_server: tokio::task::JoinHandle<()>,
    platforms: peers::AdPlatforms,
    secrets_prefix: String,
}

async fn start_world(p: &Progress) -> Result<World, String> {
    p.say("starting moto_server, the Kafka Connect peer (Connect 3.7) and the Meta, Google Ads and TikTok peers");
    let moto = Moto::start();
    let aws = moto.sdk_config();
    let connect = demo::kafka_connect();
    let (connect_url, connect_server) = peers::kafka_connect::serve(connect.clone()).await;
    let platforms = peers::AdPlatforms::start().await;
    demo::seed_ad_platforms(&platforms);

    p.say(&format!("creating queues, tables and bucket from serverless.yml (stage {STAGE}) on moto {}", moto.endpoint()));
    let stack = stack::create(&aws, STAGE).await?;
    let secrets_prefix = format!("pipeline/{STAGE}/ad-platforms");
    let secrets_client = aws_sdk_secretsmanager::Client::new(&aws);
    for (platform, value) in platforms.secrets() {
        secrets_client
            .create_secret()
            .name(format!("{secrets_prefix}/{platform}"))
            .secret_string(value.to_string())
            .send()
            .await
            .map_err(|e| format!("CreateSecret {secrets_prefix}/{platform}: {e}"))?;
    }
    Ok(World { moto, aws, stack, connect_url, _connect_server: connect_server, platforms, secrets_prefix })
}

impl World {
    /// cost-etl's environment as serverless.yml would set it, pointed at the local peers.
    fn cost_etl_env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.env();
        env.extend(
            [
                ("OUTPUT_BUCKET", self.stack.output_bucket.clone()),
                ("IDEMPOTENCY_TABLE", self.stack.idempotency_table.clone()),
                ("DLQ_URL", self.stack.dlq_url.clone()),
                ("SECRETS_PREFIX", self.secrets_prefix.clone()),
                // The demo's retry backoff is capped at 2 s (deployed: 900 s), so the always-failing
                // job uses up the queue's maxReceiveCount (5) in seconds; on its last delivery the
                // function dead-letters it with its last error.
                ("RETRY_MAX_BACKOFF_SECONDS", "2".to_string()),
                ("MAX_RECEIVE_COUNT", self.stack.max_receive_count.to_string()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        env.extend(self.platforms.env().into_iter().map(|(k, v)| (k.to_string(), v)));
        env
    }
}

/// Run the whole pipeline once, printing progress (stderr) and the summaries (stdout).
pub async fn run() -> Result<RunSummary, String> {
    let p = Progress(Instant::now());
    p.say("building connect-health and cost-etl (debug profile)");
    let health_binary = test_support::lambda::build_binary("connect-health");
    let etl_binary = test_support::lambda::build_binary("cost-etl");
    let world = start_world(&p).await?;
    let World { moto, aws, stack, connect_url, platforms, .. } = &world;

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
    let health = LambdaFunction::start_built(&health_binary, &env);
    let answer = health.invoke_event_file("connect-health-scheduled.json").await;
    if !answer.success {
        return Err(format!("connect-health failed: {}\n{}", answer.error, health.logs()));
    }
    let report: serde_json::Value = serde_json::from_str(&answer.output).map_err(|e| format!("connect-health answered no JSON: {e}"))?;
    println!("{}", report::connect_health(&report));
    let metrics = report::published_metrics(&aws_sdk_cloudwatch::Client::new(aws), "KafkaConnect").await?;
    println!("{metrics}");
    drop(health);

    // cost-etl
    let sqs = aws_sdk_sqs::Client::new(aws);
    let jobs = demo::job_messages();
    p.say(&format!("cost-etl: enqueueing {} job messages on three platforms (good, duplicated, invalid, rate-limited, revoked, always failing)", jobs.len()));
    for (_, body) in &jobs {
        sqs.send_message().queue_url(&stack.jobs_queue_url).message_body(body).send().await.map_err(|e| format!("SendMessage: {e}"))?;
    }
    let env = world.cost_etl_env();
    let etl = LambdaFunction::start_built(&etl_binary, &env);
    p.say("cost-etl: draining the jobs queue like Lambda's SQS event source (batches of 10)");
    let stats = event_source::drain(&sqs, &stack.jobs_queue_url, &etl, 10, Duration::from_secs(240), |line| p.say(&format!("cost-etl: {line}"))).await;
    let logs = etl.logs();
    drop(etl);
    let stats = stats.map_err(|e| format!("{e}\n--- cost-etl logs ---\n{logs}"))?;

    let calls = [
        ("meta", format!("{} Insights request(s)", platforms.meta.calls().len())),
        ("google_ads", format!("{} searchStream request(s), {} token exchange(s)", platforms.google.calls().len(), platforms.google.exchanges())),
        ("tiktok", format!("{} request(s) (reports and advertiser info)", platforms.tiktok.calls().len())),
    ];
    let (text, cost_etl) = report::cost_etl(aws, stack, &stats, &logs, &calls).await?;
    println!("{text}");
    p.say("done; stopping the peers and moto");
    Ok(RunSummary { connect_health: report, cost_etl })
}
