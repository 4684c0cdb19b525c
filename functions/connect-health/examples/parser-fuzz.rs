//! Throughput and panic check of every parser that reads connect-health's input from outside:
//! Kafka Connect status bodies (one connector, read whole and read straight into a digest; the
//! `?expand=status` map, read into digests with every trace judged; `GET /` and the worker
//! version), stack traces and their judgement by the restart policy, `RESTART_POLICY`, the
//! configuration, the basic-auth secret, and restart planning over records read back from the
//! table with any timestamps. A figure for the README, not a test; the property tests in
//! `tests/props.rs` check results.
//!
//! Each parser gets `CASES` generated inputs (default 1,000,000) from a small xorshift generator
//! seeded with `SEED` (default 1), so a run is reproducible: mostly valid documents with bytes
//! flipped, inserted, removed or cut, JSON tokens inserted, chunks duplicated and numbers
//! replaced by edge values (`u32::MAX`, `i64::MIN`, chrono's last second, ...); some valid
//! documents with edge numbers only; some noise. Every call runs under `catch_unwind`; the run
//! exits 1 when any panicked, printing the first inputs that did. Only the parser calls are
//! timed. `RESTART_POLICY` documents (and configurations that carry one) compile their
//! `message_regex` rules on every accepted input: they are the slow ones (the built-in policy
//! compiles no regular expression).
//!
//!     parser-fuzz [SEED] [CASES] [FILTER]      FILTER: run only parsers whose name contains it
//!
//! Dev profile (integer overflow checks and debug assertions on: an overflow is a panic here),
//! from the same build as `make test` (`cargo test --workspace --all-targets` builds examples):
//!   cargo build --workspace --all-targets && ${CARGO_TARGET_DIR:-target}/debug/examples/connect-health-parser-fuzz
//! Release profile (the figures; overflow checks are off there):
//!   cargo build --release --target x86_64-unknown-linux-gnu -p connect-health --example connect-health-parser-fuzz \
//!     && ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/examples/connect-health-parser-fuzz

use chrono::{DateTime, TimeZone, Utc};
use common::config::Env;
use connect_health::backoff::{eligibility, healthy_long_enough, RestartRecord};
use connect_health::config::Config;
use connect_health::connect::{parse_expanded, BasicAuth, Expanded, ServerInfo};
use connect_health::digest::{status_from_slice, StatusDigest};
use connect_health::plan::{restart_plan, state_key, PlanSettings, Target};
use connect_health::policy::Policy;
use connect_health::status::{ConnectorStatus, KafkaVersion};
use connect_health::trace::Trace;
use serde_json::json;
use std::collections::HashMap;

use test_support::fuzz::*;

// --- the inputs of connect-health ---------------------------------------------------------------

const TIMEOUT_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed\n\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:587)\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:581)\nCaused by: java.net.SocketTimeoutException: Read timed out\n\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)\n\t... 12 more\n";
const POISON_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\n\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execAndHandleError(RetryWithToleranceOperator.java:206)\nCaused by: org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error\n\t... 13 more\nCaused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n";
const SUPPRESSED_TRACE: &str = "java.io.IOException: outer\n\tat A.b(A.java:1)\n\tSuppressed: java.lang.IllegalStateException: while closing\n\t\tat C.d(C.java:2)\n\t\tCaused by: java.lang.RuntimeException: deep suppressed\nCaused by: java.net.ConnectException: Connection refused\n\tat E.f(E.java:3)\n";
const BULK_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed: [{\"type\":\"mapper_parsing_exception\",\n\"reason\":\"failed to parse field [price] of type [long]\"}]\n\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:590)\n\t... 5 more\n";
const TRACES: &[&str] = &[TIMEOUT_TRACE, POISON_TRACE, SUPPRESSED_TRACE, BULK_TRACE, "Task was killed: out of memory, see worker log"];

const VERSIONS: &[&str] = &["3.7.1", "7.4.0-ccs", "6.2.1-ce", "2.2.1", "3.9.0-SNAPSHOT", "5.2.0-ccs"];

const POLICIES: &[&str] = &[
    r#"[{"name":"my-timeout","exception":"java.net.SocketTimeoutException","action":"skip"}]"#,
    r#"{"mode":"replace","default":"skip","rules":[{"exception":["*DataException","*ConfigException"],"message_regex":"unknown magic byte|schema [0-9]+","action":"skip"},{"message":"Connection refused","action":"restart"}]}"#,
    r#"{"mode":"extend","rules":[{"name":"es-429","message_regex":"HTTP/[0-9.]+ 429","action":"restart"}]}"#,
];

const SECRETS: &[&str] = &[r#"{"username":"admin","password":"hunter2"}"#, r#"{"username":"svc-connect","password":"p\u00e4ss \"quoted\"","note":"rotated 2026-11"}"#];

/// Seconds of chrono's last representable instant, and of its first.
const LAST_SECOND: i64 = 8_210_266_876_799;
const FIRST_SECOND: i64 = -8_334_601_315_200;

fn status_document(name: &str, tasks: &[(u32, &str, Option<&str>)]) -> serde_json::Value {
    let tasks: Vec<serde_json::Value> = tasks
        .iter()
        .map(|(id, state, trace)| {
            let mut task = json!({"id": id, "state": state, "worker_id": "10.0.0.6:8083"});
            if let Some(trace) = trace {
                task["trace"] = json!(trace);
            }
            task
        })
        .collect();
    json!({"name": name, "connector": {"state": "RUNNING", "worker_id": "10.0.0.5:8083"}, "tasks": tasks, "type": "sink"})
}

fn statuses() -> Vec<String> {
    vec![
        status_document("es-sink", &[(0, "RUNNING", None), (1, "FAILED", Some(TIMEOUT_TRACE)), (2, "FAILED", Some(POISON_TRACE))]).to_string(),
        status_document("jdbc-source", &[(0, "UNASSIGNED", None), (1, "PAUSED", None), (4294967295, "FAILED", Some(BULK_TRACE))]).to_string(),
        r#"{"name":"odd","connector":{"state":"DEGRADED","trace":"java.lang.Exception: x"},"tasks":[]}"#.to_string(),
    ]
}

fn expanded() -> Vec<String> {
    let es = status_document("es-sink", &[(0, "RUNNING", None), (1, "FAILED", Some(TIMEOUT_TRACE))]);
    let jdbc = status_document("jdbc-source", &[(0, "FAILED", Some(SUPPRESSED_TRACE))]);
    vec![
        json!({"es-sink": {"status": es, "info": {"name": "es-sink", "config": {"tasks.max": "2"}, "tasks": [], "type": "sink"}}, "jdbc-source": {"status": jdbc}}).to_string(),
        r#"["es-sink","jdbc-source"]"#.to_string(),
    ]
}

/// A configuration as deployed, with up to three of its values changed.
fn environment(rng: &mut Rng) -> Vec<(&'static str, String)> {
    let clusters = r#"[{"name":"main","url":"https://connect.internal:8083","auth_secret_id":"pipeline/prod/connect/main"},{"name":"cdc","url":"http://127.0.0.1:8083/"}]"#;
    let mut env: Vec<(&'static str, String)> = vec![
        ("METRICS_NAMESPACE", "KafkaConnect".into()),
        ("RESTART_STATE_TABLE", "connect-health-restarts".into()),
        ("DRY_RUN", "false".into()),
        ("MAX_RESTARTS", "10".into()),
        ("CONNECT_TIMEOUT_SECONDS", "10".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("CLUSTER_CONCURRENCY", "4".into()),
        ("CONNECT_MAX_BODY_BYTES", "16777216".into()),
        ("CONNECTOR_METRICS", "problems".into()),
    ];
    if rng.percent(70) {
        env.push(("CONNECT_CLUSTERS", clusters.into()));
    } else {
        env.push(("CONNECT_URL", "http://127.0.0.1:8083".into()));
    }
    if rng.percent(30) {
        env.push(("RESTART_POLICY", rng.pick(POLICIES).to_string()));
    }
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(env.len());
        match rng.below(5) {
            0 => env[i].1 = edge_number(rng),
            1 => env[i].1.clear(),
            _ => env[i].1 = lossy(&mutate(rng, env[i].1.as_bytes())),
        }
    }
    env
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An epoch second as a restart-state item may hold it: mostly recent, some at the ends of
/// chrono's range, some anything.
fn epoch_second(rng: &mut Rng) -> i64 {
    match rng.below(8) {
        0 => LAST_SECOND - rng.below(7_200) as i64,
        1 => FIRST_SECOND + rng.below(7_200) as i64,
        2 => rng.next_u64() as i64,
        _ => 1_795_000_000 - rng.below(10_000_000) as i64,
    }
}

/// A restart record's parts: target selector, count, last restart, healthy since, version.
type RecordParts = (usize, u32, i64, Option<i64>, u64);

fn record_parts(rng: &mut Rng) -> RecordParts {
    let count = if rng.percent(80) { rng.below(12) as u32 } else { rng.next_u64() as u32 };
    let healthy = rng.percent(30).then(|| epoch_second(rng));
    (rng.below(64), count, epoch_second(rng), healthy, rng.next_u64())
}

fn record(parts: &RecordParts) -> Option<RestartRecord> {
    let &(_, count, last, healthy, version) = parts;
    // As state.rs reads an item back: a time that is not representable drops the item.
    let last_restart_at = Utc.timestamp_opt(last, 0).single()?;
    Some(RestartRecord { count, last_restart_at, healthy_since: healthy.and_then(|secs| Utc.timestamp_opt(secs, 0).single()), version })
}

fn main() {
    let options = Options::from_args();
    quiet_panics();
    let mut fuzz = Fuzz { options, rows: Vec::new() };
    let builtin = Policy::builtin();
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();

    let status_samples = statuses();
    let status_bytes: Vec<&[u8]> = status_samples.iter().map(|s| s.as_bytes()).collect();
    fuzz.run(
        "connector status",
        |rng| document(rng, &status_bytes),
        |body| serde_json::from_slice::<ConnectorStatus>(body).map_or(0, |s| s.tasks.len() + s.name.len()),
        |b| show_bytes(b),
    );
    fuzz.run(
        "connector status -> digest",
        |rng| document(rng, &status_bytes),
        |body| status_from_slice(body, &builtin).map_or(0, |s| s.running.len() + s.failed.len() + s.name.len()),
        |b| show_bytes(b),
    );
    let expanded_samples = expanded();
    let expanded_bytes: Vec<&[u8]> = expanded_samples.iter().map(|s| s.as_bytes()).collect();
    fuzz.run(
        "connectors ?expand=status -> digests",
        |rng| document(rng, &expanded_bytes),
        |body| match parse_expanded(body, &builtin, usize::MAX) {
            Ok(Expanded::Statuses(statuses)) => statuses.iter().map(|s| s.running.len() + s.failed.len() + 1).sum(),
            Ok(Expanded::Names(names)) => names.len(),
            Err(_) => 0,
        },
        |b| show_bytes(b),
    );
    let info_samples: Vec<String> = VERSIONS.iter().map(|v| json!({"version": v, "commit": "5e3c2b738d253ff5", "kafka_cluster_id": "abc"}).to_string()).collect();
    let info_bytes: Vec<&[u8]> = info_samples.iter().map(|s| s.as_bytes()).collect();
    fuzz.run(
        "GET / and worker version",
        |rng| document(rng, &info_bytes),
        |body| serde_json::from_slice::<ServerInfo>(body).ok().and_then(|info| KafkaVersion::parse(&info.version)).map_or(0, |v| v.minor as usize ^ usize::from(v.has_restart_only_failed())),
        |b| show_bytes(b),
    );
    fuzz.run("kafka version", |rng| text_document(rng, VERSIONS), |text| KafkaVersion::parse(text).map_or(0, |v| v.major as usize), show_debug);
    fuzz.run("stack trace", |rng| text_document(rng, TRACES), |text| Trace::parse(text).causes.len(), show_debug);
    fuzz.run(
        "stack trace + built-in policy",
        |rng| text_document(rng, TRACES),
        |text| builtin.judge(&Trace::parse(text)).rule.len(),
        show_debug,
    );
    fuzz.run(
        "RESTART_POLICY",
        |rng| text_document(rng, POLICIES),
        |text| Policy::from_json(text).map_or_else(|e| e.0.len(), |p| p.rules.len()),
        show_debug,
    );
    fuzz.run(
        "connect-health config",
        environment,
        |env| Config::from_env(&Env::from_pairs(env.iter().map(|(k, v)| (*k, v.as_str())))).map_or_else(|e| e.var.len(), |c| c.clusters.len()),
        show_debug,
    );
    fuzz.run(
        "basic-auth secret",
        |rng| text_document(rng, SECRETS),
        |text| common::secrets::parse_json::<BasicAuth>("pipeline/prod/connect/main", text).map_or_else(|e| e.to_string().len(), |auth| auth.username.len()),
        show_debug,
    );
    fuzz.run(
        "restart eligibility",
        |rng| (record_parts(rng), epoch_second(rng), if rng.percent(80) { rng.below(20) as u32 } else { rng.next_u64() as u32 }),
        |(parts, now_secs, max_restarts)| {
            let (Some(record), Some(now)) = (record(parts), Utc.timestamp_opt(*now_secs, 0).single()) else { return 0 };
            let verdict = eligibility(Some(&record), now, *max_restarts);
            usize::from(healthy_long_enough(&record, now)) + format!("{verdict:?}").len()
        },
        show_debug,
    );
    fuzz.run(
        "restart plan (status + records)",
        |rng| (document(rng, &status_bytes), (0..rng.below(6)).map(|_| record_parts(rng)).collect::<Vec<RecordParts>>(), rng.below(12) as u32),
        |(body, parts, max_restarts)| {
            let Ok(status) = serde_json::from_slice::<ConnectorStatus>(body) else { return 0 };
            let mut history = HashMap::new();
            for p in parts {
                let target = match status.tasks.get(p.0 % (status.tasks.len() + 1)) {
                    Some(task) => Target::Task(task.id),
                    None => Target::Connector,
                };
                if let Some(record) = record(p) {
                    history.insert(state_key("main", &status.name, target), record);
                }
            }
            let plans = restart_plan("main", vec![StatusDigest::from_status(&status, &builtin)], &history, PlanSettings { max_restarts: *max_restarts }, now);
            plans.iter().map(|p| p.decisions.len() + p.history.len()).sum()
        },
        |(body, parts, max_restarts)| format!("max_restarts {max_restarts}, records {parts:?}, status {}", show_bytes(body)),
    );

    if fuzz.finish() > 0 {
        std::process::exit(1);
    }
}
