//! The job message as the worker reads it.
//!
//! TEMPORARY: a local copy of the contract in DESIGN.md until `cost_etl::job::{JobSpec, Platform}`
//! lands; then this module re-exports those, so the CLI builds messages with the worker's own type.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Meta,
    GoogleAds,
    Tiktok,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Meta, Platform::GoogleAds, Platform::Tiktok];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Meta => "meta",
            Platform::GoogleAds => "google_ads",
            Platform::Tiktok => "tiktok",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| format!("unknown platform {s:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub platform: Platform,
    pub account_id: String,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
}

impl JobSpec {
    pub fn parse(body: &str) -> Result<JobSpec, String> {
        let spec: JobSpec = serde_json::from_str(body).map_err(|e| e.to_string())?;
        if spec.date_from > spec.date_to {
            return Err("date_from is after date_to".into());
        }
        if spec.account_id.is_empty() || spec.account_id.len() > 64 || !spec.account_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err("account_id must be 1-64 characters of A-Z a-z 0-9 _ -".into());
        }
        Ok(spec)
    }
}
