//! End to end: the real Lambda binaries, built by cargo, polling cargo-lambda's Runtime API
//! emulator exactly as they poll Lambda, fed the sample events from `events/`, against moto and
//! the local Kafka Connect and Meta peers.

use peers::kafka_connect::{KafkaConnect, Restarted, FAILED, RUNNING};
use peers::meta::{synthetic_rows, MetaPeer};
use test_support::{LambdaFunction, Moto};

mod support;

const SOCKET_TIMEOUT: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed
\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:512)
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)
\t... 12 more
";
const BAD_CONFIG: &str = "org.apache.kafka.common.config.ConfigException: Missing required configuration \"connection.url\" which has no default value.
\tat org.apache.kafka.common.config.ConfigDef.parseValue(ConfigDef.java:493)
";

fn env(moto: &Moto, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = moto.env();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_health_binary_answers_a_scheduled_event_with_its_report() {
    let moto = Moto::start();
    let connect = KafkaConnect::new("3.7.0");
    connect.add_connector("orders-es-sink", "sink", RUNNING, 2, RUNNING);
    connect.set_task("orders-es-sink", 1, FAILED, Some(SOCKET_TIMEOUT));
    connect.add_connector("orders-jdbc-source", "source", RUNNING, 1, RUNNING);
    connect.set_task("orders-jdbc-source", 0, FAILED, Some(BAD_CONFIG));
    let (url, _server) = peers::kafka_connect::serve(connect.clone()).await;

    let function = LambdaFunction::start(
        "connect-health",
        &env(&moto, &[("CONNECT_CLUSTERS", format!(r#"[{{"name":"main","url":"{url}"}}]"#)), ("METRICS_NAMESPACE", "E2E".into())]),
    );
    let answer = function.invoke_event_file("connect-health-scheduled.json").await;
    let report = answer.json();

    let cluster = &report["clusters"][0];
    assert_eq!(cluster["name"], "main");
    assert_eq!(cluster["reachable"], true);
    assert_eq!(cluster["actions"]["restarted"], 1, "{report:#}");
    assert_eq!(cluster["actions"]["skipped"], 1, "{report:#}");
    assert_eq!(connect.restarts(), vec![Restarted::Task("orders-es-sink".into(), 1)], "only the network fault is restarted");

    let metrics = aws_sdk_cloudwatch::Client::new(&moto.sdk_config()).list_metrics().namespace("E2E").metric_name("FailedTasks").send().await.unwrap();
    assert!(!metrics.metrics().is_empty(), "FailedTasks was published");
    assert!(function.logs().contains("orders-jdbc-source"), "the skip is logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_etl_binary_turns_the_sample_sqs_event_into_s3_objects() {
    let moto = Moto::start();
    let aws = moto.sdk_config();
    const TOKEN: &str = "e2e-meta-token-do-not-log";
    let dlq_url = support::cost_etl_aws(&moto, &[support::meta_secret("e2e", TOKEN)]).await;
    let meta = MetaPeer::new(TOKEN);
    let (from, to) = (chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
    meta.add_account("1234", "KRW", synthetic_rows(3, from, to));
    meta.add_account("5678", "USD", synthetic_rows(2, from, to));
    let meta_url = peers::meta::serve(meta.clone()).await;

    let function = LambdaFunction::start(
        "cost-etl",
        &env(
            &moto,
            &[
                ("OUTPUT_BUCKET", "costs".into()),
                ("IDEMPOTENCY_TABLE", "idempotency".into()),
                ("DLQ_URL", dlq_url),
                ("SECRETS_PREFIX", "e2e".into()),
                ("META_API_BASE", meta_url),
            ],
        ),
    );
    let answer = function.invoke_event_file("cost-etl-sqs.json").await;
    let response = answer.json();
    assert_eq!(response["batchItemFailures"], serde_json::json!([]), "every sample job succeeds: {response}");

    let listed = common::aws::s3_client(&aws).list_objects_v2().bucket("costs").send().await.unwrap();
    let mut keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "costs/platform=meta/account=act_1234/date=2026-11-20/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-21/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-22/costs.jsonl",
            "costs/platform=meta/account=act_1234/date=2026-11-23/costs.jsonl",
            "costs/platform=meta/account=act_5678/date=2026-11-22/costs.jsonl",
        ]
    );
    assert!(!function.logs().contains(TOKEN), "the access token never reaches the logs");

    // The same event again: acknowledged as duplicates, the platform is not called again.
    let calls_before = meta.calls().len();
    let again = function.invoke_event_file("cost-etl-sqs.json").await.json();
    assert_eq!(again["batchItemFailures"], serde_json::json!([]));
    assert_eq!(meta.calls().len(), calls_before, "duplicates do not call the platform");
}
