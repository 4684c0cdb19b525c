//! `cost-jobs dlq list` and `cost-jobs dlq redrive`.
//!
//! Redrive never loses a job: a message leaves the DLQ only after the jobs queue accepted its
//! copy. The worst case (the copy was sent, the delete failed) is a job enqueued twice, which
//! the worker's idempotency ledger turns into one.

use crate::cli::{DlqListArgs, DlqRedriveArgs};
use crate::dead_letter::DeadLetter;
use crate::drain::exit;
use crate::error::CliError;
use cost_job::JobSpec;
use crate::plan::group_id;
use common::key::sha256_hex;
use crate::retry::{send_with_retries, RetryPolicy};
use crate::sqs::{Outgoing, Sqs};
use std::time::Duration;

/// Listed messages stay hidden this long if releasing them fails.
const LIST_HOLD: Duration = Duration::from_secs(30);
/// Long enough to send a batch (with retries) and delete it.
const REDRIVE_HOLD: Duration = Duration::from_secs(120);
/// FIFO group of redriven bodies that are not valid jobs (they will likely dead-letter again).
const INVALID_GROUP: &str = "cost-jobs-redrive-invalid";

pub async fn list(args: DlqListArgs) -> Result<i32, CliError> {
    let sqs = Sqs::from_env().await;
    let depth = sqs.depth(&args.dlq_url).await?;
    let mut dead = sqs.peek(&args.dlq_url, args.max as usize, LIST_HOLD).await?;
    let released = sqs.release(&args.dlq_url, &dead).await;
    if let Some(table) = &args.ledger_table {
        let ledger = crate::ledger::LastErrors::from_env(table).await;
        for d in &mut dead {
            d.last_error = ledger.of(d).await?;
        }
    }
    for d in &dead {
        if args.json {
            println!("{}", serde_json::to_string(d).unwrap_or_default());
        } else {
            println!("{}", d.render());
        }
    }
    eprintln!(
        "cost-jobs dlq: {} dead-lettered job(s) shown; the DLQ holds about {} visible and {} in flight",
        dead.len(),
        depth.visible,
        depth.in_flight
    );
    released?;
    Ok(exit::OK)
}

pub async fn redrive(args: DlqRedriveArgs) -> Result<i32, CliError> {
    if args.dlq_url == args.queue_url {
        return Err(CliError::Other("--dlq-url and --queue-url are the same queue; redrive moves jobs from the DLQ back to the jobs queue".into()));
    }
    let sqs = Sqs::from_env().await;
    sqs.depth(&args.queue_url).await?;
    let depth = sqs.depth(&args.dlq_url).await?;
    // Bounded by what is there now: jobs that fail again while we run are not picked up twice.
    let limit = args.max.map_or(depth.visible as usize, |max| (max as usize).min(depth.visible as usize));
    let fifo = args.queue_url.is_fifo();
    let (mut moved, mut calls) = (0usize, 0u32);
    while moved < limit {
        let batch = sqs.receive(&args.dlq_url, (limit - moved).min(10), REDRIVE_HOLD).await?;
        if batch.is_empty() {
            break;
        }
        let entries: Vec<Outgoing> = batch.iter().enumerate().map(|(i, d)| outgoing(i, d, fifo)).collect();
        let report = send_with_retries(entries, |e| e.id.as_str(), |b| sqs.send_batch(&args.queue_url, b), RetryPolicy::default()).await;
        let report = match report {
            Ok(report) => report,
            Err(err) => {
                let _ = sqs.release(&args.dlq_url, &batch).await;
                return Err(if err.is_not_found() { CliError::Other(format!("queue {} does not exist: check --queue-url", args.queue_url)) } else { CliError::Aws(err) });
            }
        };
        calls += report.calls;
        let by_id = |id: &str| id.trim_start_matches('m').parse::<usize>().ok().and_then(|i| batch.get(i));
        let sent: Vec<&DeadLetter> = report.sent.iter().filter_map(|id| by_id(id)).collect();
        let unsent: Vec<DeadLetter> = report.failed.iter().filter_map(|f| by_id(&f.id)).cloned().collect();
        for failure in &report.failed {
            let id = by_id(&failure.id).map_or("?", |d| d.message_id.as_str());
            eprintln!("cost-jobs dlq: NOT MOVED {id}: {} {} (it stays in the DLQ)", failure.code, failure.message);
        }
        for failure in sqs.delete(&args.dlq_url, &sent).await? {
            eprintln!(
                "cost-jobs dlq: {} was sent back but could not be deleted from the DLQ ({} {}); a later redrive will send it again and the worker will skip the duplicate",
                failure.id, failure.code, failure.message
            );
        }
        for d in &sent {
            eprintln!("cost-jobs dlq: moved {} {}", d.message_id, common::text::bounded(&d.body, 500));
        }
        moved += sent.len();
        if !unsent.is_empty() {
            let _ = sqs.release(&args.dlq_url, &unsent).await;
            println!("{}", serde_json::json!({"moved": moved, "failed": unsent.len(), "calls": calls}));
            return Err(CliError::PartialRedrive { moved, failed: unsent.len() });
        }
    }
    eprintln!("cost-jobs dlq: moved {moved} job(s) from {} back to {} in {calls} SendMessageBatch call(s)", args.dlq_url, args.queue_url);
    println!("{}", serde_json::json!({"moved": moved, "failed": 0, "calls": calls}));
    Ok(exit::OK)
}

/// The copy sent back: the same body and run tag, without the worker's reason attributes (they
/// described the last failure, not the next attempt). On a FIFO queue the DLQ message id makes the
/// deduplication id, so a redrive repeated after a failed delete does not enqueue twice.
fn outgoing(index: usize, dead: &DeadLetter, fifo: bool) -> Outgoing {
    let group = match JobSpec::parse(&dead.body) {
        Ok(spec) => group_id(spec.platform, spec.account_id.as_str()),
        Err(_) => INVALID_GROUP.to_string(),
    };
    Outgoing {
        id: format!("m{index}"),
        body: dead.body.clone(),
        group_id: fifo.then_some(group),
        dedup_id: fifo.then(|| sha256_hex(&format!("redrive:{}", dead.message_id))),
        // The run tag stays, so a redriven job still counts in its run.
        attributes: dead.run_id.iter().map(|run| (cost_job::attributes::RUN_ID, run.clone())).collect(),
    }
}
