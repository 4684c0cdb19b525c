//! `cost-jobs wait`: read the queue depth until it has settled at zero or the deadline passes,
//! then compare the DLQ with how it was at the start.

use crate::cli::WaitArgs;
use crate::dead_letter::DeadLetter;
use crate::drain::{DrainWatch, Outcome, Reading, Verdict};
use crate::error::CliError;
use crate::queue::QueueUrl;
use crate::runs::Runs;
use crate::sqs::Sqs;
use crate::drain::exit;
use common::text::bounded;
use cost_job::RunId;
use std::time::{Duration, Instant};

/// Failed readings in a row before `wait` stops trusting the endpoint.
const MAX_FAILED_READINGS: u32 = 5;
/// An unchanged busy queue is reported this often.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// Dead letters named in the output; the rest are one `dlq list` away.
const MAX_NAMED: usize = 20;
/// How long named DLQ messages stay hidden if releasing them fails.
const PEEK_HOLD: Duration = Duration::from_secs(5);

pub async fn run(args: WaitArgs) -> Result<i32, CliError> {
    if let Some(run) = &args.run_id {
        let table = args.ledger_table.as_deref().ok_or_else(|| CliError::Other("--run-id needs --ledger-table (or COST_JOBS_LEDGER_TABLE)".into()))?;
        return wait_for_run(run, table, &args).await;
    }
    let sqs = Sqs::from_env().await;
    let queue = args.queue_url.ok_or_else(|| CliError::Other("--queue-url is required (or set COST_JOBS_QUEUE_URL), or wait for a run with --run-id".into()))?;
    let dlq = match args.dlq_url {
        Some(dlq) => Some(dlq),
        None => sqs.dead_letter_queue_of(&queue).await?,
    };
    let dlq_start = match &dlq {
        Some(dlq) => Some(dlq_depth(&sqs, dlq).await?),
        None => None,
    };
    match (&dlq, dlq_start) {
        (Some(dlq), Some(n)) => eprintln!("cost-jobs wait: watching {queue}; DLQ {dlq} holds {n} message(s) at the start"),
        _ => eprintln!("cost-jobs wait: watching {queue}; it has no redrive policy and no --dlq-url was given, so dead letters are not checked"),
    }
    eprintln!(
        "cost-jobs wait: timeout {}s, a reading every {}s, drained after {} empty reading(s) in a row",
        args.timeout.as_secs_f64(),
        args.interval.as_secs_f64(),
        args.settle
    );

    let started = Instant::now();
    let mut watch = DrainWatch::new(args.settle, args.timeout);
    let mut failed_in_a_row = 0;
    let mut last_shown: Option<(Reading, Instant)> = None;
    let verdict = loop {
        let reading = match sqs.depth(&queue).await {
            Ok(reading) => {
                failed_in_a_row = 0;
                Some(reading)
            }
            Err(err @ CliError::QueueMissing { .. }) => return Err(err),
            Err(err) => {
                failed_in_a_row += 1;
                eprintln!("cost-jobs wait: reading failed ({failed_in_a_row}/{MAX_FAILED_READINGS}): {err}");
                if failed_in_a_row >= MAX_FAILED_READINGS {
                    return Err(err);
                }
                None
            }
        };
        let elapsed = started.elapsed();
        let verdict = watch.observe(reading, elapsed);
        // A long wait logs changes (and a heartbeat), not one identical line per reading.
        if let Some(r) = reading {
            let repeat = last_shown.is_some_and(|(shown, at)| shown == r && !r.is_empty() && at.elapsed() < HEARTBEAT);
            if !repeat {
                eprintln!("{}", progress_line(elapsed, r, watch.streak(), args.settle));
                last_shown = Some((r, Instant::now()));
            }
        }
        if verdict != Verdict::Waiting {
            break verdict;
        }
        tokio::time::sleep(watch.next_pause(args.interval, started.elapsed())).await;
    };

    let dlq_end = match &dlq {
        Some(dlq) => Some(dlq_depth(&sqs, dlq).await?),
        None => None,
    };
    let outcome = Outcome::decide(verdict, dlq_start, dlq_end);
    let arrived = match outcome {
        Outcome::DeadLettered { count } | Outcome::TimedOut { dead_lettered: count } => count,
        Outcome::Drained => 0,
    };
    let named = match (&dlq, arrived) {
        (Some(dlq), 1..) => name_dead_letters(&sqs, dlq, arrived).await,
        _ => Vec::new(),
    };

    let elapsed = started.elapsed().as_secs_f64();
    match outcome {
        Outcome::Drained => eprintln!("cost-jobs wait: drained after {elapsed:.1}s"),
        Outcome::DeadLettered { count } => eprintln!("cost-jobs wait: drained after {elapsed:.1}s, but {count} job(s) reached the DLQ"),
        Outcome::TimedOut { .. } => eprintln!("cost-jobs wait: TIMED OUT after {elapsed:.1}s; the queue still has work (last: {})", progress_counts(watch_last(&sqs, &queue).await)),
    }
    println!(
        "{}",
        serde_json::json!({
            "outcome": outcome.name(),
            "elapsed_seconds": (elapsed * 10.0).round() / 10.0,
            "dead_lettered": arrived,
            "dead_letters": named,
        })
    );
    Ok(outcome.exit_code())
}

/// `wait --run-id`: read the run's record until every expected job is done or dead-lettered
/// (or once, with `--once`). The record is durable, so a retried wait of a run that had dead
/// letters sees them again and fails again.
async fn wait_for_run(run: &RunId, table: &str, args: &WaitArgs) -> Result<i32, CliError> {
    let runs = Runs::from_env(table).await;
    let started = Instant::now();
    let mut failed_in_a_row = 0;
    let mut last_shown: Option<(u64, u64, usize)> = None;
    let status = loop {
        let status = match runs.status(run).await {
            Ok(Some(status)) => {
                failed_in_a_row = 0;
                status
            }
            // `enqueue --run-id --ledger-table` writes the record before it sends anything, so a
            // wait that starts after it always finds one.
            Ok(None) => {
                return Err(CliError::Other(format!(
                    "run {run} has no record in table {table}: enqueue its jobs with --run-id {run} --ledger-table {table} (the same table), then wait"
                )))
            }
            Err(err) => {
                failed_in_a_row += 1;
                eprintln!("cost-jobs wait: reading run {run} failed ({failed_in_a_row}/{MAX_FAILED_READINGS}): {err}");
                if failed_in_a_row >= MAX_FAILED_READINGS || args.once {
                    return Err(err);
                }
                tokio::time::sleep(args.interval).await;
                continue;
            }
        };
        let shown = (status.expected, status.done, status.dead_lettered.len());
        if last_shown != Some(shown) {
            eprintln!(
                "cost-jobs wait: [{:>6.1}s] run {run}: {} of {} job(s) done, {} dead-lettered",
                started.elapsed().as_secs_f64(),
                status.done,
                status.expected,
                status.dead_lettered.len()
            );
            last_shown = Some(shown);
        }
        if status.finished || args.once || started.elapsed() >= args.timeout {
            break status;
        }
        tokio::time::sleep(args.interval.min(args.timeout.saturating_sub(started.elapsed())).max(Duration::from_millis(100))).await;
    };
    for dead in &status.dead_lettered {
        eprintln!("cost-jobs wait: DEAD-LETTERED {}: {}: {}", dead.job, dead.reason_code, bounded(&dead.reason, 500));
    }
    let code = match (status.finished, status.dead_lettered.is_empty()) {
        (true, true) => exit::OK,
        (true, false) => exit::DEAD_LETTERED,
        (false, _) if args.once => exit::NOT_YET,
        (false, _) => {
            eprintln!("cost-jobs wait: TIMED OUT after {:.1}s waiting for run {run}", started.elapsed().as_secs_f64());
            exit::TIMED_OUT
        }
    };
    let mut json = serde_json::to_value(&status).unwrap_or_default();
    json["run_id"] = run.as_str().into();
    println!("{json}");
    Ok(code)
}

async fn dlq_depth(sqs: &Sqs, dlq: &QueueUrl) -> Result<u64, CliError> {
    let r = sqs.depth(dlq).await?;
    Ok(r.visible + r.in_flight + r.delayed)
}

async fn watch_last(sqs: &Sqs, queue: &QueueUrl) -> Option<Reading> {
    sqs.depth(queue).await.ok()
}

fn progress_counts(reading: Option<Reading>) -> String {
    match reading {
        Some(r) => format!("visible={} in_flight={} delayed={}", r.visible, r.in_flight, r.delayed),
        None => "unknown".to_string(),
    }
}

fn progress_line(elapsed: Duration, r: Reading, streak: u32, settle: u32) -> String {
    let state = if r.is_empty() { format!("empty {streak}/{settle}") } else { "busy".to_string() };
    format!("cost-jobs wait: [{:>6.1}s] {} ({state})", elapsed.as_secs_f64(), progress_counts(Some(r)))
}

/// Show the newest dead letters (by the worker's failed_at, else first send time), then make them visible again. A failure
/// here only costs the names, never the exit code.
async fn name_dead_letters(sqs: &Sqs, dlq: &QueueUrl, arrived: u64) -> Vec<DeadLetter> {
    let mut peeked = match sqs.peek(dlq, 100, PEEK_HOLD).await {
        Ok(peeked) => peeked,
        Err(err) => {
            eprintln!("cost-jobs wait: could not read the DLQ to name the jobs: {err}");
            return Vec::new();
        }
    };
    if let Err(err) = sqs.release(dlq, &peeked).await {
        eprintln!("cost-jobs wait: could not release peeked DLQ messages (they reappear within {}s): {err}", PEEK_HOLD.as_secs());
    }
    peeked.sort_by(|a, b| b.arrived_at().cmp(&a.arrived_at()));
    peeked.truncate((arrived as usize).min(MAX_NAMED));
    eprintln!("cost-jobs wait: dead-lettered job(s), newest first (all of them: cost-jobs dlq list --dlq-url {dlq}):");
    for dead in &peeked {
        eprintln!("  {}", dead.render().replace('\n', "\n  "));
    }
    peeked
}
