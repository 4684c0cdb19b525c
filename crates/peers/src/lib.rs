//! Local protocol peers: HTTP servers on 127.0.0.1 that follow the public API docs of the
//! services our functions call, so tests exercise the real protocol (status codes, body shapes,
//! paging, rate-limit answers) without the internet.
//!
//! Each peer is one module with a `State` that tests seed and inspect, and a `serve` that binds
//! a free port and returns its base URL.

pub mod google_ads;
pub mod kafka_connect;
pub mod meta;
pub mod tiktok;

use chrono::NaiveDate;

/// One campaign-day of made-up activity: the raw material each peer's `synthetic_rows` maps into
/// its own row type, so every peer's fixtures are stable for the same inputs (benches and tests
/// compare outputs byte for byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticDay {
    pub date: NaiveDate,
    /// The campaign's index, `0..campaigns`.
    pub campaign: u64,
    /// Where the metrics come from: a function of the campaign and the day.
    pub seed: u64,
}

impl SyntheticDay {
    pub fn campaign_name(&self) -> String {
        format!("Campaign {}", self.campaign)
    }

    /// A decimal spend like `"1234.56"`.
    pub fn spend(&self) -> String {
        format!("{}.{:02}", self.seed % 100_000, self.seed % 100)
    }

    pub fn impressions(&self) -> u64 {
        self.seed % 1_000_000
    }

    pub fn clicks(&self) -> u64 {
        self.seed % 10_000
    }
}

/// `campaigns` campaigns on every day of `from..=to`, day by day.
pub fn synthetic_days(campaigns: u32, from: NaiveDate, to: NaiveDate) -> Vec<SyntheticDay> {
    let mut out = Vec::new();
    let mut date = from;
    while date <= to {
        for c in 0..u64::from(campaigns) {
            let seed = c * 7919 + date.to_string().bytes().map(u64::from).sum::<u64>() * 31;
            out.push(SyntheticDay { date, campaign: c, seed });
        }
        date = date.succ_opt().expect("date in range");
    }
    out
}
