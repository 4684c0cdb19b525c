//! `cost-jobs enqueue`: plan the jobs, then send them ten at a time.

use crate::cli::EnqueueArgs;
use crate::drain::exit;
use crate::error::CliError;
use crate::plan::{self, EnqueueRequest, PlannedJob, MAX_ACCOUNTS_FILE_BYTES};
use crate::queue::QueueUrl;
use crate::retry::{send_with_retries, RetryPolicy};
use crate::runs::Runs;
use crate::sqs::{Outgoing, Sqs};
use std::io::Write;

pub async fn run(args: EnqueueArgs) -> Result<i32, CliError> {
    let accounts = match &args.accounts_file {
        Some(path) => read_accounts_file(path)?,
        None => args.accounts.clone(),
    };
    let request = EnqueueRequest {
        platform: args.platform,
        accounts,
        from: args.from,
        to: args.to,
        days_per_job: args.days_per_job,
        max_job_days: args.max_job_days,
        // Tagged with a run, a refresh is keyed by the run: a retried enqueue sends the same ids.
        refresh: args.refresh.then(|| match &args.run_id {
            Some(run) => format!("run:{run}"),
            None => chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string(),
        }),
    };
    let jobs = plan::plan(&request)?;
    let accounts = jobs.iter().map(|j| &j.spec.account_id).collect::<std::collections::HashSet<_>>().len();
    let shape = format!("{accounts} account(s) x {} range(s) of up to {} day(s)", jobs.len() / accounts.max(1), request.days_per_job);

    let queue = match (args.dry_run, args.queue_url) {
        (true, _) => {
            let mut out = std::io::stdout().lock();
            for job in &jobs {
                writeln!(out, "{}", job.body).map_err(|e| CliError::Other(format!("cannot write to stdout: {e}")))?;
            }
            eprintln!("cost-jobs: dry run: {} job(s) ({shape}); nothing sent", jobs.len());
            return Ok(exit::OK);
        }
        (false, Some(queue)) => queue,
        (false, None) => return Err(CliError::Other("--queue-url is required (or set COST_JOBS_QUEUE_URL)".into())),
    };

    let sqs = Sqs::from_env().await;
    // Fail on a wrong URL before the first send, not halfway through.
    sqs.depth(&queue).await?;
    // The run's expected count first, so a wait that looks in between never sees it finished.
    if let (Some(run), Some(table)) = (&args.run_id, &args.ledger_table) {
        let mut accounts: Vec<&str> = jobs.iter().map(|j| j.spec.account_id.as_str()).collect();
        accounts.dedup();
        let described = format!("{}|{}|{}|{}|{}|{}", request.platform, request.from, request.to, request.days_per_job, args.refresh, accounts.join(","));
        Runs::from_env(table).await.expect(run, &described, jobs.len()).await?;
    }
    let tags: Vec<(&'static str, String)> = args.run_id.iter().map(|run| (cost_job::attributes::RUN_ID, run.to_string())).collect();
    let summary = send_all(&sqs, &queue, &jobs, &tags).await?;
    eprintln!(
        "cost-jobs: enqueued {} of {} job(s) ({shape}) on {queue} in {} SendMessageBatch call(s)",
        summary.sent,
        jobs.len(),
        summary.calls
    );
    println!(
        "{}",
        serde_json::json!({"jobs": jobs.len(), "sent": summary.sent, "failed": summary.failed, "calls": summary.calls, "queue": queue.as_str(), "run_id": args.run_id.as_ref().map(|r| r.as_str())})
    );
    if summary.failed > 0 {
        return Err(CliError::PartialEnqueue { sent: summary.sent, failed: summary.failed, total: jobs.len() });
    }
    Ok(exit::OK)
}

fn read_accounts_file(path: &std::path::Path) -> Result<Vec<String>, CliError> {
    let fail = |reason: String| CliError::AccountsFile { path: path.display().to_string(), reason };
    let size = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?.len();
    if size > MAX_ACCOUNTS_FILE_BYTES {
        return Err(fail(format!("{size} bytes is more than the limit of {MAX_ACCOUNTS_FILE_BYTES}; is it the right file?")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    Ok(plan::parse_accounts_file(&text)?)
}

struct SendSummary {
    sent: usize,
    failed: usize,
    calls: u32,
}

async fn send_all(sqs: &Sqs, queue: &QueueUrl, jobs: &[PlannedJob], tags: &[(&'static str, String)]) -> Result<SendSummary, CliError> {
    let fifo = queue.is_fifo();
    let mut summary = SendSummary { sent: 0, failed: 0, calls: 0 };
    let batch_count = jobs.len().div_ceil(plan::BATCH_SIZE);
    for (batch_index, batch) in plan::batches(jobs).enumerate() {
        let offset = batch_index * plan::BATCH_SIZE;
        let entries: Vec<Outgoing> = batch
            .iter()
            .enumerate()
            .map(|(i, job)| Outgoing {
                id: format!("j{}", offset + i),
                body: job.body.clone(),
                group_id: fifo.then(|| job.group_id.clone()),
                dedup_id: fifo.then(|| job.dedup_id.clone()),
                attributes: tags.to_vec(),
            })
            .collect();
        let report = send_with_retries(entries, |e| e.id.as_str(), |b| sqs.send_batch(queue, b), RetryPolicy::default())
            .await
            .map_err(|err| {
                eprintln!("cost-jobs: stopped after sending {} of {} job(s)", summary.sent, jobs.len());
                if err.is_not_found() {
                    CliError::QueueMissing { url: queue.to_string(), endpoint: "the configured endpoint".into(), region: "the configured region".into() }
                } else {
                    CliError::Aws(err)
                }
            })?;
        summary.calls += report.calls;
        summary.sent += report.sent.len();
        summary.failed += report.failed.len();
        for failure in &report.failed {
            let index: usize = failure.id.trim_start_matches('j').parse().unwrap_or(usize::MAX);
            let body = jobs.get(index).map_or("?", |j| j.body.as_str());
            eprintln!("cost-jobs: NOT SENT {body}: {} {}", failure.code, failure.message);
        }
        if batch_count >= 20 && (batch_index + 1) % 10 == 0 {
            eprintln!("cost-jobs: {}/{} job(s) sent", summary.sent, jobs.len());
        }
    }
    Ok(summary)
}
