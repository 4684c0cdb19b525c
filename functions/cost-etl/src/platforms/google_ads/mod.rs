//! Google Ads API: campaign cost per day through `GoogleAdsService.SearchStream` (REST).
//!
//! Credentials are an OAuth refresh token (secret `{SECRETS_PREFIX}/google_ads`), exchanged at
//! the OAuth token endpoint for a short-lived access token. The access token is cached for the
//! cold start until shortly before it expires; concurrent records wait for the one exchange in
//! flight, and a 401 from the API triggers one refresh and one retry of that request.
//!
//! `POST {GOOGLE_ADS_API_BASE}/{version}/customers/{id}/googleAds:searchStream` with a GAQL query
//! at campaign level answers with the whole result set in one body: a JSON array of batches
//! `{"results":[GoogleAdsRow..],"fieldMask","requestId"}` in lowerCamelCase, int64 values as
//! strings, zero metrics possibly left out. The body is read chunk by chunk and each batch is
//! parsed and normalized as soon as it is complete (`stream`), so a job holds its rows and at
//! most one unfinished batch, never the whole body; all of it together is capped by the job's
//! share of the function's memory. Errors are `google.rpc.Status` JSON
//! (`{"error":{"code","message","status","details":[GoogleAdsFailure | RetryInfo]}}`), either as
//! the whole body or as an element of the stream array when the stream fails part-way.
//!
//! Neither token is ever put in a URL, a log line or an error.
//!
//! `client` holds the adapter (credentials, token exchange, the searchStream request), `wire` the
//! serde types of the answers, `errors` the classification of error answers, `stream` finds the
//! batches of the answer's array as its chunks arrive, and `normalize` turns batches into
//! [`CostRow`](crate::normalize::CostRow)s.

mod client;
mod errors;
mod normalize;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{gaql, parse_token_answer, search_stream_url, usable_until, GoogleAdsAdapter, TokenGrant, MAX_ERROR_BYTES, MAX_STREAM_BYTES, MAX_TOKEN_BYTES, TOKEN_MARGIN};
pub use errors::{classify_error, parse_proto_duration};
pub use normalize::{normalize_page, normalize_row, parse_error_answer, parse_stream, StreamRows, MAX_STREAM_BATCHES};
pub use stream::{ArraySplitter, SplitError};
pub use wire::{RawCampaign, RawCustomer, RawMetrics, RawRow, RawSegments, RpcStatus};

use cost_job::Platform;

const PLATFORM: Platform = Platform::GoogleAds;
