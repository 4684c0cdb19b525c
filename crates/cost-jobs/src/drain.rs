//! When `wait` may stop, decided from queue readings alone.
//!
//! SQS depth attributes are approximate and lag by up to a minute, so one zero reading proves
//! little: the queue counts as drained only after `settle` consecutive empty readings. A failed
//! reading breaks the streak rather than counting for or against it.

use std::time::Duration;

/// Exit codes of `cost-jobs wait` (and of the tool as a whole; see docs/cost-jobs.md).
pub mod exit {
    pub const OK: i32 = 0;
    pub const DEAD_LETTERED: i32 = 1;
    pub const TIMED_OUT: i32 = 2;
    pub const FAILED: i32 = 3;
    /// sysexits.h EX_USAGE, kept apart from clap's default 2, which `wait` uses for a timeout.
    pub const USAGE: i32 = 64;
    /// sysexits.h EX_TEMPFAIL: `wait --once` found the run not finished yet.
    pub const NOT_YET: i32 = 75;
}

/// One GetQueueAttributes answer for the jobs queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reading {
    /// ApproximateNumberOfMessages
    pub visible: u64,
    /// ApproximateNumberOfMessagesNotVisible (received, not yet deleted)
    pub in_flight: u64,
    /// ApproximateNumberOfMessagesDelayed: not counted by the other two, yet still to come.
    pub delayed: u64,
}

impl Reading {
    pub fn is_empty(&self) -> bool {
        self.visible == 0 && self.in_flight == 0 && self.delayed == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Waiting,
    Drained,
    TimedOut,
}

/// Folds readings into a verdict.
#[derive(Debug, Clone)]
pub struct DrainWatch {
    settle: u32,
    timeout: Duration,
    streak: u32,
}

impl DrainWatch {
    pub fn new(settle: u32, timeout: Duration) -> Self {
        DrainWatch { settle: settle.max(1), timeout, streak: 0 }
    }

    /// Feed one reading (`None`: the read failed) taken `elapsed` after the start.
    /// A reading that completes the streak wins over the deadline it arrives at.
    pub fn observe(&mut self, reading: Option<Reading>, elapsed: Duration) -> Verdict {
        match reading {
            Some(r) if r.is_empty() => self.streak += 1,
            _ => self.streak = 0,
        }
        if self.streak >= self.settle {
            Verdict::Drained
        } else if elapsed >= self.timeout {
            Verdict::TimedOut
        } else {
            Verdict::Waiting
        }
    }

    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// How long to sleep before the next reading: the interval, cut short by the deadline.
    pub fn next_pause(&self, interval: Duration, elapsed: Duration) -> Duration {
        interval.min(self.timeout.saturating_sub(elapsed))
    }
}

/// The answer of a whole `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Drained and nothing new in the DLQ.
    Drained,
    /// Drained, but `count` more messages sit in the DLQ than at the start.
    DeadLettered { count: u64 },
    /// Still busy at the deadline (`dead_lettered` arrived meanwhile, when known).
    TimedOut { dead_lettered: u64 },
}

impl Outcome {
    /// `dlq_start`/`dlq_end`: DLQ depth (visible + in flight) before and after; `None` when there
    /// is no DLQ to watch. A DLQ that shrank (someone redrove it) counts as no new arrivals.
    pub fn decide(verdict: Verdict, dlq_start: Option<u64>, dlq_end: Option<u64>) -> Outcome {
        let arrived = match (dlq_start, dlq_end) {
            (Some(start), Some(end)) => end.saturating_sub(start),
            _ => 0,
        };
        match verdict {
            Verdict::TimedOut | Verdict::Waiting => Outcome::TimedOut { dead_lettered: arrived },
            Verdict::Drained if arrived > 0 => Outcome::DeadLettered { count: arrived },
            Verdict::Drained => Outcome::Drained,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Drained => exit::OK,
            Outcome::DeadLettered { .. } => exit::DEAD_LETTERED,
            Outcome::TimedOut { .. } => exit::TIMED_OUT,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Drained => "drained",
            Outcome::DeadLettered { .. } => "dead_lettered",
            Outcome::TimedOut { .. } => "timed_out",
        }
    }
}

/// Run a whole sequence of timed readings through a watch: the decision `wait` makes, minus I/O.
pub fn decide(readings: &[(Duration, Option<Reading>)], settle: u32, timeout: Duration) -> Verdict {
    let mut watch = DrainWatch::new(settle, timeout);
    for &(elapsed, reading) in readings {
        match watch.observe(reading, elapsed) {
            Verdict::Waiting => continue,
            done => return done,
        }
    }
    Verdict::Waiting
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: Option<Reading> = Some(Reading { visible: 0, in_flight: 0, delayed: 0 });

    fn busy(visible: u64, in_flight: u64) -> Option<Reading> {
        Some(Reading { visible, in_flight, delayed: 0 })
    }

    fn at(seconds: u64, reading: Option<Reading>) -> (Duration, Option<Reading>) {
        (Duration::from_secs(seconds), reading)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn drained_only_after_settle_consecutive_empty_readings() {
        assert_eq!(decide(&[at(0, EMPTY), at(10, EMPTY)], 3, HOUR), Verdict::Waiting);
        assert_eq!(decide(&[at(0, EMPTY), at(10, EMPTY), at(20, EMPTY)], 3, HOUR), Verdict::Drained);
    }

    #[test]
    fn a_busy_reading_restarts_the_streak() {
        let readings = [at(0, EMPTY), at(10, EMPTY), at(20, busy(0, 1)), at(30, EMPTY), at(40, EMPTY)];
        assert_eq!(decide(&readings, 3, HOUR), Verdict::Waiting);
        let mut more = readings.to_vec();
        more.push(at(50, EMPTY));
        assert_eq!(decide(&more, 3, HOUR), Verdict::Drained);
    }

    #[test]
    fn in_flight_and_delayed_messages_keep_the_queue_busy() {
        assert_eq!(decide(&[at(0, busy(0, 3)); 5], 1, HOUR), Verdict::Waiting);
        let delayed = Some(Reading { delayed: 1, ..Reading::default() });
        assert_eq!(decide(&[at(0, delayed); 5], 1, HOUR), Verdict::Waiting);
    }

    #[test]
    fn a_failed_reading_breaks_the_streak_instead_of_counting_as_empty() {
        assert_eq!(decide(&[at(0, EMPTY), at(1, None), at(2, EMPTY)], 2, HOUR), Verdict::Waiting);
    }

    #[test]
    fn busy_at_the_deadline_times_out() {
        assert_eq!(decide(&[at(0, busy(5, 0)), at(60, busy(1, 0))], 3, Duration::from_secs(60)), Verdict::TimedOut);
    }

    #[test]
    fn the_reading_that_completes_the_streak_at_the_deadline_counts_as_drained() {
        let readings = [at(40, EMPTY), at(50, EMPTY), at(60, EMPTY)];
        assert_eq!(decide(&readings, 3, Duration::from_secs(60)), Verdict::Drained);
    }

    #[test]
    fn the_pause_never_overshoots_the_deadline() {
        let watch = DrainWatch::new(3, Duration::from_secs(25));
        assert_eq!(watch.next_pause(Duration::from_secs(10), Duration::from_secs(10)), Duration::from_secs(10));
        assert_eq!(watch.next_pause(Duration::from_secs(10), Duration::from_secs(20)), Duration::from_secs(5));
        assert_eq!(watch.next_pause(Duration::from_secs(10), Duration::from_secs(30)), Duration::ZERO);
    }

    #[test]
    fn outcome_and_exit_code_from_verdict_and_dlq_depths() {
        assert_eq!(Outcome::decide(Verdict::Drained, Some(2), Some(2)), Outcome::Drained);
        assert_eq!(Outcome::decide(Verdict::Drained, Some(2), Some(5)), Outcome::DeadLettered { count: 3 });
        assert_eq!(Outcome::decide(Verdict::Drained, Some(5), Some(0)), Outcome::Drained, "a redriven DLQ is not an arrival");
        assert_eq!(Outcome::decide(Verdict::Drained, None, None), Outcome::Drained);
        assert_eq!(Outcome::decide(Verdict::TimedOut, Some(0), Some(1)), Outcome::TimedOut { dead_lettered: 1 });
        assert_eq!(Outcome::Drained.exit_code(), 0);
        assert_eq!(Outcome::DeadLettered { count: 1 }.exit_code(), 1);
        assert_eq!(Outcome::TimedOut { dead_lettered: 1 }.exit_code(), 2);
    }
}
