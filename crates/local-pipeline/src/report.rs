//! What a person reads at the end of `make run`: plain-text tables built from the functions'
//! answers, their logs, and what landed in moto (metrics, S3 objects, the dead-letter queue).

use crate::event_source::DrainStats;
use crate::stack::Stack;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// connect-health's JSON report as a table: per connector its state, counts and each action.
pub fn connect_health(report: &Value) -> String {
    let mut out = String::from("\n== connect-health ==\n");
    for cluster in report["clusters"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "cluster {} (Connect {}): reachable={} connectors={} failed connectors={} tasks running={} failed={} paused={}",
            text(&cluster["name"]),
            text(&cluster["version"]),
            text(&cluster["reachable"]),
            text(&cluster["connectors_total"]),
            text(&cluster["failed_connectors"]),
            text(&cluster["tasks"]["running"]),
            text(&cluster["tasks"]["failed"]),
            text(&cluster["tasks"]["paused"]),
        );
        if let Some(error) = cluster.get("error") {
            let _ = writeln!(out, "  error: {}", text(error));
        }
        for connector in cluster["connectors"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  {:<22} {:<8} running={} failed={} paused={}",
                text(&connector["name"]),
                text(&connector["state"]),
                text(&connector["tasks"]["running"]),
                text(&connector["tasks"]["failed"]),
                text(&connector["tasks"]["paused"]),
            );
            for action in connector["actions"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "      task {:<9} -> {:<11} rule: {}; root cause: {}",
                    text(&action["task"]),
                    text(&action["action"]),
                    text(&action["rule"]),
                    text(&action["root_cause"]),
                );
            }
        }
    }
    out
}

/// The metrics in `namespace` with their latest value, cluster-level first.
pub async fn published_metrics(cw: &aws_sdk_cloudwatch::Client, namespace: &str) -> Result<String, String> {
    let listed = cw.list_metrics().namespace(namespace).send().await.map_err(|e| format!("ListMetrics: {e}"))?;
    let mut rows: BTreeMap<(usize, String), f64> = BTreeMap::new();
    // A window around now: datapoints stamped within the current second must be inside it.
    let now = chrono::Utc::now().timestamp();
    let (start, end) = (aws_smithy_types::DateTime::from_secs(now - 3600), aws_smithy_types::DateTime::from_secs(now + 60));
    for metric in listed.metrics() {
        let name = metric.metric_name().unwrap_or_default();
        let dims = metric.dimensions();
        let label = format!(
            "{name} {}",
            dims.iter().map(|d| format!("{}={}", d.name().unwrap_or_default(), d.value().unwrap_or_default())).collect::<Vec<_>>().join(",")
        );
        let stats = cw
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(name)
            .set_dimensions(Some(dims.to_vec()))
            .start_time(start)
            .end_time(end)
            .period(3600)
            .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
            .send()
            .await
            .map_err(|e| format!("GetMetricStatistics: {e}"))?;
        let value = stats.datapoints().iter().filter_map(|d| d.maximum()).fold(0.0, f64::max);
        rows.insert((dims.len(), label), value);
    }
    let mut out = format!("== CloudWatch metrics in {namespace}: {} series ==\n", rows.len());
    for ((dims, label), value) in &rows {
        // Per-connector series are many; show the non-zero ones and every cluster-level one.
        if *dims == 1 || *value != 0.0 {
            let _ = writeln!(out, "  {label:<70} {value}");
        }
    }
    Ok(out)
}

/// Per-record outcomes counted from the function's JSON log lines (`outcome` field).
pub fn outcomes_from_logs(logs: &str) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for line in logs.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        let outcome = v.get("outcome").or_else(|| v.pointer("/fields/outcome")).and_then(Value::as_str);
        if let Some(outcome) = outcome {
            *counts.entry(outcome.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// What cost-etl's part of the run came to, for the summary and for the pipeline's test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostEtlSummary {
    pub jobs_done: u32,
    pub duplicates: u32,
    /// The DLQ's messages: (reason code, or `redrive` for a message moved by the queue's
    /// redrive policy; body).
    pub dead_letters: Vec<(String, String)>,
    pub objects: usize,
    pub rows: usize,
}

/// The end-of-run summary for cost-etl: outcomes, dead letters with reasons, objects and rows.
pub async fn cost_etl(aws: &aws_config::SdkConfig, stack: &Stack, stats: &DrainStats, logs: &str, platform_calls: &[(&str, String)]) -> Result<(String, CostEtlSummary), String> {
    let mut out = String::from("\n== cost-etl ==\n");
    let _ = writeln!(
        out,
        "event source: {} batch(es), {} record deliveries, {} acknowledged, {} delivered again, {} failed invocation(s)",
        stats.batches, stats.records, stats.acknowledged, stats.returned, stats.invocation_errors
    );
    let outcomes = outcomes_from_logs(logs);
    let _ = writeln!(
        out,
        "outcomes per delivery (from the function's logs): {}",
        outcomes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    );
    for (platform, calls) in platform_calls {
        let _ = writeln!(out, "{platform:<11} API: {calls}");
    }

    let sqs = aws_sdk_sqs::Client::new(aws);
    // Read the whole DLQ: messages stay invisible for a minute after each read, so every call
    // returns new ones until the queue is exhausted (nothing is deleted).
    let mut dead = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(&stack.dlq_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .visibility_timeout(60)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage (DLQ): {e}"))?;
        if batch.messages().is_empty() {
            break;
        }
        dead.extend(batch.messages().iter().cloned());
    }
    let _ = writeln!(out, "dead-lettered: {}", dead.len());
    let mut dead_letters = Vec::new();
    for m in &dead {
        // The function's dead letters carry why; the redrive policy's carry nothing.
        let attr = |name: &str| m.message_attributes().and_then(|a| a.get(name)).and_then(|v| v.string_value());
        let code = attr("reason_code").unwrap_or("redrive");
        let reason = attr("reason").unwrap_or("(moved by the redrive policy after maxReceiveCount deliveries)");
        let body = m.body().unwrap_or_default();
        let _ = writeln!(out, "  {code:<28} {}", body.chars().take(100).collect::<String>());
        let _ = writeln!(out, "  {:<28} reason: {reason}", "");
        dead_letters.push((code.to_string(), body.to_string()));
    }

    let s3 = common::aws::s3_client(aws);
    let listed = s3.list_objects_v2().bucket(&stack.output_bucket).prefix("costs/").send().await.map_err(|e| format!("ListObjectsV2: {e}"))?;
    let mut rows = 0usize;
    for object in listed.contents() {
        let key = object.key().unwrap_or_default();
        let body = s3.get_object().bucket(&stack.output_bucket).key(key).send().await.map_err(|e| format!("GetObject {key}: {e}"))?;
        let bytes = body.body.collect().await.map_err(|e| format!("GetObject {key}: {e}"))?.into_bytes();
        rows += bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    }
    let _ = writeln!(out, "written: {} object(s), {rows} row(s) under s3://{}/costs/", listed.contents().len(), stack.output_bucket);
    if let Some(first) = listed.contents().first().and_then(|o| o.key()) {
        let _ = writeln!(out, "  e.g. {first}");
    }
    let count = |outcome: &str| outcomes.get(outcome).copied().unwrap_or(0);
    let summary = CostEtlSummary { jobs_done: count("processed"), duplicates: count("duplicate"), dead_letters, objects: listed.contents().len(), rows };
    let _ = writeln!(out, "jobs: {} done, {} duplicate(s) skipped, {} dead-lettered", summary.jobs_done, summary.duplicates, summary.dead_letters.len());
    Ok((out, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_from_json_log_lines_in_either_layout() {
        let logs = r#"{"level":"INFO","fields":{"message":"job done","outcome":"processed"}}
{"level":"INFO","outcome":"duplicate","message":"x"}
not json
{"level":"INFO","fields":{"message":"job done","outcome":"processed"}}"#;
        let counts = outcomes_from_logs(logs);
        assert_eq!(counts.get("processed"), Some(&2));
        assert_eq!(counts.get("duplicate"), Some(&1));
    }

    #[test]
    fn the_connect_report_names_every_action_with_its_rule() {
        let report = serde_json::json!({"clusters": [{"name": "main", "version": "3.7.0", "reachable": true,
            "connectors_total": 1, "failed_connectors": 0, "tasks": {"running": 1, "failed": 1, "paused": 0},
            "connectors": [{"name": "orders", "state": "RUNNING", "tasks": {"running": 1, "failed": 1, "paused": 0},
                "actions": [{"task": 1, "action": "restarted", "rule": "network-timeout", "root_cause": "java.net.SocketTimeoutException"}]}]}]});
        let text = connect_health(&report);
        assert!(text.contains("task 1         -> restarted   rule: network-timeout; root cause: java.net.SocketTimeoutException"), "{text}");
    }
}
