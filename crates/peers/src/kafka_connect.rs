//! Local Kafka Connect REST peer: the status and restart endpoints of a Connect worker,
//! following Apache Kafka's `ConnectorsResource` and `ConnectorStateInfo` for the version it
//! pretends to be.
//!
//! What differs by version, as in the real worker:
//! - before 2.3 `GET /connectors?expand=status` ignores `expand` and lists names (KIP-465);
//! - before 3.0 `POST /connectors/{name}/restart` ignores `includeTasks`/`onlyFailed`, restarts
//!   only the connector instance and answers 204 (KIP-745); from 3.0 those parameters restart
//!   the chosen connector and tasks and answer 202 with their status marked `RESTARTING`.
//!
//! Status bodies omit `trace` when empty and write `type` in lower case. Errors are
//! `{"error_code":N,"message":"..."}`; basic auth failures answer 401 with a plain-text body,
//! like `BasicAuthSecurityRestExtension`. Tests seed connectors, inject 409s (a rebalance),
//! change a task just before a connector's status is read (a task failing between a client's
//! bulk read and its restart), and read back every call and restart the peer received.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// A connector or task state as Connect writes it.
pub const RUNNING: &str = "RUNNING";
pub const FAILED: &str = "FAILED";
pub const PAUSED: &str = "PAUSED";
pub const UNASSIGNED: &str = "UNASSIGNED";
pub const STOPPED: &str = "STOPPED";

#[derive(Debug, Clone)]
pub struct Task {
    pub id: u32,
    pub state: String,
    pub worker_id: String,
    pub trace: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Connector {
    /// `source` or `sink` (Connect's `ConnectorType`, lower case on the wire).
    pub kind: String,
    pub state: String,
    pub worker_id: String,
    pub trace: Option<String>,
    pub tasks: Vec<Task>,
}

/// One request the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    /// Path and query as sent, e.g. `/connectors?expand=status`.
    pub uri: String,
    pub status: u16,
}

/// One restart the peer performed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Restarted {
    Connector(String),
    Task(String, u32),
}

/// A task change that the next `GET /connectors/{connector}/status` makes before answering.
#[derive(Debug, Clone)]
struct PendingChange {
    connector: String,
    task: u32,
    state: String,
    trace: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    version: String,
    connectors: BTreeMap<String, Connector>,
    auth: Option<(String, String)>,
    conflicts_to_inject: u32,
    on_status_read: Vec<PendingChange>,
    calls: Vec<Call>,
    restarts: Vec<Restarted>,
    /// Restarts wait until this many status reads were answered (`hold_restarts_until_status_reads`).
    restart_gate: usize,
}

/// The peer's state, shared between the server and the test that seeds and inspects it.
#[derive(Clone, Debug)]
pub struct KafkaConnect {
    inner: Arc<Mutex<Inner>>,
}

impl KafkaConnect {
    /// A worker that reports `version` from `GET /` (e.g. `2.2.0`, `2.8.2`, `3.7.0`).
    pub fn new(version: &str) -> KafkaConnect {
        KafkaConnect { inner: Arc::new(Mutex::new(Inner { version: version.to_string(), ..Inner::default() })) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Require HTTP basic auth with these credentials.
    pub fn with_basic_auth(self, username: &str, password: &str) -> KafkaConnect {
        self.set_basic_auth(username, password);
        self
    }

    /// Require these credentials from now on (a password rotation while the peer runs).
    pub fn set_basic_auth(&self, username: &str, password: &str) {
        self.lock().auth = Some((username.to_string(), password.to_string()));
    }

    /// Add (or replace) a connector with `tasks` tasks, all in `task_state`.
    pub fn add_connector(&self, name: &str, kind: &str, state: &str, tasks: u32, task_state: &str) {
        let tasks = (0..tasks).map(|id| Task { id, state: task_state.to_string(), worker_id: worker(id), trace: None }).collect();
        self.lock()
            .connectors
            .insert(name.to_string(), Connector { kind: kind.to_string(), state: state.to_string(), worker_id: worker(0), trace: None, tasks });
    }

    /// Set a task's state; `trace` is kept only for FAILED, as Connect does.
    pub fn set_task(&self, connector: &str, id: u32, state: &str, trace: Option<&str>) {
        let mut inner = self.lock();
        let c = inner.connectors.get_mut(connector).unwrap_or_else(|| panic!("peer has no connector {connector}"));
        let task = c.tasks.iter_mut().find(|t| t.id == id).unwrap_or_else(|| panic!("peer connector {connector} has no task {id}"));
        task.state = state.to_string();
        task.trace = trace.filter(|_| state == FAILED).map(String::from);
    }

    /// Set the connector instance's state.
    pub fn set_connector(&self, connector: &str, state: &str, trace: Option<&str>) {
        let mut inner = self.lock();
        let c = inner.connectors.get_mut(connector).unwrap_or_else(|| panic!("peer has no connector {connector}"));
        c.state = state.to_string();
        c.trace = trace.filter(|_| state == FAILED).map(String::from);
    }

    /// The next `GET /connectors/{connector}/status` first sets task `id` to `state` (`trace`
    /// kept only for FAILED): a task that fails after a client's bulk read
    /// (`GET /connectors?expand=status`) and before its restart.
    pub fn set_task_on_next_status_read(&self, connector: &str, id: u32, state: &str, trace: Option<&str>) {
        self.lock().on_status_read.push(PendingChange {
            connector: connector.to_string(),
            task: id,
            state: state.to_string(),
            trace: trace.filter(|_| state == FAILED).map(String::from),
        });
    }

    pub fn remove_connector(&self, connector: &str) {
        self.lock().connectors.remove(connector);
    }

    /// Restart requests wait (at most 5 s) until `n` status reads (`GET` of a `.../status` or
    /// `?expand=status`) have been answered: overlapping clients then all see the state from
    /// before any restart, whatever order their requests interleave in.
    pub fn hold_restarts_until_status_reads(&self, n: usize) {
        self.lock().restart_gate = n;
    }

    /// The next `n` restart requests answer 409, as during a rebalance.
    pub fn inject_conflicts(&self, n: u32) {
        self.lock().conflicts_to_inject = n;
    }

    pub fn task_state(&self, connector: &str, id: u32) -> Option<String> {
        self.lock().connectors.get(connector)?.tasks.iter().find(|t| t.id == id).map(|t| t.state.clone())
    }

    pub fn connector_state(&self, connector: &str) -> Option<String> {
        self.lock().connectors.get(connector).map(|c| c.state.clone())
    }

    /// Every request received so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Every restart performed so far, in order.
    pub fn restarts(&self) -> Vec<Restarted> {
        self.lock().restarts.clone()
    }

    /// Forget received calls and restarts (between two invocations of a test).
    pub fn clear_log(&self) {
        let mut inner = self.lock();
        inner.calls.clear();
        inner.restarts.clear();
    }

    fn version_at_least(&self, major: u32, minor: u32) -> bool {
        let inner = self.lock();
        let mut parts = inner.version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        v >= (major, minor)
    }
}

fn worker(id: u32) -> String {
    format!("10.0.0.{}:8083", 10 + id % 3)
}

/// Bind a free port on 127.0.0.1 and serve `peer` there; returns the base URL
/// (`http://127.0.0.1:PORT`) and the server task (abort it, or drop the runtime, to stop).
pub async fn serve(peer: KafkaConnect) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    let handle = tokio::spawn(async move {
        axum::serve(listener, router(peer)).await.expect("kafka connect peer");
    });
    (url, handle)
}

/// The routes, for embedding in another server.
pub fn router(peer: KafkaConnect) -> Router {
    Router::new()
        .route("/", get(server_info))
        .route("/connectors", get(list_connectors))
        .route("/connectors/{connector}/status", get(connector_status))
        .route("/connectors/{connector}/restart", post(restart_connector))
        .route("/connectors/{connector}/tasks/{task}/restart", post(restart_task))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HTTP 404 Not Found") })
        .layer(middleware::from_fn_with_state(peer.clone(), auth_and_record))
        .with_state(peer)
}

/// Basic auth (when configured) and the call log, around every request.
async fn auth_and_record(State(peer): State<KafkaConnect>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let expected = peer.lock().auth.clone();
    let response = match expected {
        Some((user, password)) if !authorized(request.headers(), &user, &password) => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain")],
            Body::from("User cannot access the resource."),
        )
            .into_response(),
        _ => next.run(request).await,
    };
    peer.lock().calls.push(Call { method, uri, status: response.status().as_u16() });
    response
}

fn authorized(headers: &HeaderMap, user: &str, password: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(encoded) = value.strip_prefix("Basic ") else { return false };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
    decoded == format!("{user}:{password}").as_bytes()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error_code": status.as_u16(), "message": message }))).into_response()
}

async fn server_info(State(peer): State<KafkaConnect>) -> Response {
    let version = peer.lock().version.clone();
    Json(json!({ "version": version, "commit": "5e3c2b738d253ff5", "kafka_cluster_id": "peer-kafka-cluster" })).into_response()
}

fn status_json(name: &str, c: &Connector) -> Value {
    let mut connector = json!({ "state": c.state, "worker_id": c.worker_id });
    if let Some(trace) = c.trace.as_ref().filter(|t| !t.is_empty()) {
        connector["trace"] = json!(trace);
    }
    let tasks: Vec<Value> = c
        .tasks
        .iter()
        .map(|t| {
            let mut task = json!({ "id": t.id, "state": t.state, "worker_id": t.worker_id });
            if let Some(trace) = t.trace.as_ref().filter(|t| !t.is_empty()) {
                task["trace"] = json!(trace);
            }
            task
        })
        .collect();
    json!({ "name": name, "connector": connector, "tasks": tasks, "type": c.kind.to_lowercase() })
}

async fn list_connectors(State(peer): State<KafkaConnect>, Query(query): Query<Vec<(String, String)>>) -> Response {
    let expansions: Vec<String> = query.into_iter().filter(|(k, _)| k == "expand").map(|(_, v)| v).collect();
    if expansions.is_empty() || !peer.version_at_least(2, 3) {
        let names: Vec<String> = peer.lock().connectors.keys().cloned().collect();
        return Json(names).into_response();
    }
    let inner = peer.lock();
    let mut out = serde_json::Map::new();
    for (name, c) in &inner.connectors {
        let mut expanded = serde_json::Map::new();
        for e in &expansions {
            match e.as_str() {
                "status" => {
                    expanded.insert("status".into(), status_json(name, c));
                }
                "info" => {
                    let tasks: Vec<Value> = c.tasks.iter().map(|t| json!({ "connector": name, "task": t.id })).collect();
                    expanded.insert("info".into(), json!({ "name": name, "config": { "name": name }, "tasks": tasks, "type": c.kind.to_lowercase() }));
                }
                // Connect logs and ignores unknown expansions.
                _ => {}
            }
        }
        out.insert(name.clone(), Value::Object(expanded));
    }
    Json(Value::Object(out)).into_response()
}

async fn connector_status(State(peer): State<KafkaConnect>, Path(name): Path<String>) -> Response {
    let mut inner = peer.lock();
    let (due, later): (Vec<PendingChange>, Vec<PendingChange>) = std::mem::take(&mut inner.on_status_read).into_iter().partition(|c| c.connector == name);
    inner.on_status_read = later;
    if let Some(c) = inner.connectors.get_mut(&name) {
        for change in due {
            if let Some(task) = c.tasks.iter_mut().find(|t| t.id == change.task) {
                task.state = change.state;
                task.trace = change.trace;
            }
        }
    }
    match inner.connectors.get(&name) {
        Some(c) => Json(status_json(&name, c)).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("No status found for connector {name}")),
    }
}

/// A rebalance under way answers 409 to restarts, as `completeOrForwardRequest` does.
fn take_conflict(inner: &mut Inner) -> Option<Response> {
    if inner.conflicts_to_inject == 0 {
        return None;
    }
    inner.conflicts_to_inject -= 1;
    Some(error(StatusCode::CONFLICT, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"))
}

/// Wait, polling (at most 5 s), until the status reads restarts were told to wait for are answered.
async fn restart_gate(peer: &KafkaConnect) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (wanted, answered) = {
            let inner = peer.lock();
            (inner.restart_gate, inner.calls.iter().filter(|c| c.method == "GET" && c.uri.contains("status")).count())
        };
        if answered >= wanted || tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn restart_connector(State(peer): State<KafkaConnect>, Path(name): Path<String>, Query(query): Query<HashMap<String, String>>) -> Response {
    restart_gate(&peer).await;
    let modern = peer.version_at_least(3, 0);
    let flag = |key: &str| query.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (include_tasks, only_failed) = (flag("includeTasks"), flag("onlyFailed"));
    let mut inner = peer.lock();
    if !inner.connectors.contains_key(&name) {
        return error(StatusCode::NOT_FOUND, &format!("Unknown connector: {name}"));
    }
    if let Some(conflict) = take_conflict(&mut inner) {
        return conflict;
    }
    // Before 3.0 the query is ignored: only the connector instance restarts.
    if !modern || (!include_tasks && !only_failed) {
        let c = inner.connectors.get_mut(&name).expect("checked above");
        c.state = RUNNING.to_string();
        c.trace = None;
        inner.restarts.push(Restarted::Connector(name));
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut restarted = Vec::new();
    let c = inner.connectors.get_mut(&name).expect("checked above");
    let restart_connector = !only_failed || c.state == FAILED;
    let mut body_state = c.clone();
    if restart_connector {
        body_state.state = "RESTARTING".into();
        body_state.trace = None;
        c.state = RUNNING.to_string();
        c.trace = None;
        restarted.push(Restarted::Connector(name.clone()));
    }
    if include_tasks {
        for (task, shown) in c.tasks.iter_mut().zip(body_state.tasks.iter_mut()) {
            if !only_failed || task.state == FAILED {
                shown.state = "RESTARTING".into();
                shown.trace = None;
                task.state = RUNNING.to_string();
                task.trace = None;
                restarted.push(Restarted::Task(name.clone(), task.id));
            }
        }
    }
    inner.restarts.extend(restarted);
    (StatusCode::ACCEPTED, Json(status_json(&name, &body_state))).into_response()
}

async fn restart_task(State(peer): State<KafkaConnect>, Path((name, task)): Path<(String, String)>) -> Response {
    restart_gate(&peer).await;
    let Ok(id) = task.parse::<u32>() else { return error(StatusCode::NOT_FOUND, "HTTP 404 Not Found") };
    let mut inner = peer.lock();
    let Some(c) = inner.connectors.get(&name) else { return error(StatusCode::NOT_FOUND, &format!("Unknown connector: {name}")) };
    if !c.tasks.iter().any(|t| t.id == id) {
        return error(StatusCode::NOT_FOUND, &format!("Unknown task: {name}-{id}"));
    }
    if let Some(conflict) = take_conflict(&mut inner) {
        return conflict;
    }
    let c = inner.connectors.get_mut(&name).expect("checked above");
    let t = c.tasks.iter_mut().find(|t| t.id == id).expect("checked above");
    t.state = RUNNING.to_string();
    t.trace = None;
    inner.restarts.push(Restarted::Task(name, id));
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request with basic auth if given; the answer's status, `content-type` line and body.
    async fn request(url: &str, method: &str, path: &str, auth: Option<&str>) -> (u16, String, String) {
        let headers: Vec<(&str, String)> = auth.map(|a| ("Authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(a)))).into_iter().collect();
        let (status, head, body) = crate::test_http::request(url, method, path, &headers, b"").await;
        let content_type = head.lines().find(|l| l.starts_with("content-type:")).unwrap_or("").to_string();
        (status, content_type, body)
    }

    fn seeded(version: &str) -> KafkaConnect {
        let peer = KafkaConnect::new(version);
        peer.add_connector("es-sink", "sink", RUNNING, 3, RUNNING);
        peer.set_task("es-sink", 1, FAILED, Some("java.net.SocketTimeoutException: Read timed out\n"));
        peer.add_connector("jdbc-source", "source", PAUSED, 1, PAUSED);
        peer
    }

    #[tokio::test]
    async fn status_shapes_follow_connect() {
        let peer = seeded("3.7.0");
        let (url, _h) = serve(peer.clone()).await;
        let (status, _, body) = request(&url, "GET", "/connectors?expand=status", None).await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        let es = &v["es-sink"]["status"];
        assert_eq!(es["type"], "sink");
        assert!(es["connector"].get("trace").is_none(), "trace absent when empty");
        assert_eq!(es["tasks"][1]["state"], "FAILED");
        assert!(es["tasks"][1]["trace"].as_str().unwrap().starts_with("java.net.SocketTimeoutException"));
        assert!(es["tasks"][0].get("trace").is_none());
        let (status, _, body) = request(&url, "GET", "/connectors/nope/status", None).await;
        assert_eq!(status, 404);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error_code"], 404);
        assert_eq!(peer.calls().len(), 2);
    }

    #[tokio::test]
    async fn old_workers_ignore_expand_and_the_restart_query() {
        let peer = seeded("2.2.1");
        let (url, _h) = serve(peer.clone()).await;
        let (_, _, body) = request(&url, "GET", "/connectors?expand=status", None).await;
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!(["es-sink", "jdbc-source"]));
        let (status, _, _) = request(&url, "POST", "/connectors/es-sink/restart?includeTasks=true&onlyFailed=true", None).await;
        assert_eq!(status, 204);
        assert_eq!(peer.restarts(), [Restarted::Connector("es-sink".into())]);
        assert_eq!(peer.task_state("es-sink", 1).as_deref(), Some(FAILED), "the failed task is still failed");
    }

    #[tokio::test]
    async fn modern_restart_answers_202_with_restarting_states() {
        let peer = seeded("3.0.0");
        let (url, _h) = serve(peer.clone()).await;
        let (status, _, body) = request(&url, "POST", "/connectors/es-sink/restart?includeTasks=true&onlyFailed=true", None).await;
        assert_eq!(status, 202);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["tasks"][1]["state"], "RESTARTING");
        assert_eq!(v["tasks"][0]["state"], "RUNNING");
        assert_eq!(v["connector"]["state"], "RUNNING");
        assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 1)]);
        assert_eq!(peer.task_state("es-sink", 1).as_deref(), Some(RUNNING));
    }

    #[tokio::test]
    async fn task_restart_conflicts_and_unknowns() {
        let peer = seeded("3.7.0");
        let (url, _h) = serve(peer.clone()).await;
        peer.inject_conflicts(1);
        let (status, _, body) = request(&url, "POST", "/connectors/es-sink/tasks/1/restart", None).await;
        assert_eq!(status, 409);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error_code"], 409);
        assert_eq!(request(&url, "POST", "/connectors/es-sink/tasks/1/restart", None).await.0, 204);
        let (status, _, body) = request(&url, "POST", "/connectors/gone/tasks/0/restart", None).await;
        assert_eq!(status, 404);
        assert!(body.contains("Unknown connector: gone"));
        assert!(request(&url, "POST", "/connectors/es-sink/tasks/9/restart", None).await.2.contains("Unknown task: es-sink-9"));
        assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 1)]);
    }

    #[tokio::test]
    async fn a_task_can_fail_between_the_bulk_read_and_the_next_status_read() {
        let peer = seeded("3.7.0");
        let (url, _h) = serve(peer.clone()).await;
        peer.set_task_on_next_status_read("es-sink", 2, FAILED, Some("org.apache.kafka.connect.errors.DataException: bad record\n"));
        let (_, _, body) = request(&url, "GET", "/connectors?expand=status", None).await;
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["es-sink"]["status"]["tasks"][2]["state"], "RUNNING", "the bulk read is before the change");
        let (_, _, body) = request(&url, "GET", "/connectors/es-sink/status", None).await;
        let status: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status["tasks"][2]["state"], "FAILED");
        assert!(status["tasks"][2]["trace"].as_str().unwrap().contains("DataException"));
        assert_eq!(peer.task_state("es-sink", 2).as_deref(), Some(FAILED), "the change stays");
    }

    #[tokio::test]
    async fn basic_auth_answers_401_in_plain_text() {
        let peer = seeded("3.7.0").with_basic_auth("connect", "s3cret");
        let (url, _h) = serve(peer.clone()).await;
        let (status, content_type, body) = request(&url, "GET", "/", None).await;
        assert_eq!((status, body.as_str()), (401, "User cannot access the resource."));
        assert!(content_type.contains("text/plain"));
        assert_eq!(request(&url, "GET", "/", Some("connect:wrong")).await.0, 401);
        let (status, _, body) = request(&url, "GET", "/", Some("connect:s3cret")).await;
        assert_eq!(status, 200);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["version"], "3.7.0");
        peer.set_basic_auth("connect", "rotated");
        assert_eq!(request(&url, "GET", "/", Some("connect:s3cret")).await.0, 401, "the old password no longer works");
        assert_eq!(request(&url, "GET", "/", Some("connect:rotated")).await.0, 200);
    }
}
