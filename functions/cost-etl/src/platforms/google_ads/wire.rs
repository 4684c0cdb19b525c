//! What the Google Ads API and its token endpoint send, as serde types: searchStream batches,
//! `google.rpc.Status` errors, `GoogleAdsRow`s, and OAuth token grants and errors.

use crate::platforms::{Redacted, Scalar};
use serde::Deserialize;

/// One element of the stream array: a batch of rows, or the error that ended the stream.
#[derive(Debug, Deserialize)]
pub(super) struct StreamElement {
    #[serde(default)]
    pub(super) results: Vec<RawRow>,
    pub(super) error: Option<RpcStatus>,
}

/// `google.rpc.Status` as REST sends it.
#[derive(Debug, Default, Deserialize)]
pub struct RpcStatus {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
pub(super) struct ErrorEnvelope {
    pub(super) error: RpcStatus,
}

/// A `GoogleAdsRow` with the fields the query selects.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRow {
    pub customer: Option<RawCustomer>,
    pub campaign: Option<RawCampaign>,
    pub metrics: Option<RawMetrics>,
    pub segments: Option<RawSegments>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCustomer {
    pub currency_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCampaign {
    pub id: Option<Scalar>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMetrics {
    pub cost_micros: Option<Scalar>,
    pub impressions: Option<Scalar>,
    pub clicks: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSegments {
    pub date: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawGrant {
    pub(super) access_token: Option<Redacted>,
    pub(super) expires_in: Option<u64>,
    pub(super) token_type: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct OAuthError {
    pub(super) error: String,
    #[serde(default)]
    pub(super) error_description: String,
}
