//! `make run` as a test: the whole local pipeline (moto, the protocol peers, both functions
//! under the Runtime API emulator, the Lambda-like SQS event source) must do exactly what its
//! demo world calls for.

use serde_json::Value;

fn actions(report: &Value, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cluster in report["clusters"].as_array().into_iter().flatten() {
        for connector in cluster["connectors"].as_array().into_iter().flatten() {
            for action in connector["actions"].as_array().into_iter().flatten() {
                if action["action"] == kind {
                    out.push(format!("{}/{} {}", connector["name"].as_str().unwrap_or("?"), action["task"], action["rule"].as_str().unwrap_or("?")));
                }
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_pipeline_runs_end_to_end_and_every_job_ends_where_it_should() {
    // The leak check below can see a child: prove it on one.
    let mut probe = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    assert!(children_of(std::process::id()).iter().any(|(pid, _)| *pid == probe.id()), "children_of finds a live child");
    probe.kill().unwrap();
    probe.wait().unwrap();

    let summary = local_pipeline::run().await.expect("the local pipeline failed");

    assert_eq!(actions(&summary.connect_health, "restarted"), ["audit-es-sink/0 elasticsearch-overloaded", "orders-es-sink/1 network-fault"]);
    assert_eq!(
        actions(&summary.connect_health, "skipped"),
        ["clicks-s3-sink/2 poison-serialization", "orders-jdbc-source/0 config", "payments-mirror/0 kafka-authentication"]
    );

    let etl = summary.cost_etl;
    assert_eq!(etl.jobs_done, 8, "3 Meta, 2 Google Ads, 2 TikTok jobs plus the Meta job rate-limited once");
    assert_eq!(etl.duplicates, 3, "two Meta duplicates and a Google Ads customer id spelled without dashes");
    let mut codes: Vec<&str> = etl.dead_letters.iter().map(|(code, _)| code.as_str()).collect();
    codes.sort();
    assert_eq!(
        codes,
        ["invalid_job.not_json", "invalid_job.reversed_dates", "invalid_job.unknown_platform", "platform.invalid_credentials", "platform.unavailable", "platform.unknown_account"]
    );
    // The always-503 Google Ads job used up its deliveries: the function dead-lettered it on the
    // last one, with its last error, instead of leaving it to the redrive policy.
    let exhausted = &etl.dead_letters.iter().find(|(code, _)| code == "platform.unavailable").unwrap().1;
    assert!(exhausted.contains("555-666-7777"), "the always-503 Google Ads job: {exhausted}");
    // One object per account and day: Meta 7 + 7 + 5, Google Ads 7 + 3, TikTok 61 + 7.
    assert_eq!(etl.objects, 97);
    // Campaigns per account (demo.rs) times days: Meta 5×7 + 3×7 + 4×5, Google Ads 4×7 + 2×3, TikTok 3×61 + 2×7.
    assert_eq!(etl.rows, 35 + 21 + 20 + 28 + 6 + 183 + 14);

    // Nothing left behind: moto, the emulators and the functions are all stopped (polled, since
    // a killed process may take a moment to be reaped).
    let started = std::time::Instant::now();
    loop {
        let left = children_of(std::process::id());
        if left.is_empty() {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "processes left running: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Live child processes of `pid` as (pid, command), from /proc.
fn children_of(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // "pid (comm) state ppid ...": the command may contain spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<u32>().ok()));
        if ppid == Some(pid) && state != Some("Z") {
            out.push((child, head.split_once('(').map(|(_, c)| c.to_string()).unwrap_or_default()));
        }
    }
    out
}
