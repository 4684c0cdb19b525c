//! Unit tests of the Google Ads adapter: query and URL, login customer id, tokens, rows, and the
//! classification of error answers.

use super::client::parse_login_customer_id;
use super::*;
use cost_job::JobSpec;
use crate::normalize::RowError;
use crate::platforms::PlatformError;
use chrono::NaiveDate;
use common::Retryable;
use serde_json::json;
use std::time::{Duration, Instant};

fn job() -> JobSpec {
    JobSpec::parse(r#"{"platform":"google_ads","account_id":"123-456-7890","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap()
}

#[test]
fn gaql_selects_the_campaign_day_report_of_the_range() {
    let q = gaql("2026-11-20".parse().unwrap(), "2026-11-22".parse().unwrap());
    assert_eq!(
        q,
        "SELECT campaign.id, campaign.name, customer.currency_code, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks \
         FROM campaign WHERE segments.date BETWEEN '2026-11-20' AND '2026-11-22'"
    );
    // Four-digit years stay zero-padded (the GAQL date literal is YYYY-MM-DD).
    assert!(gaql("0999-01-05".parse().unwrap(), "0999-01-05".parse().unwrap()).ends_with("BETWEEN '0999-01-05' AND '0999-01-05'"));
}

#[test]
fn both_spellings_of_a_customer_id_are_one_url_and_one_s3_prefix() {
    let dashed = job();
    let plain = JobSpec::parse(r#"{"platform":"google_ads","account_id":"1234567890","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap();
    assert_eq!(search_stream_url("http://x/", "v26", &dashed), "http://x/v26/customers/1234567890/googleAds:searchStream");
    assert_eq!(search_stream_url("http://x", "v26", &plain), search_stream_url("http://x/", "v26", &dashed));
    let day: NaiveDate = "2026-11-20".parse().unwrap();
    assert_eq!(crate::sink::object_key(PLATFORM, &dashed.account_id, day), crate::sink::object_key(PLATFORM, &plain.account_id, day));
    assert_eq!(crate::sink::object_key(PLATFORM, &plain.account_id, day), "costs/platform=google_ads/account=1234567890/date=2026-11-20/costs.jsonl");
    assert_eq!(dashed.canonical(), plain.canonical());
}

#[test]
fn login_customer_ids_lose_their_dashes_and_must_be_digits() {
    assert_eq!(parse_login_customer_id("111-222-3333").unwrap().as_deref(), Some("1112223333"));
    assert_eq!(parse_login_customer_id("1112223333").unwrap().as_deref(), Some("1112223333"));
    assert_eq!(parse_login_customer_id("").unwrap(), None);
    let err = parse_login_customer_id("mcc-1").unwrap_err();
    assert_eq!(err.code(), "invalid_credentials");
    assert!(!err.to_string().contains("mcc-1"), "{err}");
}

#[test]
fn a_token_is_reused_until_a_minute_before_it_expires() {
    let now = Instant::now();
    assert_eq!(usable_until(now, 3599, TOKEN_MARGIN), now + Duration::from_secs(3539));
    assert_eq!(usable_until(now, 60, TOKEN_MARGIN), now, "a token at the margin is used once, not cached");
    assert_eq!(usable_until(now, 5, TOKEN_MARGIN), now);
}

#[test]
fn token_answers_are_classified() {
    let grant = parse_token_answer(200, br#"{"access_token":"ya29.secret","expires_in":3599,"token_type":"Bearer","scope":"https://www.googleapis.com/auth/adwords"}"#, None).unwrap();
    assert_eq!((grant.access_token.expose(), grant.expires_in), ("ya29.secret", 3599));
    assert_eq!(parse_token_answer(200, br#"{"access_token":"x","token_type":"mac"}"#, None).err().unwrap().code(), "bad_response");
    assert_eq!(parse_token_answer(200, br#"{"expires_in":1}"#, None).err().unwrap().code(), "bad_response");
    let revoked = parse_token_answer(400, br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#, None).err().unwrap();
    assert_eq!(revoked.code(), "invalid_credentials");
    assert!(!revoked.is_retryable());
    assert!(revoked.to_string().contains("invalid_grant"), "{revoked}");
    assert_eq!(parse_token_answer(401, br#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#, None).err().unwrap().code(), "invalid_credentials");
    assert_eq!(parse_token_answer(400, br#"{"error":"invalid_request"}"#, None).err().unwrap().code(), "rejected");
    let busy = parse_token_answer(503, b"<html>", None).err().unwrap();
    assert_eq!(busy.code(), "unavailable");
    assert!(busy.is_retryable());
    let limited = parse_token_answer(429, b"", Some(Duration::from_secs(7))).err().unwrap();
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
}

fn row(date: &str) -> serde_json::Value {
    json!({
        "customer": {"resourceName": "customers/1234567890", "currencyCode": "KRW"},
        "campaign": {"resourceName": "customers/1234567890/campaigns/111", "name": "Brand", "id": "111"},
        "metrics": {"costMicros": "1234500000", "impressions": "1000", "clicks": "10"},
        "segments": {"date": date}
    })
}

#[test]
fn rows_normalize_with_exact_micros_and_the_canonical_account() {
    let raw: RawRow = serde_json::from_value(row("2026-11-20")).unwrap();
    let out = normalize_row(&job(), raw).unwrap();
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"date":"2026-11-20","platform":"google_ads","account_id":"1234567890","campaign_id":"111","campaign_name":"Brand","currency":"KRW","spend_micros":1234500000,"impressions":1000,"clicks":10}"#
    );
    // Large int64 values stay exact.
    let mut big = row("2026-11-20");
    big["metrics"]["costMicros"] = json!("9007199254740993");
    assert_eq!(normalize_row(&job(), serde_json::from_value(big).unwrap()).unwrap().spend_micros, 9_007_199_254_740_993);
}

#[test]
fn zero_metrics_may_be_absent_but_identity_may_not() {
    let mut bare = row("2026-11-21");
    bare["metrics"] = json!({});
    let out = normalize_row(&job(), serde_json::from_value(bare).unwrap()).unwrap();
    assert_eq!((out.spend_micros, out.impressions, out.clicks), (0, 0, 0));
    let mut numbers = row("2026-11-21");
    numbers["metrics"] = json!({"impressions": 5});
    numbers["campaign"]["id"] = json!(111);
    let out = normalize_row(&job(), serde_json::from_value(numbers).unwrap()).unwrap();
    assert_eq!((out.campaign_id.as_str(), out.impressions), ("111", 5));
    let broken = |path: &str, value: serde_json::Value| {
        let mut r = row("2026-11-21");
        *r.pointer_mut(path).unwrap() = value;
        normalize_row(&job(), serde_json::from_value(r).unwrap())
    };
    assert!(matches!(broken("/segments/date", json!("21/11/2026")), Err(RowError::Invalid { field: "segments.date", .. })));
    assert!(matches!(broken("/customer", json!({})), Err(RowError::Missing { field: "customer.currency_code" })));
    assert!(matches!(broken("/customer/currencyCode", json!("won")), Err(RowError::Invalid { .. })));
    assert!(matches!(broken("/campaign", json!({"name": "x"})), Err(RowError::Missing { field: "campaign.id" })));
    assert!(matches!(broken("/campaign/id", json!("../1")), Err(RowError::Invalid { field: "campaign.id", .. })));
    assert!(matches!(broken("/metrics/costMicros", json!("-5")), Err(RowError::Count { .. })));
    assert!(matches!(broken("/metrics/clicks", json!("1.5")), Err(RowError::Count { .. })));
}

#[test]
fn a_stream_of_several_batches_is_one_list_of_rows() {
    let body = json!([
        {"results": [row("2026-11-20"), row("2026-11-21")], "fieldMask": "campaign.id,campaign.name", "requestId": "a"},
        {"results": [row("2026-11-22")], "fieldMask": "campaign.id,campaign.name", "requestId": "a", "queryResourceConsumption": "12"}
    ]);
    let rows = normalize_page(&job(), body.to_string().as_bytes()).unwrap();
    assert_eq!(rows.iter().map(|r| r.date.to_string()).collect::<Vec<_>>(), ["2026-11-20", "2026-11-21", "2026-11-22"]);
    // No rows at all: one batch without results.
    assert!(normalize_page(&job(), br#"[{"fieldMask":"campaign.id","requestId":"b"}]"#).unwrap().is_empty());
    assert!(normalize_page(&job(), b"[]").unwrap().is_empty());
    assert_eq!(normalize_page(&job(), br#"{"results":[]}"#).unwrap_err().code(), "bad_response");
}

fn failure(http: u16, status: &str, family: &str, code: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut error = json!({"errorCode": {family: code}, "message": "m"});
    if !extra.is_null() {
        error["details"] = extra;
    }
    json!({"error": {"code": http, "message": "Request contains an invalid argument.", "status": status, "details": [{
        "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
        "errors": [error],
        "requestId": "req-1"
    }]}})
}

fn classify(http: u16, body: serde_json::Value) -> PlatformError {
    parse_stream(&job(), http, body.to_string().as_bytes()).unwrap_err()
}

#[test]
fn errors_are_classified_by_failure_code_then_status() {
    let quota = failure(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED", json!({"quotaErrorDetails": {"rateScope": "ACCOUNT", "rateName": "Number of operations for basic access", "retryDelay": "30s"}}));
    let limited = classify(429, quota);
    assert_eq!(limited.code(), "rate_limited");
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(30)));
    assert!(limited.to_string().contains("quotaError.RESOURCE_EXHAUSTED") && limited.to_string().contains("req-1"), "{limited}");

    let retry_info = json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}]}});
    assert_eq!(classify(429, retry_info).retry_after(), Some(Duration::from_secs(3)));

    for (http, status) in [(503, "UNAVAILABLE"), (500, "INTERNAL"), (504, "DEADLINE_EXCEEDED")] {
        let err = classify(http, json!({"error": {"code": http, "message": "m", "status": status}}));
        assert_eq!(err.code(), "unavailable", "{status}");
        assert!(err.is_retryable());
    }
    assert_eq!(classify(502, json!("<html>bad gateway</html>")).code(), "unavailable");
    let token = classify(401, json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}));
    assert_eq!(token.code(), "invalid_credentials");
    assert!(!token.is_retryable());
    let denied = classify(403, failure(403, "PERMISSION_DENIED", "authorizationError", "USER_PERMISSION_DENIED", serde_json::Value::Null));
    assert_eq!(denied.code(), "permission_denied");
    for (http, status, family, code) in [
        (403, "PERMISSION_DENIED", "authorizationError", "CUSTOMER_NOT_ENABLED"),
        (401, "UNAUTHENTICATED", "authenticationError", "CUSTOMER_NOT_FOUND"),
        (400, "INVALID_ARGUMENT", "requestError", "INVALID_CUSTOMER_ID"),
    ] {
        let err = classify(http, failure(http, status, family, code, serde_json::Value::Null));
        assert_eq!(err.code(), "unknown_account", "{code}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("1234567890"), "{err}");
    }
    let query = classify(400, failure(400, "INVALID_ARGUMENT", "queryError", "UNRECOGNIZED_FIELD", serde_json::Value::Null));
    assert_eq!(query.code(), "rejected");
    assert!(!query.is_retryable());
}

#[test]
fn transient_canonical_statuses_are_retried_whatever_the_http_status() {
    for (status, http) in [("ABORTED", 409), ("CANCELLED", 499), ("DEADLINE_EXCEEDED", 504), ("UNAVAILABLE", 503), ("INTERNAL", 500)] {
        for sent_as in [http, 400] {
            let err = classify(sent_as, json!({"error": {"code": http, "message": "m", "status": status}}));
            assert_eq!(err.code(), "unavailable", "{status} sent as HTTP {sent_as}");
            assert!(err.is_retryable(), "{status}");
        }
        // The same status as an element of a 200 stream.
        let streamed = json!([{"error": {"code": http, "message": "m", "status": status}}]);
        assert_eq!(classify(200, streamed).code(), "unavailable", "{status} in a stream");
    }
    let exhausted = classify(429, json!({"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}}));
    assert_eq!(exhausted.code(), "rate_limited");
    assert!(exhausted.is_retryable());
    let exhausted_as_400 = classify(400, json!({"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}}));
    assert!(exhausted_as_400.is_retryable(), "RESOURCE_EXHAUSTED is a rate limit whatever the HTTP status");
}

#[test]
fn transient_http_statuses_are_retried_whatever_the_body() {
    for http in [408u16, 409, 425, 500, 502, 503, 504] {
        for body in [json!("<html>upstream trouble</html>"), json!({"error": {"code": http, "message": "m", "status": ""}})] {
            let err = classify(http, body);
            assert_eq!(err.code(), "unavailable", "HTTP {http}");
            assert!(err.is_retryable(), "HTTP {http}");
        }
    }
    let limited = classify(429, json!("<html>slow down</html>"));
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.is_retryable());
    // A request Google refuses for what it is stays permanent.
    for http in [400u16, 404, 413] {
        let err = classify(http, json!("<html>no</html>"));
        assert_eq!(err.code(), "rejected", "HTTP {http}");
        assert!(!err.is_retryable(), "HTTP {http}");
    }
}

#[test]
fn transient_token_endpoint_answers_are_retried() {
    for status in [408u16, 409, 425, 500, 502, 503, 504] {
        let err = parse_token_answer(status, b"<html>busy</html>", None).err().unwrap();
        assert_eq!(err.code(), "unavailable", "HTTP {status}");
        assert!(err.is_retryable(), "HTTP {status}");
    }
    assert_eq!(parse_token_answer(429, b"", None).err().unwrap().code(), "rate_limited");
    assert!(!parse_token_answer(400, br#"{"error":"invalid_grant"}"#, None).err().unwrap().is_retryable());
}

#[test]
fn an_error_inside_a_200_stream_fails_the_whole_answer() {
    let body = json!([
        {"results": [row("2026-11-20")], "fieldMask": "campaign.id", "requestId": "a"},
        failure(503, "UNAVAILABLE", "internalError", "TRANSIENT_ERROR", serde_json::Value::Null)
    ]);
    assert_eq!(classify(200, body).code(), "unavailable");
    // A non-200 body shaped as a stream array with one error element.
    let arrayed = json!([failure(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED", json!({"quotaErrorDetails": {"retryDelay": "12s"}}))]);
    assert_eq!(classify(429, arrayed).retry_after(), Some(Duration::from_secs(12)));
}

#[test]
fn durations_parse_only_in_proto_json_form() {
    assert_eq!(parse_proto_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_proto_duration("0.000000001s"), Some(Duration::from_secs(1)));
    assert_eq!(parse_proto_duration("5.000s"), Some(Duration::from_secs(5)));
    for bad in ["30", "s", "-1s", "1.s5", "1e3s", "99999999999999s", ""] {
        assert_eq!(parse_proto_duration(bad), None, "{bad}");
    }
}

#[test]
fn error_details_are_bounded() {
    let long = json!({"error": {"code": 400, "message": "x".repeat(5000), "status": "INVALID_ARGUMENT"}});
    assert!(classify(400, long).to_string().len() < 600);
}

/// The rows of a 200 answer fed to [`StreamRows`] in the given chunks.
fn stream_in(chunks: &[&[u8]]) -> Result<Vec<crate::normalize::CostRow>, PlatformError> {
    let job = job();
    let mut stream = StreamRows::new(&job);
    for chunk in chunks {
        stream.feed(*chunk)?;
    }
    stream.finish()
}

#[test]
fn a_stream_read_in_chunks_gives_the_rows_of_the_whole_body_wherever_it_is_cut() {
    let mut named = row("2026-11-21");
    named["campaign"]["name"] = json!("Brand [EU], {\"quoted\"} \\ ]}");
    let body = json!([
        {"results": [row("2026-11-20"), named], "fieldMask": "campaign.id,campaign.name", "requestId": "a"},
        {"results": [row("2026-11-22")], "fieldMask": "campaign.id,campaign.name", "requestId": "a", "queryResourceConsumption": "12"}
    ])
    .to_string();
    let bytes = body.as_bytes();
    let whole = parse_stream(&job(), 200, bytes).unwrap();
    assert_eq!(whole.len(), 3);
    assert_eq!(whole[1].campaign_name, "Brand [EU], {\"quoted\"} \\ ]}");
    for cut in 0..=bytes.len() {
        assert_eq!(stream_in(&[&bytes[..cut], &bytes[cut..]]).unwrap(), whole, "cut at {cut}");
    }
    let small: Vec<&[u8]> = bytes.chunks(7).collect();
    assert_eq!(stream_in(&small).unwrap(), whole);
}

#[test]
fn rows_come_out_as_soon_as_their_batch_is_complete() {
    let first = json!({"results": [row("2026-11-20"), row("2026-11-21")], "requestId": "a"}).to_string();
    let job = job();
    let mut stream = StreamRows::new(&job);
    assert_eq!(stream.feed(format!("[{first}").into_bytes()).unwrap(), 0, "the batch is not closed yet: its ',' or ']' has not arrived");
    assert_eq!(stream.feed(b",".to_vec()).unwrap(), 2);
    assert_eq!(stream.feed(json!({"results": [row("2026-11-22")]}).to_string().into_bytes()).unwrap(), 0);
    assert_eq!(stream.feed(b"]\n".to_vec()).unwrap(), 1);
    assert_eq!(stream.finish().unwrap().len(), 3);
}

#[test]
fn a_truncated_stream_or_one_with_more_after_its_array_is_not_trusted() {
    let body = json!([{"results": [row("2026-11-20")], "requestId": "a"}]).to_string();
    let bytes = body.as_bytes();
    for cut in 0..bytes.len() {
        let err = stream_in(&[&bytes[..cut]]).unwrap_err();
        assert_eq!(err.code(), "bad_response", "cut at {cut}: {err}");
        assert!(err.is_retryable());
    }
    let garbage = format!("{body}{{\"results\":[]}}");
    let err = stream_in(&[garbage.as_bytes()]).unwrap_err();
    assert_eq!(err.code(), "bad_response");
    assert!(err.to_string().contains("after the array"), "{err}");
    assert_eq!(parse_stream(&job(), 200, garbage.as_bytes()).unwrap_err().code(), "bad_response");
    // An element that is not a batch.
    assert_eq!(stream_in(&[b"[1]"]).unwrap_err().code(), "bad_response");
}

#[test]
fn an_error_element_fails_the_stream_when_it_arrives() {
    let first = json!({"results": [row("2026-11-20")], "requestId": "a"}).to_string();
    let broken = failure(503, "UNAVAILABLE", "internalError", "TRANSIENT_ERROR", serde_json::Value::Null).to_string();
    let job = job();
    let mut stream = StreamRows::new(&job);
    assert_eq!(stream.feed(format!("[{first},").into_bytes()).unwrap(), 1);
    assert_eq!(stream.feed(format!("{broken}]").into_bytes()).unwrap_err().code(), "unavailable");
}
