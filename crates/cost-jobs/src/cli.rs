//! The command line: every argument parsed into its type here, so a bad date or URL fails before
//! any AWS call with a message that says what a good value looks like.

use cost_job::{Platform, RunId};
use crate::queue::QueueUrl;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "cost-jobs", version, about = "Enqueue cost-etl jobs, wait for them to finish, and inspect or redrive the dead-letter queue.")]
#[command(after_help = "Exit codes: 0 done; 1 `wait`: done but jobs reached the DLQ; 2 `wait`: timed out; 3 AWS or send failure; 64 bad arguments; 75 `wait --once`: not finished yet.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Split a date range into jobs and send one message per job and account.
    Enqueue(EnqueueArgs),
    /// Wait until the queue has no visible, in-flight or delayed messages.
    Wait(WaitArgs),
    /// Inspect or redrive the dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The jobs queue (a `.fifo` URL gets per-account message groups and deduplication ids).
    #[arg(long, env = "COST_JOBS_QUEUE_URL", value_parser = parse_queue_url, required_unless_present = "dry_run")]
    pub queue_url: Option<QueueUrl>,
    /// Ad platform: meta, google_ads or tiktok.
    #[arg(long, value_parser = parse_platform)]
    pub platform: Platform,
    /// An account id; repeat for several accounts.
    #[arg(long = "account", value_name = "ID", required_unless_present = "accounts_file", conflicts_with = "accounts_file")]
    pub accounts: Vec<String>,
    /// A file with one account id per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    pub accounts_file: Option<PathBuf>,
    /// First day, inclusive (YYYY-MM-DD, in the account's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last day, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: NaiveDate,
    /// Days per job; the last job of the range may be shorter.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days_per_job: u32,
    /// The worker's MAX_JOB_DAYS, if raised from its default; longer jobs are refused here.
    #[arg(long, default_value_t = cost_job::DEFAULT_MAX_DAYS, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub max_job_days: u32,
    /// Fetch again even if the worker already completed these jobs (adds `"refresh": true`).
    #[arg(long)]
    pub refresh: bool,
    /// Print the jobs (one JSON body per line) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The orchestrator's run (e.g. `{{ run_id }}` in Airflow): every message is tagged with it,
    /// a refresh job is keyed by it (a retried enqueue sends nothing the worker would redo), and
    /// `wait --run-id` waits for exactly these jobs.
    #[arg(long, value_parser = parse_run_id)]
    pub run_id: Option<RunId>,
    /// The worker's idempotency table (IDEMPOTENCY_TABLE): record how many jobs this enqueue sent
    /// for the run, so `wait --run-id` knows when the run is done. Needs dynamodb:UpdateItem.
    #[arg(long, env = "COST_JOBS_LEDGER_TABLE", requires = "run_id")]
    pub ledger_table: Option<String>,
    /// Accepted for symmetry with `wait --json`: the last stdout line is always the JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The jobs queue to watch until it is drained (not needed with --run-id).
    #[arg(long, env = "COST_JOBS_QUEUE_URL", value_parser = parse_queue_url, required_unless_present = "run_id")]
    pub queue_url: Option<QueueUrl>,
    /// Wait for the jobs of this run (as enqueued with `enqueue --run-id`), from the run's record
    /// in the worker's idempotency table, not from queue depths. Needs --ledger-table.
    #[arg(long, value_parser = parse_run_id, requires = "ledger_table")]
    pub run_id: Option<RunId>,
    /// The worker's idempotency table (IDEMPOTENCY_TABLE). Needs dynamodb:GetItem.
    #[arg(long, env = "COST_JOBS_LEDGER_TABLE")]
    pub ledger_table: Option<String>,
    /// With --run-id: one look, then exit 0 (done), 1 (done, with dead letters) or 75 (not yet),
    /// for reschedule-mode sensors.
    #[arg(long, requires = "run_id")]
    pub once: bool,
    /// With --run-id: the last stdout line is the run's status as JSON.
    #[arg(long)]
    pub json: bool,
    /// The DLQ to watch; default: the queue's RedrivePolicy target.
    #[arg(long, env = "COST_JOBS_DLQ_URL", value_parser = parse_queue_url)]
    pub dlq_url: Option<QueueUrl>,
    /// Give up after this long (seconds, or with a unit: 90s, 30m, 2h).
    #[arg(long, default_value = "3600", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Pause between readings (seconds or with a unit; at least 0.1 s).
    #[arg(long, default_value = "10", value_parser = parse_interval)]
    pub interval: Duration,
    /// Consecutive empty readings that count as drained (the counts are approximate).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub settle: u32,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Show dead-lettered jobs with the worker's reason and their receive count.
    List(DlqListArgs),
    /// Move dead-lettered jobs back to the jobs queue (each deleted from the DLQ only once sent).
    Redrive(DlqRedriveArgs),
}

#[derive(Debug, Args)]
pub struct DlqListArgs {
    #[arg(long, env = "COST_JOBS_DLQ_URL", value_parser = parse_queue_url)]
    pub dlq_url: QueueUrl,
    /// Show at most this many.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max: u32,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// The worker's idempotency table (IDEMPOTENCY_TABLE): each job's last failure is read from
    /// it, so a job the queue's redrive policy moved (no reason attribute) still shows why it
    /// failed. Needs dynamodb:GetItem on the table.
    #[arg(long, env = "COST_JOBS_LEDGER_TABLE")]
    pub ledger_table: Option<String>,
}

#[derive(Debug, Args)]
pub struct DlqRedriveArgs {
    #[arg(long, env = "COST_JOBS_DLQ_URL", value_parser = parse_queue_url)]
    pub dlq_url: QueueUrl,
    /// Where the jobs go back to.
    #[arg(long, env = "COST_JOBS_QUEUE_URL", value_parser = parse_queue_url)]
    pub queue_url: QueueUrl,
    /// Move at most this many (default: all that are in the DLQ when the command starts).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max: Option<u32>,
}

pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|e| format!("{e}: expected a calendar date as YYYY-MM-DD, e.g. 2026-11-01"))
}

pub fn parse_platform(raw: &str) -> Result<Platform, String> {
    raw.trim().parse::<Platform>().map_err(|_| "expected one of: meta, google_ads, tiktok".to_string())
}

pub fn parse_run_id(raw: &str) -> Result<RunId, String> {
    raw.parse()
}

pub fn parse_queue_url(raw: &str) -> Result<QueueUrl, String> {
    raw.parse()
}

/// Seconds (`90`, `1.5`) or a number with a unit (`90s`, `30m`, `2h`); at most 7 days.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], &raw[i..]),
        _ => (raw, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit {unit:?}: use s, m or h (e.g. 90s, 30m, 2h)")),
    };
    let value: f64 = number.parse().map_err(|_| "expected seconds (e.g. 90 or 1.5) or a number with s, m or h".to_string())?;
    let seconds = value * scale;
    if !seconds.is_finite() || !(0.0..=7.0 * 86_400.0).contains(&seconds) {
        return Err("must be between 0 and 7 days".to_string());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_interval(raw: &str) -> Result<Duration, String> {
    let interval = parse_duration(raw)?;
    if interval < Duration::from_millis(100) {
        return Err("must be at least 0.1 s (each reading is an API call)".to_string());
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dates_must_be_real_calendar_days() {
        assert_eq!(parse_date("2026-11-01").unwrap(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        for bad in ["2026-02-30", "2026/11/01", "01-11-2026", "yesterday", ""] {
            assert!(parse_date(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
    }

    #[test]
    fn durations_take_seconds_or_a_unit_and_refuse_nonsense() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["-1", "NaN", "inf", "10d", "8000h", "abc", "h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_interval("0").is_err());
    }

    #[test]
    fn enqueue_needs_a_queue_unless_it_is_a_dry_run() {
        let base = ["cost-jobs", "enqueue", "--platform", "meta", "--account", "act_1", "--from", "2026-11-01", "--to", "2026-11-02"];
        assert!(Cli::try_parse_from(base).is_err());
        assert!(Cli::try_parse_from(base.iter().chain(&["--dry-run"])).is_ok());
    }

    #[test]
    fn accounts_come_from_flags_or_a_file_but_not_both() {
        let args = ["cost-jobs", "enqueue", "--dry-run", "--platform", "meta", "--from", "2026-11-01", "--to", "2026-11-02"];
        assert!(Cli::try_parse_from(args).is_err(), "no accounts");
        assert!(Cli::try_parse_from(args.iter().chain(&["--accounts-file", "a.txt"])).is_ok());
        assert!(Cli::try_parse_from(args.iter().chain(&["--accounts-file", "a.txt", "--account", "act_1"])).is_err());
        let Command::Enqueue(e) = Cli::try_parse_from(args.iter().chain(&["--account", "a", "--account", "b"])).unwrap().command else { panic!() };
        assert_eq!(e.accounts, vec!["a", "b"]);
    }

    #[test]
    fn an_unknown_platform_lists_the_known_ones() {
        let err = Cli::try_parse_from(["cost-jobs", "enqueue", "--dry-run", "--platform", "myspace", "--account", "a", "--from", "2026-11-01", "--to", "2026-11-02"]).unwrap_err();
        assert!(err.to_string().contains("meta, google_ads, tiktok"), "{err}");
    }
}
