//! Run-scoped enqueue and wait of the real `cost-jobs` binary against a private moto_server: the
//! run tag on every message, the run's expected count, and `wait --run-id --once` reading the
//! run record the worker keeps (written here in the worker's shape, `cost_job::run`).

use aws_sdk_dynamodb::types::AttributeValue;
use cost_job::run::{job_token, RunId};
use cost_job::{idempotency_key, JobMessage, JobLimits};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use test_support::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_cost-jobs");
const TABLE: &str = "idempotency";
const RUN: &str = "scheduled__2026-12-01T06:00:00+00:00";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn cost_jobs(moto: &Moto, args: &[&str]) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().envs(moto.env()).stdin(Stdio::null());
    test_support::moto::kill_with_parent(&mut cmd);
    let out = cmd.output().expect("run cost-jobs");
    Out { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

async fn cost_jobs_async(moto: &Moto, args: &[&str]) -> Out {
    let env = moto.env();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.args(&args).env_clear().envs(env).stdin(Stdio::null());
        test_support::moto::kill_with_parent(&mut cmd);
        let out = cmd.output().expect("run cost-jobs");
        Out { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
    })
    .await
    .unwrap()
}

fn last_json(out: &Out) -> serde_json::Value {
    serde_json::from_str(out.stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_tagged_counted_and_waited_for_by_its_record_and_a_retried_wait_fails_again() {
    let moto = Moto::start();
    let aws = moto.sdk_config();
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    moto.create_table(TABLE, "id").await;
    let queue = sqs.create_queue().queue_name("jobs").send().await.unwrap().queue_url.unwrap();

    // No record yet: a wait says what is wrong instead of waiting for ever.
    let missing = cost_jobs_async(&moto, &["wait", "--run-id", RUN, "--ledger-table", TABLE, "--once"]).await;
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(missing.stderr.contains("has no record in table idempotency"), "{}", missing.stderr);

    // Two enqueues of one run (two platforms), the first one retried: 2 + 1 jobs expected.
    let enqueue = |platform: &'static str, account: &'static str, to: &'static str| {
        ["enqueue", "--queue-url", queue.as_str(), "--platform", platform, "--account", account, "--from", "2026-11-27", "--to", to, "--days-per-job", "2", "--refresh", "--run-id", RUN, "--ledger-table", TABLE, "--json"]
            .map(String::from)
    };
    for args in [enqueue("meta", "act_1", "2026-11-30"), enqueue("meta", "act_1", "2026-11-30"), enqueue("tiktok", "7012345678901234567", "2026-11-28")] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cost_jobs_async(&moto, &args).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(last_json(&out)["run_id"], RUN);
    }
    let not_yet = cost_jobs_async(&moto, &["wait", "--run-id", RUN, "--ledger-table", TABLE, "--once", "--json"]).await;
    assert_eq!(not_yet.code, 75, "{}", not_yet.stderr);
    assert_eq!((last_json(&not_yet)["expected"].as_u64(), last_json(&not_yet)["finished"].as_bool()), (Some(3), Some(false)));

    // Every message carries the run; a retried enqueue sent the same bodies, which the worker keys alike.
    let mut keys = Vec::new();
    let run: RunId = RUN.parse().unwrap();
    loop {
        let got = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).message_attribute_names("All").send().await.unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            assert_eq!(m.message_attributes().unwrap()["run_id"].string_value(), Some(RUN));
            let message = JobMessage::parse_with(m.body().unwrap(), &JobLimits::default()).unwrap();
            assert!(message.refresh);
            keys.push(idempotency_key(&message, m.message_id(), Some(&run)));
            sqs.delete_message().queue_url(&queue).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "five messages (one enqueue retried), three jobs");

    // The worker's record: two jobs done, one dead-lettered.
    let tokens: Vec<String> = keys.iter().map(job_token).collect();
    let entry = HashMap::from([
        ("job".to_string(), AttributeValue::S("tiktok/7012345678901234567/2026-11-27..2026-11-28".into())),
        ("reason_code".to_string(), AttributeValue::S("platform.invalid_credentials".into())),
        ("reason".to_string(), AttributeValue::S("token revoked".into())),
    ]);
    ddb.update_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S(run.record_id()))
        .update_expression("ADD done :t SET #dead = :e")
        .expression_attribute_names("#dead", format!("dead_{}", tokens[2]))
        .expression_attribute_values(":t", AttributeValue::Ss(tokens[..2].to_vec()))
        .expression_attribute_values(":e", AttributeValue::M(entry))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        // The same answer on a retry: the record is durable, not a peek at the DLQ.
        let done = cost_jobs_async(&moto, &["wait", "--run-id", RUN, "--ledger-table", TABLE, "--once", "--json"]).await;
        assert_eq!(done.code, 1, "{}", done.stderr);
        assert!(done.stderr.contains("DEAD-LETTERED tiktok/7012345678901234567/2026-11-27..2026-11-28: platform.invalid_credentials: token revoked"), "{}", done.stderr);
        assert_eq!(last_json(&done)["dead_lettered"][0]["reason_code"], "platform.invalid_credentials");
    }
    // Redriven and done: the run succeeds.
    ddb.update_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S(run.record_id()))
        .update_expression("ADD done :t")
        .expression_attribute_values(":t", AttributeValue::Ss(vec![tokens[2].clone()]))
        .send()
        .await
        .unwrap();
    let ok = cost_jobs(&moto, &["wait", "--run-id", RUN, "--ledger-table", TABLE, "--timeout", "30", "--interval", "1"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}
