//! Benchmark of one connect-health run on a large cluster (a figure for the docs, not a test).
//!
//! 2,000 connectors of 10 tasks, 5% of tasks FAILED (half with a network time-out, half with a
//! poison record), on the local Kafka Connect peer (3.7) and moto. The peer runs in a child
//! process so that the peak memory measured is the function's alone.
//!
//!     cargo run --release -p connect-health --example connect-health-bench [-- CONNECTORS TASKS]

use connect_health::connect::{ConnectClient, Deadline, Expanded};
use connect_health::plan::{restart_plan, PlanSettings};
use connect_health::{App, Clients, ClusterConfig, Config};
use peers::kafka_connect::{serve, KafkaConnect, FAILED, RUNNING};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed\n\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:587)\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:581)\nCaused by: java.net.SocketTimeoutException: Read timed out\n\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)\n\t... 12 more\n";
const POISON_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\n\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execAndHandleError(RetryWithToleranceOperator.java:206)\nCaused by: org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error\n\t... 13 more\nCaused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-peer") {
        serve_peer(args[2].parse().unwrap(), args[3].parse().unwrap());
        return;
    }
    let connectors: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let tasks: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve-peer", &connectors.to_string(), &tasks.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("peer process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().to_string();
    let moto = test_support::Moto::start();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let rss_before = current_rss_kib();
        let config = Config::new(vec![ClusterConfig { name: "bench".into(), url: url.clone(), auth_secret_id: None }]);
        let policy = config.policy.clone();
        let app = App::new(config, Clients::from_sdk_config(&moto.sdk_config())).unwrap();

        let started = Instant::now();
        let report = app.run(Deadline::after(Duration::from_secs(300))).await;
        let run_time = started.elapsed();
        let rss_after = peak_rss_kib();
        // The metrics step alone, again, to split the invocation time.
        let datums = connect_health::metrics::datums(&report, connect_health::config::ConnectorMetrics::All);
        let t = Instant::now();
        let batches = connect_health::metrics::batches(&datums, report.run_at);
        let published = connect_health::metrics::publish(&aws_sdk_cloudwatch::Client::new(&moto.sdk_config()), "Bench", batches).await;
        assert_eq!(published.failed, 0, "{:?}", published.first_error);
        let publish_time = t.elapsed();
        let cluster = &report.clusters[0];

        // The pure planning step alone, on the same statuses: the run restarted the transient
        // failures, so they are marked FAILED again exactly as the peer seeded them.
        let client = ConnectClient::new(reqwest::Client::new(), &url, None, Duration::from_secs(30), 256 << 20).unwrap();
        let Expanded::Statuses(mut statuses) = client.statuses_expanded(Deadline::after(Duration::from_secs(60))).await.unwrap() else { panic!("expand") };
        for s in &mut statuses {
            let c: u32 = s.name.trim_start_matches("sink-").parse().unwrap();
            for t in &mut s.tasks {
                if let Some(trace) = seeded_trace(c, tasks, t.id) {
                    t.state = connect_health::status::State::Failed;
                    t.trace = Some(trace.to_string());
                }
            }
        }
        let history = Default::default();
        let mut plan_times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let plans = restart_plan("bench", &statuses, &history, &policy, PlanSettings { max_restarts: 10 }, chrono::Utc::now());
            plan_times.push(t.elapsed());
            std::hint::black_box(plans);
        }
        plan_times.sort();

        println!("connectors: {}, tasks: {}, failed tasks: {}", cluster.connectors_total, cluster.tasks.running + cluster.tasks.failed, cluster.tasks.failed);
        println!("actions: {:?}", cluster.actions);
        println!("invocation time: {:.0} ms", run_time.as_secs_f64() * 1000.0);
        println!("of which reading, planning and restarting (cluster elapsed_ms): {} ms", cluster.elapsed_ms);
        println!("PutMetricData to moto (measured again alone, after the run's): {:.0} ms", publish_time.as_secs_f64() * 1000.0);
        println!("planning time (median of 5): {:.1} ms", plan_times[2].as_secs_f64() * 1000.0);
        println!("HTTP calls to Connect: {}", cluster.http_calls);
        println!("metric datums: {}, PutMetricData calls: {} ({} failed)", report.metrics.datums, report.metrics.put_calls, report.metrics.failed_batches);
        println!("RSS before the run: {} MiB; peak RSS of the process after it: {} MiB", rss_before / 1024, rss_after / 1024);
        let json = serde_json::to_vec(&report).unwrap();
        println!("report size: {} KiB", json.len() / 1024);
    });
    let _ = child.kill();
    let _ = child.wait();
}

fn serve_peer(connectors: u32, tasks: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let peer = KafkaConnect::new("3.7.0");
        for c in 0..connectors {
            let name = format!("sink-{c:05}");
            peer.add_connector(&name, "sink", RUNNING, tasks, RUNNING);
            for t in 0..tasks {
                if let Some(trace) = seeded_trace(c, tasks, t) {
                    peer.set_task(&name, t, FAILED, Some(trace));
                }
            }
        }
        let (url, handle) = serve(peer).await;
        println!("{url}");
        handle.await.unwrap();
    });
}

/// 5% of tasks failed, spread over connectors; half transient, half poison.
fn seeded_trace(connector: u32, tasks: u32, task: u32) -> Option<&'static str> {
    let n = connector * tasks + task;
    (n % 20 == 0).then_some(if n % 40 == 0 { TIMEOUT_TRACE } else { POISON_TRACE })
}

/// Current resident set size of this process, in KiB (Linux).
fn current_rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// Peak resident set size of this process, in KiB.
fn peak_rss_kib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss
}
