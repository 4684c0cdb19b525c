//! Property tests of what connect-health reads from outside (proptest, 256 cases each;
//! `PROPTEST_CASES` overrides): Kafka Connect status bodies (one connector, and the
//! `?expand=status` map), the worker version, stack traces, `RESTART_POLICY`, the configuration,
//! the basic-auth secret, and restart records read back from the table.
//!
//! Nothing panics on any input: random text, random JSON of the right shape, and valid documents
//! with bytes flipped, inserted, removed or cut. Status bodies read straight into digests (one
//! pass, traces judged as they are read) give what reading them whole gives, whenever the whole
//! read accepts the document. Trace parsing stays bounded on huge traces; restart planning holds
//! for any record timestamps; the body cap never exceeds the memory share; values and secrets
//! never reach an error.

use chrono::{DateTime, TimeZone, Utc};
use common::config::Env;
use connect_health::backoff::{backoff_after, eligibility, healthy_long_enough, Eligibility, RestartRecord, MAX_BACKOFF_MINUTES};
use connect_health::config::Config;
use common::memory::MemoryBudget;
use connect_health::connect::{parse_expanded, BasicAuth, Expanded, ServerInfo};
use connect_health::digest::{status_from_slice, StatusDigest};
use connect_health::plan::{restart_plan, state_key, PlanSettings, Target};
use connect_health::policy::Policy;
use connect_health::status::{ConnectorStatus, KafkaVersion, State};
use connect_health::trace::{Trace, MAX_CAUSES, MAX_TRACE_BYTES};
use proptest::prelude::*;
use test_support::strategies::{text, json_value, edits, mutate};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// `trace.rs` keeps at most this many bytes of one cause's message (private there).
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

fn builtin() -> &'static Policy {
    static BUILTIN: OnceLock<Policy> = OnceLock::new();
    BUILTIN.get_or_init(Policy::builtin)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

// --- strategies -------------------------------------------------------------------------------

/// One line of a Java stack trace, or of something that is not one.
fn trace_line() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z]{1,6}(\\.[a-z]{1,8}){0,4}\\.[A-Z][a-zA-Z]{0,12}(Exception|Error)(: [ -~]{0,40})?",
        "Caused by: [a-z]{1,6}(\\.[a-z]{1,8}){0,3}\\.[A-Z][a-zA-Z]{0,12}(Exception|Error|Throwable)(:[ -~]{0,40})?",
        "\tat [a-z.$]{1,30}\\([A-Za-z]{1,10}\\.java:[0-9]{1,4}\\)",
        "\t\\.\\.\\. [0-9]{1,3} more",
        "\t{1,2}Suppressed: [a-z.]{1,20}Exception: [a-z ]{0,20}",
        "[ \t]{0,2}Caused by: [a-z.]{1,20}Exception",
        prop::sample::select(vec![
            "Read timed out",
            "Unknown magic byte!",
            "Bulk request failed: [{\"type\":\"mapper_parsing_exception\"}]",
            "HTTP/1.1 503 Service Unavailable",
            "Caused by: java.net.ConnectException: Connection refused",
            "Caused by: org.apache.kafka.common.errors.SerializationException: Error deserializing",
            "",
        ])
        .prop_map(|line| line.to_string()),
        text(60),
    ]
    .boxed()
}

fn trace_text() -> BoxedStrategy<String> {
    prop::collection::vec(trace_line(), 0..40).prop_map(|lines| lines.join("\n")).boxed()
}

fn trace_value() -> BoxedStrategy<Value> {
    prop_oneof![3 => trace_text().prop_map(Value::String), 1 => json_value()].boxed()
}

fn state_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::sample::select(vec!["RUNNING", "FAILED", "PAUSED", "UNASSIGNED", "RESTARTING", "STOPPED", "failed", "DEGRADED"]).prop_map(|s| json!(s)),
        1 => text(80).prop_map(Value::String),
        1 => json_value(),
    ]
    .boxed()
}

prop_compose! {
    fn task_document()(
        id in prop_oneof![3 => any::<u32>().prop_map(Value::from), 1 => json_value()],
        state in state_value(),
        trace in prop::option::of(trace_value()),
        worker in prop::option::of(prop_oneof![Just(json!("10.0.0.5:8083")), json_value()]),
    ) -> Value {
        let mut task = Map::new();
        task.insert("id".into(), id);
        task.insert("state".into(), state);
        if let Some(trace) = trace {
            task.insert("trace".into(), trace);
        }
        if let Some(worker) = worker {
            task.insert("worker_id".into(), worker);
        }
        Value::Object(task)
    }
}

prop_compose! {
    /// A `ConnectorStateInfo` document with random values where Connect puts its own.
    fn status_document()(
        name in prop_oneof![3 => "[a-z0-9._-]{1,20}".prop_map(Value::String), 1 => json_value()],
        state in state_value(),
        trace in prop::option::of(trace_value()),
        tasks in prop::collection::vec(task_document(), 0..5),
        kind in prop::option::of(prop_oneof![Just(json!("sink")), Just(json!("source")), json_value()]),
    ) -> Value {
        let mut connector = Map::new();
        connector.insert("state".into(), state);
        if let Some(trace) = trace {
            connector.insert("trace".into(), trace);
        }
        let mut status = Map::new();
        status.insert("name".into(), name);
        status.insert("connector".into(), Value::Object(connector));
        status.insert("tasks".into(), Value::Array(tasks));
        if let Some(kind) = kind {
            status.insert("type".into(), kind);
        }
        Value::Object(status)
    }
}

/// Epoch seconds chrono can represent, with the ends of its range well covered.
fn valid_secs() -> BoxedStrategy<i64> {
    let (min, max) = (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
    prop_oneof![min..=max, (max - 4_000)..=max, min..=(min + 4_000), 1_600_000_000i64..2_000_000_000].boxed()
}

/// Epoch seconds as a table item may hold them: representable or not.
fn timestamp_secs() -> BoxedStrategy<i64> {
    prop_oneof![1 => any::<i64>(), 3 => valid_secs()].boxed()
}

/// A restart record's parts as read back from the table: which connector and target it is
/// for, count, last restart, healthy since, version.
fn record_parts() -> BoxedStrategy<GeneratedRecord> {
    (any::<usize>(), any::<usize>(), prop_oneof![0u32..12, any::<u32>()], timestamp_secs(), prop::option::of(timestamp_secs()), any::<u64>()).boxed()
}

/// A generated restart record: (which status, which of its targets, restart count, last restart,
/// healthy since, item version).
type GeneratedRecord = (usize, usize, u32, i64, Option<i64>, u64);

/// Restart history for some targets of `statuses` (RUNNING or FAILED ones, or the connector),
/// built as `state.rs` reads items back (an item whose last restart is not a representable time
/// is skipped, as it is there).
fn history_for(statuses: &[StatusDigest], records: &[GeneratedRecord]) -> HashMap<String, RestartRecord> {
    let mut history = HashMap::new();
    if statuses.is_empty() {
        return history;
    }
    for &(which, target, count, last, healthy, version) in records {
        let status = &statuses[which % statuses.len()];
        let targets: Vec<Target> = status.running.iter().copied().chain(status.failed_targets()).collect();
        let target = if targets.is_empty() || target % 3 == 0 { Target::Connector } else { targets[target % targets.len()] };
        let Some(last_restart_at) = Utc.timestamp_opt(last, 0).single() else { continue };
        let healthy_since = healthy.and_then(|secs| Utc.timestamp_opt(secs, 0).single());
        history.insert(state_key("main", &status.name, target), RestartRecord { count, last_restart_at, healthy_since, version });
    }
    history
}

fn rule_value() -> BoxedStrategy<Value> {
    let name = prop::option::of(prop_oneof![3 => "[a-z-]{0,12}".prop_map(Value::String), 1 => json_value()]);
    let exception = prop::option::of(prop_oneof![
        "[*a-zA-Z.$]{0,30}".prop_map(Value::String),
        prop::collection::vec("[*a-zA-Z.]{0,20}", 0..3).prop_map(|classes| json!(classes)),
        json_value(),
    ]);
    let message = prop::option::of(prop_oneof![3 => "[ -~]{0,20}".prop_map(Value::String), 1 => json_value()]);
    let regex = prop::option::of(prop_oneof![3 => "[a-z()|*+?.^$ \\[\\]{}0-9\\\\-]{0,24}".prop_map(Value::String), 1 => json_value()]);
    let action = prop::option::of(prop_oneof![
        3 => prop::sample::select(vec!["restart", "skip", "Restart", "ignore"]).prop_map(|a| json!(a)),
        1 => json_value(),
    ]);
    (name, exception, message, regex, action)
        .prop_map(|(name, exception, message, regex, action)| {
            let mut rule = Map::new();
            for (key, value) in [("name", name), ("exception", exception), ("message", message), ("message_regex", regex), ("action", action)] {
                if let Some(value) = value {
                    rule.insert(key.to_string(), value);
                }
            }
            Value::Object(rule)
        })
        .boxed()
}

/// A `RESTART_POLICY` document: a rule list, or the full form, with random parts.
fn policy_text() -> BoxedStrategy<String> {
    let rules = prop::collection::vec(rule_value(), 0..4);
    let full = (
        prop::option::of(prop_oneof![prop::sample::select(vec!["extend", "replace", "merge"]).prop_map(|m| json!(m)), json_value()]),
        prop::option::of(prop_oneof![prop::sample::select(vec!["restart", "skip"]).prop_map(|a| json!(a)), json_value()]),
        prop::option::of(prop::collection::vec(rule_value(), 0..4)),
    )
        .prop_map(|(mode, default, rules)| {
            let mut doc = Map::new();
            for (key, value) in [("mode", mode), ("default", default), ("rules", rules.map(Value::Array))] {
                if let Some(value) = value {
                    doc.insert(key.to_string(), value);
                }
            }
            Value::Object(doc).to_string()
        });
    prop_oneof![3 => rules.prop_map(|rules| Value::Array(rules).to_string()), 2 => full, 1 => "[ -~]{0,80}", 1 => text(60)].boxed()
}

fn url_text() -> BoxedStrategy<String> {
    prop_oneof![
        "https?://[a-z0-9.-]{1,20}(:[0-9]{1,6})?/?",
        "https?://[a-z]{1,8}:[a-z]{1,8}@[a-z]{1,10}",
        "https?://",
        "[ -~]{0,30}",
        text(30),
    ]
    .boxed()
}

fn cluster_list() -> BoxedStrategy<String> {
    let entry = (
        prop_oneof![3 => "[a-zA-Z0-9._-]{1,20}", 1 => "[ -~]{0,20}", 1 => "[a-z]{120,140}"],
        url_text(),
        prop::option::of(prop_oneof!["[a-z/]{0,20}", " "]),
    )
        .prop_map(|(name, url, secret)| {
            let mut entry = json!({"name": name, "url": url});
            if let Some(secret) = secret {
                entry["auth_secret_id"] = json!(secret);
            }
            entry
        });
    prop_oneof![
        4 => prop::collection::vec(entry, 0..4).prop_map(|entries| Value::Array(entries).to_string()),
        1 => Just("[]".to_string()),
        1 => "[ -~]{0,80}",
        1 => text(60),
    ]
    .boxed()
}

fn number_text() -> BoxedStrategy<String> {
    prop_oneof!["[ ]?[0-9]{1,25}[ ]?", "-[0-9]{1,5}", "[ -~]{0,12}", text(12)].boxed()
}

// --- checks -----------------------------------------------------------------------------------

fn check_trace(trace: &Trace) -> Result<(), TestCaseError> {
    prop_assert!(trace.causes.len() <= MAX_CAUSES, "{} causes", trace.causes.len());
    for cause in &trace.causes {
        prop_assert!(cause.message.len() <= MAX_MESSAGE_BYTES, "message of {} bytes", cause.message.len());
        prop_assert!(cause.class.len() <= 512, "class of {} bytes", cause.class.len());
        let _ = cause.simple_class();
        prop_assert!(cause.summary().len() <= cause.class.len() + 2 + 300);
    }
    prop_assert_eq!(trace.root_cause(), trace.causes.last());
    Ok(())
}

fn check_status(status: &ConnectorStatus) -> Result<(), TestCaseError> {
    for state in std::iter::once(&status.connector.state).chain(status.tasks.iter().map(|task| &task.state)) {
        if let State::Other(text) = state {
            prop_assert!(text.len() <= 64, "state of {} bytes kept", text.len());
        }
        prop_assert_eq!(&State::parse(state.as_str()), state);
    }
    for trace in std::iter::once(status.connector.trace.as_deref()).chain(status.tasks.iter().map(|task| task.trace.as_deref())).flatten() {
        check_trace(&Trace::parse(trace))?;
    }
    Ok(())
}

/// Digests agree whatever the path: a status read whole then digested, and the same document
/// read straight into a digest, alone or as an entry of the `?expand=status` object.
fn check_digest(digest: &StatusDigest, status: &ConnectorStatus) -> Result<(), TestCaseError> {
    prop_assert_eq!(digest, &StatusDigest::from_status(status, builtin()));
    prop_assert_eq!(digest.tasks.total(), status.tasks.len() as u64);
    prop_assert_eq!(digest.failed.len(), status.tasks.iter().filter(|t| t.state == State::Failed).count() + usize::from(status.connector.state == State::Failed));
    for failed in &digest.failed {
        prop_assert!(failed.judgement.root_cause.as_ref().is_none_or(|r| r.len() <= 512 + 2 + 300), "summaries stay bounded");
    }
    Ok(())
}

/// Variables connect-health reads whose values are plain settings (the policy document and
/// cluster names are quoted in errors on purpose; see `config.rs`).
const SCALAR_VARS: [&str; 9] =
    ["CONNECT_URL", "METRICS_NAMESPACE", "RESTART_STATE_TABLE", "DRY_RUN", "MAX_RESTARTS", "CONNECT_TIMEOUT_SECONDS", "CONNECT_MAX_BODY_BYTES", "CLUSTER_CONCURRENCY", "CONNECTOR_METRICS"];

// --- properties -------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn connector_statuses_parse_or_are_refused_and_plan_without_panicking(
        document in status_document(),
        edits in edits(),
        records in prop::collection::vec(record_parts(), 0..6),
        max_restarts in prop_oneof![0u32..12, any::<u32>()],
    ) {
        let single = document.to_string().into_bytes();
        let expanded = json!({"c1": {"status": document, "info": {"config": {}}}, "c2": {"status": null}}).to_string().into_bytes();
        // Read whole, the document as Connect's status type (stricter about fields the digest skips, such as `worker_id`).
        if let Ok(status) = serde_json::from_slice::<ConnectorStatus>(&single) {
            check_status(&status)?;
            let streamed = status_from_slice(&single, builtin());
            prop_assert!(streamed.is_ok(), "read whole but not streamed: {:?}", streamed.as_ref().err());
            check_digest(&streamed.unwrap(), &status)?;
            match parse_expanded(&expanded, builtin(), usize::MAX) {
                Ok(Expanded::Statuses(found)) => {
                    prop_assert_eq!(found.len(), 1, "c2 has no status");
                    check_digest(&found[0], &status)?;
                }
                other => prop_assert!(false, "the ?expand=status body is not read as statuses: {:?}", other.err()),
            }
        }
        let names = br#"["c1","c2"]"#.to_vec();
        for bytes in [mutate(single.clone(), &edits), single, mutate(expanded.clone(), &edits), expanded, names] {
            let mut statuses: Vec<StatusDigest> = Vec::new();
            if let Ok(status) = serde_json::from_slice::<ConnectorStatus>(&bytes) {
                check_status(&status)?;
                statuses.push(StatusDigest::from_status(&status, builtin()));
            }
            if let Ok(status) = status_from_slice(&bytes, builtin()) {
                statuses.push(status);
            }
            if let Ok(Expanded::Statuses(found)) = parse_expanded(&bytes, builtin(), usize::MAX) {
                statuses.extend(found);
            }
            let history = history_for(&statuses, &records);
            let expected: Vec<(usize, connect_health::plan::TaskCounts)> = statuses.iter().map(|s| (s.failed.len(), s.tasks)).collect();
            let plans = restart_plan("main", statuses, &history, PlanSettings { max_restarts }, now());
            prop_assert_eq!(plans.len(), expected.len());
            for (plan, (failed, tasks)) in plans.iter().zip(expected) {
                prop_assert_eq!(plan.decisions.len(), plan.failed.len());
                prop_assert_eq!(plan.decisions.len(), failed);
                prop_assert_eq!(plan.tasks, tasks);
            }
        }
    }

    #[test]
    fn any_body_is_a_status_or_refused_without_panicking(bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..400), text(300).prop_map(String::into_bytes)]) {
        if let Ok(status) = serde_json::from_slice::<ConnectorStatus>(&bytes) {
            check_status(&status)?;
        }
        let _ = status_from_slice(&bytes, builtin());
        let _ = parse_expanded(&bytes, builtin(), usize::MAX);
        // A tiny entry limit: refused as such, never a panic.
        let _ = parse_expanded(&bytes, builtin(), 1);
        if let Ok(info) = serde_json::from_slice::<ServerInfo>(&bytes) {
            let _ = KafkaVersion::parse(&info.version);
        }
    }

    #[test]
    fn worker_versions_never_overflow(
        major in prop_oneof![2 => Just(6u32), 1 => 0u32..12, 1 => any::<u32>()],
        minor in prop_oneof![0u32..12, (u32::MAX - 8)..=u32::MAX, any::<u32>()],
        suffix in prop::sample::select(vec!["", ".0", ".1-ccs", "-ccs", "-ce", "-ce-rc1", "-SNAPSHOT", "x"]),
        junk in text(20),
    ) {
        let version = KafkaVersion::parse(&format!("{major}.{minor}{suffix}"));
        let confluent = suffix.contains("-ccs") || suffix.contains("-ce");
        let expected = match major {
            5 if confluent => KafkaVersion { major: 2, minor },
            6 if confluent => KafkaVersion { major: 2, minor: minor.saturating_add(6) },
            m if confluent && m > 6 => KafkaVersion { major: m - 4, minor },
            _ => KafkaVersion { major, minor },
        };
        prop_assert_eq!(version, Some(expected));
        let _ = expected.has_expand_status() && expected.has_restart_only_failed();
        let _ = KafkaVersion::parse(&junk);
        let _ = KafkaVersion::parse(&format!("{major}.{minor}{junk}"));
    }

    #[test]
    fn any_trace_parses_bounded_and_is_judged(trace in prop_oneof![3 => trace_text(), 1 => text(400)]) {
        let parsed = Trace::parse(&trace);
        check_trace(&parsed)?;
        let judgement = builtin().judge(&parsed);
        prop_assert!(!judgement.rule.is_empty());
        prop_assert_eq!(judgement.root_cause.is_some(), !parsed.causes.is_empty());
    }

    #[test]
    fn any_restart_policy_compiles_or_is_refused_and_then_judges(document in policy_text(), trace in trace_text()) {
        match Policy::from_json(&document) {
            Ok(policy) => {
                let judgement = policy.judge(&Trace::parse(&trace));
                prop_assert!(!judgement.rule.is_empty());
            }
            Err(err) => prop_assert!(!err.0.is_empty()),
        }
    }

    #[test]
    fn restart_records_read_back_with_any_timestamp_never_panic(
        count in prop_oneof![0u32..12, any::<u32>()],
        last in valid_secs(),
        healthy in prop::option::of(timestamp_secs()),
        now_secs in valid_secs(),
        max_restarts in prop_oneof![0u32..20, any::<u32>()],
        version in any::<u64>(),
    ) {
        let last_restart_at = Utc.timestamp_opt(last, 0).single().expect("a representable time");
        let now = Utc.timestamp_opt(now_secs, 0).single().expect("a representable time");
        let record = RestartRecord { count, last_restart_at, healthy_since: healthy.and_then(|secs| Utc.timestamp_opt(secs, 0).single()), version };
        match eligibility(Some(&record), now, max_restarts) {
            Eligibility::CapReached { restarts } => prop_assert!(restarts == count && count >= max_restarts),
            Eligibility::BackingOff { until } => prop_assert!(count < max_restarts && now < until && until >= last_restart_at),
            Eligibility::Now => prop_assert!(count < max_restarts),
        }
        let _ = healthy_long_enough(&record, now);
        prop_assert!(backoff_after(count).num_minutes() <= MAX_BACKOFF_MINUTES);
    }

    #[test]
    fn connect_health_configuration_never_panics(
        clusters in prop::option::of(cluster_list()),
        url in prop::option::of(url_text()),
        policy in prop::option::of(policy_text()),
        namespace in prop::option::of(prop_oneof!["[A-Za-z/:]{0,12}", "AWS/[a-z]{1,5}", "[a-z]{250,260}", text(20)]),
        flags in (prop::option::of(prop_oneof!["(true|false|yes|no|1|0|TRUE|maybe)", text(8)]), prop::option::of(prop_oneof!["(problems|all|none|ALL|some)", text(8)])),
        numbers in (prop::option::of(number_text()), prop::option::of(number_text()), prop::option::of(number_text())),
        memory in (
            prop::option::of(prop_oneof![3 => prop::sample::select(vec!["128", "256", "1769", "10240"]).prop_map(String::from), 1 => number_text()]),
            prop::option::of(prop_oneof![3 => (1u32..=32).prop_map(|n| n.to_string()), 1 => number_text()]),
        ),
        table in prop::option::of("[ -~]{0,20}"),
    ) {
        let (dry_run, connector_metrics) = flags;
        let (max_restarts, timeout, max_body) = numbers;
        let (memory_mb, cluster_concurrency) = memory;
        let settings = [
            ("CONNECT_CLUSTERS", clusters),
            ("CONNECT_URL", url),
            ("RESTART_POLICY", policy),
            ("METRICS_NAMESPACE", namespace),
            ("DRY_RUN", dry_run),
            ("CONNECTOR_METRICS", connector_metrics),
            ("MAX_RESTARTS", max_restarts),
            ("CONNECT_TIMEOUT_SECONDS", timeout),
            ("CONNECT_MAX_BODY_BYTES", max_body),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb),
            ("CLUSTER_CONCURRENCY", cluster_concurrency),
            ("RESTART_STATE_TABLE", table),
        ];
        let env = Env::from_pairs(settings.iter().filter_map(|(var, value)| value.as_deref().map(|v| (*var, v))));
        match Config::from_env(&env) {
            Ok(config) => {
                // However the three are set, one cluster's answers fit its share of the memory.
                let budget = MemoryBudget::from_env(&env).expect("read by Config::from_env");
                prop_assert!((1..=32).contains(&config.cluster_concurrency), "{}", config.cluster_concurrency);
                prop_assert!(config.max_body_bytes <= budget.per_unit(config.cluster_concurrency), "{} > share", config.max_body_bytes);
                prop_assert!(!config.clusters.is_empty());
                for cluster in &config.clusters {
                    prop_assert!(!cluster.name.is_empty() && cluster.name.len() <= 128, "{:?}", cluster.name);
                    prop_assert!(cluster.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')), "{:?}", cluster.name);
                    prop_assert!(cluster.url.starts_with("http://") || cluster.url.starts_with("https://"), "{:?}", cluster.url);
                    prop_assert!(!cluster.url.ends_with('/'), "{:?}", cluster.url);
                }
                prop_assert!(!config.metrics_namespace.is_empty() && config.metrics_namespace.len() <= 255 && !config.metrics_namespace.starts_with("AWS/"));
            }
            Err(err) => {
                prop_assert!(!err.var.is_empty() && err.var.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{:?}", err.var);
                prop_assert!(err.to_string().starts_with("configuration error: environment variable "), "{}", err);
            }
        }
    }

    #[test]
    fn setting_values_and_credentials_never_reach_a_configuration_error(
        secret in "s3cr3t-[A-Za-z0-9]{8,24}",
        var in prop::sample::select(SCALAR_VARS.to_vec()),
        shape in 0usize..4,
    ) {
        let value = match shape {
            0 => secret.clone(),
            1 => format!("{secret} {secret}"),
            2 => format!("-{secret}"),
            _ => format!("https://admin:{secret}@connect:8083"),
        };
        let mut pairs = vec![("CONNECT_URL", "http://connect:8083".to_string())];
        if var == "CONNECT_URL" {
            pairs[0].1 = value;
        } else {
            pairs.push((var, value));
        }
        if let Err(err) = Config::from_env(&Env::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))) {
            prop_assert!(!err.to_string().contains(&secret), "{}", err);
        }
        for clusters in [
            format!(r#"[{{"name":"main","url":"https://admin:{secret}@connect:8083"}}]"#),
            format!(r#"[{{"name":"main","url":"{secret}"}}]"#),
            format!(r#"[{{"name":"main","url":"https://connect:8083","password":"{secret}"}}]"#),
            format!(r#"[{{"name":"main","url":["{secret}"]}}]"#),
            format!(r#"[{{"name":"main","url":"https://connect:8083","auth_secret_id":{secret}}}]"#),
        ] {
            if let Err(err) = Config::from_env(&Env::from_pairs([("CONNECT_CLUSTERS", clusters.as_str())])) {
                prop_assert!(!err.to_string().contains(&secret), "{}", err);
            }
        }
    }

    #[test]
    fn basic_auth_secrets_never_reach_an_error_or_a_log(secret in "s3cr3t-[A-Za-z0-9]{8,24}", noise in text(120)) {
        let documents = [
            format!(r#"{{"username":"admin","password":"{secret}"}}"#),
            format!(r#"{{"username":"admin","password":{secret}}}"#),
            format!(r#"{{"username":"admin","password":["{secret}"]}}"#),
            format!(r#"{{"username":"{secret}"}}"#),
            format!(r#"{{"user":"admin","pass":"{secret}"}}"#),
            format!(r#"["admin","{secret}",1]"#),
            format!(r#"{{"username":"admin","password":"{secret}"#),
        ];
        for document in documents.iter().chain(std::iter::once(&noise)) {
            match common::secrets::parse_json::<BasicAuth>("connect/main", document) {
                Ok(auth) => {
                    let shown = format!("{:?}", auth);
                    prop_assert!(!shown.contains(&secret), "{}", shown);
                }
                Err(err) => prop_assert!(!err.to_string().contains(&secret), "{}", err),
            }
        }
    }
}

proptest! {
    // Each case parses a trace past MAX_TRACE_BYTES: fewer of them.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn huge_traces_are_cut_and_keep_at_most_max_causes(lines in prop::collection::vec(trace_line(), 1..8), extra_units in 0usize..64) {
        let unit = format!("{}\nCaused by: java.io.IOException: deeper\n", lines.join("\n"));
        let trace = unit.repeat(MAX_TRACE_BYTES / unit.len() + 1 + extra_units);
        prop_assert!(trace.len() > MAX_TRACE_BYTES);
        let parsed = Trace::parse(&trace);
        check_trace(&parsed)?;
        // Every unit adds a cause, and far more than MAX_CAUSES units fit in MAX_TRACE_BYTES.
        prop_assert_eq!(parsed.causes.len(), MAX_CAUSES);
        let _ = builtin().judge(&parsed);
    }
}

#[test]
fn a_confluent_six_with_the_largest_minor_does_not_overflow() {
    assert_eq!(KafkaVersion::parse("6.4294967295-ccs"), Some(KafkaVersion { major: 2, minor: u32::MAX }));
}

#[test]
fn a_restart_recorded_at_the_end_of_time_backs_off_instead_of_panicking() {
    let record = RestartRecord { count: 3, last_restart_at: DateTime::<Utc>::MAX_UTC, healthy_since: None, version: 1 };
    assert_eq!(eligibility(Some(&record), now(), 10), Eligibility::BackingOff { until: DateTime::<Utc>::MAX_UTC });
}
