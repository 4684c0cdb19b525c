//! Unit tests of the TikTok adapter: range split, URLs, days, spend and rows, error codes and
//! statuses, pages and the advertiser's currency.

use super::*;
use cost_job::split_range;
use cost_job::JobSpec;
use crate::normalize::RowError;
use crate::platforms::Scalar;
use chrono::NaiveDate;
use common::Retryable;
use std::collections::HashMap;
use std::time::Duration;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn job(from: &str, to: &str) -> JobSpec {
    JobSpec::parse(&format!(r#"{{"platform":"tiktok","account_id":"7012345678901234567","date_from":"{from}","date_to":"{to}"}}"#)).unwrap()
}

#[test]
fn ranges_split_into_consecutive_spans_of_at_most_thirty_days() {
    let spans = |from: &str, to: &str| split_range(d(from), d(to), 30).into_iter().map(|(a, b)| format!("{a}..{b}")).collect::<Vec<_>>();
    assert_eq!(spans("2026-11-20", "2026-11-20"), ["2026-11-20..2026-11-20"]);
    assert_eq!(spans("2026-11-01", "2026-11-30"), ["2026-11-01..2026-11-30"]);
    assert_eq!(spans("2026-11-01", "2026-12-01"), ["2026-11-01..2026-11-30", "2026-12-01..2026-12-01"]);
    assert_eq!(spans("2026-10-12", "2026-11-20"), ["2026-10-12..2026-11-10", "2026-11-11..2026-11-20"]);
    assert_eq!(spans("2024-02-01", "2024-04-30"), ["2024-02-01..2024-03-01", "2024-03-02..2024-03-31", "2024-04-01..2024-04-30"]);
    assert!(split_range(d("2026-11-21"), d("2026-11-20"), 30).is_empty());
    assert_eq!(split_range(d("2026-11-20"), d("2026-11-22"), 1).len(), 3);
    // Every day exactly once, no span too long.
    let (from, to) = (d("2025-01-01"), d("2026-12-31"));
    let parts = split_range(from, to, 30);
    assert_eq!(parts.first().unwrap().0, from);
    assert_eq!(parts.last().unwrap().1, to);
    for pair in parts.windows(2) {
        assert_eq!(pair[0].1.succ_opt().unwrap(), pair[1].0);
    }
    assert!(parts.iter().all(|(a, b)| (*b - *a).num_days() < 30));
    assert_eq!(split_range(NaiveDate::MAX, NaiveDate::MAX, 30), [(NaiveDate::MAX, NaiveDate::MAX)]);
}

#[test]
fn report_url_asks_for_a_daily_campaign_report_with_json_array_parameters() {
    let url = report_url("http://127.0.0.1:9", "7012345678901234567", d("2026-11-01"), d("2026-11-30"), 2).unwrap();
    assert_eq!(url.path(), REPORT_PATH);
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["advertiser_id"], "7012345678901234567");
    assert_eq!(q["report_type"], "BASIC");
    assert_eq!(q["data_level"], "AUCTION_CAMPAIGN");
    assert_eq!(serde_json::from_str::<Vec<String>>(&q["dimensions"]).unwrap(), ["campaign_id", "stat_time_day"]);
    assert_eq!(serde_json::from_str::<Vec<String>>(&q["metrics"]).unwrap(), ["spend", "impressions", "clicks", "campaign_name"]);
    assert_eq!((q["start_date"].as_str(), q["end_date"].as_str(), q["page"].as_str(), q["page_size"].as_str()), ("2026-11-01", "2026-11-30", "2", "1000"));
    let info = advertiser_info_url("http://127.0.0.1:9", "42").unwrap();
    let q: HashMap<_, _> = info.query_pairs().into_owned().collect();
    assert_eq!(info.path(), ADVERTISER_INFO_PATH);
    assert_eq!(q["advertiser_ids"], r#"["42"]"#);
    assert!(serde_json::from_str::<Vec<String>>(&q["fields"]).unwrap().contains(&"currency".to_string()));
}

#[test]
fn stat_time_day_is_a_midnight_inside_the_requested_range() {
    let (from, to) = (d("2026-11-01"), d("2026-11-30"));
    assert_eq!(parse_stat_time_day("2026-11-20 00:00:00", from, to), Ok(d("2026-11-20")));
    assert_eq!(parse_stat_time_day("2026-11-01 00:00:00", from, to), Ok(from));
    assert_eq!(parse_stat_time_day("2026-11-30 00:00:00", from, to), Ok(to));
    assert!(matches!(parse_stat_time_day("2026-12-01 00:00:00", from, to), Err(RowError::OutsideRange { .. })));
    assert!(matches!(parse_stat_time_day("2026-10-31 00:00:00", from, to), Err(RowError::OutsideRange { .. })));
    for bad in ["2026-11-20 13:00:00", "2026-11-20 00:00:01"] {
        assert!(matches!(parse_stat_time_day(bad, from, to), Err(RowError::Invalid { field: "stat_time_day", .. })), "{bad}");
    }
    for bad in ["2026-11-20", "2026-11-20T00:00:00", "20/11/2026 00:00:00", "2026-02-30 00:00:00", "", "2026-11-20 00:00:00Z"] {
        assert!(matches!(parse_stat_time_day(bad, from, to), Err(RowError::Invalid { .. })), "{bad}");
    }
}

fn raw(day: &str, spend: Scalar) -> RawRow {
    RawRow {
        dimensions: RawDimensions { campaign_id: Some("1800000000000001".into()), stat_time_day: Some(day.into()) },
        metrics: RawMetrics { spend: Some(spend), impressions: Some(Scalar::Text("100".into())), clicks: Some(Scalar::Number(5u64.into())), campaign_name: Some("Brand".into()) },
    }
}

fn text(s: &str) -> Scalar {
    Scalar::Text(s.into())
}

#[test]
fn spend_is_read_in_whole_currency_units_to_exact_micros_whatever_the_currency() {
    let j = job("2026-11-20", "2026-11-20");
    let micros = |currency: &str, s: &str| normalize_row(&j, currency, j.date_from, j.date_to, raw("2026-11-20 00:00:00", text(s))).map(|r| r.spend_micros);
    // KRW and JPY have no minor unit, USD has two: none of that scales the amount.
    assert_eq!(micros("KRW", "1500"), Ok(1_500_000_000));
    assert_eq!(micros("JPY", "98765"), Ok(98_765_000_000));
    assert_eq!(micros("USD", "12.34"), Ok(12_340_000));
    assert_eq!(micros("USD", "0.01"), Ok(10_000));
    assert_eq!(micros("USD", "12345678901.23"), Ok(12_345_678_901_230_000));
    // Digits beyond the currency's minor unit are kept, not rounded away.
    assert_eq!(micros("KRW", "1500.5"), Ok(1_500_500_000));
    assert_eq!(micros("USD", "0.123456"), Ok(123_456));
    assert!(matches!(micros("USD", "9999999999999.99"), Err(RowError::Money { .. })));
    assert!(matches!(micros("USD", "1e3"), Err(RowError::Money { .. })));
    let number = normalize_row(&j, "USD", j.date_from, j.date_to, raw("2026-11-20 00:00:00", Scalar::Number(serde_json::Number::from_f64(12.34).unwrap())));
    assert!(matches!(number, Err(RowError::Invalid { field: "spend", .. })));
}

#[test]
fn rows_normalize_to_the_design_schema_with_counts_from_strings_or_numbers() {
    let j = job("2026-11-20", "2026-11-22");
    let row = normalize_row(&j, "KRW", j.date_from, j.date_to, raw("2026-11-21 00:00:00", text("1234.5"))).unwrap();
    assert_eq!(
        serde_json::to_string(&row).unwrap(),
        r#"{"date":"2026-11-21","platform":"tiktok","account_id":"7012345678901234567","campaign_id":"1800000000000001","campaign_name":"Brand","currency":"KRW","spend_micros":1234500000,"impressions":100,"clicks":5}"#
    );
    let empty = RawRow { dimensions: RawDimensions { campaign_id: Some("1".into()), stat_time_day: Some("2026-11-20 00:00:00".into()) }, metrics: RawMetrics::default() };
    let row = normalize_row(&j, "USD", j.date_from, j.date_to, empty).unwrap();
    assert_eq!((row.spend_micros, row.impressions, row.clicks, row.campaign_name.as_str()), (0, 0, 0, ""));
    let mut no_id = raw("2026-11-20 00:00:00", text("1"));
    no_id.dimensions.campaign_id = None;
    assert!(matches!(normalize_row(&j, "USD", j.date_from, j.date_to, no_id), Err(RowError::Missing { field: "campaign_id" })));
    let mut negative = raw("2026-11-20 00:00:00", text("1"));
    negative.metrics.clicks = Some(Scalar::Number((-1i64).into()));
    assert!(matches!(normalize_row(&j, "USD", j.date_from, j.date_to, negative), Err(RowError::Count { field: "clicks", .. })));
    let mut fraction = raw("2026-11-20 00:00:00", text("1"));
    fraction.metrics.impressions = Some(Scalar::Number(serde_json::Number::from_f64(1.5).unwrap()));
    assert!(matches!(normalize_row(&j, "USD", j.date_from, j.date_to, fraction), Err(RowError::Count { field: "impressions", .. })));
}

fn envelope(code: i64, message: &str) -> Vec<u8> {
    serde_json::json!({"code": code, "message": message, "request_id": "2026112008000001", "data": {}}).to_string().into_bytes()
}

#[test]
fn codes_in_the_body_decide_whether_to_retry() {
    let j = job("2026-11-20", "2026-11-20");
    let class = |code: i64| parse_report(&j, "USD", j.date_from, j.date_to, &envelope(code, "m")).unwrap_err();
    for code in [40100, 51021] {
        let err = class(code);
        assert_eq!(err.code(), "rate_limited", "{code}");
        assert!(err.is_retryable());
    }
    for code in [50000, 50002, 51000] {
        assert_eq!(class(code).code(), "unavailable", "{code}");
        assert!(class(code).is_retryable());
    }
    for code in [40102, 40104, 40105] {
        assert_eq!(class(code).code(), "invalid_credentials", "{code}");
        assert!(!class(code).is_retryable());
    }
    assert_eq!(class(40001).code(), "permission_denied");
    assert!(class(40001).to_string().contains("7012345678901234567"));
    for code in [40002, 40006, 40007] {
        assert_eq!(class(code).code(), "rejected", "{code}");
        assert!(!class(code).is_retryable());
    }
    // The error's `data` shape does not matter, the code does.
    let odd = br#"{"code":40100,"message":"Too many requests","data":[]}"#;
    assert_eq!(parse_report(&j, "USD", j.date_from, j.date_to, odd).unwrap_err().code(), "rate_limited");
    // Text from the platform is bounded.
    let long = envelope(40002, &"x".repeat(5000));
    assert!(parse_report(&j, "USD", j.date_from, j.date_to, &long).unwrap_err().to_string().len() < 500);
}

#[test]
fn real_http_errors_are_classified_by_status_with_their_retry_hint() {
    let hint = Some(Duration::from_secs(7));
    let limited = classify_http(429, hint, b"", "1");
    assert_eq!((limited.code(), limited.retry_after()), ("rate_limited", hint));
    assert_eq!(classify_http(429, None, &envelope(40100, "m"), "1").code(), "rate_limited");
    assert_eq!(classify_http(500, None, &envelope(50000, "m"), "1").code(), "unavailable");
    assert_eq!(classify_http(503, None, b"<html>busy</html>", "1").code(), "unavailable");
    assert_eq!(classify_http(404, None, b"not found", "1").code(), "rejected");
    assert_eq!(classify_http(401, None, &envelope(40105, "m"), "1").code(), "invalid_credentials");
}

#[test]
fn pages_parse_with_their_page_info_and_bad_pages_are_refused() {
    let j = job("2026-11-20", "2026-11-21");
    let body = br#"{"code":0,"message":"OK","request_id":"r","data":{"list":[{"dimensions":{"campaign_id":"1","stat_time_day":"2026-11-21 00:00:00"},"metrics":{"spend":"12.34","impressions":"100","clicks":"5","campaign_name":"C"}}],"page_info":{"page":1,"page_size":1000,"total_number":1,"total_page":1}}}"#;
    let (rows, info) = normalize_page(&j, "USD", body).unwrap();
    assert_eq!((rows.len(), rows[0].spend_micros, rows[0].date), (1, 12_340_000, d("2026-11-21")));
    assert_eq!(info, PageInfo { page: 1, page_size: 1000, total_number: 1, total_page: 1 });
    let empty = br#"{"code":0,"message":"OK","data":{"list":[],"page_info":{"page":1,"page_size":1000,"total_number":0,"total_page":0}}}"#;
    assert_eq!(normalize_page(&j, "USD", empty).unwrap().0.len(), 0);
    assert_eq!(normalize_page(&j, "USD", br#"{"code":0,"message":"OK","data":{"list":[]}}"#).unwrap_err().code(), "bad_response");
    assert_eq!(normalize_page(&j, "USD", br#"{"code":0,"message":"OK"}"#).unwrap_err().code(), "bad_response");
    assert_eq!(normalize_page(&j, "USD", b"<html>").unwrap_err().code(), "bad_response");
    let outside = String::from_utf8(body.to_vec()).unwrap().replace("2026-11-21 00:00:00", "2026-11-22 00:00:00");
    assert_eq!(normalize_page(&j, "USD", outside.as_bytes()).unwrap_err().code(), "bad_row");
}

#[test]
fn the_currency_comes_from_the_advertisers_own_info_entry() {
    let info = |list: &str| format!(r#"{{"code":0,"message":"OK","request_id":"r","data":{{"list":{list}}}}}"#);
    assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"42","currency":"KRW","name":"x"}]"#).as_bytes(), "42").unwrap(), "KRW");
    assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":42,"currency":"JPY"}]"#).as_bytes(), "42").unwrap(), "JPY");
    assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"43","currency":"USD"}]"#).as_bytes(), "42").unwrap_err().code(), "unknown_account");
    assert_eq!(parse_advertiser_currency(info("[]").as_bytes(), "42").unwrap_err().code(), "unknown_account");
    assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"42","currency":"usd"}]"#).as_bytes(), "42").unwrap_err().code(), "bad_response");
    assert_eq!(parse_advertiser_currency(info(r#"[{"advertiser_id":"42"}]"#).as_bytes(), "42").unwrap_err().code(), "bad_response");
    assert_eq!(parse_advertiser_currency(&envelope(40001, "No permission to operate advertiser 42"), "42").unwrap_err().code(), "permission_denied");
}
