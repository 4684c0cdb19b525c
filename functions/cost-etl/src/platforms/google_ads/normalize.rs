//! Google Ads answers to [`CostRow`]s: a searchStream answer to rows batch by batch as it arrives
//! ([`StreamRows`]) or to a classified error, and one `GoogleAdsRow` to the common schema.

use super::errors::classify_error;
use super::stream::{ArraySplitter, SplitError};
use super::wire::{ErrorEnvelope, RawRow, StreamElement};
use super::PLATFORM;
use cost_job::JobSpec;
use crate::normalize::{CostRow, RowError};
use crate::platforms::{row_currency, scalar_count, PlatformError};
use common::text::bounded;
use chrono::NaiveDate;

/// Result batches accepted in one stream (the API sends up to 10,000 rows per batch).
pub const MAX_STREAM_BATCHES: usize = 10_000;

/// One `GoogleAdsRow` to the common schema. Zero metrics may be left out and count as 0;
/// a missing campaign id, currency or date is an error.
pub fn normalize_row(job: &JobSpec, raw: RawRow) -> Result<CostRow, RowError> {
    let date_text = raw.segments.and_then(|s| s.date).filter(|d| !d.is_empty()).ok_or(RowError::Missing { field: "segments.date" })?;
    let date: NaiveDate = date_text.parse().map_err(|_| RowError::Invalid { field: "segments.date", reason: format!("{:?} is not a date", bounded(&date_text, 20)) })?;
    let currency = raw.customer.and_then(|c| c.currency_code).filter(|c| !c.is_empty()).ok_or(RowError::Missing { field: "customer.currency_code" })?;
    let currency = row_currency("customer.currency_code", currency)?;
    let campaign = raw.campaign.unwrap_or_default();
    let campaign_id = campaign.id.map(|id| id.text()).filter(|id| !id.is_empty()).ok_or(RowError::Missing { field: "campaign.id" })?;
    if campaign_id.len() > 32 || !campaign_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RowError::Invalid { field: "campaign.id", reason: format!("{:?} is not a campaign id", bounded(&campaign_id, 32)) });
    }
    let metrics = raw.metrics.unwrap_or_default();
    Ok(CostRow {
        date,
        platform: PLATFORM,
        account_id: job.account_id.to_string(),
        campaign_id,
        campaign_name: campaign.name.unwrap_or_default(),
        currency,
        spend_micros: scalar_count("metrics.cost_micros", metrics.cost_micros.as_ref())?,
        impressions: scalar_count("metrics.impressions", metrics.impressions.as_ref())?,
        clicks: scalar_count("metrics.clicks", metrics.clicks.as_ref())?,
    })
}

/// A searchStream answer (`http_status` and the whole body) to rows or a classified error. A 200
/// whose array carries an error element failed part-way: the rows before it are not trusted.
/// The adapter reads the body chunk by chunk through [`StreamRows`] instead; this is the same
/// parse over a body already in memory.
pub fn parse_stream(job: &JobSpec, http_status: u16, body: &[u8]) -> Result<Vec<CostRow>, PlatformError> {
    if http_status != 200 {
        return Err(parse_error_answer(job, http_status, body));
    }
    let mut stream = StreamRows::new(job);
    stream.feed(body)?;
    stream.finish()
}

/// A non-200 searchStream answer, classified. The error is one Status object, or (streamed) an
/// array holding one. Which one is decided by the first byte: serde would read a struct from an
/// array too.
pub fn parse_error_answer(job: &JobSpec, http_status: u16, body: &[u8]) -> PlatformError {
    let status = match body.iter().find(|&&b| !common::json_scan::is_whitespace(b)) {
        Some(b'{') => serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error),
        Some(b'[') => serde_json::from_slice::<Vec<StreamElement>>(body).ok().and_then(|elements| elements.into_iter().find_map(|e| e.error)),
        _ => None,
    };
    classify_error(http_status, status.as_ref(), job.account_id.as_str())
}

/// The rows of a 200 searchStream answer, parsed as it arrives: each result batch (an element of
/// the answer's array) is parsed and normalized as soon as its last byte is fed, so what is held
/// is the rows so far plus at most one unfinished batch, never the whole body.
pub struct StreamRows<'j, B> {
    job: &'j JobSpec,
    splitter: ArraySplitter<B>,
    rows: Vec<CostRow>,
    batches: usize,
}

impl<'j, B: AsRef<[u8]>> StreamRows<'j, B> {
    pub fn new(job: &'j JobSpec) -> StreamRows<'j, B> {
        StreamRows { job, splitter: ArraySplitter::new(), rows: Vec::new(), batches: 0 }
    }

    /// The next chunk of the body: every batch it completes is normalized. Returns how many rows
    /// they added. An error element (the stream broke part-way) fails the whole answer.
    pub fn feed(&mut self, chunk: B) -> Result<usize, PlatformError> {
        let before = self.rows.len();
        self.splitter.feed(chunk);
        while let Some(element) = self.splitter.next_element().map_err(not_a_stream)? {
            self.batches += 1;
            if self.batches > MAX_STREAM_BATCHES {
                return Err(PlatformError::BadResponse { platform: PLATFORM, detail: format!("more than {MAX_STREAM_BATCHES} result batches") });
            }
            batch_rows(self.job, element, &mut self.rows)?;
        }
        Ok(self.rows.len() - before)
    }

    /// The body ended: every row, unless the array was left unfinished (a truncated answer).
    pub fn finish(self) -> Result<Vec<CostRow>, PlatformError> {
        self.splitter.finish().map_err(not_a_stream)?;
        Ok(self.rows)
    }
}

fn not_a_stream(err: SplitError) -> PlatformError {
    PlatformError::BadResponse { platform: PLATFORM, detail: format!("not a searchStream answer: {err}") }
}

/// One result batch (an element of the stream array) normalized onto `rows`, or the error the
/// stream ended with.
fn batch_rows(job: &JobSpec, element: &[u8], rows: &mut Vec<CostRow>) -> Result<(), PlatformError> {
    let batch: StreamElement = serde_json::from_slice(element).map_err(|e| PlatformError::BadResponse {
        platform: PLATFORM,
        detail: format!("not a searchStream answer: {}", common::config::json_error_without_values(&e)),
    })?;
    if let Some(status) = batch.error {
        return Err(classify_error(200, Some(&status), job.account_id.as_str()));
    }
    rows.reserve(batch.results.len());
    for raw in batch.results {
        rows.push(normalize_row(job, raw).map_err(|row| PlatformError::BadRow { platform: PLATFORM, row })?);
    }
    Ok(())
}

/// Normalize a whole searchStream body (for the bench: the pure part of a fetch).
pub fn normalize_page(job: &JobSpec, body: &[u8]) -> Result<Vec<CostRow>, PlatformError> {
    parse_stream(job, 200, body)
}
