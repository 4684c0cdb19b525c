//! The idempotency ledger: "has this job been done already, or is someone doing it right now?"
//!
//! SQS delivers at least once and orchestrators enqueue twice, so a job must be recognisable by
//! what it *is* (a hash of its canonical form), not by the message that carried it. The ledger
//! is a [`Ledger`] trait with a DynamoDB implementation ([`DynamoLedger`], the Powertools for
//! AWS Lambda table shape, so existing tables, dashboards and TTL settings carry over) and an
//! in-memory one ([`MemoryLedger`], for benches and tests of callers).
//!
//! The state machine is one pure function, [`claim_decision`], used by both: a missing or
//! expired record can be taken; a COMPLETED record is a duplicate; an INPROGRESS record blocks
//! until its `in_progress_expiration`, which a claimer sets to its own invocation deadline, so a
//! crashed invocation never blocks a job for longer than it could have run.
//!
//! Table: partition key `id` (S); `status` (S) `INPROGRESS` | `COMPLETED`; `expiration` (N,
//! epoch seconds, the table's TTL attribute); `in_progress_expiration` (N, epoch milliseconds);
//! `data` (S, optional, a small JSON summary of the result); `last_error_code`, `last_error` (S)
//! and `last_error_at` (N, epoch seconds): the last failure of the work, kept when a failed claim
//! is given back and through later claims (so a message the queue's redrive policy moves to the
//! dead-letter queue can still be explained), dropped when the work completes.

use common::error::{AwsError, ErrorClass, Retryable};
pub use common::key::IdempotencyKey;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const STATUS_IN_PROGRESS: &str = "INPROGRESS";
pub const STATUS_COMPLETED: &str = "COMPLETED";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => STATUS_IN_PROGRESS,
            Status::Completed => STATUS_COMPLETED,
        }
    }
}

/// One ledger item, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    pub status: Status,
    /// Epoch seconds after which the record no longer counts (DynamoDB TTL deletes it later).
    pub expiration: i64,
    /// Epoch milliseconds after which an INPROGRESS claim may be taken over.
    pub in_progress_expiration: Option<i64>,
    pub data: Option<String>,
    /// The last failure, kept across later claims until the work completes.
    pub last_failure: Option<LastFailure>,
}

/// Why the last attempt at a piece of work failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    /// A short stable code (e.g. `platform.unavailable`).
    pub code: String,
    /// For people; bounded to [`LastFailure::MAX_MESSAGE_CHARS`], control characters escaped.
    pub message: String,
    /// Epoch seconds.
    pub at: i64,
}

impl LastFailure {
    pub const MAX_MESSAGE_CHARS: usize = 1000;

    /// A failure that happened now.
    pub fn now(code: &str, message: &str) -> LastFailure {
        LastFailure {
            code: common::text::bounded(code, 100),
            message: common::text::bounded(message, Self::MAX_MESSAGE_CHARS),
            at: epoch_secs(SystemTime::now()),
        }
    }
}

/// What a claim attempt finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Nobody holds the job (or the holder's time ran out): take it.
    Take,
    /// Done already: acknowledge without doing it again.
    Completed { data: Option<String> },
    /// Another invocation is on it until this moment (epoch ms): try again later.
    InProgress { until_ms: i64 },
}

/// The ledger's state machine, over plain data.
pub fn claim_decision(existing: Option<&LedgerRecord>, now: SystemTime) -> ClaimDecision {
    let Some(record) = existing else { return ClaimDecision::Take };
    if record.expiration < epoch_secs(now) {
        // TTL deletion lags by up to days; an expired record counts as absent.
        return ClaimDecision::Take;
    }
    match record.status {
        Status::Completed => ClaimDecision::Completed { data: record.data.clone() },
        Status::InProgress => match record.in_progress_expiration {
            Some(until_ms) if until_ms < epoch_millis(now) => ClaimDecision::Take,
            Some(until_ms) => ClaimDecision::InProgress { until_ms },
            // Written without a claim deadline: held until the record expires (Powertools does the same).
            None => ClaimDecision::InProgress { until_ms: record.expiration.saturating_mul(1000) },
        },
    }
}

/// The outcome of [`Ledger::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the job until the deadline it gave.
    Claimed,
    AlreadyCompleted { data: Option<String> },
    HeldElsewhere { until: SystemTime },
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("idempotency ledger: {0}")]
    Aws(#[from] AwsError),
    #[error("idempotency ledger: item {id} in table {table} is malformed ({reason}); delete it to let the job run")]
    Malformed { table: String, id: String, reason: String },
}

impl Retryable for LedgerError {
    fn class(&self) -> ErrorClass {
        match self {
            LedgerError::Aws(e) => e.class(),
            LedgerError::Malformed { .. } => ErrorClass::Permanent,
        }
    }
}

/// Where claims live. Object-safe so callers can hold `Arc<dyn Ledger>`.
pub trait Ledger: Send + Sync {
    /// Claim `key` until `hold_until` (the claiming invocation's deadline).
    fn claim<'a>(&'a self, key: &'a IdempotencyKey, hold_until: SystemTime) -> BoxFuture<'a, Result<Claim, LedgerError>>;

    /// Mark `key` done, with an optional small JSON summary; it stays done for the completed TTL.
    fn complete<'a>(&'a self, key: &'a IdempotencyKey, data: Option<&'a str>) -> BoxFuture<'a, Result<(), LedgerError>>;

    /// Give up the claim made with `hold_until` after a failure so the next delivery can take it
    /// at once, remembering why it failed. Touches only that claim: never a completion, never a
    /// claim another invocation made meanwhile.
    fn release<'a>(&'a self, key: &'a IdempotencyKey, hold_until: SystemTime, failure: &'a LastFailure) -> BoxFuture<'a, Result<(), LedgerError>>;
}

fn epoch_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Epoch seconds `ttl` after `now`, saturating (a TTL too large for the clock never wraps into the past).
fn expires_after(now: SystemTime, ttl: Duration) -> i64 {
    epoch_secs(now).saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

fn epoch_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn held_until(decision_ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(decision_ms.max(0) as u64)
}

fn to_claim(decision: ClaimDecision) -> Claim {
    match decision {
        ClaimDecision::Take => Claim::Claimed,
        ClaimDecision::Completed { data } => Claim::AlreadyCompleted { data },
        ClaimDecision::InProgress { until_ms } => Claim::HeldElsewhere { until: held_until(until_ms) },
    }
}

/// The ledger in a DynamoDB table (Powertools shape, see the module docs).
#[derive(Clone)]
pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
    completed_ttl: Duration,
}

impl DynamoLedger {
    /// `completed_ttl`: how long a COMPLETED record makes duplicates no-ops (Powertools' default is one hour).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, completed_ttl: Duration) -> Self {
        DynamoLedger { client, table: table.into(), completed_ttl }
    }

    /// Read one record (consistent read); for callers' diagnostics and tests.
    pub async fn get(&self, key: &IdempotencyKey) -> Result<Option<LedgerRecord>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.as_str().to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::new("dynamodb.GetItem", &e))?;
        out.item().map(|item| self.parse(key, item)).transpose()
    }

    fn parse(&self, key: &IdempotencyKey, item: &HashMap<String, AttributeValue>) -> Result<LedgerRecord, LedgerError> {
        let malformed = |reason: &str| LedgerError::Malformed { table: self.table.clone(), id: key.as_str().to_string(), reason: reason.to_string() };
        let status = match item.get("status").and_then(|v| v.as_s().ok()).map(String::as_str) {
            Some(STATUS_IN_PROGRESS) => Status::InProgress,
            Some(STATUS_COMPLETED) => Status::Completed,
            _ => return Err(malformed("status is not INPROGRESS or COMPLETED")),
        };
        let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).map(|n| n.parse::<i64>());
        let expiration = match number("expiration") {
            Some(Ok(n)) => n,
            _ => return Err(malformed("expiration is not a number of epoch seconds")),
        };
        let in_progress_expiration = match number("in_progress_expiration") {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return Err(malformed("in_progress_expiration is not a number of epoch milliseconds")),
        };
        let data = item.get("data").and_then(|v| v.as_s().ok()).cloned();
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let last_failure = match (text("last_error_code"), text("last_error")) {
            (Some(code), Some(message)) => {
                let at = number("last_error_at").and_then(Result::ok).unwrap_or(0);
                Some(LastFailure { code, message, at })
            }
            _ => None,
        };
        Ok(LedgerRecord { status, expiration, in_progress_expiration, data, last_failure })
    }

    async fn claim_inner(&self, key: &IdempotencyKey, hold_until: SystemTime) -> Result<Claim, LedgerError> {
        let now = SystemTime::now();
        // The same rule as `claim_decision`, evaluated by DynamoDB atomically.
        // An update, not a put: a failure remembered by an earlier release stays with the item.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.as_str().to_string()))
            .update_expression("SET #status = :inprogress, #expiry = :expiry, #in_progress_expiry = :hold REMOVE #data")
            .condition_expression("attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiry", "in_progress_expiration")
            .expression_attribute_names("#data", "data")
            .expression_attribute_values(":expiry", AttributeValue::N((expires_after(now, self.completed_ttl)).to_string()))
            .expression_attribute_values(":hold", AttributeValue::N(epoch_millis(hold_until).to_string()))
            .expression_attribute_values(":now", AttributeValue::N(epoch_secs(now).to_string()))
            .expression_attribute_values(":now_in_millis", AttributeValue::N(epoch_millis(now).to_string()))
            .expression_attribute_values(":inprogress", AttributeValue::S(STATUS_IN_PROGRESS.into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(err) => {
                let Some(conflict) = err.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => Some(c),
                    _ => None,
                }) else {
                    return Err(AwsError::new("dynamodb.UpdateItem", &err).into());
                };
                let existing = match conflict.item() {
                    Some(item) => Some(self.parse(key, item)?),
                    // Older DynamoDB-compatible stores do not return the item; read it.
                    None => self.get(key).await?,
                };
                match claim_decision(existing.as_ref(), now) {
                    // The holder's time ran out between its write and our read: the next
                    // delivery takes it over; do not race it here.
                    ClaimDecision::Take => Ok(Claim::HeldElsewhere { until: now }),
                    other => Ok(to_claim(other)),
                }
            }
        }
    }

    async fn complete_inner(&self, key: &IdempotencyKey, data: Option<&str>) -> Result<(), LedgerError> {
        let expiration = expires_after(SystemTime::now(), self.completed_ttl);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(key.as_str().to_string()))
            .item("status", AttributeValue::S(STATUS_COMPLETED.into()))
            .item("expiration", AttributeValue::N(expiration.to_string()));
        if let Some(data) = data {
            put = put.item("data", AttributeValue::S(data.to_string()));
        }
        put.send().await.map_err(|e| AwsError::new("dynamodb.PutItem", &e))?;
        Ok(())
    }

    async fn release_inner(&self, key: &IdempotencyKey, hold_until: SystemTime, failure: &LastFailure) -> Result<(), LedgerError> {
        // The claim ends now (an INPROGRESS hold in the past is free to take) and the failure
        // stays on the item for whoever reads it next.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.as_str().to_string()))
            .update_expression("SET #in_progress_expiry = :released, last_error_code = :code, last_error = :message, last_error_at = :at")
            // Only our own claim: never a COMPLETED record (another delivery may have finished
            // meanwhile), never another invocation's claim.
            .condition_expression("#status = :inprogress AND #in_progress_expiry = :mine")
            .expression_attribute_values(":mine", AttributeValue::N(epoch_millis(hold_until).to_string()))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiry", "in_progress_expiration")
            .expression_attribute_values(":inprogress", AttributeValue::S(STATUS_IN_PROGRESS.into()))
            .expression_attribute_values(":released", AttributeValue::N("0".into()))
            .expression_attribute_values(":code", AttributeValue::S(failure.code.clone()))
            .expression_attribute_values(":message", AttributeValue::S(failure.message.clone()))
            .expression_attribute_values(":at", AttributeValue::N(failure.at.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(err) => Err(AwsError::new("dynamodb.UpdateItem", &err).into()),
        }
    }
}

impl Ledger for DynamoLedger {
    fn claim<'a>(&'a self, key: &'a IdempotencyKey, hold_until: SystemTime) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        Box::pin(self.claim_inner(key, hold_until))
    }

    fn complete<'a>(&'a self, key: &'a IdempotencyKey, data: Option<&'a str>) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.complete_inner(key, data))
    }

    fn release<'a>(&'a self, key: &'a IdempotencyKey, hold_until: SystemTime, failure: &'a LastFailure) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.release_inner(key, hold_until, failure))
    }
}

/// The ledger in process memory: the same state machine, no persistence (benches, tests).
pub struct MemoryLedger {
    completed_ttl: Duration,
    records: Mutex<HashMap<IdempotencyKey, LedgerRecord>>,
}

impl MemoryLedger {
    pub fn new(completed_ttl: Duration) -> Self {
        MemoryLedger { completed_ttl, records: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, key: &IdempotencyKey) -> Option<LedgerRecord> {
        self.records.lock().expect("ledger lock").get(key).cloned()
    }

    /// Put a record as it is (to stage a "crashed" claim in tests).
    pub fn insert(&self, key: IdempotencyKey, record: LedgerRecord) {
        self.records.lock().expect("ledger lock").insert(key, record);
    }
}

impl Ledger for MemoryLedger {
    fn claim<'a>(&'a self, key: &'a IdempotencyKey, hold_until: SystemTime) -> BoxFuture<'a, Result<Claim, LedgerError>> {
        let now = SystemTime::now();
        let mut records = self.records.lock().expect("ledger lock");
        let decision = claim_decision(records.get(key), now);
        if decision == ClaimDecision::Take {
            let last_failure = records.get(key).and_then(|r| r.last_failure.clone());
            records.insert(
                key.clone(),
                LedgerRecord {
                    status: Status::InProgress,
                    expiration: expires_after(now, self.completed_ttl),
                    in_progress_expiration: Some(epoch_millis(hold_until)),
                    data: None,
                    last_failure,
                },
            );
        }
        Box::pin(std::future::ready(Ok(to_claim(decision))))
    }

    fn complete<'a>(&'a self, key: &'a IdempotencyKey, data: Option<&'a str>) -> BoxFuture<'a, Result<(), LedgerError>> {
        let record = LedgerRecord {
            status: Status::Completed,
            expiration: expires_after(SystemTime::now(), self.completed_ttl),
            in_progress_expiration: None,
            data: data.map(str::to_string),
            last_failure: None,
        };
        self.records.lock().expect("ledger lock").insert(key.clone(), record);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, key: &'a IdempotencyKey, hold_until: SystemTime, failure: &'a LastFailure) -> BoxFuture<'a, Result<(), LedgerError>> {
        let mut records = self.records.lock().expect("ledger lock");
        let mine = Some(epoch_millis(hold_until));
        if let Some(record) = records.get_mut(key).filter(|r| r.status == Status::InProgress && r.in_progress_expiration == mine) {
            record.in_progress_expiration = Some(0);
            record.last_failure = Some(failure.clone());
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000; // a fixed "now", epoch seconds

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn record(status: Status, expiration: u64, in_progress_ms: Option<u64>) -> LedgerRecord {
        LedgerRecord { status, expiration: expiration as i64, in_progress_expiration: in_progress_ms.map(|m| m as i64), data: None, last_failure: None }
    }

    #[test]
    fn keys_hash_the_canonical_text_under_a_namespace() {
        let a = IdempotencyKey::derive("cost-etl", r#"{"platform":"meta"}"#);
        assert_eq!(a, IdempotencyKey::derive("cost-etl", r#"{"platform":"meta"}"#));
        assert_ne!(a, IdempotencyKey::derive("cost-etl", r#"{"platform":"tiktok"}"#));
        assert_ne!(a, IdempotencyKey::derive("other-fn", r#"{"platform":"meta"}"#));
        assert!(a.as_str().starts_with("cost-etl#"));
        assert_eq!(a.as_str().len(), "cost-etl#".len() + 64);
    }

    #[test]
    fn an_enormous_ttl_saturates_instead_of_wrapping_into_the_past() {
        assert_eq!(expires_after(at(T0), Duration::MAX), i64::MAX);
        assert_eq!(expires_after(at(T0), Duration::from_secs(60)), T0 as i64 + 60);
    }

    #[test]
    fn state_machine_absent_and_expired_records_can_be_taken() {
        assert_eq!(claim_decision(None, at(T0)), ClaimDecision::Take);
        let expired_done = record(Status::Completed, T0 - 1, None);
        assert_eq!(claim_decision(Some(&expired_done), at(T0)), ClaimDecision::Take);
    }

    #[test]
    fn state_machine_completed_is_a_duplicate_until_it_expires() {
        let mut done = record(Status::Completed, T0 + 3600, None);
        done.data = Some(r#"{"rows":3}"#.into());
        assert_eq!(claim_decision(Some(&done), at(T0)), ClaimDecision::Completed { data: Some(r#"{"rows":3}"#.into()) });
        assert_eq!(claim_decision(Some(&done), at(T0 + 3601)), ClaimDecision::Take);
    }

    #[test]
    fn state_machine_in_progress_blocks_until_the_claimers_deadline() {
        let held = record(Status::InProgress, T0 + 3600, Some((T0 + 60) * 1000));
        assert_eq!(claim_decision(Some(&held), at(T0)), ClaimDecision::InProgress { until_ms: ((T0 + 60) * 1000) as i64 });
        assert_eq!(claim_decision(Some(&held), at(T0 + 60)), ClaimDecision::InProgress { until_ms: ((T0 + 60) * 1000) as i64 });
        assert_eq!(claim_decision(Some(&held), at(T0 + 61)), ClaimDecision::Take, "a crashed claimer's hold ends with its deadline");
        let no_deadline = record(Status::InProgress, T0 + 10, None);
        assert_eq!(claim_decision(Some(&no_deadline), at(T0)), ClaimDecision::InProgress { until_ms: ((T0 + 10) * 1000) as i64 });
        assert_eq!(claim_decision(Some(&no_deadline), at(T0 + 11)), ClaimDecision::Take);
    }

    #[tokio::test]
    async fn memory_ledger_walks_claim_complete_release() {
        let ledger = MemoryLedger::new(Duration::from_secs(3600));
        let key = IdempotencyKey::derive("t", "job");
        let hold = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(ledger.claim(&key, hold).await.unwrap(), Claim::Claimed);
        assert!(matches!(ledger.claim(&key, hold).await.unwrap(), Claim::HeldElsewhere { .. }));
        let failure = LastFailure::now("platform.unavailable", "meta/act_1: HTTP 503");
        ledger.release(&key, hold + Duration::from_secs(1), &failure).await.unwrap();
        assert_eq!(ledger.get(&key).unwrap().last_failure, None, "another claim (another hold) is not released");
        ledger.release(&key, hold, &failure).await.unwrap();
        assert_eq!(ledger.get(&key).unwrap().last_failure.as_ref(), Some(&failure));
        assert_eq!(ledger.claim(&key, hold).await.unwrap(), Claim::Claimed, "released claims are free at once");
        assert_eq!(ledger.get(&key).unwrap().last_failure.as_ref(), Some(&failure), "the last failure outlives the next claim");
        ledger.complete(&key, Some("{}")).await.unwrap();
        assert_eq!(ledger.get(&key).unwrap().last_failure, None, "completion clears it");
        assert_eq!(ledger.claim(&key, hold).await.unwrap(), Claim::AlreadyCompleted { data: Some("{}".into()) });
        ledger.release(&key, hold, &failure).await.unwrap();
        assert_eq!(ledger.get(&key).unwrap().status, Status::Completed, "release never undoes a completion");
    }

    #[tokio::test]
    async fn memory_ledger_takes_over_a_crashed_claim_after_its_deadline() {
        let ledger = MemoryLedger::new(Duration::from_secs(3600));
        let key = IdempotencyKey::derive("t", "job");
        let crashed_deadline = SystemTime::now() - Duration::from_secs(1);
        assert_eq!(ledger.claim(&key, crashed_deadline).await.unwrap(), Claim::Claimed);
        assert_eq!(ledger.claim(&key, SystemTime::now() + Duration::from_secs(60)).await.unwrap(), Claim::Claimed);
    }
}
