//! Kafka Connect REST client: the handful of calls connect-health relies on, each bounded in
//! time (per call and by the run's deadline) and in size (response bodies), with the status
//! codes Connect documents mapped to errors that know whether a retry may help. URLs come from
//! [`endpoint`](crate::endpoint), so no connector name can address another resource.
//!
//! Sizes: the cluster's statuses (`?expand=status`, one call) may be as large as the cluster's
//! body cap (`CONNECT_MAX_BODY_BYTES`, by default its share of the function's memory) and are
//! read into digests ([`digest`](crate::digest)) chunk by chunk as they arrive, so the body is
//! never held whole: only the digests outlive the call. A connector's own answers (its status, a
//! restart's answer) are read whole, up to an eighth of the cap, since up to
//! [`CONNECTORS_AT_ONCE`] connectors of a cluster are handled at once and their answers together
//! must fit the same share.

use crate::digest::{entry_limit, expanded_from_slice, DigestError, ExpandedReader, StatusDigest};
use crate::endpoint::{endpoint, url_safe_name};
use crate::plan::RestartCall;
use crate::policy::Policy;
use crate::status::ConnectorStatus;
use common::error::{ErrorClass, Retryable};
use common::http::{BodyError, CappedBody};
use common::text::{bounded, error_chain, quote_bounded};
use futures::{StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;
pub use common::deadline::Deadline;
pub use crate::digest::Expanded;

/// Connectors of one cluster handled at once: their status reads on workers before 2.3, their
/// restarts. Each of their answers is read up to [`connector_body_limit`] of the cluster's cap.
pub const CONNECTORS_AT_ONCE: usize = 8;

/// The cap on one connector's answer: an eighth ([`CONNECTORS_AT_ONCE`]) of the cluster's cap,
/// so that the answers read at once stay within it, but at least 64 KiB (or the whole cap when
/// it is smaller), which holds a connector's status with a few dozen failed tasks.
pub fn connector_body_limit(max_body: usize) -> usize {
    (max_body / CONNECTORS_AT_ONCE).max(max_body.min(64 * 1024))
}

/// HTTP basic-auth credentials, from the cluster's Secrets Manager secret.
#[derive(Clone, Deserialize)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuth { username: <redacted>, password: <redacted> }")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A transport failure once the request may have been sent (a connection reset, a broken
    /// body): whether the worker acted on it is unknown.
    #[error("{what}: cannot reach the worker ({reason})")]
    Unreachable { what: String, reason: String },
    /// No connection could be made (refused, DNS, TLS handshake, connect time-out): the request
    /// was never sent.
    #[error("{what}: cannot reach the worker ({reason}); the request was not sent")]
    NotSent { what: String, reason: String },
    /// The connector's name cannot be carried by a URL without addressing something else.
    /// `name` is quoted and bounded.
    #[error("{what}: not sent: the connector name {name} cannot be put in a URL (empty, \".\" and \"..\" segments are resolved as path steps by URL parsers, proxies and the worker, so the URL would name another resource); rename the connector")]
    UnsafeName { what: String, name: String },
    #[error("{what}: no complete answer within {after:?}")]
    Timeout { what: String, after: Duration },
    #[error("{what}: not attempted, the run's time budget is spent")]
    BudgetSpent { what: String },
    #[error("{what}: answered HTTP {status}; check the credentials in the cluster's auth_secret_id")]
    Unauthorized { what: String, status: u16 },
    #[error("{what}: answered 409, a rebalance is under way: {message}")]
    Conflict { what: String, message: String },
    #[error("{what}: answered 404: {message}")]
    NotFound { what: String, message: String },
    #[error("{what}: answered HTTP {status}: {message}")]
    Status { what: String, status: u16, message: String },
    #[error(
        "{what}: response body is larger than {limit} bytes, its cap from CONNECT_MAX_BODY_BYTES (by default one cluster's share of the function's memory; \
         an eighth of it for one connector's answer); raise the function's memory or lower CLUSTER_CONCURRENCY"
    )]
    TooLarge { what: String, limit: usize },
    /// More connectors and failed targets than one cluster's memory share can plan for
    /// ([`entry_limit`]).
    #[error(
        "{what}: more than {limit} connectors and failed connectors or tasks, more than one cluster's share of memory can plan for \
         (one per 512 bytes of CONNECT_MAX_BODY_BYTES, at least 10000); raise the function's memory or CONNECT_MAX_BODY_BYTES, or lower CLUSTER_CONCURRENCY"
    )]
    TooManyEntries { what: String, limit: usize },
    #[error("{what}: unexpected response body: {reason}")]
    Decode { what: String, reason: String },
}

impl Retryable for ConnectError {
    fn class(&self) -> ErrorClass {
        match self {
            ConnectError::Unreachable { .. }
            | ConnectError::NotSent { .. }
            | ConnectError::Timeout { .. }
            | ConnectError::BudgetSpent { .. }
            | ConnectError::Conflict { .. } => ErrorClass::Retryable,
            ConnectError::Status { status, .. } if *status >= 500 || *status == 429 => ErrorClass::Retryable,
            _ => ErrorClass::Permanent,
        }
    }
}

/// `GET /`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerInfo {
    pub version: String,
}

/// Connect's error body: `{"error_code":409,"message":"..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

/// A client for one cluster.
pub struct ConnectClient {
    http: reqwest::Client,
    base: Url,
    auth: Option<BasicAuth>,
    call_timeout: Duration,
    /// Cap on the cluster-wide answers (`GET /`, the connector list, every status at once).
    max_body: usize,
    /// Cap on one connector's answer ([`connector_body_limit`]).
    connector_max_body: usize,
    calls: AtomicU32,
}

impl ConnectClient {
    /// `base` is a validated http(s) URL (see config).
    pub fn new(http: reqwest::Client, base: &str, auth: Option<BasicAuth>, call_timeout: Duration, max_body: usize) -> Result<ConnectClient, ConnectError> {
        let base = Url::parse(base).map_err(|e| ConnectError::Unreachable { what: "cluster URL".into(), reason: e.to_string() })?;
        Ok(ConnectClient { http, base, auth, call_timeout, max_body, connector_max_body: connector_body_limit(max_body), calls: AtomicU32::new(0) })
    }

    /// HTTP requests sent so far.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    pub async fn server_info(&self, deadline: Deadline) -> Result<ServerInfo, ConnectError> {
        let (_, body) = self.call(Method::GET, &[], &[], "GET /", self.max_body, deadline).await?;
        decode("GET /", &body)
    }

    pub async fn connector_names(&self, deadline: Deadline) -> Result<Vec<String>, ConnectError> {
        let (_, body) = self.call(Method::GET, &["connectors"], &[], "GET /connectors", self.max_body, deadline).await?;
        decode("GET /connectors", &body)
    }

    /// Every connector's status in one call, read into digests as the body arrives, each
    /// failed target judged by `policy` as it is read ([`ExpandedReader`]; [`parse_expanded`] is
    /// the same for a body at hand): only the connector being read is held, never the body.
    pub async fn statuses_expanded(&self, policy: &Policy, deadline: Deadline) -> Result<Expanded, ConnectError> {
        let what = "GET /connectors?expand=status";
        let mut reader = ExpandedReader::new(policy, entry_limit(self.max_body));
        self.call_into(Method::GET, &["connectors"], &[("expand", "status")], what, self.max_body, deadline, |chunk| {
            reader.feed(chunk).map_err(|e| digest_error(what, e))
        })
        .await?;
        reader.finish().map_err(|e| digest_error(what, e))
    }

    /// `None` when the connector is gone (404).
    pub async fn connector_status(&self, name: &str, deadline: Deadline) -> Result<Option<ConnectorStatus>, ConnectError> {
        let what = format!("GET /connectors/{name}/status");
        match self.call(Method::GET, &["connectors", name, "status"], &[], &what, self.connector_max_body, deadline).await {
            Ok((_, body)) => decode(&what, &body).map(Some),
            Err(ConnectError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Statuses of all connectors of a worker without `expand` (Kafka < 2.3): one call for the
    /// names, then one per connector, [`CONNECTORS_AT_ONCE`] at a time, each digested (judged
    /// by `policy`) as soon as it is read. A name that cannot be put in a URL ([`url_safe_name`])
    /// is left out, with a warning: its status cannot be asked for without asking for something
    /// else. The digests together hold at most [`entry_limit`] connectors and failed targets, as
    /// one `?expand=status` answer would (more names than that is an error before any status is
    /// read).
    pub async fn statuses_one_by_one(&self, names: Vec<String>, policy: &Policy, deadline: Deadline) -> Result<Vec<StatusDigest>, ConnectError> {
        let limit = entry_limit(self.max_body);
        if names.len() > limit {
            return Err(ConnectError::TooManyEntries { what: "GET /connectors".into(), limit });
        }
        let (names, refused): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| url_safe_name(n));
        for name in &refused {
            tracing::warn!(connector = %quote_bounded(name, 200), "connector name is empty, \".\" or \"..\": its status cannot be read by name; left out (rename the connector)");
        }
        let entries = AtomicUsize::new(0);
        let entries = &entries;
        let found: Vec<Option<StatusDigest>> = futures::stream::iter(names)
            .map(|name| async move {
                let digest = self.connector_status(&name, deadline).await?.map(|status| StatusDigest::from_status(&status, policy));
                let held = digest.as_ref().map_or(0, StatusDigest::entries);
                if entries.fetch_add(held, Ordering::Relaxed) + held > limit {
                    return Err(ConnectError::TooManyEntries { what: format!("GET /connectors/{name}/status (all connectors together)"), limit });
                }
                Ok::<_, ConnectError>(digest)
            })
            .buffered(CONNECTORS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// One restart call. For the `onlyFailed` form the 202 body is returned.
    pub async fn restart(&self, connector: &str, call: &RestartCall, deadline: Deadline) -> Result<Option<ConnectorStatus>, ConnectError> {
        let id;
        let (segments, query, what): (Vec<&str>, &[(&str, &str)], String) = match call {
            RestartCall::FailedConnectorAndTasks => (
                vec!["connectors", connector, "restart"],
                &[("includeTasks", "true"), ("onlyFailed", "true")],
                format!("POST /connectors/{connector}/restart?includeTasks=true&onlyFailed=true"),
            ),
            RestartCall::Connector => (vec!["connectors", connector, "restart"], &[], format!("POST /connectors/{connector}/restart")),
            RestartCall::Task(task) => {
                id = task.to_string();
                (vec!["connectors", connector, "tasks", &id, "restart"], &[], format!("POST /connectors/{connector}/tasks/{task}/restart"))
            }
        };
        let (status, body) = self.call(Method::POST, &segments, query, &what, self.connector_max_body, deadline).await?;
        if status == StatusCode::ACCEPTED && !body.is_empty() {
            return decode(&what, &body).map(Some);
        }
        Ok(None)
    }

    /// [`Self::restart`], tried again after a 409 (rebalance) up to `attempts` times in all,
    /// pausing `pause`, then twice that, and so on, never past the deadline.
    pub async fn restart_retrying(
        &self,
        connector: &str,
        call: &RestartCall,
        deadline: Deadline,
        attempts: u32,
        pause: Duration,
    ) -> Result<Option<ConnectorStatus>, ConnectError> {
        let mut pause = pause;
        let mut attempt = 1;
        loop {
            match self.restart(connector, call, deadline).await {
                Err(ConnectError::Conflict { what, message }) if attempt < attempts && deadline.remaining() > pause => {
                    tracing::info!(connector, attempt, "restart answered 409 (rebalance); trying again: {message}");
                    let _ = what;
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One request; its body is read whole, up to `max_body` bytes.
    async fn call(&self, method: Method, segments: &[&str], query: &[(&str, &str)], what: &str, max_body: usize, deadline: Deadline) -> Result<(StatusCode, Vec<u8>), ConnectError> {
        let mut body = Vec::new();
        let status = self
            .call_into(method, segments, query, what, max_body, deadline, |chunk| {
                body.extend_from_slice(chunk);
                Ok(())
            })
            .await?;
        Ok((status, body))
    }

    /// One request; a successful answer's body is handed to `on_chunk` as it arrives (up to
    /// `max_body` bytes in all, within the call's time limit, `on_chunk`'s own work included),
    /// and an error's body is read whole for its message.
    #[allow(clippy::too_many_arguments)]
    async fn call_into(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
        max_body: usize,
        deadline: Deadline,
        mut on_chunk: impl FnMut(&[u8]) -> Result<(), ConnectError>,
    ) -> Result<StatusCode, ConnectError> {
        let limit = self.call_timeout.min(deadline.remaining());
        if limit.is_zero() {
            return Err(ConnectError::BudgetSpent { what: what.to_string() });
        }
        let url = endpoint(&self.base, segments, what)?;
        let mut request = self.http.request(method, url).header("accept", "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(auth) = &self.auth {
            request = request.basic_auth(&auth.username, Some(&auth.password));
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let response = request.send().await.map_err(|e| send_error(what, &e))?;
            let status = response.status();
            let mut capped = CappedBody::new(response, max_body).map_err(|e| body_error(what, e))?;
            let mut error_body = Vec::new();
            while let Some(chunk) = capped.next_chunk().await.map_err(|e| body_error(what, e))? {
                if status.is_success() {
                    on_chunk(&chunk[..])?;
                } else {
                    error_body.extend_from_slice(&chunk);
                }
            }
            Ok::<_, ConnectError>((status, error_body))
        };
        let (status, error_body) = tokio::time::timeout(limit, exchange).await.map_err(|_| ConnectError::Timeout { what: what.into(), after: limit })??;
        if status.is_success() {
            return Ok(status);
        }
        let message = error_message(&error_body);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectError::Unauthorized { what: what.into(), status: status.as_u16() },
            StatusCode::CONFLICT => ConnectError::Conflict { what: what.into(), message },
            StatusCode::NOT_FOUND => ConnectError::NotFound { what: what.into(), message },
            _ => ConnectError::Status { what: what.into(), status: status.as_u16(), message },
        })
    }
}

/// A request that failed before a connection was made was never sent; any other transport
/// failure may have reached the worker.
fn send_error(what: &str, err: &reqwest::Error) -> ConnectError {
    let reason = bounded(&error_chain(err), 500);
    if err.is_connect() {
        ConnectError::NotSent { what: what.into(), reason }
    } else {
        ConnectError::Unreachable { what: what.into(), reason }
    }
}

fn body_error(what: &str, err: BodyError) -> ConnectError {
    match err {
        BodyError::TooLarge { limit } => ConnectError::TooLarge { what: what.into(), limit },
        BodyError::Transport(e) => ConnectError::Unreachable { what: what.into(), reason: bounded(&error_chain(&e), 500) },
    }
}

/// The body of `GET /connectors?expand=status`: every connector's status digest, each failed
/// target judged by `policy` as it is read ([`digest`](crate::digest)), or (a worker that
/// ignores `expand`) only the names. More than `max_entries` connectors and failed targets
/// ([`entry_limit`] of the body cap) is [`ConnectError::TooManyEntries`].
pub fn parse_expanded(body: &[u8], policy: &Policy, max_entries: usize) -> Result<Expanded, ConnectError> {
    expanded_from_slice(body, policy, max_entries).map_err(|e| digest_error("GET /connectors?expand=status", e))
}

/// serde's reason can quote the body, so it is bounded.
fn digest_error(what: &str, err: DigestError) -> ConnectError {
    match err {
        DigestError::TooManyEntries { limit } => ConnectError::TooManyEntries { what: what.into(), limit },
        DigestError::Json(e) => ConnectError::Decode { what: what.into(), reason: bounded(&e.to_string(), 300) },
    }
}

/// serde's reason can quote the body (`invalid type: string "..."`), so it is bounded too.
fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ConnectError> {
    serde_json::from_slice(body).map_err(|e| ConnectError::Decode { what: what.into(), reason: bounded(&e.to_string(), 300) })
}

/// Connect's `message`, or the start of a plain-text body (e.g. a proxy's error page): the
/// worker's text, so cut and with control characters escaped before it reaches an error or a log.
fn error_message(body: &[u8]) -> String {
    if let Ok(ErrorBody { message: Some(m) }) = serde_json::from_slice::<ErrorBody>(body) {
        return bounded(&m, 500);
    }
    let text = String::from_utf8_lossy(body);
    bounded(text.trim(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_prefer_connects_json() {
        assert_eq!(error_message(br#"{"error_code":409,"message":"Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}"#), "Cannot complete request because of a conflicting operation (e.g. worker rebalance)");
        assert_eq!(error_message(b"User cannot access the resource.\n"), "User cannot access the resource.");
    }

    #[test]
    fn error_messages_are_cut_and_cannot_forge_a_log_line() {
        let forged = error_message(br#"{"error_code":500,"message":"boom\n{\"level\":\"INFO\"}\u001b[2J"}"#);
        assert_eq!(forged, "boom\\n{\"level\":\"INFO\"}\\u{1b}[2J");
        assert!(!forged.chars().any(char::is_control), "{forged}");
        assert_eq!(error_message(format!("{}\r\n", "x".repeat(300)).as_bytes()), format!("{}...", "x".repeat(200)));
        assert_eq!(error_message(format!(r#"{{"message":"{}"}}"#, "y".repeat(600)).as_bytes()), format!("{}...", "y".repeat(500)));
        assert_eq!(error_message(b"line one\rline two"), "line one\\rline two");
    }

    #[test]
    fn credentials_never_print() {
        let auth = BasicAuth { username: "admin".into(), password: "hunter2".into() };
        let text = format!("{auth:?}");
        assert!(!text.contains("hunter2") && !text.contains("admin"));
    }

    fn client(base: &str) -> ConnectClient {
        ConnectClient::new(common::http::client_builder().build().unwrap(), base, None, Duration::from_secs(5), 1 << 20).unwrap()
    }

    async fn restart_task_0(base: &str) -> ConnectError {
        client(base).restart("es-sink", &RestartCall::Task(0), Deadline::after(Duration::from_secs(5))).await.unwrap_err()
    }

    #[tokio::test]
    async fn a_refused_connection_was_not_sent_but_a_dropped_answer_may_have_been_acted_on() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = restart_task_0(&format!("http://{addr}")).await;
        assert!(matches!(err, ConnectError::NotSent { .. }), "{err:?}");
        assert!(err.to_string().contains("cannot reach the worker") && err.to_string().ends_with("the request was not sent"), "{err}");

        // A worker that reads the request, then hangs up without an answer.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let worker = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            loop {
                socket.readable().await.unwrap();
                match socket.try_read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    _ => break,
                }
            }
        });
        let err = restart_task_0(&format!("http://{addr}")).await;
        assert!(matches!(err, ConnectError::Unreachable { .. }), "sent, so the outcome is unknown: {err:?}");
        worker.await.unwrap();
    }

    #[test]
    fn retry_classes() {
        let conflict = ConnectError::Conflict { what: "x".into(), message: "m".into() };
        assert!(conflict.is_retryable());
        assert!(!ConnectError::Unauthorized { what: "x".into(), status: 401 }.is_retryable());
        assert!(ConnectError::Status { what: "x".into(), status: 503, message: String::new() }.is_retryable());
        assert!(!ConnectError::Status { what: "x".into(), status: 400, message: String::new() }.is_retryable());
        assert!(ConnectError::NotSent { what: "x".into(), reason: "connection refused".into() }.is_retryable());
    }
}
