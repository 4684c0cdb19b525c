//! A proxy in front of an HTTP peer (moto) that stalls chosen requests: it reads them whole and
//! never answers, as a hung AWS endpoint does. Every other request is forwarded as it is, one
//! request per connection (the proxy asks the peer to close after answering).

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Rule = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The proxy; stops accepting when dropped.
pub struct StallProxy {
    endpoint: String,
    rule: Arc<Mutex<Option<Rule>>>,
    stalled: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl StallProxy {
    /// A proxy on a free 127.0.0.1 port forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the stall proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let rule: Arc<Mutex<Option<Rule>>> = Arc::new(Mutex::new(None));
        let stalled = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (rule.clone(), stalled.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream.clone(), r.clone(), s.clone()));
            }
        });
        StallProxy { endpoint, rule, stalled, accept }
    }

    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Stall every request whose head (request line and headers, lower-cased) `matches`.
    pub fn stall(&self, matches: impl Fn(&str) -> bool + Send + Sync + 'static) {
        *self.rule.lock().expect("rule lock") = Some(Arc::new(matches));
    }

    /// Forward everything again (requests already stalled stay stalled).
    pub fn release(&self) {
        *self.rule.lock().expect("rule lock") = None;
    }

    /// The request lines of the requests stalled so far.
    pub fn stalled(&self) -> Vec<String> {
        self.stalled.lock().expect("stalled lock").clone()
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: String, rule: Arc<Mutex<Option<Rule>>>, stalled: Arc<Mutex<Vec<String>>>) {
    let Some((head, body)) = read_request(&mut client).await else { return };
    let lower = head.to_ascii_lowercase();
    let stall = rule.lock().expect("rule lock").as_ref().is_some_and(|matches| matches(&lower));
    if stall {
        stalled.lock().expect("stalled lock").push(head.lines().next().unwrap_or_default().to_string());
        // Hold the connection open and never answer.
        std::future::pending::<()>().await;
    }
    let Ok(mut peer) = TcpStream::connect(&upstream).await else { return };
    let mut forwarded: String = head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).map(|l| format!("{l}\r\n")).collect();
    forwarded.push_str("Connection: close\r\n\r\n");
    if peer.write_all(forwarded.as_bytes()).await.is_err() || peer.write_all(&body).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = peer.read_to_end(&mut answer).await;
    let _ = client.write_all(&answer).await;
    let _ = client.shutdown().await;
}

/// One request: the head (without the blank line) and a `Content-Length` body.
async fn read_request(client: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > 1 << 20 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))).unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}
