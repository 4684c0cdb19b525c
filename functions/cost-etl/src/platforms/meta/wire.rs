//! What the Graph API sends, as serde types: error envelopes and Insights pages with their rows
//! and paging, and the parsing of a page body.

use super::PLATFORM;
use crate::platforms::PlatformError;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct ErrorEnvelope {
    pub(super) error: GraphError,
}

#[derive(Debug, Deserialize)]
pub(super) struct GraphError {
    #[serde(default)]
    pub(super) message: String,
    #[serde(default, rename = "type")]
    pub(super) kind: String,
    pub(super) code: Option<i64>,
    pub(super) error_subcode: Option<i64>,
    #[serde(default)]
    pub(super) is_transient: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct Page {
    pub(super) data: Vec<RawInsight>,
    pub(super) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Paging {
    pub(super) next: Option<String>,
}

/// An Insights row as Graph sends it: every value a string.
#[derive(Debug, Default, Deserialize)]
pub struct RawInsight {
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    pub spend: Option<String>,
    pub impressions: Option<String>,
    pub clicks: Option<String>,
    pub account_currency: Option<String>,
    pub date_start: Option<String>,
    pub date_stop: Option<String>,
}

pub(super) fn parse_page(body: &[u8]) -> Result<Page, PlatformError> {
    serde_json::from_slice(body).map_err(|e| PlatformError::BadResponse {
        platform: PLATFORM,
        detail: format!("not an Insights page: {}", common::config::json_error_without_values(&e)),
    })
}
