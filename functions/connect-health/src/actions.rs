//! What the report says was done about each failed target: first from the planner's verdict,
//! then, for a restart, from the outcome of its restart-state claim and of the restart call
//! that covered it. Pure: the handler does the I/O and hands the results in as plain data.

use crate::connect::ConnectError;
use crate::plan::{Decision, RestartCall, Target, Verdict};
use crate::report::{ActionReport, ActionTaken};
use crate::state::{Claim, Rollback};
use crate::status::{ConnectorStatus, State};
use std::fmt::Display;

/// Whether a verdict calls for a restart call this run (a dry run calls nothing).
pub fn restart_wanted(verdict: &Verdict, dry_run: bool) -> bool {
    !dry_run && *verdict == Verdict::Restart
}

/// The action a decision gets from its verdict alone. Final for everything but a wanted
/// restart ([`restart_wanted`]), which starts as `Deferred` without detail until its claim and
/// its call say otherwise (an [`Outcome`]).
pub fn planned_action(decision: &Decision, dry_run: bool, max_restarts: u32) -> ActionReport {
    let judgement = &decision.judgement;
    let (action, rule, detail) = match &decision.verdict {
        Verdict::Skip => (ActionTaken::Skipped, judgement.rule.as_str(), judgement.matched.as_ref().map(|m| format!("matched {m}"))),
        Verdict::CapReached { restarts } => (
            ActionTaken::Skipped,
            "restart_cap",
            Some(format!("restarted {restarts} times without staying healthy (MAX_RESTARTS={max_restarts}); policy rule {}", judgement.rule)),
        ),
        Verdict::BackingOff { until } => (ActionTaken::BackingOff, judgement.rule.as_str(), Some(format!("next restart not before {}", until.to_rfc3339()))),
        Verdict::Restart if dry_run => (ActionTaken::WouldRestart, judgement.rule.as_str(), Some("dry run".to_string())),
        Verdict::Restart => (ActionTaken::Deferred, judgement.rule.as_str(), None),
    };
    ActionReport { task: decision.target, action, rule: rule.to_string(), root_cause: judgement.root_cause.clone(), detail }
}

/// What a restart attempt made of a target: replaces the action and detail it was planned with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub action: ActionTaken,
    pub detail: Option<String>,
}

impl Outcome {
    /// Write this outcome into a target's report entry (rule and root cause stay).
    pub fn apply_to(&self, report: &mut ActionReport) {
        report.action = self.action;
        report.detail = self.detail.clone();
    }
}

/// The restart-state table could not be read this run: no restart without memory.
pub fn state_unavailable(error: &str) -> Outcome {
    Outcome { action: ActionTaken::Deferred, detail: Some(format!("restart state unavailable: {error}")) }
}

/// `None` when the claim was won and the restart may be called; otherwise why it was not.
pub fn claim_outcome<E: Display>(claim: &Result<Claim, E>) -> Option<Outcome> {
    let detail = match claim {
        Ok(Claim::Won) => return None,
        Ok(Claim::Lost) => "another invocation restarted it first".to_string(),
        Err(e) => format!("restart state not written, so not restarted: {e}"),
    };
    Some(Outcome { action: ActionTaken::Deferred, detail: Some(detail) })
}

/// What the worker's answer to one restart call means for every target the call covers: a 404
/// is a deleted connector, a 409 after its retries or a spent budget leaves the decision to the
/// next run, anything else that failed is an error.
pub fn call_outcome(result: Result<Option<ConnectorStatus>, ConnectError>) -> Outcome {
    let (action, detail) = match result {
        Ok(body) => (ActionTaken::Restarted, body.map(|s| restarting_summary(&s))),
        Err(ConnectError::NotFound { message, .. }) => (ActionTaken::Gone, Some(format!("connector is gone: {message}"))),
        Err(e @ (ConnectError::Conflict { .. } | ConnectError::BudgetSpent { .. })) => (ActionTaken::Deferred, Some(e.to_string())),
        Err(e) => (ActionTaken::Error, Some(e.to_string())),
    };
    Outcome { action, detail }
}

/// Whether a restart call's claim must be given back because the call certainly restarted
/// nothing: never sent (the run's budget was spent, no connection could be made, the name cannot
/// be put in a URL), answered 409 after its retries (a rebalance: Connect refuses the request),
/// or 404 (the connector is gone). A call that timed out or failed after it was sent, or was
/// answered anything else, may have reached the worker: its outcome is unknown, so it counts.
pub fn rollback_needed(result: &Result<Option<ConnectorStatus>, ConnectError>) -> bool {
    matches!(
        result,
        Err(ConnectError::BudgetSpent { .. }
            | ConnectError::NotSent { .. }
            | ConnectError::UnsafeName { .. }
            | ConnectError::Conflict { .. }
            | ConnectError::NotFound { .. })
    )
}

/// A call's outcome once its claim was given back: the detail says whether the attempt still
/// counts toward backoff and `MAX_RESTARTS`.
pub fn after_rollback<E: Display>(outcome: &Outcome, rollback: &Result<Rollback, E>) -> Outcome {
    let note = match rollback {
        Ok(Rollback::Restored) => "not counted as a restart".to_string(),
        Ok(Rollback::Superseded) => "restart state changed by another invocation since the claim; left as that one wrote it".to_string(),
        Err(e) => format!("counted as a restart: the claim could not be given back ({e})"),
    };
    let detail = match &outcome.detail {
        Some(detail) => format!("{detail}; {note}"),
        None => note,
    };
    Outcome { action: outcome.action, detail: Some(detail) }
}

/// Positions in `claimed` of the targets one restart call restarts: the `onlyFailed` form all
/// of them (it is only chosen when they are exactly the FAILED ones), a single call the one it
/// names.
pub fn covered(call: &RestartCall, claimed: &[Target]) -> Vec<usize> {
    let position = |target: Target| claimed.iter().position(|&t| t == target);
    match call {
        RestartCall::FailedConnectorAndTasks => (0..claimed.len()).collect(),
        RestartCall::Connector => position(Target::Connector).into_iter().collect(),
        RestartCall::Task(id) => position(Target::Task(*id)).into_iter().collect(),
    }
}

/// What the 202 body of an `onlyFailed` restart says is restarting.
fn restarting_summary(status: &ConnectorStatus) -> String {
    let mut parts = Vec::new();
    if status.connector.state == State::Restarting {
        parts.push("connector".to_string());
    }
    parts.extend(status.tasks.iter().filter(|t| t.state == State::Restarting).map(|t| format!("task {}", t.id)));
    format!("worker reports RESTARTING: {}", if parts.is_empty() { "nothing".to_string() } else { parts.join(", ") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, Judgement};
    use crate::status::{InstanceStatus, TaskStatus};
    use chrono::{TimeZone, Utc};

    fn decision(target: Target, verdict: Verdict, matched: Option<&str>) -> Decision {
        Decision {
            target,
            verdict,
            judgement: Judgement {
                action: Action::Restart,
                rule: "network-fault".into(),
                matched: matched.map(String::from),
                root_cause: Some("java.net.SocketTimeoutException: Read timed out".into()),
            },
            record: None,
        }
    }

    fn planned(verdict: Verdict, dry_run: bool) -> ActionReport {
        planned_action(&decision(Target::Task(1), verdict, Some("java.net.SocketTimeoutException: Read timed out")), dry_run, 10)
    }

    fn summary(a: &ActionReport) -> (ActionTaken, &str, Option<&str>) {
        (a.action, a.rule.as_str(), a.detail.as_deref())
    }

    #[test]
    fn verdicts_become_planned_actions() {
        let skipped = planned(Verdict::Skip, false);
        assert_eq!(summary(&skipped), (ActionTaken::Skipped, "network-fault", Some("matched java.net.SocketTimeoutException: Read timed out")));
        assert_eq!(skipped.task, Target::Task(1));
        assert_eq!(skipped.root_cause.as_deref(), Some("java.net.SocketTimeoutException: Read timed out"));

        let default_skip = planned_action(&decision(Target::Connector, Verdict::Skip, None), false, 10);
        assert_eq!(summary(&default_skip), (ActionTaken::Skipped, "network-fault", None), "no matched cause, no detail");
        assert_eq!(default_skip.task, Target::Connector);

        assert_eq!(
            summary(&planned(Verdict::CapReached { restarts: 10 }, false)),
            (ActionTaken::Skipped, "restart_cap", Some("restarted 10 times without staying healthy (MAX_RESTARTS=10); policy rule network-fault"))
        );

        let until = Utc.with_ymd_and_hms(2026, 11, 20, 12, 3, 0).unwrap();
        assert_eq!(
            summary(&planned(Verdict::BackingOff { until }, false)),
            (ActionTaken::BackingOff, "network-fault", Some("next restart not before 2026-11-20T12:03:00+00:00"))
        );

        assert_eq!(summary(&planned(Verdict::Restart, true)), (ActionTaken::WouldRestart, "network-fault", Some("dry run")));
        let restart = planned(Verdict::Restart, false);
        assert_eq!(summary(&restart), (ActionTaken::Deferred, "network-fault", None), "deferred until the call says otherwise");
        assert_eq!(restart.root_cause.as_deref(), Some("java.net.SocketTimeoutException: Read timed out"));
    }

    #[test]
    fn a_dry_run_and_every_other_verdict_want_no_restart() {
        let until = Utc.with_ymd_and_hms(2026, 11, 20, 12, 3, 0).unwrap();
        assert!(restart_wanted(&Verdict::Restart, false));
        assert!(!restart_wanted(&Verdict::Restart, true));
        for verdict in [Verdict::Skip, Verdict::BackingOff { until }, Verdict::CapReached { restarts: 3 }] {
            for dry_run in [false, true] {
                assert!(!restart_wanted(&verdict, dry_run), "{verdict:?} dry_run={dry_run}");
                assert_ne!(planned(verdict.clone(), dry_run).action, ActionTaken::Deferred, "only a wanted restart starts deferred");
            }
        }
    }

    #[test]
    fn only_a_won_claim_lets_the_restart_go_ahead() {
        assert_eq!(claim_outcome::<&str>(&Ok(Claim::Won)), None);
        assert_eq!(
            claim_outcome::<&str>(&Ok(Claim::Lost)),
            Some(Outcome { action: ActionTaken::Deferred, detail: Some("another invocation restarted it first".into()) })
        );
        assert_eq!(
            claim_outcome(&Err::<Claim, _>("dynamodb.PutItem: throttled")),
            Some(Outcome { action: ActionTaken::Deferred, detail: Some("restart state not written, so not restarted: dynamodb.PutItem: throttled".into()) })
        );
        assert_eq!(
            state_unavailable("dynamodb.Scan: access denied"),
            Outcome { action: ActionTaken::Deferred, detail: Some("restart state unavailable: dynamodb.Scan: access denied".into()) }
        );
    }

    fn status(connector: &str, tasks: &[(u32, &str)]) -> ConnectorStatus {
        ConnectorStatus {
            name: "es-sink".into(),
            connector: InstanceStatus { state: State::parse(connector), worker_id: None, trace: None },
            tasks: tasks.iter().map(|&(id, state)| TaskStatus { id, state: State::parse(state), worker_id: None, trace: None }).collect(),
            kind: Some("sink".into()),
        }
    }

    #[test]
    fn call_results_become_outcomes() {
        let what = || "POST /connectors/es-sink/tasks/1/restart".to_string();
        assert_eq!(call_outcome(Ok(None)), Outcome { action: ActionTaken::Restarted, detail: None });
        assert_eq!(
            call_outcome(Ok(Some(status("RESTARTING", &[(0, "RESTARTING"), (1, "RUNNING"), (2, "RESTARTING")])))),
            Outcome { action: ActionTaken::Restarted, detail: Some("worker reports RESTARTING: connector, task 0, task 2".into()) }
        );
        assert_eq!(call_outcome(Ok(Some(status("RUNNING", &[(0, "RUNNING")])))).detail.as_deref(), Some("worker reports RESTARTING: nothing"));
        assert_eq!(
            call_outcome(Err(ConnectError::NotFound { what: what(), message: "Unknown connector es-sink".into() })),
            Outcome { action: ActionTaken::Gone, detail: Some("connector is gone: Unknown connector es-sink".into()) }
        );
        assert_eq!(
            call_outcome(Err(ConnectError::Conflict { what: what(), message: "rebalance".into() })),
            Outcome { action: ActionTaken::Deferred, detail: Some("POST /connectors/es-sink/tasks/1/restart: answered 409, a rebalance is under way: rebalance".into()) }
        );
        assert_eq!(
            call_outcome(Err(ConnectError::BudgetSpent { what: what() })),
            Outcome { action: ActionTaken::Deferred, detail: Some("POST /connectors/es-sink/tasks/1/restart: not attempted, the run's time budget is spent".into()) }
        );
        assert_eq!(
            call_outcome(Err(ConnectError::Status { what: what(), status: 500, message: "boom".into() })),
            Outcome { action: ActionTaken::Error, detail: Some("POST /connectors/es-sink/tasks/1/restart: answered HTTP 500: boom".into()) }
        );
        assert_eq!(call_outcome(Err(ConnectError::Unauthorized { what: what(), status: 401 })).action, ActionTaken::Error);
        assert_eq!(call_outcome(Err(ConnectError::Unreachable { what: what(), reason: "connection refused".into() })).action, ActionTaken::Error);
    }

    #[test]
    fn only_calls_that_certainly_restarted_nothing_give_their_claim_back() {
        let what = || "POST /connectors/es-sink/tasks/1/restart".to_string();
        let rolled_back = |e: ConnectError| rollback_needed(&Err(e));
        // Never sent.
        assert!(rolled_back(ConnectError::BudgetSpent { what: what() }));
        assert!(rolled_back(ConnectError::NotSent { what: what(), reason: "tcp connect error: Connection refused".into() }));
        assert!(rolled_back(ConnectError::UnsafeName { what: what(), name: "\"..\"".into() }));
        // Answered, and Connect did nothing.
        assert!(rolled_back(ConnectError::Conflict { what: what(), message: "rebalance".into() }));
        assert!(rolled_back(ConnectError::NotFound { what: what(), message: "Unknown connector es-sink".into() }));
        // Sent, outcome unknown or a restart: counts.
        assert!(!rollback_needed(&Ok(None)));
        assert!(!rollback_needed(&Ok(Some(status("RESTARTING", &[(0, "RESTARTING")])))));
        assert!(!rolled_back(ConnectError::Timeout { what: what(), after: std::time::Duration::from_secs(10) }));
        assert!(!rolled_back(ConnectError::Unreachable { what: what(), reason: "connection reset by peer".into() }));
        assert!(!rolled_back(ConnectError::Status { what: what(), status: 500, message: "boom".into() }));
        assert!(!rolled_back(ConnectError::Status { what: what(), status: 502, message: "bad gateway".into() }));
        assert!(!rolled_back(ConnectError::Unauthorized { what: what(), status: 401 }));
        assert!(!rolled_back(ConnectError::TooLarge { what: what(), limit: 1024 }));
        assert!(!rolled_back(ConnectError::Decode { what: what(), reason: "expected value".into() }));
    }

    #[test]
    fn a_rollback_says_whether_the_attempt_still_counts() {
        let deferred = Outcome { action: ActionTaken::Deferred, detail: Some("answered 409".into()) };
        assert_eq!(
            after_rollback::<&str>(&deferred, &Ok(Rollback::Restored)),
            Outcome { action: ActionTaken::Deferred, detail: Some("answered 409; not counted as a restart".into()) }
        );
        assert_eq!(
            after_rollback::<&str>(&deferred, &Ok(Rollback::Superseded)).detail.as_deref(),
            Some("answered 409; restart state changed by another invocation since the claim; left as that one wrote it")
        );
        let failed = after_rollback(&deferred, &Err::<Rollback, _>("AWS dynamodb.PutItem failed: throttled"));
        assert_eq!(failed.detail.as_deref(), Some("answered 409; counted as a restart: the claim could not be given back (AWS dynamodb.PutItem failed: throttled)"));
        assert_eq!(failed.action, ActionTaken::Deferred, "the action is the call's");
        let bare = Outcome { action: ActionTaken::Gone, detail: None };
        assert_eq!(after_rollback::<&str>(&bare, &Ok(Rollback::Restored)).detail.as_deref(), Some("not counted as a restart"));
    }

    #[test]
    fn a_call_covers_exactly_the_claimed_targets_it_restarts() {
        let claimed = [Target::Task(2), Target::Connector, Target::Task(5)];
        assert_eq!(covered(&RestartCall::FailedConnectorAndTasks, &claimed), [0, 1, 2]);
        assert_eq!(covered(&RestartCall::Connector, &claimed), [1]);
        assert_eq!(covered(&RestartCall::Task(5), &claimed), [2]);
        assert!(covered(&RestartCall::Task(3), &claimed).is_empty(), "a target not claimed is not covered");
        assert!(covered(&RestartCall::Connector, &[Target::Task(1)]).is_empty());
        assert!(covered(&RestartCall::FailedConnectorAndTasks, &[]).is_empty());
    }

    #[test]
    fn an_outcome_replaces_action_and_detail_but_keeps_rule_and_cause() {
        let mut report = planned(Verdict::Restart, false);
        Outcome { action: ActionTaken::Gone, detail: Some("connector is gone: x".into()) }.apply_to(&mut report);
        assert_eq!(summary(&report), (ActionTaken::Gone, "network-fault", Some("connector is gone: x")));
        assert_eq!(report.root_cause.as_deref(), Some("java.net.SocketTimeoutException: Read timed out"));
        Outcome { action: ActionTaken::Restarted, detail: None }.apply_to(&mut report);
        assert_eq!(summary(&report), (ActionTaken::Restarted, "network-fault", None));
    }
}
