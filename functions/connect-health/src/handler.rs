//! One run: read every cluster, plan, restart, remember, publish metrics, report.
//! Orchestration only: the decisions are in `plan` and `policy`, what each decision and call
//! came to in `actions`, the totals in `report`.

use crate::actions::{call_outcome, claim_outcome, covered, planned_action, restart_wanted, state_unavailable};
use crate::backoff::RestartRecord;
use crate::config::{ClusterConfig, Config};
use crate::connect::{BasicAuth, ConnectClient, ConnectError, Deadline, Expanded};
use crate::metrics;
use crate::plan::{restart_calls, restart_plan, ConnectorPlan, PlanSettings, Target};
use crate::report::{ActionReport, ClusterReport, ConnectorReport, MetricsReport, Report};
use crate::state::RestartState;
use crate::status::{ConnectorStatus, KafkaVersion};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Kept here too, so `connect_health::handler::Clients` still names it.
pub use crate::clients::Clients;

/// Budget when the invocation context carries no usable deadline (a local emulator).
const FALLBACK_BUDGET: Duration = Duration::from_secs(60);

/// Connectors restarted concurrently within one cluster.
const RESTART_CONCURRENCY: usize = 8;

/// Everything built once per cold start.
pub struct App {
    config: Config,
    clients: Clients,
    http: reqwest::Client,
    state: RestartState,
    /// Basic-auth credentials per cluster, read once per cold start (a failed read is retried
    /// on the next run).
    auth: Vec<OnceCell<Option<BasicAuth>>>,
}

impl App {
    pub fn new(config: Config, clients: Clients) -> Result<App, lambda_runtime::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.http_timeout)
            .timeout(config.http_timeout)
            // Connect forwards to its leader itself; a redirect would only carry credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("connect-health/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let state = match &config.restart_state_table {
            Some(table) => RestartState::DynamoDb { client: clients.dynamodb.clone(), table: table.clone() },
            None => RestartState::Disabled,
        };
        let auth = config.clusters.iter().map(|_| OnceCell::new()).collect();
        Ok(App { config, clients, http, state, auth })
    }

    pub async fn from_env() -> Result<App, lambda_runtime::Error> {
        let config = Config::from_env(&common::config::Env::from_process())?;
        let sdk = common::aws::load_config().await;
        App::new(config, Clients::from_sdk_config(&sdk))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handle one scheduled (EventBridge) or manual invocation; the event body is not used.
    pub async fn handle(&self, event: lambda_runtime::LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, lambda_runtime::Error> {
        let source = event.payload.get("detail-type").and_then(serde_json::Value::as_str).unwrap_or("manual invocation");
        // Work stops `reserve` before the deadline so that metrics and the answer still go out.
        let deadline = Deadline::from_context(&event.context, FALLBACK_BUDGET).less(self.config.reserve);
        tracing::info!(source, budget_ms = deadline.remaining().as_millis() as u64, "connect-health run");
        let report = self.run(deadline).await;
        Ok(serde_json::to_value(report)?)
    }

    /// One run against every cluster; never fails as a whole, each failure is in the report.
    pub async fn run(&self, deadline: Deadline) -> Report {
        let now = Utc::now();
        let history = self.state.load().await.map_err(|e| {
            tracing::error!(error = %e, "restart state unreadable; restarts are deferred this run");
            e.to_string()
        });
        let clusters = futures::future::join_all(self.config.clusters.iter().enumerate().map(|(i, c)| {
            let history = history.as_ref();
            async move {
                let started = std::time::Instant::now();
                let mut report = self.check_cluster(i, c, history, now, deadline).await;
                report.elapsed_ms = started.elapsed().as_millis() as u64;
                report
            }
        }))
        .await;
        let mut report = Report { run_at: now, dry_run: self.config.dry_run, clusters, metrics: MetricsReport::default() };
        report.metrics = self.publish_metrics(&report).await;
        report
    }

    async fn publish_metrics(&self, report: &Report) -> MetricsReport {
        let datums = metrics::datums(report);
        let count = datums.len();
        let batches = metrics::batches(&datums, report.run_at);
        let namespace = self.config.metrics_namespace.clone();
        match metrics::publish(&self.clients.cloudwatch, &namespace, batches).await {
            Ok(put_calls) => MetricsReport { namespace, datums: count, put_calls, error: None },
            Err((put_calls, e)) => {
                tracing::error!(error = %e, "publishing metrics failed");
                MetricsReport { namespace, datums: count, put_calls, error: Some(e.to_string()) }
            }
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
        let auth = match self.auth_for(index, cluster).await {
            Ok(auth) => auth,
            Err(e) => {
                tracing::error!(cluster = cluster.name, error = %e, "cluster skipped");
                return ClusterReport::unreachable(&cluster.name, e, 0);
            }
        };
        let client = match ConnectClient::new(self.http.clone(), &cluster.url, auth, self.config.http_timeout, self.config.max_body_bytes) {
            Ok(c) => c,
            Err(e) => return ClusterReport::unreachable(&cluster.name, e.to_string(), 0),
        };
        let (raw_version, statuses) = match read_statuses(&client, deadline).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(cluster = cluster.name, error = %e, "cluster unreachable");
                return ClusterReport::unreachable(&cluster.name, e.to_string(), client.calls());
            }
        };
        let version = KafkaVersion::parse(&raw_version);
        let empty = HashMap::new();
        let plans = restart_plan(&cluster.name, &statuses, history.unwrap_or(&empty), &self.config.policy, PlanSettings { max_restarts: self.config.max_restarts }, now);
        drop(statuses);
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
        ClusterReport::from_connectors(&cluster.name, raw_version, connectors, client.calls())
    }

    async fn auth_for(&self, index: usize, cluster: &ClusterConfig) -> Result<Option<BasicAuth>, String> {
        let Some(secret_id) = &cluster.auth_secret_id else { return Ok(None) };
        self.auth[index]
            .get_or_try_init(|| async { common::secrets::read_json::<BasicAuth>(&self.clients.secrets, secret_id).await.map(Some) })
            .await
            .cloned()
            .map_err(|e| format!("basic-auth {e}"))
    }
}

/// `GET /`, then every status in as few calls as the worker's version allows.
async fn read_statuses(client: &ConnectClient, deadline: Deadline) -> Result<(String, Vec<ConnectorStatus>), ConnectError> {
    let info = client.server_info(deadline).await?;
    let version = KafkaVersion::parse(&info.version);
    let statuses = if version.is_some_and(KafkaVersion::has_expand_status) {
        match client.statuses_expanded(deadline).await? {
            Expanded::Statuses(s) => s,
            // A worker that says >= 2.3 but ignores `expand` (a proxy, a fork): fall back.
            Expanded::Names(names) => client.statuses_one_by_one(names, deadline).await?,
        }
    } else {
        let names = client.connector_names(deadline).await?;
        client.statuses_one_by_one(names, deadline).await?
    };
    let mut statuses = statuses;
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
            tracing::info!(
                cluster = self.cluster,
                connector = plan.name,
                task = %serde_json::to_string(&a.task).unwrap_or_default(),
                action = ?a.action,
                rule = a.rule,
                root_cause = a.root_cause.as_deref().unwrap_or(""),
                detail = a.detail.as_deref().unwrap_or(""),
                "task action"
            );
        }
        ConnectorReport { name: plan.name, kind: plan.kind, state: plan.state, tasks: plan.tasks, actions }
    }

    /// Claim, then restart, the decisions at `chosen`; their actions start as `Deferred` and
    /// each claim or call that settles one overwrites it in place.
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
            let claim = self.app.state.claim(&d.key, d.record.as_ref(), self.now).await;
            match claim_outcome(&claim) {
                None => claimed.push(i),
                Some(outcome) => outcome.apply_to(&mut actions[i]),
            }
        }
        let targets: Vec<Target> = claimed.iter().map(|&i| plan.decisions[i].target).collect();
        let config = &self.app.config;
        for call in restart_calls(&targets, &plan.failed, self.only_failed) {
            let result = self.client.restart_retrying(&plan.name, &call, self.deadline, config.conflict_attempts, config.conflict_backoff).await;
            let outcome = call_outcome(result);
            for position in covered(&call, &targets) {
                outcome.apply_to(&mut actions[claimed[position]]);
            }
        }
    }
}
