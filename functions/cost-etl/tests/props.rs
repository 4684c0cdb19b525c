//! Property tests of what cost-etl reads from the ad platforms and its environment (proptest,
//! 256 cases each; `PROPTEST_CASES` overrides): Meta Insights pages, usage headers, error bodies
//! and `paging.next`; Google Ads searchStream answers (whole, and read in chunks cut anywhere),
//! error statuses, token answers and proto durations; TikTok report pages, advertiser info and error codes; `Retry-After`; exact money;
//! the configuration.
//!
//! Nothing panics on any input: random bytes, random JSON of the platform's shape, and valid
//! documents with bytes flipped, inserted, removed or cut. Rows that come out keep the schema's
//! invariants; hints read from headers and bodies never overflow; configuration values never
//! reach an error, and an accepted TTL always fits the ledger's arithmetic.

use chrono::{Days, NaiveDate};
use common::config::Env;
use cost_etl::config::{Config, MAX_IDEMPOTENCY_TTL};
use cost_etl::normalize::{decimal_to_micros, group_by_day, CostRow, MoneyError};
use cost_etl::platforms::{google_ads, meta, retry_after_header, tiktok};
use cost_job::JobSpec;
use proptest::prelude::*;
use test_support::strategies::{text, json_value, edits, mutate};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TIKTOK_ADVERTISER: &str = "7012345678901234567";
/// The epoch seconds of 2100-01-01: a clock far later than any this code runs under.
const EPOCH_2100: i64 = 4_102_444_800;
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn job(platform: &str, account: &str) -> JobSpec {
    JobSpec::parse(&format!(r#"{{"platform":"{platform}","account_id":"{account}","date_from":"2026-11-20","date_to":"2026-11-22"}}"#)).expect("a valid job")
}

// --- strategies -------------------------------------------------------------------------------

/// A field of a platform row: mostly present with a plausible string, sometimes any JSON value.
fn field(plausible: BoxedStrategy<String>) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(0.85, prop_oneof![4 => plausible.prop_map(Value::String), 1 => json_value()]).boxed()
}

/// A value platforms send as a string or a number (ids, counts).
fn scalar(plausible: BoxedStrategy<String>) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(
        0.85,
        prop_oneof![
            4 => plausible.prop_map(Value::String),
            1 => any::<u64>().prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => json_value(),
        ],
    )
    .boxed()
}

fn decimal_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "-?[0-9]{1,13}(\\.[0-9]{1,9})?",
        1 => "[0-9]{14,30}(\\.[0-9]{1,3})?",
        1 => "[0-9]{1,3}(,[0-9]{3}){1,3}(\\.[0-9]{2})?",
        1 => "[0-9.eE+-]{0,12}",
        1 => text(12),
    ]
    .boxed()
}

fn count_text() -> BoxedStrategy<String> {
    prop_oneof![4 => "[0-9]{1,18}", 1 => "[0-9]{19,22}", 1 => "-?[0-9]{1,5}(\\.[0-9])?", 1 => text(8)].boxed()
}

fn day_text() -> BoxedStrategy<String> {
    prop_oneof![4 => "2026-11-(1[5-9]|2[0-5])", 1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}", 1 => text(12)].boxed()
}

fn currency_text() -> BoxedStrategy<String> {
    prop_oneof![4 => "(KRW|USD|JPY|EUR)", 1 => "[A-Za-z]{0,4}", 1 => text(4)].boxed()
}

/// An object of the fields that are present.
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(fields.into_iter().filter_map(|(key, value)| value.map(|v| (key.to_string(), v))).collect())
}

fn meta_row() -> BoxedStrategy<Value> {
    (
        field(prop_oneof![4 => "[0-9]{1,18}", 1 => "[ -~]{0,10}"].boxed()),
        field(text(30)),
        field(decimal_text()),
        field(count_text()),
        field(count_text()),
        field(currency_text()),
        field(day_text()),
        field(day_text()),
    )
        .prop_map(|(id, name, spend, impressions, clicks, currency, start, stop)| {
            // Graph sends one day per row: date_stop mostly repeats date_start.
            let stop = if matches!(stop, Some(Value::String(_))) && start.is_some() && id.is_some() { start.clone() } else { stop };
            object(vec![
                ("campaign_id", id),
                ("campaign_name", name),
                ("spend", spend),
                ("impressions", impressions),
                ("clicks", clicks),
                ("account_currency", currency),
                ("date_start", start),
                ("date_stop", stop),
            ])
        })
        .boxed()
}

prop_compose! {
    fn meta_page()(
        rows in prop::collection::vec(meta_row(), 0..5),
        next in prop::option::of(prop_oneof!["https?://[a-z0-9.:]{1,20}/[a-z0-9/?=&_]{0,30}", text(20)]),
        extra in prop::option::of(json_value()),
    ) -> Value {
        let mut page = json!({ "data": rows });
        if let Some(next) = next {
            page["paging"] = json!({"cursors": {"before": "a", "after": "b"}, "next": next});
        }
        if let Some(extra) = extra {
            page["summary"] = extra;
        }
        page
    }
}

fn meta_error() -> BoxedStrategy<Value> {
    (
        prop_oneof![
            3 => prop::sample::select(vec![1i64, 2, 4, 10, 17, 32, 100, 102, 190, 200, 294, 613, 80000, 80004, 80014]).prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => json_value(),
        ],
        prop::option::of(prop_oneof![(0i64..100).prop_map(Value::from), json_value()]),
        text(60),
        prop_oneof![Just("OAuthException".to_string()), text(20)],
        prop::option::of(prop_oneof![any::<bool>().prop_map(Value::Bool), json_value()]),
    )
        .prop_map(|(code, subcode, message, kind, transient)| {
            let error = object(vec![
                ("code", Some(code)),
                ("error_subcode", subcode),
                ("message", Some(Value::String(message))),
                ("type", Some(Value::String(kind))),
                ("is_transient", transient),
                ("fbtrace_id", Some(json!("AbC"))),
            ]);
            json!({ "error": error })
        })
        .boxed()
}

fn google_row() -> BoxedStrategy<Value> {
    (
        field(currency_text()),
        scalar(prop_oneof![4 => "[0-9]{1,20}", 1 => "[0-9]{33,36}", 1 => "[ -~]{0,8}"].boxed()),
        field(text(30)),
        scalar(count_text()),
        scalar(count_text()),
        scalar(count_text()),
        field(day_text()),
    )
        .prop_map(|(currency, id, name, cost, impressions, clicks, date)| {
            object(vec![
                ("customer", Some(object(vec![("resourceName", Some(json!("customers/1234567890"))), ("currencyCode", currency)]))),
                ("campaign", Some(object(vec![("id", id), ("name", name)]))),
                ("metrics", Some(object(vec![("costMicros", cost), ("impressions", impressions), ("clicks", clicks)]))),
                ("segments", Some(object(vec![("date", date)]))),
            ])
        })
        .boxed()
}

fn proto_duration_text() -> BoxedStrategy<String> {
    prop_oneof![3 => "[0-9]{1,14}(\\.[0-9]{0,10})?s", 1 => "-?[0-9]{1,3}[a-z]{0,2}", 1 => text(8)].boxed()
}

fn rpc_detail() -> BoxedStrategy<Value> {
    let families = vec!["quotaError", "authenticationError", "authorizationError", "requestError", "internalError", "queryError"];
    let codes = vec!["RESOURCE_EXHAUSTED", "CUSTOMER_NOT_FOUND", "CLIENT_CUSTOMER_ID_INVALID", "CUSTOMER_NOT_ENABLED", "INVALID_CUSTOMER_ID", "TRANSIENT_ERROR", "USER_PERMISSION_DENIED"];
    prop_oneof![
        3 => (prop::sample::select(families), prop::sample::select(codes), prop::option::of(proto_duration_text())).prop_map(|(family, code, delay)| {
            let mut error = json!({"errorCode": {family: code}, "message": "m"});
            if let Some(delay) = delay {
                error["details"] = json!({"quotaErrorDetails": {"retryDelay": delay}});
            }
            json!({"@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure", "errors": [error], "requestId": "req-1"})
        }),
        1 => proto_duration_text().prop_map(|delay| json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})),
        1 => json_value(),
    ]
    .boxed()
}

fn rpc_status() -> BoxedStrategy<Value> {
    (
        prop_oneof![3 => prop::sample::select(vec![200i64, 400, 401, 403, 404, 429, 500, 503, 504]).prop_map(Value::from), 1 => any::<i64>().prop_map(Value::from), 1 => json_value()],
        text(60),
        prop_oneof![
            3 => prop::sample::select(vec!["UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT", "ABORTED", ""]).prop_map(|s| json!(s)),
            1 => json_value(),
        ],
        prop::collection::vec(rpc_detail(), 0..3),
    )
        .prop_map(|(code, message, status, details)| json!({"code": code, "message": message, "status": status, "details": details}))
        .boxed()
}

prop_compose! {
    /// A searchStream answer: batches of rows, maybe ended by an error element.
    fn google_stream()(
        batches in prop::collection::vec(prop::collection::vec(google_row(), 0..4), 0..3),
        error in prop::option::weighted(0.2, rpc_status()),
    ) -> Value {
        let mut elements: Vec<Value> = batches.into_iter().map(|results| json!({"results": results, "fieldMask": "campaign.id,campaign.name", "requestId": "r"})).collect();
        if let Some(error) = error {
            elements.push(json!({ "error": error }));
        }
        Value::Array(elements)
    }
}

fn google_error_body() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => rpc_status().prop_map(|status| json!({ "error": status })),
        1 => rpc_status().prop_map(|status| json!([{ "error": status }])),
        1 => json_value(),
    ]
    .boxed()
}

prop_compose! {
    fn token_answer()(
        token in prop::option::weighted(0.9, prop_oneof![3 => "ya29\\.[A-Za-z0-9_-]{0,40}".prop_map(Value::String), 1 => json_value()]),
        expires in prop::option::weighted(0.9, prop_oneof![
            any::<u64>().prop_map(Value::from),
            (0u64..7200).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            json_value(),
        ]),
        kind in prop::option::weighted(0.8, prop_oneof![3 => prop::sample::select(vec!["Bearer", "bearer", "mac"]).prop_map(|k| json!(k)), 1 => json_value()]),
        error in prop::option::weighted(0.3, prop::sample::select(vec!["invalid_grant", "invalid_client", "unauthorized_client", "invalid_request", "temporarily_unavailable"])),
        description in text(40),
    ) -> Value {
        object(vec![
            ("access_token", token),
            ("expires_in", expires),
            ("token_type", kind),
            ("error", error.map(|e| json!(e))),
            ("error_description", Some(Value::String(description))),
        ])
    }
}

fn tiktok_row() -> BoxedStrategy<Value> {
    (
        field(prop_oneof![4 => "[0-9]{1,19}", 1 => "[ -~]{0,8}"].boxed()),
        field(prop_oneof![
            4 => "2026-11-(19|2[0-3]) 00:00:00",
            1 => "2026-11-2[0-2] [0-2][0-9]:00:0[01]",
            1 => "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
            1 => text(20),
        ].boxed()),
        scalar(decimal_text()),
        scalar(count_text()),
        scalar(count_text()),
        field(text(30)),
    )
        .prop_map(|(id, day, spend, impressions, clicks, name)| {
            json!({
                "dimensions": object(vec![("campaign_id", id), ("stat_time_day", day)]),
                "metrics": object(vec![("spend", spend), ("impressions", impressions), ("clicks", clicks), ("campaign_name", name)]),
            })
        })
        .boxed()
}

fn tiktok_code() -> BoxedStrategy<i64> {
    prop_oneof![8 => Just(0i64), 2 => prop::sample::select(vec![40001i64, 40002, 40100, 40102, 40105, 42900, 50000, 51021]), 1 => any::<i64>()].boxed()
}

fn page_number() -> BoxedStrategy<Value> {
    prop_oneof![4 => (0u64..5).prop_map(Value::from), 1 => any::<u64>().prop_map(Value::from), 1 => json_value()].boxed()
}

prop_compose! {
    fn tiktok_page()(
        code in tiktok_code(),
        message in text(30),
        rows in prop::collection::vec(tiktok_row(), 0..5),
        page_info in prop::option::weighted(0.9, (page_number(), page_number(), page_number())),
    ) -> Value {
        let mut data = json!({ "list": rows });
        if let Some((page, total_number, total_page)) = page_info {
            data["page_info"] = json!({"page": page, "page_size": 1000, "total_number": total_number, "total_page": total_page});
        }
        json!({"code": code, "message": message, "request_id": "2026112008000001", "data": data})
    }
}

prop_compose! {
    fn advertiser_info()(
        code in tiktok_code(),
        entries in prop::collection::vec(
            (
                prop::option::weighted(0.9, prop_oneof![
                    3 => Just(json!(TIKTOK_ADVERTISER)),
                    1 => Just(json!(7012345678901234567u64)),
                    1 => "[0-9]{1,19}".prop_map(Value::String),
                    1 => json_value(),
                ]),
                field(currency_text()),
            ),
            0..3,
        ),
    ) -> Value {
        let list: Vec<Value> = entries.into_iter().map(|(id, currency)| object(vec![("advertiser_id", id), ("currency", currency), ("name", Some(json!("x")))])).collect();
        json!({"code": code, "message": "OK", "request_id": "r", "data": {"list": list}})
    }
}

fn setting_value() -> BoxedStrategy<String> {
    prop_oneof![
        text(40),
        "[ ]?[0-9]{1,25}[ ]?",
        "-[0-9]{1,4}",
        "v[0-9]{1,4}(\\.[0-9]{1,2})?",
        "https?://[a-z0-9.:]{1,20}/?",
        "[a-z-]{1,12}/?",
    ]
    .boxed()
}

// --- checks -----------------------------------------------------------------------------------

/// A normalized row keeps the schema's invariants whatever the platform sent.
fn check_row(row: &CostRow, job: &JobSpec) -> Result<(), TestCaseError> {
    prop_assert_eq!(row.platform, job.platform);
    prop_assert_eq!(row.account_id.as_str(), job.account_id.as_str());
    prop_assert!(row.currency.len() == 3 && row.currency.bytes().all(|b| b.is_ascii_uppercase()), "{:?}", row.currency);
    prop_assert!(row.impressions >= 0 && row.clicks >= 0);
    prop_assert!(!row.campaign_id.is_empty());
    Ok(())
}

fn check_rows(rows: &[CostRow], job: &JobSpec) -> Result<(), TestCaseError> {
    for row in rows {
        check_row(row, job)?;
    }
    let _ = group_by_day(job, rows.to_vec());
    Ok(())
}

/// A hint read from a platform answer is at most what parse_proto_duration can give.
fn check_retry_after(err: &cost_etl::platforms::PlatformError) -> Result<(), TestCaseError> {
    prop_assert!(!err.code().is_empty());
    if let Some(after) = err.retry_after() {
        prop_assert!(after <= Duration::from_secs(1_000_000_000_000), "{:?}", after);
    }
    Ok(())
}

fn check_google(job: &JobSpec, status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    match google_ads::parse_stream(job, status, body) {
        Ok(rows) => {
            prop_assert_eq!(status, 200);
            check_rows(&rows, job)?;
        }
        Err(err) => check_retry_after(&err)?,
    }
    Ok(())
}

/// A 200 searchStream body fed to the adapter's incremental reader cut at `cuts` (sorted, each at
/// most the body's length), as the network may cut it.
fn read_in_chunks(job: &JobSpec, body: &[u8], cuts: &[usize]) -> Result<Vec<CostRow>, cost_etl::platforms::PlatformError> {
    let mut stream = google_ads::StreamRows::new(job);
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&body.len())) {
        stream.feed(&body[start..end])?;
        start = end;
    }
    stream.finish()
}

/// The four names cost-etl requires, with valid values.
fn required() -> Vec<(&'static str, String)> {
    vec![
        ("OUTPUT_BUCKET", "costs".to_string()),
        ("IDEMPOTENCY_TABLE", "ledger".to_string()),
        ("DLQ_URL", "http://127.0.0.1:1/123/dlq".to_string()),
        ("SECRETS_PREFIX", "cost-etl/".to_string()),
    ]
}

const VARS: [&str; 20] = [
    "OUTPUT_BUCKET",
    "IDEMPOTENCY_TABLE",
    "DLQ_URL",
    "SECRETS_PREFIX",
    "BATCH_CONCURRENCY",
    "MAX_JOB_DAYS",
    "META_API_VERSION",
    "GOOGLE_ADS_API_VERSION",
    "RETRY_MAX_BACKOFF_SECONDS",
    "MAX_RECEIVE_COUNT",
    "META_API_BASE",
    "GOOGLE_ADS_API_BASE",
    "TIKTOK_API_BASE",
    "GOOGLE_OAUTH_TOKEN_URL",
    "DEADLINE_MARGIN_SECONDS",
    "RECORD_TIMEOUT_SECONDS",
    "IDEMPOTENCY_TTL_SECONDS",
    "PLATFORM_TIMEOUT_SECONDS",
    "INVOCATION_TIMEOUT_SECONDS",
    "METRICS_NAMESPACE",
];

fn from_pairs(pairs: &[(&'static str, String)]) -> Env {
    Env::from_pairs(pairs.iter().map(|(var, value)| (*var, value.as_str())))
}

// --- properties -------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn meta_pages_normalize_or_are_refused(page in meta_page(), edits in edits()) {
        let job = job("meta", "act_1234");
        let sent = page["data"].as_array().map_or(0, |rows| rows.len());
        let body = page.to_string().into_bytes();
        match meta::normalize_page(&job, &body) {
            Ok((rows, _next)) => {
                prop_assert_eq!(rows.len(), sent);
                check_rows(&rows, &job)?;
            }
            Err(err) => prop_assert!(matches!(err.code(), "bad_response" | "bad_row"), "{}", err),
        }
        if let Ok((rows, _)) = meta::normalize_page(&job, &mutate(body, &edits)) {
            check_rows(&rows, &job)?;
        }
    }

    #[test]
    fn meta_error_answers_are_classified_without_panicking(
        error in meta_error(),
        edits in edits(),
        status in prop_oneof![prop::sample::select(vec![400u16, 403, 429, 500, 503]), any::<u16>()],
        headers in (prop::option::of(text(60)), prop::option::of(text(60)), prop::option::of(text(60))),
    ) {
        let usage = meta::Usage::from_headers(headers.0.as_deref(), headers.1.as_deref(), headers.2.as_deref());
        let body = error.to_string().into_bytes();
        for bytes in [mutate(body.clone(), &edits), body] {
            let err = meta::classify_error(status, &bytes, &usage, "act_1234");
            prop_assert!(!err.code().is_empty());
        }
    }

    /// `estimated_time_to_regain_access` is minutes: u64::MAX of them used to overflow `* 60`.
    #[test]
    fn meta_usage_headers_never_overflow(
        minutes in prop_oneof![any::<u64>(), 0u64..100, (u64::MAX / 60 - 2)..=(u64::MAX / 60 + 2)],
        reset in prop_oneof![any::<u64>(), 0u64..100_000],
        business_percent in (any::<u64>(), 0u64..200, 0u64..200),
        app_percent in 0u64..200,
        account_percent in 0u64..200,
    ) {
        let business = json!({"1234": [{"type": "ads_insights", "call_count": business_percent.0, "total_time": business_percent.1, "total_cputime": business_percent.2, "estimated_time_to_regain_access": minutes}]}).to_string();
        let app = json!({"call_count": app_percent, "total_time": 1, "total_cputime": 1}).to_string();
        let account = json!({"acc_id_util_pct": account_percent, "reset_time_duration": reset}).to_string();
        let usage = meta::Usage::from_headers(Some(&business), Some(&app), Some(&account));
        let regain = minutes.saturating_mul(60).max(reset);
        prop_assert_eq!(usage.regain, (regain > 0).then(|| Duration::from_secs(regain)));
        let most = business_percent.0.max(business_percent.1).max(business_percent.2).max(app_percent).max(1).max(account_percent);
        prop_assert_eq!(usage.max_percent, Some(most));
        prop_assert_eq!(usage.budget_spent(), most >= 100);
    }

    #[test]
    fn meta_next_links_are_followed_only_to_the_configured_server(next in prop_oneof![
        "https?://(127\\.0\\.0\\.1|evil\\.example)(:[0-9]{1,5})?/v23\\.0/act_1/insights\\?(access_token=[a-z]{1,8}&)?after=[A-Za-z0-9]{0,8}",
        "[ -~]{0,60}",
        text(60),
    ]) {
        let base = "http://127.0.0.1:9";
        match meta::follow_next(base, &next) {
            Ok(url) => {
                prop_assert_eq!(url.scheme(), "http");
                prop_assert_eq!(url.host_str(), Some("127.0.0.1"));
                prop_assert_eq!(url.port_or_known_default(), Some(9));
                prop_assert!(!url.query_pairs().any(|(key, _)| key == "access_token"), "{}", url);
            }
            Err(err) => prop_assert_eq!(err.code(), "bad_response"),
        }
    }

    #[test]
    fn google_ads_answers_normalize_or_are_classified(
        stream in google_stream(),
        error_body in google_error_body(),
        status in prop_oneof![4 => Just(200u16), 1 => prop::sample::select(vec![400u16, 401, 403, 404, 429, 500, 503]), 1 => any::<u16>()],
        edits in edits(),
    ) {
        let job = job("google_ads", "123-456-7890");
        let body = stream.to_string().into_bytes();
        check_google(&job, status, &mutate(body.clone(), &edits))?;
        check_google(&job, status, &body)?;
        let error = error_body.to_string().into_bytes();
        check_google(&job, status, &mutate(error.clone(), &edits))?;
        check_google(&job, status, &error)?;
        if let Ok(rows) = google_ads::normalize_page(&job, &body) {
            check_rows(&rows, &job)?;
        }
    }

    /// Wherever the chunks of a searchStream answer are cut, reading it as it arrives gives the
    /// rows (or the error) of the whole body.
    #[test]
    fn google_ads_streams_read_in_any_chunks_give_what_the_whole_body_gives(
        stream in google_stream(),
        edits in edits(),
        mutated in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let job = job("google_ads", "123-456-7890");
        let body = stream.to_string().into_bytes();
        let body = if mutated { mutate(body, &edits) } else { body };
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        at.sort_unstable();
        match (google_ads::parse_stream(&job, 200, &body), read_in_chunks(&job, &body, &at)) {
            (Ok(whole), Ok(chunked)) => prop_assert_eq!(whole, chunked),
            (Err(whole), Err(chunked)) => prop_assert_eq!(whole.to_string(), chunked.to_string()),
            (whole, chunked) => prop_assert!(false, "whole: {:?}, in chunks: {:?}", whole.map(|r| r.len()), chunked.map(|r| r.len())),
        }
    }

    #[test]
    fn any_body_from_any_platform_is_refused_without_panicking(bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..300), text(200).prop_map(String::into_bytes)], status in any::<u16>()) {
        let (meta_job, google_job, tiktok_job) = (job("meta", "act_1"), job("google_ads", "1234567890"), job("tiktok", TIKTOK_ADVERTISER));
        let _ = meta::normalize_page(&meta_job, &bytes);
        let _ = meta::classify_error(status, &bytes, &meta::Usage::default(), "act_1");
        check_google(&google_job, status, &bytes)?;
        let _ = google_ads::parse_token_answer(status, &bytes, None);
        let _ = tiktok::parse_report(&tiktok_job, "KRW", tiktok_job.date_from, tiktok_job.date_to, &bytes);
        let _ = tiktok::parse_advertiser_currency(&bytes, TIKTOK_ADVERTISER);
        let _ = tiktok::classify_http(status, None, &bytes, TIKTOK_ADVERTISER);
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = google_ads::parse_proto_duration(&lossy);
        let _ = decimal_to_micros(&lossy);
        let _ = tiktok::parse_stat_time_day(&lossy, tiktok_job.date_from, tiktok_job.date_to);
    }

    #[test]
    fn token_answers_are_classified_and_any_lifetime_is_usable(
        answer in token_answer(),
        status in prop_oneof![3 => Just(200u16), 1 => prop::sample::select(vec![400u16, 401, 403, 429, 500, 503]), 1 => any::<u16>()],
        retry in prop::option::of(any::<u64>()),
        edits in edits(),
    ) {
        let retry_after = retry.map(Duration::from_secs);
        let body = answer.to_string().into_bytes();
        for bytes in [mutate(body.clone(), &edits), body] {
            match google_ads::parse_token_answer(status, &bytes, retry_after) {
                Ok(grant) => {
                    prop_assert_eq!(status, 200);
                    prop_assert!(!grant.access_token.expose().is_empty());
                    let now = Instant::now();
                    let until = google_ads::usable_until(now, grant.expires_in, google_ads::TOKEN_MARGIN);
                    prop_assert!(until >= now && until <= now + DAY);
                }
                Err(err) => {
                    prop_assert!(!err.code().is_empty());
                    if status == 429 {
                        prop_assert_eq!(err.code(), "rate_limited");
                        prop_assert_eq!(err.retry_after(), retry_after);
                    }
                }
            }
        }
    }

    /// `expires_in` is the token endpoint's number: near u64::MAX it used to overflow the clock.
    #[test]
    fn any_token_lifetime_is_cached_at_most_a_day(
        expires_in in prop_oneof![any::<u64>(), 0u64..100_000, (u64::MAX - 100)..=u64::MAX],
        margin in prop_oneof![Just(google_ads::TOKEN_MARGIN), any::<u64>().prop_map(Duration::from_secs)],
    ) {
        let now = Instant::now();
        let until = google_ads::usable_until(now, expires_in, margin);
        prop_assert!(until >= now && until <= now + DAY);
        if expires_in <= DAY.as_secs() {
            prop_assert_eq!(until, now + Duration::from_secs(expires_in).saturating_sub(margin));
        }
    }

    #[test]
    fn proto_durations_are_whole_seconds_rounded_up(whole in 0u64..1_000_000_000_000, fraction in "[0-9]{0,9}", junk in text(16)) {
        let duration = if fraction.is_empty() { format!("{whole}s") } else { format!("{whole}.{fraction}s") };
        let round_up = fraction.bytes().any(|b| b != b'0');
        prop_assert_eq!(google_ads::parse_proto_duration(&duration), Some(Duration::from_secs(whole + u64::from(round_up))));
        if let Some(parsed) = google_ads::parse_proto_duration(&junk) {
            prop_assert!(junk.ends_with('s'));
            prop_assert!(parsed <= Duration::from_secs(1_000_000_000_000));
        }
    }

    #[test]
    fn tiktok_pages_normalize_within_the_requested_range_or_are_refused(page in tiktok_page(), edits in edits(), start in 0u64..3, span in 0u64..3) {
        let job = job("tiktok", TIKTOK_ADVERTISER);
        let from = job.date_from.checked_add_days(Days::new(start)).expect("a date");
        let to: NaiveDate = from.checked_add_days(Days::new(span)).expect("a date");
        let body = page.to_string().into_bytes();
        for bytes in [mutate(body.clone(), &edits), body] {
            match tiktok::parse_report(&job, "KRW", from, to, &bytes) {
                Ok((rows, _info)) => {
                    for row in &rows {
                        prop_assert!(row.date >= from && row.date <= to, "{} outside {}..{}", row.date, from, to);
                        prop_assert_eq!(row.currency.as_str(), "KRW");
                    }
                    check_rows(&rows, &job)?;
                }
                Err(err) => prop_assert!(!err.code().is_empty()),
            }
            let _ = tiktok::normalize_page(&job, "KRW", &bytes);
        }
    }

    #[test]
    fn tiktok_advertiser_currencies_are_iso_codes_or_refused(info in advertiser_info(), edits in edits()) {
        let body = info.to_string().into_bytes();
        for bytes in [mutate(body.clone(), &edits), body] {
            match tiktok::parse_advertiser_currency(&bytes, TIKTOK_ADVERTISER) {
                Ok(currency) => prop_assert!(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()), "{:?}", currency),
                Err(err) => prop_assert!(!err.code().is_empty()),
            }
        }
    }

    #[test]
    fn tiktok_error_answers_are_classified_in_one_bounded_line(
        code in prop_oneof![any::<i64>(), 40000i64..60000],
        message in text(400),
        request_id in text(100),
        status in prop_oneof![prop::sample::select(vec![200u16, 401, 429, 500, 503, 504]), any::<u16>()],
        retry in prop::option::of(any::<u64>()),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..100),
            (tiktok_code(), text(40)).prop_map(|(code, message)| json!({"code": code, "message": message, "data": []}).to_string().into_bytes()),
        ],
    ) {
        let err = tiktok::classify_code(code, &message, &request_id, TIKTOK_ADVERTISER);
        let line = err.to_string();
        prop_assert!(!err.code().is_empty());
        prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
        prop_assert!(line.len() < 4000, "{} bytes", line.len());
        let retry_after = retry.map(Duration::from_secs);
        let http = tiktok::classify_http(status, retry_after, &body, TIKTOK_ADVERTISER);
        if status == 429 {
            prop_assert_eq!(http.code(), "rate_limited");
            prop_assert_eq!(http.retry_after(), retry_after);
        }
        if (500..=599).contains(&status) {
            prop_assert_eq!(http.code(), "unavailable");
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_or_absent(value in prop_oneof![
        "[ ]{0,2}[0-9]{1,22}[ ]{0,2}",
        "-?[0-9]{1,4}(\\.[0-9])?",
        "(Wed|Thu), 2[0-9] Nov 2026 0[0-9]:00:00 GMT",
        "[ -~]{0,30}",
        text(20),
    ]) {
        let Ok(header) = reqwest::header::HeaderValue::from_str(&value) else { return Ok(()) };
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, header);
        let parsed = retry_after_header(&headers);
        if let Some(after) = parsed {
            prop_assert_eq!(Ok(after.as_secs()), value.trim().parse::<u64>());
        }
        if value.bytes().all(|b| b == b' ' || b.is_ascii_digit()) {
            prop_assert_eq!(parsed, value.trim().parse::<u64>().ok().map(Duration::from_secs));
        }
    }

    #[test]
    fn money_round_trips_exactly_through_its_decimal_text(micros in prop_oneof![(i64::MIN + 1)..=i64::MAX, -10_000_000i64..10_000_000], zeros in 0usize..4) {
        let sign = if micros < 0 { "-" } else { "" };
        let magnitude = micros.unsigned_abs();
        let (units, fraction) = (magnitude / 1_000_000, magnitude % 1_000_000);
        let decimal = format!("{sign}{units}.{fraction:06}{}", "0".repeat(zeros));
        prop_assert_eq!(decimal_to_micros(&decimal), Ok(micros));
        if fraction == 0 {
            prop_assert_eq!(decimal_to_micros(&format!("{sign}{units}")), Ok(micros));
        }
    }

    #[test]
    fn any_text_is_an_amount_or_refused_without_panicking(input in prop_oneof![decimal_text(), "-?[0-9]{1,20}\\.[0-9]{6}[5-9][0-9]{0,3}", text(80)]) {
        match decimal_to_micros(&input) {
            Ok(_) => prop_assert!(input.len() <= 64 && input.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')),
            Err(MoneyError::NotDecimal(shown) | MoneyError::Overflow(shown)) => prop_assert!(!shown.chars().any(char::is_control)),
        }
    }

    #[test]
    fn cost_etl_configuration_never_panics_and_keeps_its_ranges(
        values in prop::collection::vec(prop::option::weighted(0.3, setting_value()), VARS.len()),
        keep_required in any::<bool>(),
    ) {
        let mut pairs: Vec<(&'static str, String)> = VARS.iter().zip(values).filter_map(|(var, value)| value.map(|v| (*var, v))).collect();
        if keep_required {
            for (var, value) in required() {
                if !pairs.iter().any(|(set, _)| *set == var) {
                    pairs.push((var, value));
                }
            }
        }
        match Config::from_env(&from_pairs(&pairs)) {
            Ok(config) => {
                prop_assert!((1..=100).contains(&config.batch.concurrency));
                prop_assert!((1..=3660).contains(&config.limits.max_days));
                prop_assert!(config.pacing.max_backoff >= Duration::from_secs(1) && config.pacing.max_backoff <= Duration::from_secs(43_200));
                prop_assert!(config.requeue.max_receive_count.is_none_or(|n| n <= 1000));
                prop_assert!(config.completed_ttl <= MAX_IDEMPOTENCY_TTL);
                prop_assert!(!config.secrets_prefix.ends_with('/'));
                for base in [&config.endpoints.meta_api_base, &config.endpoints.google_ads_api_base, &config.endpoints.tiktok_api_base, &config.endpoints.google_oauth_token_url, &config.dlq_url] {
                    prop_assert!(base.starts_with("http://") || base.starts_with("https://"), "{:?}", base);
                    prop_assert!(!base.ends_with('/'), "{:?}", base);
                }
            }
            Err(err) => {
                prop_assert!(!err.var.is_empty() && err.var.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{:?}", err.var);
                prop_assert!(err.to_string().starts_with("configuration error: environment variable "), "{}", err);
            }
        }
    }

    /// `IDEMPOTENCY_TTL_SECONDS` is added to the epoch seconds of now as an i64 by the ledger:
    /// any accepted value must fit that sum (u64::MAX used to be accepted).
    #[test]
    fn an_accepted_idempotency_ttl_fits_the_ledger_arithmetic(ttl in prop_oneof![any::<u64>(), 0u64..40_000_000, Just(u64::MAX), Just(i64::MAX as u64)]) {
        let mut pairs = required();
        pairs.push(("IDEMPOTENCY_TTL_SECONDS", ttl.to_string()));
        let read = Config::from_env(&from_pairs(&pairs));
        match &read {
            Ok(config) => {
                prop_assert_eq!(config.completed_ttl, Duration::from_secs(ttl));
                prop_assert!(config.completed_ttl <= MAX_IDEMPOTENCY_TTL);
                let secs = i64::try_from(config.completed_ttl.as_secs()).ok();
                prop_assert!(secs.and_then(|s| s.checked_add(EPOCH_2100)).is_some());
            }
            Err(err) => prop_assert_eq!(err.var.as_str(), "IDEMPOTENCY_TTL_SECONDS"),
        }
        if ttl > MAX_IDEMPOTENCY_TTL.as_secs() {
            prop_assert!(read.is_err(), "{} s accepted", ttl);
        }
    }

    #[test]
    fn configuration_values_never_reach_an_error(secret in "s3cr3t-[A-Za-z0-9]{8,24}", var in prop::sample::select(VARS.to_vec()), shape in 0usize..4) {
        let value = match shape {
            0 => secret.clone(),
            1 => format!("{secret}/"),
            2 => format!("-{secret}"),
            _ => format!("https://user:{secret}@host"),
        };
        let mut pairs: Vec<(&'static str, String)> = required().into_iter().filter(|(set, _)| *set != var).collect();
        pairs.push((var, value));
        if let Err(err) = Config::from_env(&from_pairs(&pairs)) {
            prop_assert!(!err.to_string().contains(&secret), "{}", err);
        }
    }
}
