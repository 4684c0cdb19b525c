//! How many jobs of one platform run at once in one invocation, from the platforms' documented
//! rate limits.
//!
//! Jobs of the same account never run at once (the batch loop chains them by
//! [`serial_key`]): every platform limits requests per account, and two copies of one job must
//! not race for its idempotency claim. Across accounts:
//! - **Meta**: the Marketing API's rate limits (Business Use Case limits, `ads_insights`) are per
//!   ad account, so different accounts run side by side up to `BATCH_CONCURRENCY`.
//! - **Google Ads**: requests per second are limited per customer id and per developer token, and
//!   the developer token's daily operations count requests, not concurrency; different customers
//!   run side by side up to `BATCH_CONCURRENCY`.
//! - **TikTok**: the Business API allows 10 requests per second per app for reporting, shared by
//!   every advertiser and every function instance. A job's requests follow one another (one page
//!   after the other, ~5 per second at 200 ms each), so two jobs at once per invocation, times
//!   the event source's `maximumConcurrency` (5 in prod), stays near that ceiling, and a rate-limit
//!   answer is retried with its reset hint.

use cost_job::{JobMessage, Platform};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The most jobs of `platform` one invocation runs at once; `None`: no limit beyond
/// `BATCH_CONCURRENCY`.
pub fn platform_limit(platform: Platform) -> Option<usize> {
    match platform {
        Platform::Meta | Platform::GoogleAds => None,
        Platform::Tiktok => Some(2),
    }
}

/// The batch loop's serial key of a job: its platform and account, so jobs of one account run
/// one after another.
pub fn serial_key(message: &JobMessage) -> String {
    format!("{}/{}", message.job.platform, message.job.account_id)
}

/// One semaphore per limited platform.
#[derive(Debug, Clone, Default)]
pub struct PlatformSlots {
    slots: BTreeMap<Platform, Arc<Semaphore>>,
}

impl PlatformSlots {
    pub fn new() -> PlatformSlots {
        let slots = Platform::ALL.into_iter().filter_map(|p| platform_limit(p).map(|n| (p, Arc::new(Semaphore::new(n))))).collect();
        PlatformSlots { slots }
    }

    /// Wait for a slot of `platform` (at once for an unlimited one); the slot is free again when
    /// the returned guard drops.
    pub async fn acquire(&self, platform: Platform) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = self.slots.get(&platform)?.clone();
        // The semaphore is never closed, so acquiring cannot fail.
        semaphore.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_of_one_account_share_a_key_and_others_do_not() {
        let key = |platform: &str, account: &str, from: &str| {
            let body = format!(r#"{{"platform":"{platform}","account_id":"{account}","date_from":"{from}","date_to":"2026-11-30"}}"#);
            serial_key(&JobMessage::parse_with(&body, &cost_job::JobLimits::default()).unwrap())
        };
        let a = key("meta", "act_1", "2026-11-01");
        assert_eq!(a, "meta/act_1");
        assert_eq!(key("meta", "act_1", "2026-11-20"), a, "other dates, same account");
        assert_ne!(key("meta", "act_2", "2026-11-01"), a);
        assert_ne!(key("tiktok", "1", "2026-11-01"), key("google_ads", "1", "2026-11-01"));
        // A Google Ads customer id spelled with or without dashes is one account.
        assert_eq!(key("google_ads", "123-456-7890", "2026-11-01"), key("google_ads", "1234567890", "2026-11-01"));
    }

    #[tokio::test]
    async fn limited_platforms_hand_out_their_slots_and_no_more() {
        let slots = PlatformSlots::new();
        assert!(slots.acquire(Platform::Meta).await.is_none(), "Meta is not limited");
        let first = slots.acquire(Platform::Tiktok).await.expect("a TikTok slot");
        let second = slots.acquire(Platform::Tiktok).await.expect("a second TikTok slot");
        let third = slots.slots[&Platform::Tiktok].clone().try_acquire_owned();
        assert!(third.is_err(), "a third TikTok job waits");
        drop((first, second));
        assert!(slots.slots[&Platform::Tiktok].clone().try_acquire_owned().is_ok());
    }
}
