//! Throughput and panic check of every parser that reads connect-health's input from outside:
//! Kafka Connect status bodies (one connector, the `?expand=status` map, `GET /` and the worker
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
//! timed. The configuration and `RESTART_POLICY` parsers compile the built-in policy's regular
//! expressions on every accepted input: they are the slow ones.
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
use common::text::{bounded, quote_bounded};
use connect_health::backoff::{eligibility, healthy_long_enough, RestartRecord};
use connect_health::config::Config;
use connect_health::connect::{BasicAuth, ServerInfo};
use connect_health::plan::{restart_plan, state_key, PlanSettings, Target};
use connect_health::policy::Policy;
use connect_health::status::{ConnectorStatus, KafkaVersion};
use connect_health::trace::Trace;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// --- the harness (the same in cost-etl's parser-fuzz) ----------------------------------

/// xorshift64*: small, fast and reproducible from its seed; for test inputs only.
struct Rng(u64);

impl Rng {
    /// One sequence per seed and parser name (FNV-1a of the name), so adding a parser does not
    /// change the inputs of the others.
    fn new(seed: u64, stream: &str) -> Rng {
        let mut state = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in stream.bytes() {
            state ^= u64::from(b);
            state = state.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(if state == 0 { 0x9e37_79b9_7f4a_7c15 } else { state })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next_u64() % 100 < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn byte(&mut self) -> u8 {
        (self.next_u64() >> 32) as u8
    }
}

/// Numbers on the edges parsers overflow or round at.
const EDGE_NUMBERS: &[&str] = &[
    "0", "-0", "1", "-1", "59", "60", "61", "255", "256", "65535", "65536", "4294967295", "4294967296", "-4294967296",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "307445734561825860", "307445734561825861",
    "99999999999999999999999999", "1e309", "-1e309", "1e-400", "1.5", "0.0000005", "9223372036854.775807",
    "9223372036854.775808", "8210266876799", "8210266876800", "-8334601315200", "999999999999", "1000000000000",
];

/// Tokens that change what a parser sees: JSON structure, escapes, invalid UTF-8, trace words.
const TOKENS: &[&[u8]] = &[
    b"\"", b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\\u0000", b"\\ud800", b"\\\"", b"null", b"true", b"[]", b"{}",
    b"-", b".", b"e", b"\n", b"\r\n", b"\t", b" ", b"\xff", b"\xc3", b"\xe2\x80\xae", b"Caused by: ", b"\tat ", b"...",
];

fn edge_number(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 | 1 => rng.pick(EDGE_NUMBERS).to_string(),
        2 => rng.next_u64().to_string(),
        _ => (rng.next_u64() as i64).to_string(),
    }
}

/// Replace the number at (or after) a random place with an edge number.
fn splice_number(rng: &mut Rng, out: &mut Vec<u8>) {
    let start = rng.below(out.len() + 1);
    let found = out[start..].iter().position(u8::is_ascii_digit).map(|i| start + i).or_else(|| out.iter().position(u8::is_ascii_digit));
    let number = edge_number(rng);
    match found {
        Some(mut begin) => {
            while begin > 0 && (out[begin - 1].is_ascii_digit() || out[begin - 1] == b'.' || out[begin - 1] == b'-') {
                begin -= 1;
            }
            let mut end = begin;
            while end < out.len() && (out[end].is_ascii_digit() || out[end] == b'.' || (end == begin && out[end] == b'-')) {
                end += 1;
            }
            out.splice(begin..end, number.bytes());
        }
        None => {
            let at = rng.below(out.len() + 1);
            out.splice(at..at, number.bytes());
        }
    }
}

/// One to four edits of `sample`.
fn mutate(rng: &mut Rng, sample: &[u8]) -> Vec<u8> {
    let mut out = sample.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            0 if at < len => out[at] ^= 1 << rng.below(8),
            1 => out.insert(at, rng.byte()),
            2 => {
                let token = *rng.pick(TOKENS);
                out.splice(at..at, token.iter().copied());
            }
            3 if at < len => {
                let end = (at + 1 + rng.below(8)).min(len);
                out.drain(at..end);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let chunk = out[from..(from + 1 + rng.below(32)).min(len)].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, chunk);
            }
            6 if at < len && rng.percent(50) => out.truncate(at),
            _ => splice_number(rng, &mut out),
        }
    }
    out
}

/// An input shaped like `samples`: mostly a mutated sample, some with edge numbers only, some
/// valid as they are, some noise.
fn document(rng: &mut Rng, samples: &[&[u8]]) -> Vec<u8> {
    let sample = *rng.pick(samples);
    match rng.below(20) {
        0 => sample.to_vec(),
        1 => (0..rng.below(200)).map(|_| rng.byte()).collect(),
        2..=5 => {
            let mut out = sample.to_vec();
            for _ in 0..1 + rng.below(3) {
                splice_number(rng, &mut out);
            }
            out
        }
        _ => mutate(rng, sample),
    }
}

/// [`document`] as text, as the parsers that take `&str` receive it.
fn text_document(rng: &mut Rng, samples: &[&str]) -> String {
    let samples: Vec<&[u8]> = samples.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&document(rng, &samples)).into_owned()
}

fn show_bytes(bytes: &[u8]) -> String {
    quote_bounded(&String::from_utf8_lossy(bytes), 600)
}

fn show_debug<T: Debug>(value: &T) -> String {
    bounded(&format!("{value:?}"), 600)
}

static PANICS_SHOWN: AtomicUsize = AtomicUsize::new(0);

/// Print the first few panics (message and place) and stay quiet after.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if PANICS_SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("panic: {info}");
        }
    }));
}

struct Options {
    seed: u64,
    cases: u64,
    filter: Option<String>,
}

impl Options {
    fn from_args() -> Options {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let number = |i: usize, default: u64| match args.get(i) {
            None => default,
            Some(a) => a.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("usage: parser-fuzz [SEED] [CASES] [FILTER]  ({a:?} is not a whole number)");
                std::process::exit(2)
            }),
        };
        Options { seed: number(0, 1), cases: number(1, 1_000_000), filter: args.get(2).cloned() }
    }
}

struct Row {
    name: &'static str,
    cases: u64,
    seconds: f64,
    panics: u64,
}

struct Fuzz {
    options: Options,
    rows: Vec<Row>,
}

/// Inputs generated ahead of each timed batch, so that only the parser calls are timed.
const BATCH: u64 = 1000;

impl Fuzz {
    fn run<I>(&mut self, name: &'static str, mut generate: impl FnMut(&mut Rng) -> I, parse: impl Fn(&I) -> usize, show: impl Fn(&I) -> String) {
        if self.options.filter.as_deref().is_some_and(|f| !name.contains(f)) {
            return;
        }
        let mut rng = Rng::new(self.options.seed, name);
        let (mut spent, mut panics, mut sink, mut done) = (Duration::ZERO, 0u64, 0usize, 0u64);
        while done < self.options.cases {
            let batch: Vec<I> = (0..BATCH.min(self.options.cases - done)).map(|_| generate(&mut rng)).collect();
            let started = Instant::now();
            for (i, input) in batch.iter().enumerate() {
                match catch_unwind(AssertUnwindSafe(|| parse(input))) {
                    Ok(n) => sink = sink.wrapping_add(n),
                    Err(_) => {
                        panics += 1;
                        if panics <= 3 {
                            eprintln!("{name}: case {} of seed {} panicked on {}", done + i as u64, self.options.seed, show(input));
                        }
                    }
                }
            }
            spent += started.elapsed();
            done += batch.len() as u64;
        }
        std::hint::black_box(sink);
        eprintln!("{name}: {done} cases in {:.2} s, {panics} panicked", spent.as_secs_f64());
        self.rows.push(Row { name, cases: done, seconds: spent.as_secs_f64(), panics });
    }

    /// Print the table; the number of calls that panicked.
    fn finish(self) -> u64 {
        let thousands = |n: u64| {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        };
        println!("{:<32} | {:>11} | {:>8} | {:>11}", "parser", "cases", "seconds", "cases/s");
        println!("{:-<32}-+-{:->11}-+-{:->8}-+-{:->11}", "", "", "", "");
        for row in &self.rows {
            let rate = if row.seconds > 0.0 { (row.cases as f64 / row.seconds) as u64 } else { 0 };
            println!("{:<32} | {:>11} | {:>8.3} | {:>11}", row.name, thousands(row.cases), row.seconds, thousands(rate));
        }
        let panics: u64 = self.rows.iter().map(|r| r.panics).sum();
        println!("panics: {panics} (seed {}, {} cases per parser)", self.options.seed, thousands(self.options.cases));
        for row in self.rows.iter().filter(|r| r.panics > 0) {
            println!("  {}: {} panicked", row.name, row.panics);
        }
        panics
    }
}

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

/// What `GET /connectors?expand=status` is read into (private in `connect.rs`; same shape).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ExpandBody {
    Map(BTreeMap<String, Expansion>),
    Names(Vec<String>),
}

#[derive(serde::Deserialize)]
struct Expansion {
    status: Option<ConnectorStatus>,
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
        ("CONNECT_MAX_BODY_BYTES", "67108864".into()),
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
    let expanded_samples = expanded();
    let expanded_bytes: Vec<&[u8]> = expanded_samples.iter().map(|s| s.as_bytes()).collect();
    fuzz.run(
        "connectors ?expand=status",
        |rng| document(rng, &expanded_bytes),
        |body| match serde_json::from_slice::<ExpandBody>(body) {
            Ok(ExpandBody::Map(map)) => map.into_values().filter_map(|e| e.status).map(|s| s.tasks.len() + 1).sum(),
            Ok(ExpandBody::Names(names)) => names.len(),
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
    fuzz.run("kafka version", |rng| text_document(rng, VERSIONS), |text| KafkaVersion::parse(text).map_or(0, |v| v.major as usize), |t| show_debug(t));
    fuzz.run("stack trace", |rng| text_document(rng, TRACES), |text| Trace::parse(text).causes.len(), |t| show_debug(t));
    fuzz.run(
        "stack trace + built-in policy",
        |rng| text_document(rng, TRACES),
        |text| builtin.judge(&Trace::parse(text)).rule.len(),
        |t| show_debug(t),
    );
    fuzz.run(
        "RESTART_POLICY",
        |rng| text_document(rng, POLICIES),
        |text| Policy::from_json(text).map_or_else(|e| e.0.len(), |p| p.rules.len()),
        |t| show_debug(t),
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
        |t| show_debug(t),
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
            let plans = restart_plan("main", std::slice::from_ref(&status), &history, &builtin, PlanSettings { max_restarts: *max_restarts }, now);
            plans.iter().map(|p| p.decisions.len() + p.history.len()).sum()
        },
        |(body, parts, max_restarts)| format!("max_restarts {max_restarts}, records {parts:?}, status {}", show_bytes(body)),
    );

    if fuzz.finish() > 0 {
        std::process::exit(1);
    }
}
