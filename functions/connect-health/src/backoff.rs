//! Backoff and caps for restarts of one task, as plain arithmetic over its restart record.
//!
//! A task is restarted at once, then after 2, 6, 12, 20, 30 … minutes (n*n+n after the n-th
//! restart, capped at 60), at most `max_restarts` times. The count resets once the task has run
//! healthy for longer than its current backoff, so a task that fails once a week is never
//! capped, while one that fails again right after every restart stops being restarted.

use chrono::{DateTime, Duration, Utc};

/// Longest wait between two restarts of one task.
pub const MAX_BACKOFF_MINUTES: i64 = 60;

/// What the restart-state table remembers about one task (or connector instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRecord {
    /// Restarts since the last reset.
    pub count: u32,
    pub last_restart_at: DateTime<Utc>,
    /// First run that saw the task healthy since its last restart.
    pub healthy_since: Option<DateTime<Utc>>,
    /// Optimistic-lock version: every write requires the version it read.
    pub version: u64,
}

/// Wait required after `restarts` restarts before the next one.
pub fn backoff_after(restarts: u32) -> Duration {
    // Past 60 restarts n*n+n is far above the cap; clamping first keeps it from overflowing.
    let n = i64::from(restarts.min(60));
    Duration::minutes((n * n + n).min(MAX_BACKOFF_MINUTES))
}

/// Whether a failed task may be restarted now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    Now,
    BackingOff { until: DateTime<Utc> },
    CapReached { restarts: u32 },
}

pub fn eligibility(record: Option<&RestartRecord>, now: DateTime<Utc>, max_restarts: u32) -> Eligibility {
    let Some(record) = record else { return Eligibility::Now };
    if record.count >= max_restarts {
        return Eligibility::CapReached { restarts: record.count };
    }
    // `last_restart_at` is read back from the table: a value near chrono's last representable
    // instant would make `+` panic, so the sum saturates (a restart "in the far future" backs off).
    let until = record.last_restart_at.checked_add_signed(backoff_after(record.count)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    if now < until {
        Eligibility::BackingOff { until }
    } else {
        Eligibility::Now
    }
}

/// True when a healthy task's record may be forgotten: it has been seen healthy for longer
/// than its current backoff.
pub fn healthy_long_enough(record: &RestartRecord, now: DateTime<Utc>) -> bool {
    record.healthy_since.is_some_and(|since| now - since > backoff_after(record.count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn record(count: u32, last: i64) -> RestartRecord {
        RestartRecord { count, last_restart_at: at(last), healthy_since: None, version: 1 }
    }

    #[test]
    fn backoff_is_n_squared_plus_n_capped_at_an_hour() {
        let minutes: Vec<i64> = (0..10).map(|n| backoff_after(n).num_minutes()).collect();
        assert_eq!(minutes, [0, 2, 6, 12, 20, 30, 42, 56, 60, 60]);
        assert_eq!(backoff_after(u32::MAX).num_minutes(), 60, "no overflow");
    }

    #[test]
    fn first_failure_restarts_at_once_then_waits() {
        assert_eq!(eligibility(None, at(0), 5), Eligibility::Now);
        assert_eq!(eligibility(Some(&record(1, 0)), at(1), 5), Eligibility::BackingOff { until: at(2) });
        assert_eq!(eligibility(Some(&record(1, 0)), at(2), 5), Eligibility::Now);
        assert_eq!(eligibility(Some(&record(3, 10)), at(21), 5), Eligibility::BackingOff { until: at(22) });
        assert_eq!(eligibility(Some(&record(3, 10)), at(22), 5), Eligibility::Now);
    }

    #[test]
    fn cap_stops_restarts() {
        assert_eq!(eligibility(Some(&record(5, 0)), at(500), 5), Eligibility::CapReached { restarts: 5 });
        assert_eq!(eligibility(Some(&record(4, 0)), at(500), 5), Eligibility::Now);
        assert_eq!(eligibility(None, at(0), 0), Eligibility::Now, "without history the cap cannot apply");
    }

    #[test]
    fn reset_after_healthy_longer_than_the_backoff() {
        let mut r = record(2, 0); // backoff 6 minutes
        assert!(!healthy_long_enough(&r, at(100)), "never seen healthy");
        r.healthy_since = Some(at(10));
        assert!(!healthy_long_enough(&r, at(16)));
        assert!(healthy_long_enough(&r, at(17)));
    }
}
