//! [`JobBudget`]: what one job has read from its platform, against its share of the function's
//! memory ([`JobMemory`]).
//!
//! An adapter asks it for the cap of each answer before reading it ([`JobBudget::next_cap`]:
//! the platform's own per-answer cap, cut to what is left of the job's share), tells it what was
//! read ([`JobBudget::record`]), and passes a failed read through [`JobBudget::explain`], which
//! turns "the answer passed its cap" into [`PlatformError::JobTooLarge`] when the cap was the
//! job's share rather than the platform's per-answer limit. So the answers of one job together
//! never hold more than its share, however many pages or stream batches they come in.

use super::PlatformError;
use crate::config::JobMemory;
use cost_job::Platform;

/// Bytes and rows one job has read so far.
#[derive(Debug, Clone)]
pub struct JobBudget {
    platform: Platform,
    share: JobMemory,
    read: usize,
    rows: usize,
    /// Whether the last cap handed out was the rest of the job's share (smaller than the
    /// platform's own per-answer cap): a read stopped at it is the job's fault, not the answer's.
    capped_by_share: bool,
}

impl JobBudget {
    pub fn new(platform: Platform, share: JobMemory) -> JobBudget {
        JobBudget { platform, share, read: 0, rows: 0, capped_by_share: false }
    }

    /// What the next answer may be, bytes: `per_answer` (the platform's own cap of one page or
    /// stream), or what is left of the job's share when that is less.
    pub fn next_cap(&mut self, per_answer: usize) -> usize {
        let left = self.share.max_bytes.saturating_sub(self.read);
        self.capped_by_share = left < per_answer;
        per_answer.min(left)
    }

    /// `bytes` more were read, carrying `rows` more rows.
    pub fn record(&mut self, bytes: usize, rows: usize) {
        self.read = self.read.saturating_add(bytes);
        self.rows = self.rows.saturating_add(rows);
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> usize {
        self.read
    }

    /// A failed read, explained: an answer that passed a cap the job's share set is
    /// [`PlatformError::JobTooLarge`]; every other error is returned as it is.
    pub fn explain(&self, err: PlatformError) -> PlatformError {
        match err {
            PlatformError::TooLarge { .. } if self.capped_by_share => self.exceeded(),
            other => other,
        }
    }

    /// The job passed its share.
    pub fn exceeded(&self) -> PlatformError {
        PlatformError::JobTooLarge { platform: self.platform, share: self.share, rows: self.rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::memory::MemoryBudget;
    use common::Retryable;

    fn share(max_bytes: usize) -> JobMemory {
        JobMemory { max_bytes, memory_mb: 128, jobs: 10 }
    }

    #[test]
    fn caps_shrink_to_what_is_left_of_the_share() {
        let mut budget = JobBudget::new(Platform::Meta, share(1000));
        assert_eq!(budget.next_cap(400), 400);
        budget.record(400, 2);
        assert_eq!(budget.next_cap(400), 400);
        budget.record(350, 2);
        assert_eq!(budget.next_cap(400), 250, "the rest of the share");
        budget.record(250, 1);
        assert_eq!(budget.next_cap(400), 0, "nothing left: any byte more passes the share");
        assert_eq!(budget.bytes_read(), 1000);
    }

    #[test]
    fn a_read_stopped_by_the_share_is_the_jobs_and_says_what_to_change() {
        let too_large = || PlatformError::TooLarge { platform: Platform::Meta, limit: 1 };
        let mut budget = JobBudget::new(Platform::Meta, share(1000));
        budget.next_cap(400);
        assert_eq!(budget.explain(too_large()).code(), "too_large", "the page's own cap");
        budget.record(900, 42);
        budget.next_cap(400);
        let err = budget.explain(too_large());
        assert_eq!(err.code(), "job_too_large");
        assert!(!err.is_retryable(), "a redelivery meets the same share");
        let text = err.to_string();
        assert!(text.contains("1000 bytes (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 MB shared by BATCH_CONCURRENCY=10 jobs)"), "{text}");
        assert!(text.contains("after 42 rows") && text.contains("split the job's date range"), "{text}");
        let other = PlatformError::Timeout { platform: Platform::Meta, after: std::time::Duration::from_secs(1) };
        assert_eq!(budget.explain(other).code(), "timeout");
    }

    #[test]
    fn a_share_from_the_function_memory() {
        let memory = JobMemory::new(MemoryBudget::from_mb(128), 10);
        let mut budget = JobBudget::new(Platform::GoogleAds, memory);
        assert_eq!(budget.next_cap(64 * 1024 * 1024), memory.max_bytes);
        assert_eq!(budget.next_cap(1024), 1024);
    }
}
