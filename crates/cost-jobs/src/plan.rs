//! What `enqueue` sends, decided without I/O: the date range split into jobs, one message per
//! job and account, FIFO ids, and batches of ten.
//!
//! Every message body is parsed back with the worker's own `JobSpec::parse` before anything is
//! sent, so the CLI can never enqueue a job the worker would dead-letter as invalid.

use common::key::sha256_hex;
use cost_job::{split_range, AccountId, JobError, JobLimits, JobMessage, JobSpec, Platform};
use chrono::NaiveDate;

/// SendMessageBatch takes at most ten entries.
pub const BATCH_SIZE: usize = 10;
/// A guard against a typo in a date (year 2062 for 2026) filling a queue with years of jobs.
pub const MAX_JOBS: usize = 50_000;
/// Accounts files are small lists; a bigger file is almost certainly the wrong file.
pub const MAX_ACCOUNTS_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("--from {from} is after --to {to}: the range is inclusive and must run forwards (swap the two dates)")]
    ReversedRange { from: NaiveDate, to: NaiveDate },
    #[error("no accounts: give --account ID (repeatable) or --accounts-file FILE with one account id per line")]
    NoAccounts,
    #[error("{jobs} jobs is more than the limit of {limit}: use a larger --days-per-job or a shorter --from/--to range")]
    TooManyJobs { jobs: usize, limit: usize },
    #[error("--days-per-job {days} is more than the {max} days the worker accepts in one job (its MAX_JOB_DAYS); use a smaller --days-per-job, or --max-job-days if the worker's limit was raised")]
    JobTooLong { days: u32, max: u32 },
    #[error("account {account:?} does not make a valid job: {reason}")]
    InvalidAccount { account: String, reason: String },
    #[error("accounts file line {line}: {reason}")]
    AccountsFile { line: usize, reason: String },
}

/// One message to send: the worker's job, its body, and the ids a FIFO queue needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedJob {
    pub spec: JobSpec,
    pub body: String,
    /// Same job, same hash: the FIFO deduplication id (and a stable name in logs).
    pub job_hash: String,
    pub group_id: String,
    pub dedup_id: String,
}

/// What the user asked for, already parsed.
#[derive(Debug, Clone)]
pub struct EnqueueRequest {
    pub platform: Platform,
    pub accounts: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days_per_job: u32,
    /// The worker's `MAX_JOB_DAYS`: a longer job would be dead-lettered, so it is refused here.
    pub max_job_days: u32,
    /// `Some(nonce)`: ask the worker to fetch again even if the job was done before; the nonce
    /// keeps a FIFO queue from dropping the re-sent job as a duplicate of the earlier one.
    pub refresh: Option<String>,
}

/// Number of jobs a request makes, computed before building any (so a huge range fails fast).
pub fn job_count(from: NaiveDate, to: NaiveDate, days_per_job: u32, accounts: usize) -> usize {
    if from > to {
        return 0;
    }
    let days = (to - from).num_days() as usize + 1;
    days.div_ceil(days_per_job.max(1) as usize) * accounts
}

/// The accounts in the platform's canonical spelling (`1234` and `act_1234` are one Meta
/// account), first-seen order, each once.
pub fn canonical_accounts(platform: Platform, accounts: &[String]) -> Result<Vec<AccountId>, PlanError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for raw in accounts.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
        let id = AccountId::parse(platform, raw).map_err(|e| PlanError::InvalidAccount { account: raw.to_string(), reason: worker_reason(&e) })?;
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The worker's message says "invalid job message: ..."; here the job is not a message yet.
fn worker_reason(err: &JobError) -> String {
    let text = err.to_string();
    text.strip_prefix("invalid job message: ").map(str::to_string).unwrap_or(text)
}

/// All jobs of a request, account by account, each range in date order.
pub fn plan(request: &EnqueueRequest) -> Result<Vec<PlannedJob>, PlanError> {
    if request.from > request.to {
        return Err(PlanError::ReversedRange { from: request.from, to: request.to });
    }
    if request.days_per_job > request.max_job_days {
        return Err(PlanError::JobTooLong { days: request.days_per_job, max: request.max_job_days });
    }
    let accounts = canonical_accounts(request.platform, &request.accounts)?;
    if accounts.is_empty() {
        return Err(PlanError::NoAccounts);
    }
    let jobs = job_count(request.from, request.to, request.days_per_job, accounts.len());
    if jobs > MAX_JOBS {
        return Err(PlanError::TooManyJobs { jobs, limit: MAX_JOBS });
    }
    let ranges = split_range(request.from, request.to, request.days_per_job);
    let limits = JobLimits { max_days: request.max_job_days };
    let mut planned = Vec::with_capacity(jobs);
    for account in &accounts {
        for &(date_from, date_to) in &ranges {
            let spec = JobSpec::new(request.platform, account.clone(), date_from, date_to, &limits)
                .map_err(|e| PlanError::InvalidAccount { account: account.to_string(), reason: worker_reason(&e) })?;
            planned.push(planned_job(spec, request.refresh.as_deref()));
        }
    }
    Ok(planned)
}

fn planned_job(spec: JobSpec, refresh: Option<&str>) -> PlannedJob {
    // The digest the worker's idempotency key is made of.
    let job_hash = spec.digest();
    let dedup_id = match refresh {
        None => job_hash.clone(),
        Some(nonce) => sha256_hex(&format!("{job_hash}:refresh:{nonce}")),
    };
    let body = JobMessage { job: spec.clone(), refresh: refresh.is_some() }.body();
    PlannedJob { group_id: group_id(spec.platform, spec.account_id.as_str()), spec, body, job_hash, dedup_id }
}

/// FIFO message group: one per account, so one account's jobs run in order and accounts run in
/// parallel. Group ids allow 128 printable ASCII characters; anything else is hashed.
pub fn group_id(platform: Platform, account: &str) -> String {
    let id = format!("{platform}:{account}");
    if id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()) {
        id
    } else {
        sha256_hex(&id)
    }
}

/// One account id per line; blank lines and `#` comments are skipped.
pub fn parse_accounts_file(text: &str) -> Result<Vec<String>, PlanError> {
    let mut accounts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if line.contains(|c: char| c.is_whitespace() || c == ',') {
            return Err(PlanError::AccountsFile { line: index + 1, reason: "expected one account id per line (no spaces or commas)".into() });
        }
        accounts.push(line.to_string());
    }
    Ok(accounts)
}

/// Groups of at most ten, the SendMessageBatch limit.
pub fn batches<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    items.chunks(BATCH_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn request(accounts: &[&str], from: &str, to: &str, days: u32) -> EnqueueRequest {
        EnqueueRequest {
            platform: Platform::Meta,
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
            from: d(from),
            to: d(to),
            days_per_job: days,
            max_job_days: cost_job::DEFAULT_MAX_DAYS,
            refresh: None,
        }
    }

    #[test]
    fn a_reversed_range_is_refused_with_both_dates() {
        let err = plan(&request(&["act_1"], "2026-11-20", "2026-11-01", 7)).unwrap_err();
        assert!(err.to_string().contains("2026-11-20 is after --to 2026-11-01"), "{err}");
    }

    #[test]
    fn job_count_matches_the_plan() {
        let req = request(&["act_1", "act_2"], "2026-11-01", "2026-11-20", 7);
        assert_eq!(job_count(req.from, req.to, 7, 2), 6);
        assert_eq!(plan(&req).unwrap().len(), 6);
    }

    #[test]
    fn bodies_follow_the_design_message_and_parse_as_the_worker_parses_them() {
        let jobs = plan(&request(&["act_1"], "2026-11-01", "2026-11-08", 7)).unwrap();
        let body: serde_json::Value = serde_json::from_str(&jobs[1].body).unwrap();
        assert_eq!(body, serde_json::json!({"platform":"meta","account_id":"act_1","date_from":"2026-11-08","date_to":"2026-11-08"}));
        assert_eq!(JobSpec::parse(&jobs[1].body).unwrap(), jobs[1].spec);
    }

    #[test]
    fn accounts_are_deduplicated_in_their_canonical_spelling_and_the_plan_is_account_major() {
        let jobs = plan(&request(&["act_2", "1", "act_2", " ", "act_1"], "2026-11-01", "2026-11-14", 7)).unwrap();
        let order: Vec<_> = jobs.iter().map(|j| (j.spec.account_id.as_str(), j.spec.date_from.to_string())).collect();
        assert_eq!(order, vec![("act_2", "2026-11-01".into()), ("act_2", "2026-11-08".into()), ("act_1", "2026-11-01".into()), ("act_1", "2026-11-08".into())]);
    }

    #[test]
    fn the_same_job_always_has_the_same_hash_and_different_jobs_differ() {
        let a = plan(&request(&["act_1"], "2026-11-01", "2026-11-14", 7)).unwrap();
        let b = plan(&request(&["act_1"], "2026-11-01", "2026-11-14", 7)).unwrap();
        assert_eq!(a[0].job_hash, b[0].job_hash);
        assert_eq!(a[0].dedup_id, a[0].job_hash);
        assert_ne!(a[0].job_hash, a[1].job_hash);
        assert_eq!(a[0].job_hash.len(), 64);
    }

    #[test]
    fn refresh_marks_the_body_and_changes_the_fifo_dedup_id_but_not_the_job_hash() {
        let mut req = request(&["act_1"], "2026-11-01", "2026-11-01", 7);
        let plain = plan(&req).unwrap().remove(0);
        req.refresh = Some("run-1".into());
        let refreshed = plan(&req).unwrap().remove(0);
        req.refresh = Some("run-2".into());
        let again = plan(&req).unwrap().remove(0);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&refreshed.body).unwrap()["refresh"], true);
        assert_eq!(plain.job_hash, refreshed.job_hash);
        assert_ne!(plain.dedup_id, refreshed.dedup_id);
        assert_ne!(refreshed.dedup_id, again.dedup_id);
    }

    #[test]
    fn no_accounts_and_invalid_accounts_are_refused_before_anything_is_built() {
        assert_eq!(plan(&request(&[], "2026-11-01", "2026-11-01", 7)).unwrap_err(), PlanError::NoAccounts);
        let err = plan(&request(&["act_1", "act 1"], "2026-11-01", "2026-11-01", 7)).unwrap_err();
        assert!(matches!(err, PlanError::InvalidAccount { ref account, .. } if account == "act 1"), "{err}");
        let err = plan(&request(&["act_abc"], "2026-11-01", "2026-11-01", 7)).unwrap_err();
        assert!(err.to_string().contains("digits"), "the worker's own reason is shown: {err}");
    }

    #[test]
    fn a_job_longer_than_the_worker_accepts_is_refused() {
        let err = plan(&request(&["act_1"], "2026-01-01", "2026-12-31", 120)).unwrap_err();
        assert_eq!(err, PlanError::JobTooLong { days: 120, max: cost_job::DEFAULT_MAX_DAYS });
        let mut raised = request(&["act_1"], "2026-01-01", "2026-12-31", 120);
        raised.max_job_days = 366;
        assert_eq!(plan(&raised).unwrap().len(), 4);
    }

    #[test]
    fn a_range_of_decades_is_refused_by_the_job_limit() {
        let err = plan(&request(&["act_1"], "2026-01-01", "2206-01-01", 1)).unwrap_err();
        assert!(matches!(err, PlanError::TooManyJobs { .. }), "{err}");
    }

    #[test]
    fn fifo_group_ids_are_per_account_and_stay_within_sqs_limits() {
        assert_eq!(group_id(Platform::Meta, "act_1"), "meta:act_1");
        let long = "a".repeat(200);
        assert_eq!(group_id(Platform::Meta, &long).len(), 64);
        assert_eq!(group_id(Platform::Meta, "act\u{7}1").len(), 64);
    }

    #[test]
    fn accounts_file_skips_comments_and_blanks_and_names_the_bad_line() {
        let text = "# team A\nact_1\n\n  act_2  # big one\n";
        assert_eq!(parse_accounts_file(text).unwrap(), vec!["act_1", "act_2"]);
        let err = parse_accounts_file("act_1\nact_2, act_3\n").unwrap_err();
        assert_eq!(err, PlanError::AccountsFile { line: 2, reason: "expected one account id per line (no spaces or commas)".into() });
    }

    #[test]
    fn batches_hold_at_most_ten_and_keep_every_item() {
        let items: Vec<u32> = (0..23).collect();
        let sizes: Vec<usize> = batches(&items).map(|b| b.len()).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        assert_eq!(batches(&items).flatten().count(), 23);
        assert_eq!(batches::<u32>(&[]).count(), 0);
    }
}
