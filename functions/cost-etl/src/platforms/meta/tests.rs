//! Unit tests of the Meta adapter: URLs and next links, rows, Graph errors and usage headers,
//! pages.

use super::*;
use cost_job::JobSpec;
use crate::normalize::RowError;
use common::Retryable;
use std::time::Duration;

fn job() -> JobSpec {
    JobSpec::parse(r#"{"platform":"meta","account_id":"act_1234","date_from":"2026-11-20","date_to":"2026-11-22"}"#).unwrap()
}

#[test]
fn first_url_asks_for_a_daily_campaign_report_over_the_job_range() {
    let url = first_page_url("http://127.0.0.1:9", "v23.0", &job()).unwrap();
    assert_eq!(url.path(), "/v23.0/act_1234/insights");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["level"], "campaign");
    assert_eq!(q["time_increment"], "1");
    assert_eq!(q["time_range"], r#"{"since":"2026-11-20","until":"2026-11-22"}"#);
    assert_eq!(q["fields"], FIELDS);
    assert_eq!(q["limit"], "500");
    assert!(!q.contains_key("access_token"));
}

#[test]
fn next_links_are_followed_only_to_the_same_server_and_lose_their_token() {
    let base = "http://127.0.0.1:9";
    let url = follow_next(base, "http://127.0.0.1:9/v23.0/act_1234/insights?access_token=SECRET&after=QQ&limit=500").unwrap();
    assert!(!url.as_str().contains("SECRET"), "{url}");
    assert!(url.as_str().contains("after=QQ"));
    for hostile in ["http://evil.example/x?after=1", "https://127.0.0.1:9/x", "http://127.0.0.1:10/x", "not a url"] {
        let err = follow_next(base, hostile).unwrap_err();
        assert_eq!(err.code(), "bad_response", "{hostile}");
    }
}

#[test]
fn rows_normalize_to_exact_micros_and_the_job_account() {
    let raw = RawInsight {
        campaign_id: Some("120".into()),
        campaign_name: Some("Brand".into()),
        spend: Some("1234.5".into()),
        impressions: Some("1000".into()),
        clicks: Some("10".into()),
        account_currency: Some("KRW".into()),
        date_start: Some("2026-11-20".into()),
        date_stop: Some("2026-11-20".into()),
    };
    let row = normalize_row(&job(), raw).unwrap();
    assert_eq!(serde_json::to_string(&row).unwrap(), r#"{"date":"2026-11-20","platform":"meta","account_id":"act_1234","campaign_id":"120","campaign_name":"Brand","currency":"KRW","spend_micros":1234500000,"impressions":1000,"clicks":10}"#);
}

#[test]
fn missing_metrics_are_zero_but_missing_identity_is_an_error() {
    let base = || RawInsight { campaign_id: Some("1".into()), account_currency: Some("USD".into()), date_start: Some("2026-11-20".into()), ..RawInsight::default() };
    let row = normalize_row(&job(), base()).unwrap();
    assert_eq!((row.spend_micros, row.impressions, row.clicks), (0, 0, 0));
    assert!(matches!(normalize_row(&job(), RawInsight { campaign_id: None, ..base() }), Err(RowError::Missing { field: "campaign_id" })));
    assert!(matches!(normalize_row(&job(), RawInsight { account_currency: Some("krw".into()), ..base() }), Err(RowError::Invalid { .. })));
    assert!(matches!(normalize_row(&job(), RawInsight { date_stop: Some("2026-11-21".into()), ..base() }), Err(RowError::Invalid { field: "date_stop", .. })));
    assert!(matches!(normalize_row(&job(), RawInsight { spend: Some("1e3".into()), ..base() }), Err(RowError::Money { .. })));
}

fn graph(code: i64, subcode: Option<i64>) -> Vec<u8> {
    let mut error = serde_json::json!({"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "x"});
    if let Some(s) = subcode {
        error["error_subcode"] = s.into();
    }
    serde_json::json!({ "error": error }).to_string().into_bytes()
}

#[test]
fn graph_errors_are_classified_by_code() {
    let none = Usage::default();
    for code in [4, 17, 32, 613, 80000, 80004, 80014] {
        let err = classify_error(400, &graph(code, None), &none, "act_1");
        assert_eq!(err.code(), "rate_limited", "{code}");
        assert!(err.is_retryable());
    }
    assert_eq!(classify_error(403, &graph(4, None), &none, "act_1").code(), "rate_limited");
    let token = classify_error(400, &graph(190, Some(463)), &none, "act_1");
    assert_eq!(token.code(), "invalid_credentials");
    assert!(!token.is_retryable());
    let unknown = classify_error(400, &graph(100, Some(33)), &none, "act_1");
    assert_eq!(unknown.code(), "unknown_account");
    assert!(!unknown.is_retryable());
    assert_eq!(classify_error(400, &graph(100, None), &none, "act_1").code(), "rejected");
    assert_eq!(classify_error(403, &graph(200, None), &none, "act_1").code(), "permission_denied");
    assert_eq!(classify_error(500, &graph(2, None), &none, "act_1").code(), "unavailable");
    assert_eq!(classify_error(502, b"<html>bad gateway</html>", &none, "act_1").code(), "unavailable");
    assert_eq!(classify_error(429, b"", &none, "act_1").code(), "rate_limited");
}

#[test]
fn a_4xx_while_the_usage_headers_say_the_budget_is_spent_is_a_rate_limit_with_their_reset_hint() {
    let usage = Usage::from_headers(
        Some(r#"{"1234":[{"type":"ads_insights","call_count":100,"total_cputime":40,"total_time":40,"estimated_time_to_regain_access":5}]}"#),
        Some(r#"{"call_count":12,"total_cputime":3,"total_time":3}"#),
        None,
    );
    assert_eq!(usage, Usage { max_percent: Some(100), regain: Some(Duration::from_secs(300)) });
    let err = classify_error(400, &graph(1234, None), &usage, "act_1");
    assert_eq!(err.code(), "rate_limited");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
    let quiet = Usage::from_headers(None, Some(r#"{"call_count":12}"#), Some(r#"{"acc_id_util_pct":9,"reset_time_duration":0}"#));
    assert!(!quiet.budget_spent());
    assert_eq!(quiet.regain, None);
    assert_eq!(Usage::from_headers(Some("garbage"), Some("[]"), Some("{")), Usage::default());
}

#[test]
fn error_details_are_bounded_and_never_include_the_body_raw() {
    let long = serde_json::json!({"error": {"message": "x".repeat(5000), "type": "OAuthException", "code": 100}}).to_string();
    let err = classify_error(400, long.as_bytes(), &Usage::default(), "act_1");
    assert!(err.to_string().len() < 500, "{}", err.to_string().len());
}

#[test]
fn pages_parse_with_their_next_link() {
    let body = br#"{"data":[{"campaign_id":"1","spend":"0.5","impressions":"3","clicks":"0","account_currency":"USD","date_start":"2026-11-21","date_stop":"2026-11-21"}],"paging":{"cursors":{"before":"a","after":"b"},"next":"http://x/next"}}"#;
    let (rows, next) = normalize_page(&job(), body).unwrap();
    assert_eq!(rows[0].spend_micros, 500_000);
    assert_eq!(next.as_deref(), Some("http://x/next"));
    let (_, next) = normalize_page(&job(), br#"{"data":[],"paging":{"cursors":{}}}"#).unwrap();
    assert_eq!(next, None);
    assert_eq!(normalize_page(&job(), br#"{"data":[{"campaign_id":1}]}"#).unwrap_err().code(), "bad_response");
}
