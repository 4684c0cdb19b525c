//! A Lambda binary of this workspace running under cargo-lambda's Runtime API emulator.
//!
//! `cargo lambda watch --only-lambda-apis` serves the Runtime API and the Invoke API on one
//! 127.0.0.1 port; the function's own binary (built by cargo, debug profile) polls it exactly as
//! it polls Lambda in production; `cargo lambda invoke` sends the event. Both processes are
//! killed on drop and die with the test process.

use crate::moto::kill_with_parent;
use crate::tools::{tool, workspace_root};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct LambdaFunction {
    emulator: Child,
    function: Child,
    port: u16,
    log_path: PathBuf,
}

/// What `cargo lambda invoke` answered.
#[derive(Debug)]
pub struct Invocation {
    /// The function's response (stdout of `cargo lambda invoke`).
    pub output: String,
    /// `cargo lambda invoke`'s own stderr: the function's error, when it failed.
    pub error: String,
    pub success: bool,
}

impl Invocation {
    pub fn json(&self) -> serde_json::Value {
        assert!(self.success, "invocation failed: {}\n{}", self.error, self.output);
        serde_json::from_str(&self.output).unwrap_or_else(|e| panic!("function output is not JSON ({e}): {}", self.output))
    }
}

/// The debug binary `name`, built if needed.
///
/// The first call in a process runs `cargo build --workspace --all-targets`, the same package and
/// feature selection as `cargo test --workspace --all-targets` (the test command), so the
/// dependencies are compiled once for both; building `-p name` alone would resolve other
/// features and rebuild the AWS SDK. Later calls reuse that build.
pub fn build_binary(name: &str) -> PathBuf {
    static DEBUG_DIR: OnceLock<PathBuf> = OnceLock::new();
    let binary = DEBUG_DIR.get_or_init(build_workspace).join(name);
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
}

/// Build the workspace (debug); its output directory.
fn build_workspace() -> PathBuf {
    let root = workspace_root();
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args(["build", "--quiet", "--workspace", "--all-targets"]).current_dir(&root);
    for name in cargo_test_vars() {
        cargo.env_remove(name);
    }
    let status = cargo.status().expect("cannot run cargo build");
    assert!(status.success(), "cargo build --workspace --all-targets failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    target.join("debug")
}

/// The variables of this process that `cargo test` set (see [`inherited_from_cargo_test`]): remove
/// them from any child that runs cargo, directly or through a tool (`serverless invoke local`).
pub fn cargo_test_vars() -> Vec<std::ffi::OsString> {
    std::env::vars_os().map(|(name, _)| name).filter(|name| name.to_str().is_some_and(inherited_from_cargo_test)).collect()
}

/// Variables `cargo test` sets for the test process (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`,
/// `CARGO_BIN_EXE_*`...). A nested `cargo build` must not see them: build scripts such as ring's
/// declare `rerun-if-env-changed=CARGO_MANIFEST_DIR`, so the nested build would rerun them and
/// rebuild ring, rustls and the whole AWS SDK, and the next top-level build would rebuild them
/// back. The user's own cargo settings (home, target dir, profiles, registries) are kept.
fn inherited_from_cargo_test(name: &str) -> bool {
    const KEEP: [&str; 8] = ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_", "CARGO_PROFILE_", "CARGO_NET_", "CARGO_REGISTR", "CARGO_TERM_", "CARGO_INCREMENTAL"];
    (name.starts_with("CARGO_") && !KEEP.iter().any(|k| name.starts_with(k))) || name == "OUT_DIR"
}

impl LambdaFunction {
    /// Build `name`, start the emulator and the function with `env` (plus the Runtime API
    /// variables), and wait until the emulator answers.
    pub fn start(name: &str, env: &[(String, String)]) -> LambdaFunction {
        LambdaFunction::start_built(&build_binary(name), env)
    }

    /// Like [`LambdaFunction::start`], for a binary the caller has already built (no second
    /// `cargo build`, which would wait on the build lock if sources changed meanwhile).
    pub fn start_built(binary: &std::path::Path, env: &[(String, String)]) -> LambdaFunction {
        let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("function");
        let port = free_port();
        let log_path = std::env::temp_dir().join(format!("{name}-{port}.log"));

        let mut emulator = Command::new(tool("cargo-lambda"));
        emulator
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        kill_with_parent(&mut emulator);
        let emulator = emulator.spawn().expect("cannot start cargo lambda watch");
        wait_for_port(port, Duration::from_secs(30));

        let log = std::fs::File::create(&log_path).expect("cannot create function log");
        let mut function = Command::new(binary);
        function
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        kill_with_parent(&mut function);
        let function = function.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        LambdaFunction { emulator, function, port, log_path }
    }

    /// Invoke the function once with `payload` and wait for its answer.
    pub async fn invoke(&self, payload: &str) -> Invocation {
        let out = tokio::process::Command::new(tool("cargo-lambda"))
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P", &self.port.to_string(), "--output-format", "json", "--data-ascii", payload, "_"])
            .current_dir(workspace_root())
            .kill_on_drop(true)
            .output()
            .await
            .expect("cannot run cargo lambda invoke");
        Invocation {
            output: String::from_utf8_lossy(&out.stdout).into_owned(),
            error: String::from_utf8_lossy(&out.stderr).into_owned(),
            success: out.status.success(),
        }
    }

    /// Invoke with the contents of a sample event under `events/`.
    pub async fn invoke_event_file(&self, file: &str) -> Invocation {
        let payload = std::fs::read_to_string(workspace_root().join("events").join(file)).unwrap_or_else(|e| panic!("events/{file}: {e}"));
        self.invoke(&payload).await
    }

    /// Everything the function wrote to stdout/stderr so far (its logs).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The most memory the function's process has held resident since it started, bytes
    /// (`VmHWM` of `/proc/<pid>/status`): what Lambda compares with the function's memory size
    /// before it kills an invocation. `None` where there is no procfs (not Linux) or once the
    /// process has exited.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        crate::procfs::status_kib(self.function.id(), "VmHWM")?.checked_mul(1024)
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

fn wait_for_port(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the Runtime API emulator did not listen on {port} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::inherited_from_cargo_test;

    #[test]
    fn a_nested_build_drops_what_cargo_test_set_and_keeps_the_users_settings() {
        for dropped in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_BIN_EXE_local-pipeline", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "OUT_DIR"] {
            assert!(inherited_from_cargo_test(dropped), "{dropped}");
        }
        for kept in ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_JOBS", "CARGO_PROFILE_DEV_DEBUG", "CARGO_NET_OFFLINE", "CARGO_REGISTRIES_CRATES_IO_PROTOCOL", "CARGO_TERM_COLOR", "CARGO_INCREMENTAL", "CARGO", "PATH"] {
            assert!(!inherited_from_cargo_test(kept), "{kept}");
        }
    }
}
