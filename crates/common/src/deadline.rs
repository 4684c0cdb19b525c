//! The invocation's time budget, taken from the Lambda context (feature `lambda`) or given.
//!
//! Lambda sends the deadline as epoch milliseconds. Runtime API emulators do not all agree:
//! cargo-lambda 1.9 sends a bare duration (`600000`), which read as an epoch instant lies in
//! 1970 and would make every run think its time was up. A deadline that is in the past by more
//! than a day is therefore read as "not a real clock" and replaced by the configured fallback,
//! so the same binary behaves sensibly under Lambda and under the emulator.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in time by which the invocation must have answered.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    /// The same point as epoch milliseconds, fixed when the deadline is made, so every reader of
    /// one invocation's deadline (a claim written and later given back) sees the same number.
    epoch_ms: u64,
}

fn now_epoch_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Deadline {
    /// The deadline of this invocation; `fallback` is the budget when the context has no usable one.
    #[cfg(feature = "lambda")]
    pub fn from_context(ctx: &lambda_runtime::Context, fallback: Duration) -> Deadline {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Deadline::after(budget_from_epoch_ms(ctx.deadline, now_ms, fallback))
    }

    pub fn after(budget: Duration) -> Deadline {
        // A budget too large for the clock (a hostile or broken deadline) is capped at a day.
        let budget = budget.min(Duration::from_secs(86_400));
        Deadline { at: Instant::now() + budget, epoch_ms: now_epoch_ms().saturating_add(budget.as_millis() as u64) }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The deadline moved earlier by `margin`: the point by which work must stop so that the
    /// function still has `margin` left to report.
    pub fn less(&self, margin: Duration) -> Deadline {
        let margin = margin.min(self.remaining());
        Deadline { at: self.at.checked_sub(margin).unwrap_or_else(Instant::now), epoch_ms: self.epoch_ms.saturating_sub(margin.as_millis() as u64) }
    }

    /// The deadline as epoch milliseconds (for ledger expiry); the same value on every call.
    pub fn epoch_millis(&self) -> u64 {
        self.epoch_ms
    }
}

/// How long is left, given the context's deadline and the current time (both epoch ms).
pub fn budget_from_epoch_ms(deadline_ms: u64, now_ms: u64, fallback: Duration) -> Duration {
    const ONE_DAY_MS: u64 = 24 * 60 * 60 * 1000;
    if deadline_ms.saturating_add(ONE_DAY_MS) < now_ms {
        // Not an epoch instant (an emulator's bare duration, or 0): use the configured budget.
        return fallback;
    }
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_000_000_000;

    #[test]
    fn a_real_deadline_gives_the_time_left() {
        assert_eq!(budget_from_epoch_ms(NOW + 30_000, NOW, Duration::from_secs(900)), Duration::from_secs(30));
    }

    #[test]
    fn a_deadline_just_passed_leaves_nothing() {
        assert_eq!(budget_from_epoch_ms(NOW - 5, NOW, Duration::from_secs(900)), Duration::ZERO);
    }

    #[test]
    fn an_emulator_duration_or_zero_falls_back_to_the_configured_budget() {
        assert_eq!(budget_from_epoch_ms(600_000, NOW, Duration::from_secs(60)), Duration::from_secs(60));
        assert_eq!(budget_from_epoch_ms(0, NOW, Duration::from_secs(60)), Duration::from_secs(60));
    }

    #[test]
    fn the_epoch_form_is_fixed_and_follows_less() {
        let d = Deadline::after(Duration::from_secs(60));
        let first = d.epoch_millis();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(d.epoch_millis(), first, "stable across calls");
        assert_eq!(d.less(Duration::from_secs(10)).epoch_millis(), first - 10_000);
        assert!(Deadline::after(Duration::MAX).remaining() <= Duration::from_secs(86_400), "a hostile budget is capped");
    }

    #[test]
    fn less_never_goes_before_now() {
        let d = Deadline::after(Duration::from_secs(1)).less(Duration::from_secs(10));
        assert_eq!(d.remaining(), Duration::ZERO);
    }
}
