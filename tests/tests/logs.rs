//! The real cost-etl binary's log output under the Runtime API emulator, in Lambda's JSON log
//! format: every line of an invocation carries its request id, and text a hostile peer chose
//! (a Graph error message with a newline and a forged EMF document in it) can neither start a
//! line of its own nor become a metric.

use peers::meta::{synthetic_rows, Fault, MetaPeer};
use serde_json::Value;
use test_support::{LambdaFunction, Moto};

mod support;

const TOKEN: &str = "logs-meta-token-do-not-log";
const FORGED: &str = "bad request\n{\"_aws\":{\"Timestamp\":1,\"CloudWatchMetrics\":[{\"Namespace\":\"Forged\",\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"Pwned\"}]}]},\"Pwned\":1}\r\n";

fn event(bodies: &[&str]) -> String {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m{i}"), "receiptHandle": format!("rh{i}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_line_carries_its_request_id_and_a_hostile_error_message_forges_nothing() {
    let moto = Moto::start();
    let dlq_url = support::cost_etl_aws(&moto, &[support::meta_secret("logs", TOKEN)]).await;
    let meta = MetaPeer::new(TOKEN);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    meta.add_account("1", "EUR", synthetic_rows(2, day, day));
    meta.add_account("2", "EUR", synthetic_rows(2, day, day));
    // A rejected request (permanent: dead-lettered with the platform's message as the reason) and
    // a server error (retryable: logged with the message), both with the forged text.
    meta.set_fault("2", Fault::Error { status: 400, code: 100, message: FORGED.into() });
    meta.add_account("3", "EUR", synthetic_rows(2, day, day));
    meta.set_fault("3", Fault::Error { status: 500, code: 1, message: FORGED.into() });
    let meta_url = peers::meta::serve(meta.clone()).await;

    let mut env = moto.env();
    env.extend(
        [("OUTPUT_BUCKET", "costs".to_string()), ("IDEMPOTENCY_TABLE", "idempotency".into()), ("DLQ_URL", dlq_url), ("SECRETS_PREFIX", "logs".into()), ("META_API_BASE", meta_url)]
            .map(|(k, v)| (k.to_string(), v)),
    );
    let function = LambdaFunction::start("cost-etl", &env);
    let job = |account: &str| format!(r#"{{"platform":"meta","account_id":"act_{account}","date_from":"2026-11-20","date_to":"2026-11-20"}}"#);
    let first = function.invoke(&event(&[&job("1"), &job("2"), &job("3")])).await.json();
    assert_eq!(first["batchItemFailures"], serde_json::json!([{"itemIdentifier": "m2"}]), "{first}");
    let second = function.invoke(&event(&[&job("1")])).await.json();
    assert_eq!(second["batchItemFailures"], serde_json::json!([]));

    let logs = function.logs();
    let mut request_ids = std::collections::BTreeSet::new();
    let (mut tracing_lines, mut emf_lines) = (0, 0);
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("every line is one JSON document ({e}): {line}"));
        let request_id = if let Some(aws) = doc.get("_aws") {
            emf_lines += 1;
            let namespaces: Vec<&Value> = aws["CloudWatchMetrics"].as_array().unwrap().iter().map(|m| &m["Namespace"]).collect();
            assert_eq!(namespaces, [&Value::from("CostEtl")], "only the function's own metrics: {line}");
            assert!(doc.get("Pwned").is_none(), "{line}");
            doc["requestId"].as_str().map(String::from)
        } else {
            tracing_lines += 1;
            doc.pointer("/span/requestId").and_then(Value::as_str).map(String::from)
        };
        let request_id = request_id.unwrap_or_else(|| panic!("a line without its request id: {line}"));
        request_ids.insert(request_id);
    }
    assert_eq!(request_ids.len(), 2, "two invocations, two request ids: {request_ids:?}");
    assert_eq!(emf_lines, 2, "one metrics line per invocation");
    assert!(tracing_lines >= 4, "outcome lines were logged");
    assert!(logs.contains(r#"bad request\\n{\"_aws\""#), "the hostile message is in the logs, escaped: {logs}");
    assert!(!logs.contains(TOKEN), "the access token never reaches the logs");
}
