//! The cost model of docs/cost.md, measured rather than assumed: runs the real connect-health and
//! cost-etl binaries under the Runtime API emulator against moto and the local peers, counts what
//! each run publishes and calls, and prints the monthly bill of two loads at list prices.
//!
//!   cargo build --workspace --all-targets && target/debug/examples/cost-model
//!
//! Loads: "seed" = one cluster of 20 healthy connectors checked every 5 minutes and 3,000 ETL jobs
//! a month; "large" = 2,000 connectors of which 1% (20) are failing at any time and 100,000 jobs
//! a month. Durations are measured here (debug build, x86_64, emulator): an upper bound of
//! Lambda's arm64 release figures.

use aws_sdk_cloudwatch::Client as CloudWatch;
use local_pipeline::{demo, event_source, stack, Progress};
use peers::kafka_connect::{KafkaConnect, FAILED, RUNNING};
use std::time::{Duration, Instant};
use test_support::{LambdaFunction, Moto};

/// us-east-1 list prices, checked 2026-12-01.
mod price {
    pub const LAMBDA_GB_SECOND_ARM: f64 = 0.0000133334;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    pub const METRIC_SERIES_MONTH: f64 = 0.30;
    pub const PUT_METRIC_DATA_CALL: f64 = 0.01 / 1e3;
    pub const ALARM_METRIC_MONTH: f64 = 0.10;
    pub const DASHBOARD_MONTH: f64 = 3.00;
    pub const LOG_INGEST_GB: f64 = 0.50;
    pub const DDB_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DDB_READ_UNIT: f64 = 0.125 / 1e6;
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    pub const S3_PUT: f64 = 0.005 / 1e3;
    pub const SECRET_MONTH: f64 = 0.40;
    pub const SECRET_CALL: f64 = 0.05 / 1e4;
}

const RUNS_PER_MONTH: f64 = 30.0 * 24.0 * 12.0; // every 5 minutes
const HOURS_PER_MONTH: f64 = 730.0;
/// Alarms in serverless.yml, as metrics analysed: 5 standard, 3 Metrics Insights over one
/// cluster each, the ETL failure metric-math alarm reads 2.
const ALARM_METRICS_PER_CLUSTER: f64 = 3.0;
const ALARM_METRICS_FIXED: f64 = 4.0 + 2.0;

struct HealthRun {
    datums: f64,
    put_calls: f64,
    series: f64,
    seconds: f64,
    log_bytes: f64,
}

struct EtlRun {
    jobs: f64,
    invocations: f64,
    seconds: f64,
    objects: f64,
    log_bytes: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let p = Progress::start();
    let health_binary = test_support::lambda::build_binary("connect-health");
    let etl_binary = test_support::lambda::build_binary("cost-etl");

    p.say("connect-health: 20 healthy connectors");
    let seed_health = health(&p, &health_binary, 20, 0).await;
    p.say("connect-health: 2,000 connectors, 20 failing");
    let large_health = health(&p, &health_binary, 2000, 20).await;
    p.say("cost-etl: 40 four-day Meta jobs through the Lambda-like event source");
    let etl = etl(&p, &etl_binary).await;

    for (name, health, jobs_per_month, etl_hours) in [("seed", &seed_health, 3_000.0, 30.0), ("large", &large_health, 100_000.0, HOURS_PER_MONTH)] {
        println!("{}", bill(name, health, &etl, jobs_per_month, etl_hours));
    }
}

async fn health(p: &Progress, binary: &std::path::Path, connectors: usize, failing: usize) -> HealthRun {
    let moto = Moto::start();
    let aws = moto.sdk_config();
    let connect = KafkaConnect::new("3.7.0");
    for i in 0..connectors {
        let name = format!("connector-{i:04}");
        connect.add_connector(&name, "sink", RUNNING, 10, RUNNING);
        if i < failing {
            // A poison record: the policy leaves it alone, so it stays FAILED every run.
            connect.set_task(&name, 0, FAILED, Some(demo::POISON_RECORD));
        }
    }
    let (url, _server) = peers::kafka_connect::serve(connect).await;
    let mut env = moto.env();
    env.push(("CONNECT_CLUSTERS".into(), serde_json::json!([{ "name": "main", "url": url }]).to_string()));
    env.push(("METRICS_NAMESPACE".into(), "CostModel".into()));
    let function = LambdaFunction::start_built(binary, &env);
    let runs = 3;
    let (mut datums, mut put_calls, mut seconds) = (0.0, 0.0, 0.0);
    for _ in 0..runs {
        let started = Instant::now();
        let answer = function.invoke(r#"{"detail-type":"Scheduled Event"}"#).await;
        seconds += started.elapsed().as_secs_f64();
        let report = answer.json();
        datums += report["metrics"]["datums"].as_f64().unwrap_or(0.0);
        put_calls += report["metrics"]["put_calls"].as_f64().unwrap_or(0.0);
    }
    let series = distinct_series(&CloudWatch::new(&aws), "CostModel").await;
    let log_bytes = function.logs().len() as f64;
    p.say(&format!("  {connectors} connectors: {:.0} datums and {:.0} PutMetricData call(s) a run, {series} distinct series, {:.2} s a run", datums / runs as f64, put_calls / runs as f64, seconds / runs as f64));
    HealthRun { datums: datums / runs as f64, put_calls: put_calls / runs as f64, series: series as f64, seconds: seconds / runs as f64, log_bytes: log_bytes / runs as f64 }
}

/// Distinct series (name and dimensions) in `namespace`, counted here: moto's ListMetrics pages
/// can repeat entries.
async fn distinct_series(cloudwatch: &CloudWatch, namespace: &str) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut token = None;
    loop {
        let page = cloudwatch.list_metrics().namespace(namespace).set_next_token(token).send().await.expect("ListMetrics");
        for m in page.metrics() {
            let mut dimensions: Vec<(String, String)> = m.dimensions().iter().map(|d| (d.name().unwrap_or("").to_string(), d.value().unwrap_or("").to_string())).collect();
            dimensions.sort();
            seen.insert((m.metric_name().unwrap_or("").to_string(), dimensions));
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            return seen.len();
        }
    }
}

async fn etl(p: &Progress, binary: &std::path::Path) -> EtlRun {
    let moto = Moto::start();
    let aws = moto.sdk_config();
    let platforms = peers::AdPlatforms::start().await;
    let stack = stack::create(&aws, local_pipeline::STAGE).await.expect("stack");
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    for (platform, value) in platforms.secrets() {
        secrets.create_secret().name(format!("cost-model/{platform}")).secret_string(value.to_string()).send().await.expect("secret");
    }
    let (from, to) = (demo::date("2026-11-01"), demo::date("2026-11-30"));
    let jobs = 40;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    for i in 0..jobs {
        let account = format!("{}", 5000 + i);
        platforms.meta.add_account(&account, "EUR", peers::meta::synthetic_rows(20, from, to));
        let body = format!(r#"{{"platform":"meta","account_id":"act_{account}","date_from":"2026-11-20","date_to":"2026-11-23"}}"#);
        sqs.send_message().queue_url(&stack.jobs_queue_url).message_body(body).send().await.expect("send");
    }
    let mut env = moto.env();
    env.extend(
        [("OUTPUT_BUCKET", stack.output_bucket.clone()), ("IDEMPOTENCY_TABLE", stack.idempotency_table.clone()), ("DLQ_URL", stack.dlq_url.clone()), ("SECRETS_PREFIX", "cost-model".to_string())]
            .map(|(k, v)| (k.to_string(), v)),
    );
    env.extend(platforms.env().into_iter().map(|(k, v)| (k.to_string(), v)));
    let function = LambdaFunction::start_built(binary, &env);
    let started = Instant::now();
    let stats = event_source::drain(&sqs, &stack.jobs_queue_url, &function, 10, Duration::from_secs(300), |_| {}).await.expect("drain");
    let seconds = started.elapsed().as_secs_f64();
    let objects = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build())
        .list_objects_v2()
        .bucket(&stack.output_bucket)
        .send()
        .await
        .expect("list")
        .key_count()
        .unwrap_or(0) as f64;
    p.say(&format!("  {jobs} jobs: {} invocation(s), {seconds:.2} s in all, {objects} objects", stats.batches));
    EtlRun { jobs: jobs as f64, invocations: stats.batches as f64, seconds, objects, log_bytes: function.logs().len() as f64 }
}

fn bill(name: &str, health: &HealthRun, etl: &EtlRun, jobs: f64, etl_hours: f64) -> String {
    let mut lines: Vec<(String, f64)> = Vec::new();
    let mut add = |item: String, dollars: f64| lines.push((item, dollars));
    // connect-health, 256 MB, every 5 minutes.
    add(format!("connect-health Lambda: {RUNS_PER_MONTH:.0} runs x {:.2} s x 0.25 GB", health.seconds), RUNS_PER_MONTH * (health.seconds * 0.25 * price::LAMBDA_GB_SECOND_ARM + price::LAMBDA_REQUEST));
    add(format!("custom metric series: {:.0} distinct, all month", health.series), health.series * price::METRIC_SERIES_MONTH);
    add(format!("PutMetricData: {:.0} call(s) a run ({:.0} datums)", health.put_calls, health.datums), RUNS_PER_MONTH * health.put_calls * price::PUT_METRIC_DATA_CALL);
    add("alarms: 8 (3 Metrics Insights over 1 cluster, 1 metric-math over 2 metrics)".into(), (ALARM_METRICS_PER_CLUSTER + ALARM_METRICS_FIXED) * price::ALARM_METRIC_MONTH);
    add(format!("connect-health logs: {:.1} KB a run", health.log_bytes / 1e3), RUNS_PER_MONTH * health.log_bytes / 1e9 * price::LOG_INGEST_GB);
    add("restart-state table: one Scan a run (empty while healthy)".into(), RUNS_PER_MONTH * price::DDB_READ_UNIT);
    // cost-etl, 512 MB, batches of 10.
    let per_job = |x: f64| x / etl.jobs;
    let invocations = jobs * per_job(etl.invocations);
    add(format!("cost-etl Lambda: {invocations:.0} invocations, {:.2} s per job x 0.5 GB", per_job(etl.seconds)), jobs * per_job(etl.seconds) * 0.5 * price::LAMBDA_GB_SECOND_ARM + invocations * price::LAMBDA_REQUEST);
    add(format!("EMF series: 5, receiving data {etl_hours:.0} h of {HOURS_PER_MONTH:.0}"), 5.0 * price::METRIC_SERIES_MONTH * etl_hours / HOURS_PER_MONTH);
    add(format!("S3 PUT: {:.1} objects per job", per_job(etl.objects)), jobs * per_job(etl.objects) * price::S3_PUT);
    // Per job: SendMessage, ReceiveMessage and DeleteMessage shared by a batch of 10.
    add("SQS: SendMessage per job, Receive + Delete per batch".into(), (jobs + 2.0 * invocations) * price::SQS_REQUEST);
    // Per job: claim, complete, run record (1 write unit each, under 1 KB).
    add("DynamoDB: 3 writes per job (claim, complete, run record)".into(), jobs * 3.0 * price::DDB_WRITE_UNIT);
    add(format!("cost-etl logs: {:.1} KB per job", per_job(etl.log_bytes) / 1e3), jobs * per_job(etl.log_bytes) / 1e9 * price::LOG_INGEST_GB);
    add("secrets: 3 platform secrets in Secrets Manager (SSM SecureString: $0), one read per cold start".into(), 3.0 * price::SECRET_MONTH + invocations * 0.1 * price::SECRET_CALL);
    let total: f64 = lines.iter().map(|(_, d)| d).sum();
    let mut out = format!("\n### {name}: {} connectors checked every 5 minutes, {jobs:.0} jobs a month\n\n| item | $ / month |\n|---|---:|\n", if name == "seed" { "20" } else { "2,000 (1% failing)" });
    for (item, dollars) in &lines {
        out.push_str(&format!("| {item} | {dollars:.2} |\n"));
    }
    out.push_str(&format!("| **total** (no free tier, no dashboard) | **{total:.2}** |\n| dashboard (first 3 per account free) | {:.2} |\n", price::DASHBOARD_MONTH));
    out
}
