//! The real `cost-jobs` binary against a private moto_server: what lands on the queues, what
//! the commands print, and their exit codes.

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use test_support::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_cost-jobs");
/// No test command may run longer than this; a hang fails the test instead of blocking CI.
const RUN_LIMIT: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn last_json(&self) -> Value {
        let line = self.stdout.lines().last().unwrap_or_else(|| panic!("no stdout; stderr:\n{}", self.stderr));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("last stdout line is not JSON ({e}): {line}\nstderr:\n{}", self.stderr))
    }
}

fn command(moto: &Moto, args: &[&str]) -> Command {
    command_with(&moto.env(), args)
}

fn command_with(env: &[(String, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().envs(env.iter().cloned()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    test_support::moto::kill_with_parent(&mut cmd);
    cmd
}

/// Run to completion (at most RUN_LIMIT) and collect the output.
fn run(moto: &Moto, args: &[&str]) -> Run {
    run_with(&moto.env(), args)
}

fn run_with(env: &[(String, String)], args: &[&str]) -> Run {
    let mut child = command_with(env, args).spawn().expect("start cost-jobs");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cost-jobs {args:?} ran longer than {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run { code: status.code().unwrap_or(-1), stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// `run` off the async runtime, so the test's own SDK calls are not blocked meanwhile.
async fn run_async(moto: &Moto, args: &[&str]) -> Run {
    let env = moto.env();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || run_with(&env, &args.iter().map(String::as_str).collect::<Vec<_>>())).await.unwrap()
}

fn client(moto: &Moto) -> Client {
    Client::new(&moto.sdk_config())
}

/// A jobs queue with a DLQ wired by a redrive policy, as serverless.yml defines them.
async fn queues(sqs: &Client, name: &str) -> (String, String) {
    let fifo = name.ends_with(".fifo");
    let dlq_name = if fifo { format!("{}-dlq.fifo", name.trim_end_matches(".fifo")) } else { format!("{name}-dlq") };
    let mut dlq = sqs.create_queue().queue_name(&dlq_name);
    if fifo {
        dlq = dlq.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let dlq_url = dlq.send().await.unwrap().queue_url().unwrap().to_string();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}).to_string();
    let mut queue = sqs.create_queue().queue_name(name).attributes(QueueAttributeName::RedrivePolicy, policy);
    if fifo {
        queue = queue.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let url = queue.send().await.unwrap().queue_url().unwrap().to_string();
    (url, dlq_url)
}

async fn depth(sqs: &Client, url: &str) -> (u64, u64) {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    let n = |k: QueueAttributeName| attrs[&k].parse::<u64>().unwrap();
    (n(QueueAttributeName::ApproximateNumberOfMessages), n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
}

/// Every message on the queue (received and deleted), as (body, group id).
async fn drain(sqs: &Client, url: &str) -> Vec<(Value, Option<String>)> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            return all;
        }
        for m in out.messages() {
            let group = m.attributes().and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId)).cloned();
            all.push((serde_json::from_str(m.body().unwrap()).unwrap(), group));
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}

fn job(account: &str, from: &str, to: &str) -> Value {
    json!({"platform": "meta", "account_id": account, "date_from": from, "date_to": to})
}

/// A job the worker gave up on, as cost-etl sends it to `DLQ_URL`.
async fn dead_letter(sqs: &Client, dlq_url: &str, body: &Value, reason: &str) {
    let attr = |v: &str| MessageAttributeValue::builder().data_type("String").string_value(v).build().unwrap();
    sqs.send_message()
        .queue_url(dlq_url)
        .message_body(body.to_string())
        .message_attributes("reason", attr(reason))
        .message_attributes("error_class", attr("permanent"))
        .message_attributes("original_message_id", attr("orig-1"))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn enqueue_sends_one_message_per_job_and_account_in_batches_of_ten() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, _) = queues(&sqs, "jobs").await;
    let dir = std::env::temp_dir().join(format!("cost-jobs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let accounts = dir.join("accounts.txt");
    std::fs::write(&accounts, "# five accounts\nact_1\nact_2\nact_3\n\nact_4\nact_5 # last\nact_1\n").unwrap();

    let r = run_async(&moto, &["enqueue", "--queue-url", &url, "--platform", "meta", "--accounts-file", accounts.to_str().unwrap(), "--from", "2026-11-01", "--to", "2026-11-20", "--days-per-job", "4"]).await;
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    let summary = r.last_json();
    assert_eq!((summary["jobs"].as_u64(), summary["sent"].as_u64(), summary["failed"].as_u64(), summary["calls"].as_u64()), (Some(25), Some(25), Some(0), Some(3)), "{summary}");

    let bodies: BTreeSet<String> = drain(&sqs, &url).await.into_iter().map(|(b, _)| b.to_string()).collect();
    let mut expected = BTreeSet::new();
    for account in ["act_1", "act_2", "act_3", "act_4", "act_5"] {
        for (from, to) in [("2026-11-01", "2026-11-04"), ("2026-11-05", "2026-11-08"), ("2026-11-09", "2026-11-12"), ("2026-11-13", "2026-11-16"), ("2026-11-17", "2026-11-20")] {
            expected.insert(job(account, from, to).to_string());
        }
    }
    assert_eq!(bodies, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn fifo_enqueue_groups_by_account_and_a_repeat_is_deduplicated() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, _) = queues(&sqs, "jobs.fifo").await;
    let args = ["enqueue", "--queue-url", &url, "--platform", "meta", "--account", "act_1", "--account", "act_2", "--from", "2026-11-01", "--to", "2026-11-14"];
    let first = run_async(&moto, &args).await;
    assert_eq!(first.code, 0, "stderr:\n{}", first.stderr);
    let again = run_async(&moto, &args).await;
    assert_eq!(again.code, 0, "stderr:\n{}", again.stderr);

    let got = drain(&sqs, &url).await;
    assert_eq!(got.len(), 4, "the second enqueue is deduplicated by the job hash: {got:?}");
    for (body, group) in &got {
        assert_eq!(group.as_deref(), Some(format!("meta:{}", body["account_id"].as_str().unwrap()).as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_jobs_and_sends_nothing() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, _) = queues(&sqs, "jobs").await;
    let r = run_async(&moto, &["enqueue", "--dry-run", "--queue-url", &url, "--platform", "meta", "--account", "act_1", "--from", "2026-11-01", "--to", "2026-11-20"]).await;
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    let lines: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, vec![job("act_1", "2026-11-01", "2026-11-07"), job("act_1", "2026-11-08", "2026-11-14"), job("act_1", "2026-11-15", "2026-11-20")]);
    assert!(r.stderr.contains("nothing sent"), "{}", r.stderr);
    assert_eq!(depth(&sqs, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_with_a_message_that_says_what_to_fix() {
    let moto = Moto::start();
    let base = |from: &'static str, to: &'static str| vec!["enqueue", "--dry-run", "--platform", "meta", "--account", "act_1", "--from", from, "--to", to];

    let r = run(&moto, &base("2026-11-31", "2026-12-01"));
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("--from") && r.stderr.contains("YYYY-MM-DD"), "{}", r.stderr);

    let r = run(&moto, &base("2026-11-20", "2026-11-01"));
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("2026-11-20 is after --to 2026-11-01"), "{}", r.stderr);

    let missing = format!("{}/123456789012/no-such-queue", moto.endpoint());
    let r = run(&moto, &["enqueue", "--queue-url", &missing, "--platform", "meta", "--account", "act_1", "--from", "2026-11-01", "--to", "2026-11-01"]);
    assert_eq!(r.code, 3, "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("no-such-queue does not exist"), "{}", r.stderr);

    let r = run(&moto, &["wait", "--queue-url", "not-a-url"]);
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("expected an SQS queue URL"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_on_a_drained_queue_exits_0() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, _) = queues(&sqs, "jobs").await;
    let r = run_async(&moto, &["wait", "--queue-url", &url, "--interval", "0.1", "--settle", "3", "--timeout", "30"]).await;
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert_eq!(r.last_json()["outcome"], "drained");
    assert!(r.stderr.contains("empty 3/3"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_with_messages_left_times_out_with_2() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, _) = queues(&sqs, "jobs").await;
    sqs.send_message().queue_url(&url).message_body(job("act_1", "2026-11-01", "2026-11-01").to_string()).send().await.unwrap();
    let r = run_async(&moto, &["wait", "--queue-url", &url, "--interval", "0.2", "--timeout", "1"]).await;
    assert_eq!(r.code, 2, "stderr:\n{}", r.stderr);
    assert_eq!(r.last_json()["outcome"], "timed_out");
    assert!(r.stderr.contains("visible=1"), "{}", r.stderr);
}

/// The worker's way: a job is received (in flight), found invalid, sent to the DLQ with its
/// reason, and deleted. `wait` must see the queue drain and exit 1 naming the job.
#[tokio::test(flavor = "multi_thread")]
async fn wait_exits_1_and_names_the_job_when_one_reaches_the_dlq_meanwhile() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, dlq_url) = queues(&sqs, "jobs").await;
    let bad = json!({"platform": "myspace", "account_id": "act_9", "date_from": "2026-11-01", "date_to": "2026-11-01"});
    sqs.send_message().queue_url(&url).message_body(bad.to_string()).send().await.unwrap();
    let received = sqs.receive_message().queue_url(&url).visibility_timeout(300).send().await.unwrap();
    let handle = received.messages()[0].receipt_handle().unwrap().to_string();

    // No --dlq-url: the DLQ comes from the queue's redrive policy.
    let mut child = command(&moto, &["wait", "--queue-url", &url, "--interval", "0.1", "--settle", "2", "--timeout", "30"]).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("wait never reported the DLQ depth");
        if line.contains("holds 0 message(s) at the start") {
            break;
        }
    }
    dead_letter(&sqs, &dlq_url, &bad, "unknown platform \"myspace\"").await;
    sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await.unwrap();

    let stdout = child.stdout.take().unwrap();
    let out = tokio::task::spawn_blocking(move || std::io::read_to_string(stdout).unwrap()).await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(summary["outcome"], "dead_lettered");
    assert_eq!(summary["dead_lettered"], 1);
    assert_eq!(summary["dead_letters"][0]["job"], bad);
    assert_eq!(summary["dead_letters"][0]["reason"], "unknown platform \"myspace\"");
    assert!(stderr.contains("act_9") && stderr.contains("reason: unknown platform"), "{stderr}");
    assert_eq!(depth(&sqs, &dlq_url).await, (1, 0), "naming the job leaves it in the DLQ, visible");
}

#[tokio::test(flavor = "multi_thread")]
async fn dlq_list_shows_reasons_and_leaves_the_messages_in_place() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (_, dlq_url) = queues(&sqs, "jobs").await;
    for account in ["act_1", "act_2", "act_3"] {
        dead_letter(&sqs, &dlq_url, &job(account, "2026-11-01", "2026-11-01"), &format!("account {account} does not exist")).await;
    }
    sqs.send_message().queue_url(&dlq_url).message_body("not json \u{1b}[2J").send().await.unwrap();

    let r = run_async(&moto, &["dlq", "list", "--dlq-url", &dlq_url, "--json"]).await;
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    let listed: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(listed.len(), 4);
    let reasons: BTreeSet<String> = listed.iter().filter_map(|d| d["reason"].as_str().map(String::from)).collect();
    assert_eq!(reasons, ["act_1", "act_2", "act_3"].iter().map(|a| format!("account {a} does not exist")).collect());
    assert!(listed.iter().filter(|d| d["reason"].is_string()).all(|d| d["error_class"] == "permanent" && d["original_message_id"] == "orig-1"));
    assert!(listed.iter().all(|d| d["receive_count"].as_u64() >= Some(1)));

    let text = run_async(&moto, &["dlq", "list", "--dlq-url", &dlq_url]).await;
    assert_eq!(text.code, 0, "stderr:\n{}", text.stderr);
    assert!(text.stdout.contains("reason: account act_2 does not exist"), "{}", text.stdout);
    assert!(text.stdout.contains("not json \\u{1b}[2J") && !text.stdout.contains('\u{1b}'), "control characters are escaped: {}", text.stdout);
    assert_eq!(depth(&sqs, &dlq_url).await, (4, 0), "listing releases what it looked at");
}

#[tokio::test(flavor = "multi_thread")]
async fn dlq_redrive_moves_jobs_back_and_deletes_them_only_once_sent() {
    let moto = Moto::start();
    let sqs = client(&moto);
    let (url, dlq_url) = queues(&sqs, "jobs").await;
    let jobs: Vec<Value> = ["act_1", "act_2", "act_3"].iter().map(|a| job(a, "2026-11-01", "2026-11-02")).collect();
    for j in &jobs {
        dead_letter(&sqs, &dlq_url, j, "platform said 500 five times").await;
    }

    let r = run_async(&moto, &["dlq", "redrive", "--dlq-url", &dlq_url, "--queue-url", &url, "--max", "2"]).await;
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert_eq!(r.last_json()["moved"], 2);
    assert_eq!(depth(&sqs, &url).await, (2, 0));
    assert_eq!(depth(&sqs, &dlq_url).await, (1, 0));

    let r = run_async(&moto, &["dlq", "redrive", "--dlq-url", &dlq_url, "--queue-url", &url]).await;
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert_eq!(r.last_json()["moved"], 1);
    assert_eq!(depth(&sqs, &dlq_url).await, (0, 0));
    let back: BTreeSet<String> = drain(&sqs, &url).await.into_iter().map(|(b, _)| b.to_string()).collect();
    assert_eq!(back, jobs.iter().map(|j| j.to_string()).collect());

    let missing = format!("{}/123456789012/gone", moto.endpoint());
    dead_letter(&sqs, &dlq_url, &jobs[0], "again").await;
    let r = run_async(&moto, &["dlq", "redrive", "--dlq-url", &dlq_url, "--queue-url", &missing]).await;
    assert_eq!(r.code, 3, "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("gone does not exist"), "{}", r.stderr);
    assert_eq!(depth(&sqs, &dlq_url).await, (1, 0), "nothing leaves the DLQ when the target is missing");
}
