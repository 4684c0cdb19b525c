//! A private `moto_server` for one test.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use std::net::TcpStream;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto_server; stopped when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

pub const REGION: &str = "us-east-1";

impl Moto {
    /// Start moto_server on a free port and wait until it answers HTTP (at most 30 s).
    pub fn start() -> Moto {
        let program = crate::tools::tool("moto_server");
        // Port 0: moto binds a free port itself and says which. Choosing one here and handing
        // it over left a window in which another test's moto could take it; this moto then
        // failed to bind while the readiness check, answered by the other one, passed, and the
        // test talked to a server that vanished with the other test.
        let mut cmd = Command::new(&program);
        cmd.args(["-H", "127.0.0.1", "-p", "0"]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        kill_with_parent(&mut cmd);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        // Held before any panic below, so dropping it kills the child.
        let mut moto = Moto { child, port: 0 };
        moto.port = announced_port(stderr, Duration::from_secs(30)).unwrap_or_else(|| panic!("moto_server did not start: it did not say which port it bound within 30 s"));
        if let Err(e) = moto.wait_ready(Duration::from_secs(30)) {
            panic!("moto_server did not start: {e}");
        }
        moto
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto_server exited with {status}"));
            }
            if http_ok(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on port {} within {limit:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment a child process (a Lambda binary, the CLI) needs to talk to this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_DEFAULT_REGION", REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// SDK configuration pointing every client at this moto, with static test credentials.
    /// A DynamoDB table with one string partition key, billed per request, as serverless.yml
    /// defines the idempotency (`id`) and restart-state (`connector_task`) tables.
    pub async fn create_table(&self, name: &str, key: &str) {
        use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(AttributeDefinition::builder().attribute_name(key).attribute_type(ScalarAttributeType::S).build().expect("name and type set"))
            .key_schema(KeySchemaElement::builder().attribute_name(key).key_type(KeyType::Hash).build().expect("name and key type set"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateTable {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)));
    }

    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            // The workspace builds the SDK without a default HTTPS client (see common::aws::http_client).
            .http_client(aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https())
            .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .build()
    }

    /// Wipe all state (moto's reset API), for tests that reuse one server.
    pub fn reset(&self) {
        let _ = http_request(self.port, "POST", "/moto-api/reset");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in moto's (werkzeug's) "Running on http://127.0.0.1:PORT" line on `stderr`, which it
/// prints once the socket is bound; the rest of `stderr` (one line per request) is read and
/// dropped on a thread, so moto never blocks on a full pipe.
fn announced_port(stderr: std::process::ChildStderr, limit: Duration) -> Option<u16> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if let Some(port) = port_in(&line) {
                let _ = tx.send(port);
                break;
            }
            line.clear();
        }
        // The rest, one line per request, is dropped as it comes.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx.recv_timeout(limit).ok()
}

fn port_in(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("Running on http://127.0.0.1:")?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok().filter(|&port| port > 0)
}

fn http_ok(port: u16) -> bool {
    http_request(port, "GET", "/moto-api/data.json").map(|status| status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200")).unwrap_or(false)
}

/// A minimal HTTP/1.0 request for readiness checks; returns the status line.
fn http_request(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string())
}

/// Make the child die with the test process, even on a panic abort or SIGKILL of the test.
pub fn kill_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::port_in;

    #[test]
    fn the_bound_port_is_read_from_moto_s_announcement() {
        assert_eq!(port_in(" * Running on http://127.0.0.1:43691"), Some(43691));
        assert_eq!(port_in(" * Running on http://127.0.0.1:43691/ (Press CTRL+C to quit)"), Some(43691));
        assert_eq!(port_in("WARNING: This is a development server."), None);
        assert_eq!(port_in(" * Running on http://127.0.0.1:0"), None);
    }
}
