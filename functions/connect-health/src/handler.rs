//! One run: read every cluster, plan, restart, remember, publish metrics, report.
//! Orchestration only: the decisions are in `plan` and `policy`, what each decision and call
//! came to in `actions`, the totals in `report`.
//!
//! Memory: at most `CLUSTER_CONCURRENCY` clusters are checked at once, each reading at most its
//! body cap (its share of the function's memory) per answer, its statuses into digests as they
//! arrive; the digests become plans, the plans reports, each step consuming the one before.

use crate::actions::{after_rollback, call_outcome, claim_outcome, covered, planned_action, restart_wanted, rollback_needed, state_unavailable};
use crate::backoff::RestartRecord;
use crate::config::{ClusterConfig, Config};
use crate::connect::{BasicAuth, ConnectClient, ConnectError, Deadline, Expanded, CONNECTORS_AT_ONCE};
use crate::digest::StatusDigest;
use crate::metrics;
use crate::plan::{failed_targets, only_failed_candidate, restart_calls, restart_plan, state_key, ConnectorPlan, PlanSettings, Target};
use crate::policy::Policy;
use crate::report::{ActionReport, ClusterReport, ConnectorReport, LoggedAction, MetricsReport, Report};
use crate::state::{claimed_version, RestartState};
use crate::status::KafkaVersion;
use chrono::{DateTime, Utc};
use common::text::bounded;
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;

/// Kept here too, so `connect_health::handler::Clients` still names it.
pub use crate::clients::Clients;

/// Budget when the invocation context carries no usable deadline (a local emulator).
const FALLBACK_BUDGET: Duration = Duration::from_secs(60);

/// Connectors restarted concurrently within one cluster (their answers share the cluster's
/// body cap, see `connect`).
const RESTART_CONCURRENCY: usize = CONNECTORS_AT_ONCE;

/// Everything built once per cold start.
pub struct App {
    config: Config,
    clients: Clients,
    /// The HTTP client for Kafka Connect. Cheap to build: the system's trusted roots are read on
    /// the first TLS handshake (`common::http::client_builder`), not here.
    http: reqwest::Client,
    state: RestartState,
    /// Basic-auth credentials per cluster (by index; `None` until read), kept for the
    /// container's life, read again when the cluster rejects them (a rotated password). A failed
    /// read caches nothing, so the next run tries again.
    auth: Vec<Mutex<Option<BasicAuth>>>,
}

impl App {
    pub fn new(config: Config, clients: Clients) -> Result<App, lambda_runtime::Error> {
        let http = common::http::client_builder()
            .connect_timeout(config.http_timeout)
            .timeout(config.http_timeout)
            // Connect forwards to its leader itself; a redirect would only carry credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("connect-health/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let state = match &config.restart_state_table {
            Some(table) => RestartState::dynamodb(clients.dynamodb.clone(), table.clone()),
            None => RestartState::Disabled,
        };
        let auth = config.clusters.iter().map(|_| Mutex::new(None)).collect();
        Ok(App { config, clients, http, state, auth })
    }

    pub async fn from_env() -> Result<App, lambda_runtime::Error> {
        let config = Config::from_env(&common::config::Env::from_process())?;
        let sdk = common::aws::lambda_config();
        App::new(config, Clients::from_sdk_config(&sdk))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handle one scheduled (EventBridge) or manual invocation; the event body is not used.
    /// Answers the report, or fails when a metrics batch could not be published (after sending
    /// all of them), so that Lambda's `Errors` metric and the function's error alarm fire.
    /// The report is answered as it is: the runtime serializes it once, straight to the bytes it
    /// sends (a `serde_json::Value` of it first would cost several times its size).
    pub async fn handle(&self, event: lambda_runtime::LambdaEvent<serde_json::Value>) -> Result<Report, lambda_runtime::Error> {
        let source = event.payload.get("detail-type").and_then(serde_json::Value::as_str).unwrap_or("manual invocation");
        // Work stops `reserve` before the deadline so that metrics and the answer still go out.
        let deadline = Deadline::from_context(&event.context, FALLBACK_BUDGET).less(self.config.reserve);
        tracing::info!(source, budget_ms = deadline.remaining().as_millis() as u64, "connect-health run");
        let report = self.run(deadline).await;
        if let Some(failure) = metrics::failure(&report.metrics) {
            // A failed invocation answers only its error: the report goes to the log first, on
            // one line, so what the run saw and did is not lost.
            let logged = serde_json::to_string(&report)?;
            tracing::info!(report = %logged, "connect-health report");
            tracing::error!(error = %failure, "invocation failed");
            return Err(failure.into());
        }
        Ok(report)
    }

    /// One run against every cluster; never fails as a whole, each failure is in the report.
    pub async fn run(&self, deadline: Deadline) -> Report {
        let now = Utc::now();
        let history = self.state.load().await.map_err(|e| {
            tracing::error!(error = %e, "restart state unreadable; restarts are deferred this run");
            e.to_string()
        });
        // `CLUSTER_CONCURRENCY` clusters at once, each within its share of the memory; they
        // finish in any order and are reported in the configuration's.
        let mut checked: Vec<(usize, ClusterReport)> = futures::stream::iter(self.config.clusters.iter().enumerate())
            .map(|(i, c)| {
                let history = history.as_ref();
                async move {
                    let started = std::time::Instant::now();
                    let mut report = self.check_cluster(i, c, history, now, deadline).await;
                    report.elapsed_ms = started.elapsed().as_millis() as u64;
                    (i, report)
                }
            })
            .buffer_unordered(self.config.cluster_concurrency.max(1))
            .collect()
            .await;
        checked.sort_by_key(|(i, _)| *i);
        let clusters = checked.into_iter().map(|(_, report)| report).collect();
        let mut report = Report { run_at: now, dry_run: self.config.dry_run, clusters, metrics: MetricsReport::default() };
        report.metrics = self.publish_metrics(&report).await;
        report
    }

    async fn publish_metrics(&self, report: &Report) -> MetricsReport {
        let datums = metrics::datums(report, self.config.connector_metrics);
        let count = datums.len();
        let namespace = self.config.metrics_namespace.clone();
        // Each batch's SDK datums are built just before it is sent, not all of them at once.
        let published = metrics::publish(&self.clients.cloudwatch, &namespace, metrics::lazy_batches(&datums, report.run_at)).await;
        if let Some(e) = &published.first_error {
            tracing::error!(failed = published.failed, of = published.calls, first_error = %e, "publishing metrics failed");
        }
        MetricsReport {
            namespace,
            datums: count,
            put_calls: published.calls,
            failed_batches: published.failed,
            error: published.first_error.map(|e| bounded(&e.to_string(), 1000)),
        }
    }

    async fn check_cluster(
        &self,
        index: usize,
        cluster: &ClusterConfig,
        history: Result<&HashMap<String, RestartRecord>, &String>,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> ClusterReport {
        let ClusterRead { client, raw_version, statuses, earlier_calls } = match self.read_cluster(index, cluster, deadline).await {
            Ok(read) => read,
            Err(unreachable) => return unreachable,
        };
        let version = KafkaVersion::parse(&raw_version);
        let empty = HashMap::new();
        // The digests are consumed: their names and judgements move into the plans.
        let plans = restart_plan(&cluster.name, statuses, history.unwrap_or(&empty), PlanSettings { max_restarts: self.config.max_restarts }, now);
        let run = ClusterRun {
            app: self,
            cluster: &cluster.name,
            client: &client,
            only_failed: version.is_some_and(KafkaVersion::has_restart_only_failed),
            state_error: history.err().filter(|_| self.state.enabled()).cloned(),
            now,
            deadline,
        };
        let connectors: Vec<ConnectorReport> = futures::stream::iter(plans).map(|plan| run.execute(plan)).buffered(RESTART_CONCURRENCY).collect().await;
        ClusterReport::from_connectors(&cluster.name, raw_version, connectors, earlier_calls + client.calls())
    }

    /// Credentials, client and every status of one cluster. When the cluster answers 401/403 to
    /// credentials from the cache, the secret is read again and the cluster tried once more (a
    /// rotated password needs no cold start). `Err` is the cluster's report entry saying why it
    /// could not be read.
    async fn read_cluster(&self, index: usize, cluster: &ClusterConfig, deadline: Deadline) -> Result<ClusterRead, ClusterReport> {
        let unreachable = |error: String, calls: u32| {
            // Connector names from the worker can be part of the error (`GET /connectors/{name}/status`).
            let error = bounded(&error, 1000);
            tracing::error!(cluster = cluster.name, error = %error, "cluster unreachable");
            ClusterReport::unreachable(&cluster.name, error, calls)
        };
        let mut earlier_calls = 0;
        let mut reread = false;
        loop {
            let (auth, read_now) = self.auth_for(index, cluster, reread).await.map_err(|e| unreachable(e, earlier_calls))?;
            let client = ConnectClient::new(self.http.clone(), &cluster.url, auth, self.config.http_timeout, self.config.max_body_bytes)
                .map_err(|e| unreachable(e.to_string(), earlier_calls))?;
            let error = match read_statuses(&client, &self.config.policy, deadline).await {
                Ok((raw_version, statuses)) => return Ok(ClusterRead { client, raw_version, statuses, earlier_calls }),
                Err(e) => e,
            };
            let calls = earlier_calls + client.calls();
            match (&error, &cluster.auth_secret_id) {
                (ConnectError::Unauthorized { .. }, Some(_)) if !read_now => {
                    tracing::warn!(cluster = cluster.name, error = %error, "cached credentials rejected; reading the secret again");
                    earlier_calls = calls;
                    reread = true;
                }
                (ConnectError::Unauthorized { what, status }, Some(secret_id)) => {
                    return Err(unreachable(format!("credentials rejected; check secret {secret_id} ({what} answered HTTP {status} to the credentials just read from it)"), calls));
                }
                _ => return Err(unreachable(error.to_string(), calls)),
            }
        }
    }

    /// The cluster's basic-auth credentials (`None` without `auth_secret_id`), and whether they
    /// were read from the secret just now: from the cache, unless there are none yet or `reread`
    /// asks to drop them. Secret values never reach an error or a log.
    async fn auth_for(&self, index: usize, cluster: &ClusterConfig, reread: bool) -> Result<(Option<BasicAuth>, bool), String> {
        let Some(secret_id) = &cluster.auth_secret_id else { return Ok((None, false)) };
        let mut cached = self.auth[index].lock().await;
        if reread {
            *cached = None;
        }
        if let Some(auth) = cached.as_ref() {
            return Ok((Some(auth.clone()), false));
        }
        let auth = common::secrets::read_json::<BasicAuth>(&self.clients.secret_source(), secret_id).await.map_err(|e| format!("basic-auth {e}"))?;
        *cached = Some(auth.clone());
        Ok((Some(auth), true))
    }
}

/// One cluster, read: the client (for the restarts), the worker's version and every status
/// digest, and the HTTP calls of an earlier attempt whose credentials were rejected.
struct ClusterRead {
    client: ConnectClient,
    raw_version: String,
    statuses: Vec<StatusDigest>,
    earlier_calls: u32,
}

/// `GET /`, then every status in as few calls as the worker's version allows, each failed target
/// judged by `policy` as it is read.
async fn read_statuses(client: &ConnectClient, policy: &Policy, deadline: Deadline) -> Result<(String, Vec<StatusDigest>), ConnectError> {
    let info = client.server_info(deadline).await?;
    let version = KafkaVersion::parse(&info.version);
    let mut statuses = if version.is_some_and(KafkaVersion::has_expand_status) {
        match client.statuses_expanded(policy, deadline).await? {
            Expanded::Statuses(s) => s,
            // A worker that says >= 2.3 but ignores `expand` (a proxy, a fork): fall back.
            Expanded::Names(names) => client.statuses_one_by_one(names, policy, deadline).await?,
        }
    } else {
        let names = client.connector_names(deadline).await?;
        client.statuses_one_by_one(names, policy, deadline).await?
    };
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((info.version, statuses))
}

/// What one cluster's run shares between its connectors.
struct ClusterRun<'a> {
    app: &'a App,
    cluster: &'a str,
    client: &'a ConnectClient,
    only_failed: bool,
    /// Set when the restart-state table could not be read: no restart without memory.
    state_error: Option<String>,
    now: DateTime<Utc>,
    deadline: Deadline,
}

impl ClusterRun<'_> {
    async fn execute(&self, plan: ConnectorPlan) -> ConnectorReport {
        let config = &self.app.config;
        let mut actions: Vec<ActionReport> = plan.decisions.iter().map(|d| planned_action(d, config.dry_run, config.max_restarts)).collect();
        let to_restart: Vec<usize> = plan.decisions.iter().enumerate().filter(|(_, d)| restart_wanted(&d.verdict, config.dry_run)).map(|(i, _)| i).collect();
        if !to_restart.is_empty() {
            self.restart(&plan, &to_restart, &mut actions).await;
        }
        if !config.dry_run && self.state_error.is_none() {
            for update in &plan.history {
                if let Err(e) = self.app.state.apply(update, self.now).await {
                    tracing::warn!(cluster = self.cluster, connector = plan.name, error = %e, "restart-state bookkeeping failed");
                }
            }
        }
        for a in &actions {
            let line = LoggedAction::new(&plan.name, a);
            tracing::info!(
                cluster = self.cluster,
                connector = %line.connector,
                task = %line.task,
                action = %line.action,
                rule = %line.rule,
                root_cause = %line.root_cause,
                detail = %line.detail,
                "task action"
            );
        }
        ConnectorReport { name: plan.name, kind: plan.kind, state: plan.state, tasks: plan.tasks, actions }
    }

    /// Claim, then restart, the decisions at `chosen`; their actions start as `Deferred` and
    /// each claim or call that settles one overwrites it in place. A call that certainly
    /// restarted nothing gives its claims back, so it does not count toward backoff and caps.
    async fn restart(&self, plan: &ConnectorPlan, chosen: &[usize], actions: &mut [ActionReport]) {
        if let Some(e) = &self.state_error {
            let outcome = state_unavailable(e);
            for &i in chosen {
                outcome.apply_to(&mut actions[i]);
            }
            return;
        }
        let mut claimed: Vec<usize> = Vec::new();
        for &i in chosen {
            let d = &plan.decisions[i];
            let claim = self.app.state.claim(&state_key(self.cluster, &plan.name, d.target), d.record.as_ref(), self.now).await;
            match claim_outcome(&claim) {
                None => claimed.push(i),
                Some(outcome) => outcome.apply_to(&mut actions[i]),
            }
        }
        let targets: Vec<Target> = claimed.iter().map(|&i| plan.decisions[i].target).collect();
        let config = &self.app.config;
        let fresh_failed = if only_failed_candidate(&targets, &plan.failed, self.only_failed) { self.fresh_failed(&plan.name).await } else { None };
        for call in restart_calls(&targets, fresh_failed.as_deref()) {
            let result = self.client.restart_retrying(&plan.name, &call, self.deadline, config.conflict_attempts, config.conflict_backoff).await;
            let give_back = rollback_needed(&result) && self.app.state.enabled();
            let outcome = call_outcome(result);
            for position in covered(&call, &targets) {
                let i = claimed[position];
                if !give_back {
                    outcome.apply_to(&mut actions[i]);
                    continue;
                }
                let d = &plan.decisions[i];
                let rollback = self.app.state.rollback(&state_key(self.cluster, &plan.name, d.target), d.record.as_ref(), claimed_version(d.record.as_ref())).await;
                if let Err(e) = &rollback {
                    tracing::warn!(cluster = self.cluster, connector = plan.name, task = %d.target, error = %e, "restart claim not given back; it counts as a restart");
                }
                after_rollback(&outcome, &rollback).apply_to(&mut actions[i]);
            }
        }
    }

    /// The FAILED targets of the connector's status read just now (just before an `onlyFailed`
    /// restart); `None` when it could not be read, which means one call per target.
    async fn fresh_failed(&self, connector: &str) -> Option<Vec<Target>> {
        match self.client.connector_status(connector, self.deadline).await {
            Ok(Some(status)) => Some(failed_targets(&status)),
            Ok(None) => None,
            Err(e) => {
                tracing::info!(cluster = self.cluster, connector, error = %e, "status not read again before the restart; restarting target by target");
                None
            }
        }
    }
}
