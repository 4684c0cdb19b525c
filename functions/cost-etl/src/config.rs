//! cost-etl's settings, read once per cold start from the environment.
//!
//! Every variable, its default and its meaning is listed in docs/cost-etl.md; a bad value fails
//! the cold start with the variable's name, never its value.

use cost_job::JobLimits;
use sqs_batch::batch::BatchConfig;
use common::config::{ConfigError, Env};
use common::memory::{MemoryBudget, MEMORY_SIZE_VAR};
use sqs_batch::pacing::{PacingConfig, SQS_MAX_VISIBILITY};
use sqs_batch::requeue::RequeueConfig;
use std::time::Duration;

pub const DEFAULT_META_API_BASE: &str = "https://graph.facebook.com";
pub const DEFAULT_META_API_VERSION: &str = "v23.0";
pub const DEFAULT_GOOGLE_ADS_API_BASE: &str = "https://googleads.googleapis.com";
/// Newest Google Ads API major version in the release notes (v26, 2026-10-14); minor versions
/// (v26.1) keep the same path.
pub const DEFAULT_GOOGLE_ADS_API_VERSION: &str = "v26";
pub const DEFAULT_TIKTOK_API_BASE: &str = "https://business-api.tiktok.com";
pub const DEFAULT_GOOGLE_OAUTH_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Shortest `IDEMPOTENCY_TTL_SECONDS` accepted: a minute. Less would let a redelivery of a job
/// that just completed run it again.
pub const MIN_IDEMPOTENCY_TTL: Duration = Duration::from_secs(60);
/// Longest `IDEMPOTENCY_TTL_SECONDS` accepted (30 days, 2,592,000 s). The ledger adds it to the
/// epoch seconds of now as an `i64`: an unbounded value would overflow that sum, or wrap (release
/// build) into an expiration in the past that makes every job look new.
pub const MAX_IDEMPOTENCY_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Longest `PLATFORM_TIMEOUT_SECONDS`, `RECORD_TIMEOUT_SECONDS` and `INVOCATION_TIMEOUT_SECONDS`:
/// Lambda's own limit of 900 s, which no call, record or invocation can outlive.
pub const MAX_TIMEOUT_SECONDS: u64 = 900;
/// Longest `DEADLINE_MARGIN_SECONDS`: 600 s; a larger margin would leave no time to work.
pub const MAX_DEADLINE_MARGIN_SECONDS: u64 = 600;

/// Where each platform's API lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformEndpoints {
    pub meta_api_base: String,
    /// Graph API version path segment, e.g. `v23.0`.
    pub meta_api_version: String,
    pub google_ads_api_base: String,
    /// Google Ads API major version path segment, e.g. `v26`.
    pub google_ads_api_version: String,
    pub tiktok_api_base: String,
    pub google_oauth_token_url: String,
}

/// One job's share of the function's memory, fixed at cold start: the bytes of platform answers
/// one job may read, all its pages (or its whole searchStream) together.
///
/// Why per job and not per answer: up to `BATCH_CONCURRENCY` jobs run at once in one process,
/// and the rows a job keeps grow with everything it has read. Fixed per-answer caps (16 MiB a
/// page for up to 10,000 pages, 64 MiB a stream) let a few large or endless answers together
/// pass `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; Lambda then kills the invocation and every record
/// of the batch comes back. A share that the jobs together cannot pass fails only the job that
/// reached it, with a reason that says what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobMemory {
    /// Bytes one job may read ([`MemoryBudget::per_unit`] of `jobs`).
    pub max_bytes: usize,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MB: what the share was cut from (named in the reason).
    pub memory_mb: u64,
    /// `BATCH_CONCURRENCY`: how many jobs share the memory.
    pub jobs: usize,
}

impl JobMemory {
    pub fn new(budget: MemoryBudget, jobs: usize) -> JobMemory {
        JobMemory { max_bytes: budget.per_unit(jobs), memory_mb: budget.total_mb(), jobs }
    }

    /// The cap of one answer: a platform's own per-answer cap `fixed`, or the whole job's share
    /// when that is smaller (a single answer may not take more than the job may hold).
    pub fn answer_cap(self, fixed: usize) -> usize {
        fixed.min(self.max_bytes)
    }
}

impl std::fmt::Display for JobMemory {
    /// `4613734 bytes (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 MB shared by BATCH_CONCURRENCY=10 jobs)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes ({MEMORY_SIZE_VAR}={} MB shared by BATCH_CONCURRENCY={} jobs)", self.max_bytes, self.memory_mb, self.jobs)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub output_bucket: String,
    pub idempotency_table: String,
    pub dlq_url: String,
    /// Credentials of platform P are the secret `{secrets_prefix}/{P}`.
    pub secrets_prefix: String,
    pub endpoints: PlatformEndpoints,
    pub limits: JobLimits,
    pub batch: BatchConfig,
    /// What one job may read from a platform: `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` shared by the
    /// `BATCH_CONCURRENCY` jobs that run at once (`common::memory`). Computed at cold start, so
    /// a bigger function or fewer jobs at once gives every job more; a job past it fails alone
    /// (`platform.job_too_large`) instead of getting the whole invocation killed for memory.
    pub job_memory: JobMemory,
    /// Visibility timeouts of records delivered again (backoff, never-started wait).
    pub pacing: PacingConfig,
    /// The jobs queue's `maxReceiveCount` and how often a never-started record may be requeued.
    pub requeue: RequeueConfig,
    /// How long a COMPLETED ledger record turns duplicates into no-ops.
    pub completed_ttl: Duration,
    /// One whole platform HTTP call (connect, request, reading the body).
    pub platform_timeout: Duration,
    /// The invocation budget when the runtime gives no usable deadline (Runtime API emulators).
    pub fallback_budget: Duration,
    pub metrics_namespace: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let defaults = BatchConfig::default();
        let concurrency = env.parse_or::<usize>("BATCH_CONCURRENCY", defaults.concurrency, "a whole number from 1 to 100")?;
        if !(1..=100).contains(&concurrency) {
            return Err(ConfigError::new("BATCH_CONCURRENCY", "is not a whole number from 1 to 100"));
        }
        let max_days = env.parse_or::<u32>("MAX_JOB_DAYS", JobLimits::default().max_days, "a whole number of days from 1 to 3660")?;
        if !(1..=3660).contains(&max_days) {
            return Err(ConfigError::new("MAX_JOB_DAYS", "is not a whole number of days from 1 to 3660"));
        }
        let secrets_prefix = env.required("SECRETS_PREFIX")?.trim_end_matches('/').to_string();
        let meta_api_version = env.optional("META_API_VERSION").unwrap_or_else(|| DEFAULT_META_API_VERSION.to_string());
        let version_ok = meta_api_version.strip_prefix('v').is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        if !version_ok {
            return Err(ConfigError::new("META_API_VERSION", "is not a Graph API version like v23.0"));
        }
        let google_ads_api_version = env.optional("GOOGLE_ADS_API_VERSION").unwrap_or_else(|| DEFAULT_GOOGLE_ADS_API_VERSION.to_string());
        let google_version_ok = google_ads_api_version.strip_prefix('v').is_some_and(|v| (1..=3).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()));
        if !google_version_ok {
            return Err(ConfigError::new("GOOGLE_ADS_API_VERSION", "is not a Google Ads API major version like v26"));
        }
        let pacing_defaults = PacingConfig::default();
        let max_backoff = env.seconds_or("RETRY_MAX_BACKOFF_SECONDS", pacing_defaults.max_backoff)?;
        if max_backoff.is_zero() || max_backoff > SQS_MAX_VISIBILITY {
            return Err(ConfigError::new("RETRY_MAX_BACKOFF_SECONDS", "is not a number of seconds from 1 to 43200 (the SQS limit)"));
        }
        let max_receive_count = env.parse_or::<u32>("MAX_RECEIVE_COUNT", 5, "a whole number from 0 (no redrive policy) to 1000")?;
        if max_receive_count > 1000 {
            return Err(ConfigError::new("MAX_RECEIVE_COUNT", "is not a whole number from 0 (no redrive policy) to 1000"));
        }
        let completed_ttl = env.seconds_in("IDEMPOTENCY_TTL_SECONDS", Duration::from_secs(3600), MIN_IDEMPOTENCY_TTL.as_secs()..=MAX_IDEMPOTENCY_TTL.as_secs())?;
        let job_memory = JobMemory::new(MemoryBudget::from_env(env)?, concurrency);
        Ok(Config {
            output_bucket: env.required("OUTPUT_BUCKET")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            dlq_url: env.required("DLQ_URL").and_then(|_| env.url_or("DLQ_URL", ""))?,
            secrets_prefix,
            endpoints: PlatformEndpoints {
                meta_api_base: env.secure_url_or("META_API_BASE", DEFAULT_META_API_BASE)?,
                meta_api_version,
                google_ads_api_base: env.secure_url_or("GOOGLE_ADS_API_BASE", DEFAULT_GOOGLE_ADS_API_BASE)?,
                google_ads_api_version,
                tiktok_api_base: env.secure_url_or("TIKTOK_API_BASE", DEFAULT_TIKTOK_API_BASE)?,
                google_oauth_token_url: env.secure_url_or("GOOGLE_OAUTH_TOKEN_URL", DEFAULT_GOOGLE_OAUTH_TOKEN_URL)?,
            },
            limits: JobLimits { max_days },
            batch: BatchConfig {
                concurrency,
                start_margin: env.seconds_in("DEADLINE_MARGIN_SECONDS", defaults.start_margin, 0..=MAX_DEADLINE_MARGIN_SECONDS)?,
                finish_reserve: defaults.finish_reserve,
                record_timeout: env.seconds_in("RECORD_TIMEOUT_SECONDS", defaults.record_timeout, 1..=MAX_TIMEOUT_SECONDS)?,
            },
            job_memory,
            pacing: PacingConfig { max_backoff, ..pacing_defaults },
            requeue: RequeueConfig { max_receive_count: (max_receive_count > 0).then_some(max_receive_count), ..RequeueConfig::default() },
            completed_ttl,
            platform_timeout: env.seconds_in("PLATFORM_TIMEOUT_SECONDS", Duration::from_secs(30), 1..=MAX_TIMEOUT_SECONDS)?,
            fallback_budget: env.seconds_in("INVOCATION_TIMEOUT_SECONDS", Duration::from_secs(120), 1..=MAX_TIMEOUT_SECONDS)?,
            metrics_namespace: env.optional("METRICS_NAMESPACE").unwrap_or_else(|| "CostEtl".to_string()),
        })
    }

    /// The Secrets Manager id holding `platform`'s credentials.
    pub fn secret_id(&self, platform: cost_job::Platform) -> String {
        format!("{}/{}", self.secrets_prefix, platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![("OUTPUT_BUCKET", "b"), ("IDEMPOTENCY_TABLE", "t"), ("DLQ_URL", "http://127.0.0.1:1/123/dlq"), ("SECRETS_PREFIX", "cost-etl/")]
    }

    #[test]
    fn defaults_fill_everything_but_the_four_required_names() {
        let config = Config::from_env(&Env::from_pairs(minimal())).unwrap();
        assert_eq!(config.endpoints.meta_api_base, DEFAULT_META_API_BASE);
        assert_eq!(config.endpoints.meta_api_version, "v23.0");
        assert_eq!(config.endpoints.google_ads_api_version, "v26");
        assert_eq!(config.limits.max_days, 93);
        assert_eq!(config.batch.concurrency, 10);
        assert_eq!(config.completed_ttl, Duration::from_secs(3600));
        assert_eq!(config.pacing, PacingConfig::default());
        assert_eq!(config.requeue, RequeueConfig { max_receive_count: Some(5), max_requeues: 10 });
        assert_eq!(config.secret_id(cost_job::Platform::GoogleAds), "cost-etl/google_ads");
        for missing in ["OUTPUT_BUCKET", "IDEMPOTENCY_TABLE", "DLQ_URL", "SECRETS_PREFIX"] {
            let env = Env::from_pairs(minimal().into_iter().filter(|(k, _)| *k != missing));
            assert_eq!(Config::from_env(&env).unwrap_err().var, missing);
        }
    }

    #[test]
    fn ttl_and_timeouts_out_of_range_fail_the_cold_start_naming_the_variable() {
        for (var, below, low, high, above) in [
            ("IDEMPOTENCY_TTL_SECONDS", "59", "60", "2592000", "2592001"),
            ("PLATFORM_TIMEOUT_SECONDS", "0", "1", "900", "901"),
            ("RECORD_TIMEOUT_SECONDS", "0", "1", "900", "901"),
            ("DEADLINE_MARGIN_SECONDS", "-1", "0", "600", "601"),
            ("INVOCATION_TIMEOUT_SECONDS", "0", "1", "900", "901"),
        ] {
            let with = |value: &'static str| {
                let mut pairs = minimal();
                pairs.push((var, value));
                Config::from_env(&Env::from_pairs(pairs))
            };
            for bad in [below, above, "18446744073709551616"] {
                let err = with(bad).unwrap_err();
                assert_eq!(err.var, var, "{bad}");
                assert!(err.problem.contains(&format!("from {low} to {high}")), "{err}");
            }
            assert!(with(low).is_ok() && with(high).is_ok(), "{var}: both ends are in the range");
        }
        let ttl = Config::from_env(&Env::from_pairs(minimal().into_iter().chain([("IDEMPOTENCY_TTL_SECONDS", "2592000")]))).unwrap().completed_ttl;
        assert_eq!(ttl, MAX_IDEMPOTENCY_TTL);
    }

    #[test]
    fn plain_http_platform_urls_are_refused_unless_loopback_or_allowed() {
        for var in ["META_API_BASE", "GOOGLE_ADS_API_BASE", "TIKTOK_API_BASE", "GOOGLE_OAUTH_TOKEN_URL"] {
            let with = |url: &'static str, allow: Option<&'static str>| {
                let mut pairs = minimal();
                pairs.push((var, url));
                if let Some(flag) = allow {
                    pairs.push(("ALLOW_INSECURE_HTTP", flag));
                }
                Config::from_env(&Env::from_pairs(pairs))
            };
            let err = with("http://api.example.com", None).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.problem.contains("ALLOW_INSECURE_HTTP=true") && !err.problem.contains("api.example.com"), "{err}");
            assert!(with("http://api.example.com", Some("false")).is_err());
            assert!(with("http://api.example.com", Some("true")).is_ok(), "{var}: allowed explicitly");
            assert!(with("http://127.0.0.1:4010", None).is_ok(), "{var}: loopback");
            assert!(with("http://localhost:4010/", None).is_ok(), "{var}: loopback");
            assert!(with("https://api.example.com", None).is_ok());
        }
    }

    #[test]
    fn each_job_gets_its_share_of_the_function_memory() {
        let with = |pairs: &[(&'static str, &'static str)]| Config::from_env(&Env::from_pairs(minimal().into_iter().chain(pairs.iter().copied()))).map(|c| c.job_memory);
        let small = with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"), ("BATCH_CONCURRENCY", "10")]).unwrap();
        assert_eq!(small, JobMemory::new(MemoryBudget::from_mb(128), 10));
        assert_eq!(small.max_bytes, MemoryBudget::from_mb(128).per_unit(10));
        assert_eq!(small.to_string(), format!("{} bytes (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 MB shared by BATCH_CONCURRENCY=10 jobs)", small.max_bytes));
        let big = with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"), ("BATCH_CONCURRENCY", "10")]).unwrap();
        let alone = with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"), ("BATCH_CONCURRENCY", "1")]).unwrap();
        assert!(big.max_bytes > small.max_bytes && alone.max_bytes > small.max_bytes);
        // Without the variable (a test, a local run): Lambda's default of 128 MB.
        assert_eq!(with(&[("BATCH_CONCURRENCY", "10")]).unwrap(), small);
        // A page cap larger than the share shrinks to it; a smaller one stays.
        assert_eq!(small.answer_cap(usize::MAX), small.max_bytes);
        assert_eq!(small.answer_cap(1024), 1024);
        let err = with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64")]).unwrap_err();
        assert_eq!(err.var, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [("BATCH_CONCURRENCY", "0"), ("BATCH_CONCURRENCY", "many"), ("MAX_JOB_DAYS", "0"), ("META_API_BASE", "graph.facebook.com"), ("META_API_VERSION", "23"), ("GOOGLE_ADS_API_VERSION", "26"), ("GOOGLE_ADS_API_VERSION", "v26.1"), ("GOOGLE_ADS_API_VERSION", "v"), ("DEADLINE_MARGIN_SECONDS", "-1"), ("RETRY_MAX_BACKOFF_SECONDS", "0"), ("RETRY_MAX_BACKOFF_SECONDS", "43201"), ("MAX_RECEIVE_COUNT", "1001"), ("MAX_RECEIVE_COUNT", "-1")] {
            let mut pairs = minimal();
            pairs.push((var, value));
            let err = Config::from_env(&Env::from_pairs(pairs)).unwrap_err();
            assert_eq!(err.var, var, "{value}");
        }
    }
}
