//! Splitting an inclusive date range into consecutive pieces of at most N days (jobs of a
//! request on the orchestrator's side, API-sized spans of a job on the worker's side).

use chrono::{Days, NaiveDate};

/// `from..=to` as consecutive inclusive ranges of at most `max_days` days (0 counts as 1), in
/// order, the last one possibly shorter; empty when `from > to`.
pub fn split_range(from: NaiveDate, to: NaiveDate, max_days: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let step = u64::from(max_days.max(1));
    let mut ranges = Vec::new();
    if from > to {
        return ranges;
    }
    let mut start = from;
    loop {
        // checked_add fails only past year 262143; the end is then clamped to `to`.
        let end = start.checked_add_days(Days::new(step - 1)).map_or(to, |end| end.min(to));
        ranges.push((start, end));
        match end.succ_opt() {
            Some(next) if end < to => start = next,
            _ => return ranges,
        }
    }
}
