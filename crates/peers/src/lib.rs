//! Local protocol peers: HTTP servers on 127.0.0.1 that follow the public API docs of the
//! services our functions call, so tests exercise the real protocol (status codes, body shapes,
//! paging, rate-limit answers) without the internet.
//!
//! Each peer is one module with a `State` that tests seed and inspect, and a `serve` that binds
//! a free port and returns its base URL.

pub mod google_ads;
pub mod kafka_connect;
pub mod meta;
pub mod s3;
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

/// A campaign-day as the platforms that send money as a decimal string keep it (Meta's Insights
/// rows, TikTok's report rows): both peers store exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalCampaignDay {
    pub date: NaiveDate,
    pub campaign_id: String,
    pub campaign_name: String,
    /// Decimal string in the account currency, e.g. `"1234.56"`.
    pub spend: String,
    pub impressions: u64,
    pub clicks: u64,
}

/// [`synthetic_days`] as [`DecimalCampaignDay`]s, campaign ids counted from `first_campaign_id`.
pub fn synthetic_decimal_days(campaigns: u32, from: NaiveDate, to: NaiveDate, first_campaign_id: u64) -> Vec<DecimalCampaignDay> {
    synthetic_days(campaigns, from, to)
        .into_iter()
        .map(|s| DecimalCampaignDay {
            date: s.date,
            campaign_id: (first_campaign_id + s.campaign).to_string(),
            campaign_name: s.campaign_name(),
            spend: s.spend(),
            impressions: s.impressions(),
            clicks: s.clicks(),
        })
        .collect()
}

/// Serve `router` on a free 127.0.0.1 port until the runtime ends; its base URL.
pub async fn serve_router(router: axum::Router, name: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap_or_else(|e| panic!("{name} peer: {e}"));
    });
    url
}


/// The three ad-platform peers, served on 127.0.0.1, each knowing one set of credentials: what
/// cost-etl needs around it in tests and `make run`. Seed them through their fields.
pub struct AdPlatforms {
    pub meta: meta::MetaPeer,
    pub google: google_ads::GoogleAdsPeer,
    pub tiktok: tiktok::TiktokPeer,
    pub meta_url: String,
    pub google_url: String,
    pub tiktok_url: String,
}

impl AdPlatforms {
    pub const META_TOKEN: &'static str = "peer-meta-access-token";
    pub const GOOGLE_CLIENT_ID: &'static str = "peer-client.apps.googleusercontent.com";
    pub const GOOGLE_CLIENT_SECRET: &'static str = "peer-google-client-secret";
    pub const GOOGLE_REFRESH_TOKEN: &'static str = "peer-google-refresh-token";
    pub const TIKTOK_TOKEN: &'static str = "peer-tiktok-access-token";

    /// Start the three peers, with no accounts yet.
    pub async fn start() -> AdPlatforms {
        let meta = meta::MetaPeer::new(Self::META_TOKEN);
        let google = google_ads::GoogleAdsPeer::new(Self::GOOGLE_CLIENT_ID, Self::GOOGLE_CLIENT_SECRET, Self::GOOGLE_REFRESH_TOKEN);
        let tiktok = tiktok::TiktokPeer::new(Self::TIKTOK_TOKEN);
        let meta_url = meta::serve(meta.clone()).await;
        let google_url = google_ads::serve(google.clone()).await;
        let tiktok_url = tiktok::serve(tiktok.clone()).await;
        AdPlatforms { meta, google, tiktok, meta_url, google_url, tiktok_url }
    }

    /// The Secrets Manager strings cost-etl reads as `{SECRETS_PREFIX}/{platform}` (DESIGN.md
    /// shapes), for these peers' credentials: `(platform, secret string)`.
    pub fn secrets(&self) -> [(&'static str, serde_json::Value); 3] {
        [
            ("meta", serde_json::json!({ "access_token": Self::META_TOKEN })),
            (
                "google_ads",
                serde_json::json!({ "client_id": Self::GOOGLE_CLIENT_ID, "client_secret": Self::GOOGLE_CLIENT_SECRET, "refresh_token": Self::GOOGLE_REFRESH_TOKEN }),
            ),
            ("tiktok", serde_json::json!({ "access_token": Self::TIKTOK_TOKEN })),
        ]
    }

    /// cost-etl's settings (DESIGN.md names) that point it at these peers.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("META_API_BASE", self.meta_url.clone()),
            ("GOOGLE_ADS_API_BASE", self.google_url.clone()),
            ("GOOGLE_OAUTH_TOKEN_URL", format!("{}/token", self.google_url)),
            ("TIKTOK_API_BASE", self.tiktok_url.clone()),
        ]
    }
}

/// A minimal HTTP/1.1 client for the peers' own tests, which keeps this crate free of an HTTP
/// client dependency.
#[cfg(test)]
pub(crate) mod test_http {
    use std::io::{Read, Write};

    /// One request with `headers` and `body` on a connection of its own; the answer's status,
    /// its head (lower-cased) and its body.
    pub async fn request(url: &str, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String, String) {
        let addr = url.trim_start_matches("http://").to_string();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            stream.write_all(&raw).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            let text = String::from_utf8_lossy(&answer).to_string();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            (head[9..12].parse().unwrap(), head.to_ascii_lowercase(), body.to_string())
        })
        .await
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_days_cover_every_campaign_day_with_decimal_spend_and_are_stable() {
        let (from, to): (NaiveDate, NaiveDate) = ("2026-11-20".parse().unwrap(), "2026-11-21".parse().unwrap());
        let rows = synthetic_decimal_days(3, from, to, 100);
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.spend.contains('.')));
        assert_eq!(rows[0].campaign_id, "100");
        assert_eq!(rows, synthetic_decimal_days(3, from, to, 100));
    }
}
