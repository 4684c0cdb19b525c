//! What the TikTok API sends, as serde types: the `{code, message, request_id, data}` envelope,
//! advertiser info (and the currency read from it), report pages, their rows and page info.

use super::errors::{bad, classify_code};
use super::PLATFORM;
use crate::platforms::{is_currency_code, PlatformError, Scalar};
use common::text::bounded;
use serde::Deserialize;

/// The envelope's head only: enough to classify an error whose `data` has an odd shape.
#[derive(Deserialize)]
pub(super) struct Head {
    pub(super) code: Option<i64>,
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) request_id: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    request_id: String,
    data: Option<T>,
}

/// The body's `data` when `code` is 0, or the classified error.
pub(super) fn open_envelope<T: serde::de::DeserializeOwned>(body: &[u8], what: &str, advertiser: &str) -> Result<T, PlatformError> {
    match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(e) if e.code != 0 => Err(classify_code(e.code, &e.message, &e.request_id, advertiser)),
        Ok(e) => e.data.ok_or_else(|| bad(format!("{what}: code 0 without data"))),
        Err(err) => match serde_json::from_slice::<Head>(body) {
            Ok(Head { code: Some(code), message, request_id }) if code != 0 => Err(classify_code(code, &message, &request_id, advertiser)),
            _ => Err(bad(format!("not a {what}: {}", common::config::json_error_without_values(&err)))),
        },
    }
}

#[derive(Debug, Deserialize)]
struct AdvertiserList {
    #[serde(default)]
    list: Vec<AdvertiserInfo>,
}

#[derive(Debug, Deserialize)]
struct AdvertiserInfo {
    advertiser_id: Option<Scalar>,
    currency: Option<String>,
}

/// The advertiser's ISO 4217 currency from an advertiser info answer.
pub fn parse_advertiser_currency(body: &[u8], advertiser: &str) -> Result<String, PlatformError> {
    let data: AdvertiserList = open_envelope(body, "advertiser info answer", advertiser)?;
    let Some(info) = data.list.into_iter().find(|a| a.advertiser_id.as_ref().is_some_and(|id| id.text() == advertiser)) else {
        return Err(PlatformError::UnknownAccount { platform: PLATFORM, account: advertiser.to_string(), detail: "advertiser info lists no such advertiser".into() });
    };
    let currency = info.currency.unwrap_or_default();
    if !is_currency_code(&currency) {
        return Err(bad(format!("advertiser info currency {:?} is not an ISO 4217 code", bounded(&currency, 10))));
    }
    Ok(currency)
}

#[derive(Debug, Deserialize)]
pub(super) struct ReportData {
    #[serde(default)]
    pub(super) list: Vec<RawRow>,
    pub(super) page_info: Option<PageInfo>,
}

/// `data.page_info` of a report page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PageInfo {
    pub page: u32,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub total_number: u64,
    pub total_page: u32,
}

/// A report row as TikTok sends it.
#[derive(Debug, Default, Deserialize)]
pub struct RawRow {
    #[serde(default)]
    pub dimensions: RawDimensions,
    #[serde(default)]
    pub metrics: RawMetrics,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawDimensions {
    pub campaign_id: Option<String>,
    pub stat_time_day: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawMetrics {
    pub spend: Option<Scalar>,
    pub impressions: Option<Scalar>,
    pub clicks: Option<Scalar>,
    pub campaign_name: Option<String>,
}
