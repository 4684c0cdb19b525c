//! The ad platforms the worker knows, and each one's account-id rules.
//!
//! Adding a platform starts here: a variant, its message spelling in [`Platform::as_str`] and
//! [`Platform::ALL`], and its account-id rule in [`Platform::canonical_account`] (the compiler
//! then points at every other place; see docs/cost-etl.md, "Adding a platform").

use crate::error::JobError;
use common::text::quote_bounded;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest account id accepted (platform ids are 10-20 digits; the limit keeps S3 keys short).
pub const MAX_ACCOUNT_ID_LEN: usize = 64;

/// The ad platforms the worker knows. Serde names are the `platform` values of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Meta,
    GoogleAds,
    Tiktok,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Meta, Platform::GoogleAds, Platform::Tiktok];

    /// The message / S3 key / secret-name spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Meta => "meta",
            Platform::GoogleAds => "google_ads",
            Platform::Tiktok => "tiktok",
        }
    }

    /// Every platform's spelling, for error texts: `meta, google_ads, tiktok`.
    pub fn names() -> String {
        Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The platform's own spelling of an account id, so that two spellings of one account are
    /// one job, one idempotency key and one S3 prefix.
    ///
    /// - Meta ad accounts are numeric; the Graph API path is `act_{id}`. `1234` and `act_1234`
    ///   both become `act_1234`.
    /// - Google Ads customer ids are 10 digits, often written `123-456-7890`; the dashes go.
    /// - TikTok advertiser ids are numeric.
    fn canonical_account(self, raw: &str) -> Result<String, &'static str> {
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Platform::Meta => {
                let digits = raw.strip_prefix("act_").unwrap_or(raw);
                if digits_only(digits) {
                    Ok(format!("act_{digits}"))
                } else {
                    Err("a Meta ad account id is digits, optionally prefixed with act_ (e.g. act_1234)")
                }
            }
            Platform::GoogleAds => {
                let digits: String = raw.chars().filter(|c| *c != '-').collect();
                if digits_only(&digits) && !raw.starts_with('-') && !raw.ends_with('-') && !raw.contains("--") {
                    Ok(digits)
                } else {
                    Err("a Google Ads customer id is digits, optionally grouped with dashes (e.g. 123-456-7890)")
                }
            }
            Platform::Tiktok => {
                if digits_only(raw) {
                    Ok(raw.to_string())
                } else {
                    Err("a TikTok advertiser id is digits (e.g. 7012345678901234567)")
                }
            }
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = JobError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| JobError::UnknownPlatform { value: quote_bounded(s, 40) })
    }
}

/// An account id in its platform's canonical spelling; only `[A-Za-z0-9_-]`, at most
/// [`MAX_ACCOUNT_ID_LEN`] bytes, so it can be used in an S3 key or a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Parse `raw` as an account id of `platform`.
    pub fn parse(platform: Platform, raw: &str) -> Result<AccountId, JobError> {
        let safe = |s: &str| !s.is_empty() && s.len() <= MAX_ACCOUNT_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !safe(raw) {
            return Err(JobError::InvalidAccountId {
                reason: format!("must be 1 to {MAX_ACCOUNT_ID_LEN} characters of A-Z, a-z, 0-9, _ and -"),
            });
        }
        let canonical = platform
            .canonical_account(raw)
            .map_err(|why| JobError::InvalidAccountId { reason: format!("{} is not valid: {why}", quote_bounded(raw, 40)) })?;
        // The canonical spelling can be longer than the raw one (`act_` added to 61-64 Meta
        // digits): checked again, an error and not an assertion, since the body chose it.
        if !safe(&canonical) {
            return Err(JobError::InvalidAccountId {
                reason: format!("{} is not valid: its canonical form {} is longer than {MAX_ACCOUNT_ID_LEN} characters", quote_bounded(raw, 40), quote_bounded(&canonical, 40)),
            });
        }
        Ok(AccountId(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id without a platform prefix (`act_1234` -> `1234`); what the platform's API calls
    /// the account in query parameters and report rows.
    pub fn numeric(&self) -> &str {
        self.0.strip_prefix("act_").unwrap_or(&self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
