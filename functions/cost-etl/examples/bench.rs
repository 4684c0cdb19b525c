//! Figures for docs/cost-etl.md (a benchmark, not a test; nothing here asserts a speed).
//!
//! 1. Rows normalized per second: Meta-shaped Insights pages of 500 rows, parsed and converted
//!    to `CostRow`s (exact micros), then grouped per day and written as JSON Lines in memory.
//! 2. A batch of 10 jobs against the local Meta peer answering each page after 200 ms, with
//!    moto for S3, DynamoDB and Secrets Manager: wall time at several concurrency settings.
//! 3. Peak resident memory of this process (VmHWM).
//!
//! Run: `cargo run --release -p cost-etl --example cost-etl-bench` (needs `.tools/venv/bin/moto_server`).

use aws_lambda_events::sqs::SqsMessage;
use chrono::NaiveDate;
use common::config::Env;
use common::deadline::Deadline;
use cost_etl::config::{Clients, Config};
use cost_etl::job::JobSpec;
use cost_etl::normalize::{group_by_day, to_jsonl};
use cost_etl::platforms::meta::normalize_page;
use cost_etl::App;
use peers::meta::{synthetic_rows, MetaPeer};
use std::time::{Duration, Instant};

const PAGE_ROWS: usize = 500;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An Insights page body as Graph sends it.
fn meta_page(rows: &[peers::meta::InsightRow]) -> Vec<u8> {
    let data: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "campaign_id": r.campaign_id, "campaign_name": r.campaign_name, "spend": r.spend,
                "impressions": r.impressions.to_string(), "clicks": r.clicks.to_string(), "account_currency": "KRW",
                "date_start": r.date.to_string(), "date_stop": r.date.to_string(),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"data": data, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}, "next": "https://graph.facebook.com/v23.0/act_1234/insights?after=MjQZD"}})).unwrap()
}

fn normalize_throughput() {
    // 50 campaigns x 10 days = one page of 500 rows per job.
    let job = JobSpec::parse(r#"{"platform":"meta","account_id":"act_1234","date_from":"2026-11-13","date_to":"2026-11-22"}"#).unwrap();
    let rows = synthetic_rows(50, job.date_from, job.date_to);
    assert_eq!(rows.len(), PAGE_ROWS);
    let page = meta_page(&rows);
    let pages = 2_000;

    let started = Instant::now();
    let mut total = 0usize;
    for _ in 0..pages {
        let (rows, _) = normalize_page(&job, &page).unwrap();
        total += rows.len();
    }
    let normalize_only = started.elapsed();

    let started = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..pages {
        let (rows, _) = normalize_page(&job, &page).unwrap();
        let days = group_by_day(&job, rows).unwrap();
        bytes += days.values().map(|rows| to_jsonl(rows).len()).sum::<usize>();
    }
    let full = started.elapsed();
    println!("normalize: {pages} pages x {PAGE_ROWS} rows ({} KiB/page)", page.len() / 1024);
    println!("  parse + normalize:                 {:>10.0} rows/s", total as f64 / normalize_only.as_secs_f64());
    println!("  parse + normalize + group + JSONL: {:>10.0} rows/s ({} MiB of JSONL)", total as f64 / full.as_secs_f64(), bytes / (1024 * 1024));
}

async fn batch_wall_time() {
    let moto = test_support::Moto::start();
    let clients = Clients::from_sdk_config(&moto.sdk_config()).unwrap();
    clients.s3.create_bucket().bucket("costs").send().await.unwrap();
    clients
        .dynamodb
        .create_table()
        .table_name("idempotency")
        .attribute_definitions(aws_sdk_dynamodb::types::AttributeDefinition::builder().attribute_name("id").attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S).build().unwrap())
        .key_schema(aws_sdk_dynamodb::types::KeySchemaElement::builder().attribute_name("id").key_type(aws_sdk_dynamodb::types::KeyType::Hash).build().unwrap())
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let dlq = clients.sqs.create_queue().queue_name("dlq").send().await.unwrap().queue_url.unwrap();
    clients.secrets.create_secret().name("cost-etl/meta").secret_string(r#"{"access_token":"bench"}"#).send().await.unwrap();

    let meta = MetaPeer::new("bench");
    meta.set_page_delay(Duration::from_millis(200));
    let url = peers::meta::serve(meta.clone()).await;

    // Each job: 3 days x 400 campaigns = 1200 rows = 3 pages of 500 (600 ms of peer delay).
    let (from, to) = (d("2026-11-20"), d("2026-11-22"));
    println!("batch: 10 jobs, 3 pages of 500 rows each, peer answers each page after 200 ms");
    for (run, concurrency) in [1usize, 4, 10].into_iter().enumerate() {
        let concurrency_text = concurrency.to_string();
        let env = Env::from_pairs([
            ("OUTPUT_BUCKET", "costs"),
            ("IDEMPOTENCY_TABLE", "idempotency"),
            ("DLQ_URL", dlq.as_str()),
            ("SECRETS_PREFIX", "cost-etl"),
            ("META_API_BASE", url.as_str()),
            ("BATCH_CONCURRENCY", concurrency_text.as_str()),
        ]);
        let app = App::new(Config::from_env(&env).unwrap(), clients.clone());
        let records: Vec<SqsMessage> = (0..10)
            .map(|i| {
                let account = format!("{}{:02}", run + 1, i);
                meta.add_account(&account, "KRW", synthetic_rows(400, from, to));
                let mut m = SqsMessage::default();
                m.message_id = Some(format!("m{run}-{i}"));
                m.body = Some(format!(r#"{{"platform":"meta","account_id":"act_{account}","date_from":"{from}","date_to":"{to}"}}"#));
                m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:jobs".into());
                m
            })
            .collect();
        let started = Instant::now();
        let report = app.process(&records, Deadline::after(Duration::from_secs(600))).await;
        let elapsed = started.elapsed();
        assert_eq!(report.failed().count(), 0, "bench batch had failures: {:?}", report.records);
        println!("  BATCH_CONCURRENCY={concurrency:<2}  wall {:>6.2} s", elapsed.as_secs_f64());
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    // Each batch also prints its EMF metrics line to stdout, as it does in Lambda.
    normalize_throughput();
    batch_wall_time().await;
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS of the bench process (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
}
