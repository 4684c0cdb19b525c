//! `serverless invoke local` (the repo's plugin, sls/invoke-local.js) on both functions against
//! the local peers (Kafka Connect; Meta, Google Ads and TikTok with
//! `events/cost-etl-sqs-all-platforms.json`): the command a developer types, with serverless.yml's
//! own environment (stage `test`) and `--env` for what only a deployed stack knows, AWS in moto.

use peers::kafka_connect::{KafkaConnect, Restarted, FAILED, RUNNING};
use peers::meta::synthetic_rows;
use peers::AdPlatforms;
use std::process::Output;
use test_support::tools::workspace_root;
use test_support::Moto;

mod support;

const NETWORK_FAULT: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)
";

/// `serverless invoke local --stage test -f <function> <args>`, with moto's AWS settings. The
/// plugin builds with cargo: the variables `cargo test` set for this process must not reach it.
async fn invoke_local(moto: &Moto, function: &str, args: &[&str]) -> Output {
    let root = workspace_root();
    let mut cmd = tokio::process::Command::new(root.join("node_modules/.bin/serverless"));
    cmd.args(["invoke", "local", "--stage", "test", "-f", function]).args(args).current_dir(&root).kill_on_drop(true);
    for name in test_support::lambda::cargo_test_vars() {
        cmd.env_remove(name);
    }
    cmd.envs(moto.env()).env("SLS_TELEMETRY_DISABLED", "1").env("SLS_NOTIFICATIONS_MODE", "off").env("NODE_NO_WARNINGS", "1");
    cmd.output().await.expect("cannot run node_modules/.bin/serverless (npm ci)")
}

/// The function's answer: the JSON document serverless prints first on stdout.
fn answer(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let end = stdout.find("\n}\n").unwrap_or_else(|| panic!("no JSON answer on stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(&stdout[..end + 2]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverless_invoke_local_runs_connect_health_against_the_connect_peer() {
    let moto = Moto::start();
    moto.create_table("restart-state", "connector_task").await;
    let connect = KafkaConnect::new("3.7.0");
    connect.add_connector("orders-es-sink", "sink", RUNNING, 2, RUNNING);
    connect.set_task("orders-es-sink", 0, FAILED, Some(NETWORK_FAULT));
    let (url, _server) = peers::kafka_connect::serve(connect.clone()).await;

    let clusters = format!(r#"CONNECT_CLUSTERS=[{{"name":"main","url":"{url}"}}]"#);
    let out = invoke_local(&moto, "connectHealth", &["--path", "events/connect-health-scheduled.json", "--env", &clusters, "--env", "RESTART_STATE_TABLE=restart-state"]).await;
    assert!(out.status.success(), "exit {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let report = answer(&out);
    assert_eq!(report["clusters"][0]["reachable"], true, "{report:#}");
    assert_eq!(report["clusters"][0]["actions"]["restarted"], 1, "{report:#}");
    assert_eq!(connect.restarts(), vec![Restarted::Task("orders-es-sink".into(), 0)]);
    // serverless.yml's METRICS_NAMESPACE (stage test: the default) reached the function.
    let metrics = aws_sdk_cloudwatch::Client::new(&moto.sdk_config()).list_metrics().namespace("KafkaConnect").send().await.unwrap();
    assert!(!metrics.metrics().is_empty(), "metrics published under serverless.yml's namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverless_invoke_local_runs_cost_etl_on_the_all_platforms_sample_against_the_three_peers() {
    let moto = Moto::start();
    let aws = moto.sdk_config();
    let platforms = AdPlatforms::start().await;
    // SECRETS_PREFIX comes from serverless.yml (stage test), not from --env.
    let secrets: Vec<(String, String)> = platforms.secrets().iter().map(|(platform, value)| (format!("pipeline/test/ad-platforms/{platform}"), value.to_string())).collect();
    let dlq = support::cost_etl_aws(&moto, &secrets).await;
    let (from, to) = (chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
    platforms.meta.add_account("1234", "KRW", synthetic_rows(3, from, to));
    platforms.google.add_customer("1234567890", "JPY", peers::google_ads::synthetic_rows(2, from, to));
    platforms.tiktok.add_advertiser("7012345678901234567", "USD", peers::tiktok::synthetic_rows(2, from, to));

    let mut envs = vec!["OUTPUT_BUCKET=costs".to_string(), "IDEMPOTENCY_TABLE=idempotency".to_string(), format!("DLQ_URL={dlq}")];
    envs.extend(platforms.env().into_iter().map(|(k, v)| format!("{k}={v}")));
    let mut args = vec!["--path", "events/cost-etl-sqs-all-platforms.json"];
    for e in &envs {
        args.extend(["--env", e.as_str()]);
    }
    let out = invoke_local(&moto, "costEtl", &args).await;
    assert!(out.status.success(), "exit {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_eq!(answer(&out), serde_json::json!({"batchItemFailures": []}));
    let listed = common::aws::s3_client(&aws).list_objects_v2().bucket("costs").send().await.unwrap();
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl",
            "costs/platform=google_ads/account=1234567890/date=2026-11-21/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-20/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-21/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-22/costs.jsonl",
            "costs/platform=tiktok/account=7012345678901234567/date=2026-11-20/costs.jsonl",
            "costs/platform=tiktok/account=7012345678901234567/date=2026-11-21/costs.jsonl",
        ]
    );
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for secret in [AdPlatforms::META_TOKEN, AdPlatforms::GOOGLE_REFRESH_TOKEN, AdPlatforms::GOOGLE_CLIENT_SECRET, AdPlatforms::TIKTOK_TOKEN] {
        assert!(!printed.contains(secret), "a credential was printed");
    }
}
