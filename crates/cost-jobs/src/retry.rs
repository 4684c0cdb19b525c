//! Sending one batch with bounded retries of only the entries that failed.
//!
//! SendMessageBatch answers per entry: some may fail (throttled, internal error) while the rest
//! are queued. Re-sending the whole batch would duplicate the successful ones, so only failed
//! entries go again, after an exponential backoff with jitter, for a bounded number of attempts.
//! Entries failed by the sender's fault (SenderFault=true) cannot pass by retrying and are
//! reported at once. The SQS call itself is a closure, so the loop is tested without SQS.

use common::error::AwsError;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base: Duration::from_millis(200), cap: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// Upper bound of the pause before attempt `attempt` (2, 3, ...): base * 2^(attempt-2), capped.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(16);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }

    /// "Equal jitter": half the ceiling plus a random part, so parallel senders spread out.
    fn backoff(&self, attempt: u32) -> Duration {
        use std::hash::{BuildHasher, Hasher};
        let ceiling = self.backoff_ceiling(attempt);
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let half = ceiling / 2;
        half + half.mul_f64((random % 1000) as f64 / 1000.0)
    }
}

/// An entry the queue refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

/// What became of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub sent: Vec<String>,
    pub failed: Vec<EntryFailure>,
    pub calls: u32,
}

/// Send `entries` with `call`, which answers the entries that failed (all others were accepted).
/// A whole call that fails is retried like a batch of failed entries, unless the error is
/// permanent (a missing queue, access denied): then it is returned and nothing more is tried.
pub async fn send_with_retries<E, F, Fut>(entries: Vec<E>, id_of: impl Fn(&E) -> &str, mut call: F, policy: RetryPolicy) -> Result<BatchReport, AwsError>
where
    E: Clone,
    F: FnMut(Vec<E>) -> Fut,
    Fut: Future<Output = Result<Vec<EntryFailure>, AwsError>>,
{
    let mut report = BatchReport::default();
    let mut pending = entries;
    let mut attempt = 1;
    loop {
        if attempt > 1 {
            tokio::time::sleep(policy.backoff(attempt)).await;
        }
        report.calls += 1;
        let failures = match call(pending.clone()).await {
            Ok(failures) => failures,
            Err(err) if err.is_permanent() => return Err(err),
            Err(err) => pending
                .iter()
                .map(|e| EntryFailure { id: id_of(e).to_string(), code: "CallFailed".into(), message: err.to_string(), sender_fault: false })
                .collect(),
        };
        let mut retry = Vec::new();
        for entry in pending {
            match failures.iter().find(|f| f.id == id_of(&entry)) {
                None => report.sent.push(id_of(&entry).to_string()),
                Some(f) if f.sender_fault || attempt >= policy.max_attempts => report.failed.push(f.clone()),
                Some(_) => retry.push(entry),
            }
        }
        if retry.is_empty() {
            return Ok(report);
        }
        pending = retry;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn fail(id: &str, sender_fault: bool) -> EntryFailure {
        EntryFailure { id: id.into(), code: if sender_fault { "InvalidMessageContents" } else { "ServiceUnavailable" }.into(), message: "x".into(), sender_fault }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn fast() -> RetryPolicy {
        RetryPolicy { max_attempts: 3, base: Duration::from_millis(1), cap: Duration::from_millis(2) }
    }

    #[tokio::test]
    async fn only_failed_entries_are_sent_again() {
        let seen = RefCell::new(Vec::new());
        let report = send_with_retries(
            ids(&["a", "b", "c"]),
            |e| e.as_str(),
            |batch: Vec<String>| {
                seen.borrow_mut().push(batch.clone());
                let failures = if seen.borrow().len() == 1 { vec![fail("b", false)] } else { vec![] };
                async move { Ok(failures) }
            },
            fast(),
        )
        .await
        .unwrap();
        assert_eq!(*seen.borrow(), vec![ids(&["a", "b", "c"]), ids(&["b"])]);
        assert_eq!(report.sent, ids(&["a", "c", "b"]));
        assert!(report.failed.is_empty());
        assert_eq!(report.calls, 2);
    }

    #[tokio::test]
    async fn sender_faults_are_not_retried_and_attempts_are_bounded() {
        let calls = RefCell::new(0);
        let report = send_with_retries(
            ids(&["bad", "flaky", "ok"]),
            |e| e.as_str(),
            |_batch: Vec<String>| {
                *calls.borrow_mut() += 1;
                async { Ok(vec![fail("bad", true), fail("flaky", false)]) }
            },
            fast(),
        )
        .await
        .unwrap();
        assert_eq!(*calls.borrow(), 3, "max_attempts bounds the calls");
        assert_eq!(report.sent, ids(&["ok"]));
        assert_eq!(report.failed.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), vec!["bad", "flaky"]);
    }

    #[tokio::test]
    async fn a_failed_call_is_retried_but_a_permanent_one_stops_at_once() {
        let calls = RefCell::new(0);
        let report = send_with_retries(
            ids(&["a"]),
            |e| e.as_str(),
            |_b: Vec<String>| {
                *calls.borrow_mut() += 1;
                let first = *calls.borrow() == 1;
                async move {
                    if first {
                        Err(AwsError::with_code("sqs.SendMessageBatch", None, "dispatch failure"))
                    } else {
                        Ok(vec![])
                    }
                }
            },
            fast(),
        )
        .await
        .unwrap();
        assert_eq!((report.sent.len(), report.calls), (1, 2));

        let err = send_with_retries(
            ids(&["a"]),
            |e| e.as_str(),
            |_b: Vec<String>| async { Err(AwsError::with_code("sqs.SendMessageBatch", Some("AWS.SimpleQueueService.NonExistentQueue"), "The specified queue does not exist.")) },
            fast(),
        )
        .await
        .unwrap_err();
        assert!(err.is_permanent());
    }

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let p = RetryPolicy { max_attempts: 10, base: Duration::from_millis(200), cap: Duration::from_secs(1) };
        let ceilings: Vec<_> = (2..=6).map(|a| p.backoff_ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, vec![200, 400, 800, 1000, 1000]);
        assert!((2..=6).all(|a| p.backoff(a) <= p.backoff_ceiling(a) && p.backoff(a) >= p.backoff_ceiling(a) / 2));
    }
}
