//! Benchmarks of one connect-health run on a large cluster (figures for the docs, not tests).
//!
//! The cluster: CONNECTORS connectors of TASKS tasks (default 2,000 × 10), 5% of the tasks FAILED
//! (half with a network time-out, which is restarted, half with a poison record, which is
//! skipped), on the local Kafka Connect peer pretending to be 3.7. The peer runs in a child
//! process, so that no memory figure includes it.
//!
//! Two modes:
//!
//! - default: the run in this process against moto (`App::run`, as deployed: 256 MB, so the
//!   cluster's body cap is its share of that): HTTP calls, the time to read, plan and restart,
//!   `PutMetricData` calls, the time to parse the statuses (every trace judged) and to plan
//!   alone, the report's size, and this process's peak resident memory.
//! - `--peak-rss`: the real `connect-health` binary, under a minimal Lambda Runtime API served
//!   here: told it has 256 MB (serverless.yml's `connectHealthMemory`), given the scheduled event
//!   once, then stopped. CloudWatch is answered here too (every `PutMetricData` accepted at once:
//!   moto would spend minutes ingesting, and its time is not the function's). Prints the init
//!   time (spawn to the first `/next`), the peak resident memory (`VmHWM` of
//!   `/proc/<pid>/status`) once initialized and after the run, the run's time and the answer's
//!   size, at 2,000 × 10 (1,000 failed) and 10,000 × 10 (5,000 failed) unless a size is given.
//!   The binary is built as it is deployed (`cargo build -p connect-health --bin connect-health`,
//!   its own features, not the bench's dev-dependencies; the first build takes a while), in this
//!   example's profile: run the example with `--release` for the figures. `CONNECT_HEALTH_BIN`
//!   names another binary to measure instead. Linux only (procfs).
//!
//! ```text
//! cargo run --release -p connect-health --example connect-health-bench                         # in-process figures
//! cargo run --release -p connect-health --example connect-health-bench -- 200 10               # quick, smaller
//! cargo run --release -p connect-health --example connect-health-bench -- --peak-rss           # the README's memory figures
//! cargo run --release -p connect-health --example connect-health-bench -- --peak-rss 10000 10  # one size
//! ```

use common::memory::MemoryBudget;
use connect_health::config::default_max_body_bytes;
use connect_health::connect::{parse_expanded, Deadline, Expanded};
use connect_health::digest::entry_limit;
use connect_health::plan::{restart_plan, PlanSettings};
use connect_health::{App, Clients, ClusterConfig, Config};
use peers::kafka_connect::{serve, KafkaConnect, FAILED, RUNNING};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use test_support::moto::kill_with_parent;
use test_support::tools::workspace_root;

const TIMEOUT_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed\n\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:587)\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:581)\nCaused by: java.net.SocketTimeoutException: Read timed out\n\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)\n\t... 12 more\n";
const POISON_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\n\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execAndHandleError(RetryWithToleranceOperator.java:206)\nCaused by: org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error\n\t... 13 more\nCaused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n";

/// serverless.yml's `connectHealthMemory`.
const DEPLOYED_MEMORY_MB: u64 = 256;

/// The sizes `--peak-rss` measures when none is given: the README's.
const PEAK_RSS_SIZES: [(u32, u32); 2] = [(2_000, 10), (10_000, 10)];

/// Longest wait for the function to ask for work, and then to answer.
const FUNCTION_LIMIT: Duration = Duration::from_secs(900);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve-peer") => serve_peer(args[1].parse().expect("connectors"), args[2].parse().expect("tasks")),
        Some("--peak-rss") => peak_rss(&args[1..]),
        _ => in_process(&args),
    }
}

/// `CONNECTORS TASKS` from the command line, when given.
fn sizes(args: &[String]) -> Option<(u32, u32)> {
    let connectors = args.first()?.parse().ok()?;
    let tasks = args.get(1)?.parse().ok()?;
    Some((connectors, tasks))
}

// --- in this process ------------------------------------------------------------------------

fn in_process(args: &[String]) {
    let (connectors, tasks) = sizes(args).unwrap_or(PEAK_RSS_SIZES[0]);
    let (url, mut peer) = start_peer(connectors, tasks);
    let moto = test_support::Moto::start();

    // One thread, as the function's own runtime (src/main.rs).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let rss_before = proc_status_kib(std::process::id(), "VmRSS");
        let mut config = Config::new(vec![ClusterConfig { name: "bench".into(), url: url.clone(), auth_secret_id: None }]);
        config.max_body_bytes = default_max_body_bytes(MemoryBudget::from_mb(DEPLOYED_MEMORY_MB), config.cluster_concurrency);
        let (policy, max_body) = (config.policy.clone(), config.max_body_bytes);
        let app = App::new(config, Clients::from_sdk_config(&moto.sdk_config())).unwrap();

        let started = Instant::now();
        let report = app.run(Deadline::after(Duration::from_secs(300))).await;
        let run_time = started.elapsed();
        let rss_peak = proc_status_kib(std::process::id(), "VmHWM");
        // The metrics step alone, again, to split the invocation time.
        let datums = connect_health::metrics::datums(&report, connect_health::config::ConnectorMetrics::All);
        let t = Instant::now();
        let batches = connect_health::metrics::batches(&datums, report.run_at);
        let published = connect_health::metrics::publish(&aws_sdk_cloudwatch::Client::new(&moto.sdk_config()), "Bench", batches).await;
        assert_eq!(published.failed, 0, "{:?}", published.first_error);
        let publish_time = t.elapsed();
        let cluster = &report.clusters[0];

        // Parsing (every trace judged) and planning alone, on the body as the peer seeded it: the
        // run restarted the transient failures of the peer it read, so a fresh one in this
        // process answers (after the memory figures were taken).
        let local = KafkaConnect::new("3.7.0");
        seed(&local, connectors, tasks);
        let (local_url, _server) = serve(local).await;
        let http = common::http::client_builder().build().unwrap();
        let body = http.get(format!("{local_url}/connectors?expand=status")).send().await.unwrap().bytes().await.unwrap();
        let (mut parse_times, mut plan_times) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let Ok(Expanded::Statuses(statuses)) = parse_expanded(&body, &policy, entry_limit(max_body)) else { panic!("the peer's body is not read as statuses") };
            parse_times.push(t.elapsed());
            let t = Instant::now();
            let plans = restart_plan("bench", statuses, &HashMap::new(), PlanSettings { max_restarts: 10 }, chrono::Utc::now());
            plan_times.push(t.elapsed());
            std::hint::black_box(plans);
        }
        parse_times.sort();
        plan_times.sort();

        println!("connectors: {}, tasks: {}, failed tasks: {}", cluster.connectors_total, cluster.tasks.running + cluster.tasks.failed, cluster.tasks.failed);
        println!("actions: {:?}", cluster.actions);
        println!("invocation time: {:.0} ms", run_time.as_secs_f64() * 1000.0);
        println!("of which reading, planning and restarting (cluster elapsed_ms): {} ms", cluster.elapsed_ms);
        println!("PutMetricData to moto (measured again alone, after the run's): {:.0} ms", publish_time.as_secs_f64() * 1000.0);
        println!("statuses body: {} KiB; parsing it into digests, every trace judged (median of 5): {:.1} ms", body.len() / 1024, millis(parse_times[2]));
        println!("planning from the digests (median of 5): {:.1} ms", millis(plan_times[2]));
        println!("HTTP calls to Connect: {}", cluster.http_calls);
        println!("metric datums: {}, PutMetricData calls: {} ({} failed)", report.metrics.datums, report.metrics.put_calls, report.metrics.failed_batches);
        println!("RSS of this process before the run: {}; peak RSS after it: {}", mib(rss_before), mib(rss_peak));
        let json = serde_json::to_vec(&report).unwrap();
        println!("report size: {} KiB", json.len() / 1024);
    });
    let _ = peer.kill();
    let _ = peer.wait();
}

// --- the real binary --------------------------------------------------------------------------

fn peak_rss(args: &[String]) {
    let sizes = sizes(args).map_or_else(|| PEAK_RSS_SIZES.to_vec(), |size| vec![size]);
    let binary = function_binary();
    println!("{} (AWS_LAMBDA_FUNCTION_MEMORY_SIZE={DEPLOYED_MEMORY_MB}, one cluster, CONNECTOR_METRICS=problems, no restart-state table)", binary.display());
    println!(
        "{:>20} {:>8} {:>9} {:>16} {:>16} {:>9} {:>9} {:>10}",
        "connectors x tasks", "failed", "init", "peak RSS (init)", "peak RSS (run)", "run", "answer", "PutMetric"
    );
    for (connectors, tasks) in sizes {
        let m = measure(&binary, connectors, tasks);
        println!(
            "{:>20} {:>8} {:>6.1} ms {:>16} {:>16} {:>6.0} ms {:>5} KiB {:>10}",
            format!("{connectors} x {tasks}"),
            failed_tasks(connectors, tasks),
            millis(m.init),
            mib(m.rss_init_kib),
            mib(m.rss_peak_kib),
            millis(m.run),
            m.answer_bytes / 1024,
            m.put_calls
        );
    }
}

struct Measured {
    /// Spawn to the first `GET .../invocation/next`.
    init: Duration,
    /// `VmHWM` at that moment, KiB.
    rss_init_kib: u64,
    /// `VmHWM` once the answer arrived, KiB.
    rss_peak_kib: u64,
    /// The invocation, from handing out the event to the answer.
    run: Duration,
    answer_bytes: usize,
    put_calls: usize,
}

/// One invocation of `binary` against a peer of `connectors` × `tasks`.
fn measure(binary: &Path, connectors: u32, tasks: u32) -> Measured {
    let (peer_url, mut peer) = start_peer(connectors, tasks);
    let api = RuntimeApi::start();
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", api.port))
        .env("AWS_LAMBDA_FUNCTION_NAME", "connect-health-bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEPLOYED_MEMORY_MB.to_string())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/connect-health-bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Only CloudWatch is called (no restart-state table, no secret): answered by `RuntimeApi`.
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", api.port))
        .env("CONNECT_URL", &peer_url)
        .stdin(Stdio::null())
        // One log line per action: thousands, not worth keeping. A failed start says why on stderr.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    kill_with_parent(&mut command);
    let spawned = Instant::now();
    let mut function = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let pid = function.id();

    match api.wait(&mut function) {
        ApiEvent::Next => {}
        ApiEvent::Error(error) => panic!("connect-health reported an error before asking for work: {error}"),
        ApiEvent::Response(_) => panic!("connect-health answered before it was invoked"),
    }
    let init = spawned.elapsed();
    let rss_init_kib = proc_status_kib(pid, "VmHWM");
    let invoked = Instant::now();
    api.go.send(()).expect("the Runtime API thread is waiting");
    let answer_bytes = match api.wait(&mut function) {
        ApiEvent::Response(bytes) => bytes,
        ApiEvent::Error(error) => panic!("the invocation failed: {error}"),
        ApiEvent::Next => panic!("connect-health asked for work again without answering"),
    };
    let run = invoked.elapsed();
    // The process now waits for its next event: its peak is the run's.
    let rss_peak_kib = proc_status_kib(pid, "VmHWM");
    let _ = function.kill();
    let _ = function.wait();
    let _ = peer.kill();
    let _ = peer.wait();
    Measured { init, rss_init_kib, rss_peak_kib, run, answer_bytes, put_calls: api.put_calls.load(Ordering::SeqCst) }
}

/// The `connect-health` binary to measure: `CONNECT_HEALTH_BIN`, or the one cargo builds now, as
/// deployed (its own features), in this example's profile.
fn function_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CONNECT_HEALTH_BIN") {
        return PathBuf::from(path);
    }
    let release = !cfg!(debug_assertions);
    let root = workspace_root();
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.args(["build", "--quiet", "-p", "connect-health", "--bin", "connect-health"]).current_dir(&root);
    if release {
        cargo.arg("--release");
    }
    // What `cargo run` set for this example would make the nested build rebuild its dependencies.
    for name in test_support::lambda::cargo_test_vars() {
        cargo.env_remove(name);
    }
    let status = cargo.status().expect("cannot run cargo build");
    assert!(status.success(), "cargo build -p connect-health --bin connect-health failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    target.join(if release { "release" } else { "debug" }).join("connect-health")
}

/// What the function did, as the Runtime API served here saw it.
enum ApiEvent {
    /// It asked for its first invocation: its init is over.
    Next,
    /// It answered the invocation with this many bytes.
    Response(usize),
    /// It reported an error, at init or for the invocation.
    Error(String),
}

/// A minimal Lambda Runtime API on 127.0.0.1 (one invocation of the scheduled event, handed out
/// when [`RuntimeApi::go`] is sent; later `/next` calls are never answered), which also accepts
/// CloudWatch's `PutMetricData` (awsQuery, `POST /`) and counts it. Each connection is served on
/// a thread of its own; the threads end with the process.
struct RuntimeApi {
    port: u16,
    events: mpsc::Receiver<ApiEvent>,
    go: mpsc::Sender<()>,
    put_calls: Arc<AtomicUsize>,
}

struct ApiShared {
    events: Mutex<mpsc::Sender<ApiEvent>>,
    go: Mutex<mpsc::Receiver<()>>,
    nexts: AtomicUsize,
    put_calls: Arc<AtomicUsize>,
    event: String,
}

impl RuntimeApi {
    fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let (events_tx, events) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let put_calls = Arc::new(AtomicUsize::new(0));
        let event = std::fs::read_to_string(workspace_root().join("events/connect-health-scheduled.json")).expect("events/connect-health-scheduled.json");
        let shared = Arc::new(ApiShared { events: Mutex::new(events_tx), go: Mutex::new(go_rx), nexts: AtomicUsize::new(0), put_calls: put_calls.clone(), event });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve_connection(stream, &shared));
            }
        });
        RuntimeApi { port, events, go, put_calls }
    }

    /// The function's next event; panics when it exits first or takes longer than
    /// [`FUNCTION_LIMIT`].
    fn wait(&self, function: &mut Child) -> ApiEvent {
        let started = Instant::now();
        loop {
            match self.events.recv_timeout(Duration::from_secs(1)) {
                Ok(event) => return event,
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the Runtime API thread ended"),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = function.try_wait() {
                        panic!("connect-health exited ({status}) before answering");
                    }
                    assert!(started.elapsed() < FUNCTION_LIMIT, "connect-health did not answer within {FUNCTION_LIMIT:?}");
                }
            }
        }
    }
}

fn serve_connection(stream: TcpStream, shared: &ApiShared) {
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader) {
        let send = |event: ApiEvent| {
            let _ = shared.events.lock().unwrap().send(event);
        };
        let response = match (method.as_str(), path.as_str()) {
            ("GET", p) if p.ends_with("/runtime/invocation/next") => {
                if shared.nexts.fetch_add(1, Ordering::SeqCst) > 0 {
                    // The one invocation is done: the process is stopped while it waits here.
                    let _ = shared.go.lock().unwrap().recv();
                    return;
                }
                send(ApiEvent::Next);
                if shared.go.lock().unwrap().recv().is_err() {
                    return;
                }
                let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + FUNCTION_LIMIT.as_millis();
                let headers = format!(
                    "lambda-runtime-aws-request-id: bench-1\r\nlambda-runtime-deadline-ms: {deadline_ms}\r\n\
                     lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:connect-health-bench\r\n\
                     lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000;Sampled=0\r\ncontent-type: application/json\r\n"
                );
                http_response("200 OK", &headers, shared.event.as_bytes())
            }
            ("POST", p) if p.ends_with("/response") => {
                send(ApiEvent::Response(body.len()));
                http_response("202 Accepted", "content-type: application/json\r\n", br#"{"status":"OK"}"#)
            }
            ("POST", p) if p.ends_with("/error") => {
                send(ApiEvent::Error(String::from_utf8_lossy(&body).into_owned()));
                http_response("202 Accepted", "content-type: application/json\r\n", br#"{"status":"OK"}"#)
            }
            ("POST", "/") => {
                shared.put_calls.fetch_add(1, Ordering::SeqCst);
                let xml = r#"<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PutMetricDataResponse>"#;
                http_response("200 OK", "content-type: text/xml\r\n", xml.as_bytes())
            }
            _ => http_response("404 Not Found", "content-type: text/plain\r\n", b"not served by the bench"),
        };
        if reader.get_mut().write_all(&response).is_err() {
            return;
        }
    }
}

fn http_response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n{headers}content-length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// One HTTP/1.1 request (method, path, body), its body by `content-length` or chunked; `None`
/// once the connection ends.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    let mut trailer = String::new();
                    if reader.read_line(&mut trailer).ok()? == 0 || trailer.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..]).ok()?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).ok()?;
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

// --- shared -----------------------------------------------------------------------------------

/// The peer in a child process (this executable with `--serve-peer`): its URL, and the child.
fn start_peer(connectors: u32, tasks: u32) -> (String, Child) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--serve-peer", &connectors.to_string(), &tasks.to_string()]).stdout(Stdio::piped());
    kill_with_parent(&mut command);
    let mut child = command.spawn().expect("peer process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (line.trim().to_string(), child)
}

fn serve_peer(connectors: u32, tasks: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let peer = KafkaConnect::new("3.7.0");
        seed(&peer, connectors, tasks);
        let (url, handle) = serve(peer).await;
        println!("{url}");
        handle.await.unwrap();
    });
}

/// `connectors` sink connectors of `tasks` RUNNING tasks, 5% of the tasks FAILED.
fn seed(peer: &KafkaConnect, connectors: u32, tasks: u32) {
    for c in 0..connectors {
        let name = format!("sink-{c:05}");
        peer.add_connector(&name, "sink", RUNNING, tasks, RUNNING);
        for t in 0..tasks {
            if let Some(trace) = seeded_trace(c, tasks, t) {
                peer.set_task(&name, t, FAILED, Some(trace));
            }
        }
    }
}

/// 5% of tasks failed, spread over connectors; half transient, half poison.
fn seeded_trace(connector: u32, tasks: u32, task: u32) -> Option<&'static str> {
    let n = connector * tasks + task;
    (n % 20 == 0).then_some(if n % 40 == 0 { TIMEOUT_TRACE } else { POISON_TRACE })
}

fn failed_tasks(connectors: u32, tasks: u32) -> usize {
    (0..connectors).flat_map(|c| (0..tasks).map(move |t| (c, t))).filter(|&(c, t)| seeded_trace(c, tasks, t).is_some()).count()
}

/// A `/proc/<pid>/status` figure in KiB (`VmHWM`: peak resident; `VmRSS`: resident now); 0
/// where there is no procfs.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    test_support::procfs::status_kib(pid, field).unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
