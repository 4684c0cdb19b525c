//! Which jobs of a batch run one after another, from the platforms' documented rate limits.
//!
//! Jobs of the same account never run at once (the batch loop chains them by
//! [`serial_key`]): every platform limits requests per account, and two copies of one job must
//! not race for its idempotency claim. Across accounts:
//! - **Meta**: the Marketing API's rate limits (Business Use Case limits, `ads_insights`) are per
//!   ad account, so different accounts run side by side up to `BATCH_CONCURRENCY`.
//! - **Google Ads**: requests per second are limited per customer id and per developer token, and
//!   the developer token's daily operations count requests, not concurrency; different customers
//!   run side by side up to `BATCH_CONCURRENCY`.
//! - **TikTok**: its limit is per app, so the adapter itself fetches at most
//!   [`crate::platforms::tiktok::JOBS_AT_ONCE`] jobs at once.

use cost_job::JobMessage;

/// The batch loop's serial key of a job: its platform and account, so jobs of one account run
/// one after another.
pub fn serial_key(message: &JobMessage) -> String {
    format!("{}/{}", message.job.platform, message.job.account_id)
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
}
