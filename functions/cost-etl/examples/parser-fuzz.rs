//! Throughput and panic check of every parser that reads cost-etl's input from outside: the job
//! message and its parts (`cost-job`), configuration, secrets, bounded text and queue ARNs
//! (`common`), and the Meta, Google Ads and TikTok answers, headers and amounts (`cost-etl`).
//! A figure for the README, not a test; the property tests in `tests/props.rs` check results.
//!
//! Each parser gets `CASES` generated inputs (default 1,000,000) from a small xorshift generator
//! seeded with `SEED` (default 1), so a run is reproducible: mostly valid documents with bytes
//! flipped, inserted, removed or cut, JSON tokens inserted, chunks duplicated and numbers
//! replaced by edge values (`u64::MAX`, `i64::MIN`, `1e309`, ...); some valid documents with edge
//! numbers only; some noise. Every call runs under `catch_unwind`; the run exits 1 when any
//! panicked, printing the first inputs that did. Only the parser calls are timed.
//!
//!     parser-fuzz [SEED] [CASES] [FILTER]      FILTER: run only parsers whose name contains it
//!
//! Dev profile (integer overflow checks and debug assertions on: an overflow is a panic here),
//! from the same build as `make test` (`cargo test --workspace --all-targets` builds examples):
//!   cargo build --workspace --all-targets && ${CARGO_TARGET_DIR:-target}/debug/examples/cost-etl-parser-fuzz
//! Release profile (the figures; overflow checks are off there):
//!   cargo build --release --target x86_64-unknown-linux-gnu -p cost-etl --example cost-etl-parser-fuzz \
//!     && ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/examples/cost-etl-parser-fuzz

use chrono::NaiveDate;
use common::arn::SqsQueueArn;
use common::config::Env;
use common::text::{bounded, quote_bounded, truncate_bytes};
use cost_etl::config::Config;
use cost_etl::normalize::decimal_to_micros;
use cost_etl::platforms::{google_ads, meta, retry_after_header, tiktok};
use cost_job::{AccountId, JobLimits, JobMessage, JobSpec, Platform, RunId};

use std::time::{Duration, Instant};
use test_support::fuzz::*;

// --- the inputs of cost-etl ----------------------------------------------------------------------

const JOBS: &[&str] = &[
    r#"{"platform":"meta","account_id":"act_1234","date_from":"2026-11-20","date_to":"2026-11-22"}"#,
    r#"{"platform":"google_ads","account_id":"123-456-7890","date_from":"2026-11-01","date_to":"2026-11-30","refresh":true}"#,
    r#"{"date_to":"2026-12-31","account_id":"7012345678901234567","platform":"tiktok","date_from":"2026-10-01","note":"backfill"}"#,
    r#"{"platform":"meta","account_id":"1234","date_from":"2026-02-28","date_to":"2026-03-01","refresh":null}"#,
];

const ACCOUNT_IDS: &[&str] = &["act_1234", "1234", "123-456-7890", "1234567890", "7012345678901234567", "act_123456789012345678901234567890123456789012345678901234567890"];

const RUN_IDS: &[&str] = &["scheduled__2026-12-01T06:00:00+00:00", "manual__2026-12-01", "backfill__2026-11-01T00:00:00+00:00"];

const ENV: &[(&str, &str)] = &[
    ("OUTPUT_BUCKET", "costs"),
    ("IDEMPOTENCY_TABLE", "ledger"),
    ("DLQ_URL", "http://127.0.0.1:1/123456789012/jobs-dlq"),
    ("SECRETS_PREFIX", "pipeline/prod/ad-platforms/"),
    ("BATCH_CONCURRENCY", "4"),
    ("MAX_JOB_DAYS", "93"),
    ("META_API_VERSION", "v23.0"),
    ("GOOGLE_ADS_API_VERSION", "v26"),
    ("RETRY_MAX_BACKOFF_SECONDS", "900"),
    ("MAX_RECEIVE_COUNT", "5"),
    ("META_API_BASE", "https://graph.facebook.com"),
    ("GOOGLE_ADS_API_BASE", "https://googleads.googleapis.com"),
    ("TIKTOK_API_BASE", "https://business-api.tiktok.com"),
    ("GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token"),
    ("DEADLINE_MARGIN_SECONDS", "10"),
    ("RECORD_TIMEOUT_SECONDS", "300"),
    ("IDEMPOTENCY_TTL_SECONDS", "3600"),
    ("PLATFORM_TIMEOUT_SECONDS", "30"),
    ("INVOCATION_TIMEOUT_SECONDS", "120"),
    ("METRICS_NAMESPACE", "CostEtl"),
];

const GOOGLE_SECRETS: &[&str] = &[
    r#"{"client_id":"1234.apps.googleusercontent.com","client_secret":"GOCSPX-secret","refresh_token":"1//0g-refresh","developer_token":"dev-token","login_customer_id":"111-222-3333"}"#,
    r#"{"client_id":"1234.apps.googleusercontent.com","client_secret":"GOCSPX-secret","refresh_token":"1//0g-refresh"}"#,
];

const LOG_TEXTS: &[&str] = &["boom\n{\"_aws\":{\"CloudWatchMetrics\":[]}}\r\u{1b}[2J", "ééé ünïcödé \u{202e}reversed", "plain text of a platform error message"];

const ARNS: &[&str] = &["arn:aws:sqs:eu-west-1:123456789012:cost-etl-jobs", "arn:aws-cn:sqs:cn-north-1:123456789012:jobs-dlq.fifo"];

const META_PAGES: &[&str] = &[
    r#"{"data":[{"campaign_id":"120","campaign_name":"Brand","spend":"1234.5","impressions":"1000","clicks":"10","account_currency":"KRW","date_start":"2026-11-20","date_stop":"2026-11-20"},{"campaign_id":"121","campaign_name":"Search \"exact\"","spend":"0.01","impressions":"3","account_currency":"KRW","date_start":"2026-11-21","date_stop":"2026-11-21"}],"paging":{"cursors":{"before":"QVFI","after":"QVFJ"},"next":"http://127.0.0.1:9/v23.0/act_1234/insights?after=QVFJ&access_token=x"}}"#,
    r#"{"data":[],"paging":{"cursors":{}}}"#,
];

const META_ERRORS: &[(u16, &str)] = &[
    (400, r#"{"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17,"error_subcode":2446079,"is_transient":true,"fbtrace_id":"AbC"}}"#),
    (400, r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}}"#),
    (400, r#"{"error":{"message":"Unsupported get request","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}"#),
    (500, r#"{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1,"is_transient":true}}"#),
];

const META_USAGE: &[&str] = &[
    r#"{"1234":[{"type":"ads_insights","call_count":100,"total_cputime":40,"total_time":40,"estimated_time_to_regain_access":5}]}"#,
    r#"{"call_count":12,"total_cputime":3,"total_time":3}"#,
    r#"{"acc_id_util_pct":9,"reset_time_duration":120}"#,
];

const META_NEXT: &[&str] = &[
    "http://127.0.0.1:9/v23.0/act_1234/insights?access_token=SECRET&after=QQ&limit=500",
    "https://graph.facebook.com/v23.0/act_1234/insights?after=QVFJ&limit=500",
];

const GOOGLE_ROW: &str = r#"{"customer":{"resourceName":"customers/1234567890","currencyCode":"KRW"},"campaign":{"resourceName":"customers/1234567890/campaigns/111","name":"Brand","id":"111"},"metrics":{"costMicros":"1234500000","impressions":"1000","clicks":"10"},"segments":{"date":"2026-11-20"}}"#;

fn google_answers() -> Vec<(u16, String)> {
    let quota = r#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{"errorCode":{"quotaError":"RESOURCE_EXHAUSTED"},"message":"m","details":{"quotaErrorDetails":{"rateScope":"ACCOUNT","retryDelay":"30s"}}}],"requestId":"req-1"}]}}"#;
    vec![
        (200, format!(r#"[{{"results":[{GOOGLE_ROW},{}],"fieldMask":"campaign.id,campaign.name","requestId":"a"}}]"#, GOOGLE_ROW.replace("2026-11-20", "2026-11-21").replace("\"111\"", "\"112\""))),
        (200, format!(r#"[{{"results":[{GOOGLE_ROW}],"requestId":"a"}},{{"error":{{"code":503,"message":"m","status":"UNAVAILABLE"}}}}]"#)),
        (429, quota.to_string()),
        (429, r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.5s"}]}}"#.to_string()),
        (403, r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{"errorCode":{"authorizationError":"CUSTOMER_NOT_ENABLED"},"message":"m"}]}]}}"#.to_string()),
    ]
}

const TOKEN_ANSWERS: &[(u16, &str)] = &[
    (200, r#"{"access_token":"ya29.a0AfH6SM","expires_in":3599,"token_type":"Bearer","scope":"https://www.googleapis.com/auth/adwords"}"#),
    (400, r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#),
    (429, r#"{"error":"rate_limit_exceeded"}"#),
];

const PROTO_DURATIONS: &[&str] = &["30s", "2.5s", "0.000000001s", "999999999999s"];

const TIKTOK_PAGES: &[&str] = &[
    r#"{"code":0,"message":"OK","request_id":"2026112008000001","data":{"list":[{"dimensions":{"campaign_id":"1800000000000001","stat_time_day":"2026-11-21 00:00:00"},"metrics":{"spend":"12.34","impressions":"100","clicks":5,"campaign_name":"Brand"}},{"dimensions":{"campaign_id":"1800000000000002","stat_time_day":"2026-11-20 00:00:00"},"metrics":{"spend":"1500","impressions":"7","clicks":"0","campaign_name":"C"}}],"page_info":{"page":1,"page_size":1000,"total_number":2,"total_page":1}}}"#,
    r#"{"code":40100,"message":"Too many requests","request_id":"r","data":{}}"#,
];

const TIKTOK_INFO: &[&str] = &[
    r#"{"code":0,"message":"OK","request_id":"r","data":{"list":[{"advertiser_id":"7012345678901234567","currency":"KRW","name":"x"}]}}"#,
    r#"{"code":0,"message":"OK","request_id":"r","data":{"list":[{"advertiser_id":7012345678901234567,"currency":"JPY"}]}}"#,
];

const TIKTOK_ERRORS: &[(u16, &str)] = &[
    (429, r#"{"code":40100,"message":"Too many requests","request_id":"r","data":{}}"#),
    (500, r#"{"code":50000,"message":"System error","request_id":"r"}"#),
    (503, "<html><body>busy</body></html>"),
    (401, r#"{"code":40105,"message":"Access token is incorrect or has been revoked","request_id":"r"}"#),
];

const STAT_TIME_DAYS: &[&str] = &["2026-11-21 00:00:00", "2026-11-20 00:00:00"];
const RETRY_AFTER: &[&str] = &["120", " 7 ", "Wed, 21 Oct 2026 07:28:00 GMT"];
const AMOUNTS: &[&str] = &["1234.5", "0.01", "98765432.123456", "-12.5", "9223372036854.775807", "1.9999995", "0"];

/// A status: mostly the sample's, sometimes another or any.
fn status(rng: &mut Rng, usual: u16) -> u16 {
    match rng.below(10) {
        0 => *rng.pick(&[200, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504]),
        1 => rng.next_u64() as u16,
        _ => usual,
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct GoogleAdsSecret {
    #[serde(default)]
    developer_token: Option<String>,
    client_id: String,
    client_secret: String,
    refresh_token: String,
    #[serde(default)]
    login_customer_id: Option<String>,
}

fn main() {
    let options = Options::from_args();
    quiet_panics();
    let mut fuzz = Fuzz { options, rows: Vec::new() };
    let limits = JobLimits::default();
    let spec = |body: &str| JobSpec::parse(body).expect("a valid job");
    let meta_job = spec(JOBS[0]);
    let google_job = spec(r#"{"platform":"google_ads","account_id":"123-456-7890","date_from":"2026-11-20","date_to":"2026-11-22"}"#);
    let tiktok_job = spec(r#"{"platform":"tiktok","account_id":"7012345678901234567","date_from":"2026-11-20","date_to":"2026-11-22"}"#);
    let (from, to): (NaiveDate, NaiveDate) = (tiktok_job.date_from, tiktok_job.date_to);
    let bytes_of = |samples: &[&'static str]| -> Vec<&'static [u8]> { samples.iter().map(|s| s.as_bytes()).collect() };

    // cost-job: the job message and its parts.
    fuzz.run("job message", |rng| text_document(rng, JOBS), |body| JobMessage::parse_with(body, &limits).map_or_else(|e| e.code().len(), |m| m.job.day_count() as usize), show_debug);
    fuzz.run(
        "account id",
        |rng| (*rng.pick(&Platform::ALL), text_document(rng, ACCOUNT_IDS)),
        |(platform, raw)| AccountId::parse(*platform, raw).map_or(0, |id| id.as_str().len()),
        show_debug,
    );
    fuzz.run("run id", |rng| text_document(rng, RUN_IDS), |raw| raw.parse::<RunId>().map_or(0, |run| run.as_str().len()), show_debug);

    // common: configuration, secrets, bounded text, queue ARNs.
    fuzz.run(
        "cost-etl config (20 variables)",
        |rng| {
            let mut env: Vec<(&'static str, String)> = ENV.iter().map(|(k, v)| (*k, v.to_string())).collect();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(env.len());
                match rng.below(5) {
                    0 => env[i].1 = edge_number(rng),
                    1 => env[i].1.clear(),
                    2 => env[i].1 = "0".into(),
                    _ => env[i].1 = lossy(&mutate(rng, env[i].1.as_bytes())),
                }
            }
            env
        },
        |env| Config::from_env(&Env::from_pairs(env.iter().map(|(k, v)| (*k, v.as_str())))).map_or_else(|e| e.var.len(), |c| c.batch.concurrency),
        show_debug,
    );
    fuzz.run(
        "secret json (google_ads shape)",
        |rng| text_document(rng, GOOGLE_SECRETS),
        |text| common::secrets::parse_json::<GoogleAdsSecret>("pipeline/prod/ad-platforms/google_ads", text).map_or(1, |s| s.client_id.len()),
        show_debug,
    );
    fuzz.run(
        "bounded text",
        |rng| (text_document(rng, LOG_TEXTS), rng.below(300)),
        |(text, max)| bounded(text, *max).len() + quote_bounded(text, *max).len() + truncate_bytes(text, *max).len(),
        show_debug,
    );
    fuzz.run("sqs queue arn", |rng| text_document(rng, ARNS), |raw| raw.parse::<SqsQueueArn>().map_or(0, |arn| arn.queue_url().len()), show_debug);

    // Meta.
    let pages = bytes_of(META_PAGES);
    fuzz.run("meta insights page", |rng| document(rng, &pages), |body| meta::normalize_page(&meta_job, body).map_or(0, |(rows, _)| rows.len()), |b| show_bytes(b));
    fuzz.run(
        "meta usage headers",
        |rng| {
            let mut header = |i: usize| if rng.percent(10) { None } else { Some(text_document(rng, &META_USAGE[i..=i])) };
            (header(0), header(1), header(2))
        },
        |(business, app, account)| {
            let usage = meta::Usage::from_headers(business.as_deref(), app.as_deref(), account.as_deref());
            usage.regain.map_or(0, |d| d.as_secs() as usize) ^ usize::from(usage.budget_spent())
        },
        show_debug,
    );
    let usage = meta::Usage::from_headers(Some(META_USAGE[0]), Some(META_USAGE[1]), Some(META_USAGE[2]));
    let errors: Vec<&[u8]> = META_ERRORS.iter().map(|(_, body)| body.as_bytes()).collect();
    fuzz.run(
        "meta error answer",
        |rng| {
            let (usual, _) = *rng.pick(META_ERRORS);
            (status(rng, usual), document(rng, &errors))
        },
        |(status, body)| meta::classify_error(*status, body, &usage, "act_1234").code().len(),
        |(status, body)| format!("HTTP {status} {}", show_bytes(body)),
    );
    fuzz.run(
        "meta paging.next",
        |rng| text_document(rng, META_NEXT),
        |next| meta::follow_next("http://127.0.0.1:9", next).map_or(0, |url| url.as_str().len()),
        show_debug,
    );

    // Google Ads.
    let answers = google_answers();
    fuzz.run(
        "google_ads searchStream answer",
        |rng| {
            let (usual, body) = rng.pick(&answers);
            let usual = *usual;
            (status(rng, usual), document(rng, &[body.as_bytes()]))
        },
        |(status, body)| google_ads::parse_stream(&google_job, *status, body).map_or_else(|e| e.retry_after().map_or(1, |d| d.as_secs() as usize), |rows| rows.len()),
        |(status, body)| format!("HTTP {status} {}", show_bytes(body)),
    );
    let tokens: Vec<&[u8]> = TOKEN_ANSWERS.iter().map(|(_, body)| body.as_bytes()).collect();
    fuzz.run(
        "google_ads token answer",
        |rng| {
            let (usual, _) = *rng.pick(TOKEN_ANSWERS);
            (status(rng, usual), document(rng, &tokens), rng.percent(20).then(|| Duration::from_secs(rng.next_u64())))
        },
        |(status, body, retry_after)| match google_ads::parse_token_answer(*status, body, *retry_after) {
            Ok(grant) => {
                let now = Instant::now();
                google_ads::usable_until(now, grant.expires_in, google_ads::TOKEN_MARGIN).duration_since(now).as_secs() as usize
            }
            Err(e) => e.code().len(),
        },
        |(status, body, retry_after)| format!("HTTP {status} retry {retry_after:?} {}", show_bytes(body)),
    );
    fuzz.run(
        "google_ads proto duration",
        |rng| text_document(rng, PROTO_DURATIONS),
        |text| google_ads::parse_proto_duration(text).map_or(0, |d| d.as_secs() as usize),
        show_debug,
    );

    // TikTok.
    let report_pages = bytes_of(TIKTOK_PAGES);
    fuzz.run(
        "tiktok report page",
        |rng| document(rng, &report_pages),
        |body| tiktok::parse_report(&tiktok_job, "KRW", from, to, body).map_or(0, |(rows, info)| rows.len() + info.total_page as usize),
        |b| show_bytes(b),
    );
    let infos = bytes_of(TIKTOK_INFO);
    fuzz.run(
        "tiktok advertiser info",
        |rng| document(rng, &infos),
        |body| tiktok::parse_advertiser_currency(body, tiktok_job.account_id.as_str()).map_or(0, |c| c.len()),
        |b| show_bytes(b),
    );
    let tiktok_errors: Vec<&[u8]> = TIKTOK_ERRORS.iter().map(|(_, body)| body.as_bytes()).collect();
    fuzz.run(
        "tiktok error answer",
        |rng| {
            let (usual, _) = *rng.pick(TIKTOK_ERRORS);
            (status(rng, usual), document(rng, &tiktok_errors), rng.percent(30).then(|| Duration::from_secs(rng.next_u64())))
        },
        |(status, body, retry_after)| tiktok::classify_http(*status, *retry_after, body, tiktok_job.account_id.as_str()).code().len(),
        |(status, body, _)| format!("HTTP {status} {}", show_bytes(body)),
    );
    fuzz.run(
        "tiktok stat_time_day",
        |rng| text_document(rng, STAT_TIME_DAYS),
        |text| tiktok::parse_stat_time_day(text, from, to).map_or(0, |d| d.to_string().len()),
        show_debug,
    );

    // Shared by the adapters.
    fuzz.run(
        "retry-after header",
        |rng| {
            let mut headers = reqwest::header::HeaderMap::new();
            let value: Vec<u8> = document(rng, &bytes_of(RETRY_AFTER));
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(&value) {
                headers.insert(reqwest::header::RETRY_AFTER, value);
            }
            headers
        },
        |headers| retry_after_header(headers).map_or(0, |d| d.as_secs() as usize),
        show_debug,
    );
    fuzz.run("decimal amount to micros", |rng| text_document(rng, AMOUNTS), |text| decimal_to_micros(text).map_or(0, |m| m as usize), show_debug);

    if fuzz.finish() > 0 {
        std::process::exit(1);
    }
}
