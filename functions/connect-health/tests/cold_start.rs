//! The connect-health binary with a bad configuration: it says what to fix in one sentence on
//! stderr (not Rust's Debug form of the error), logs it, and exits with status 1.

use std::process::Command;

#[test]
fn a_configuration_error_is_one_sentence_on_stderr_and_exit_status_1() {
    // serverless.yml's default: CONNECT_CLUSTERS='[]', and no CONNECT_URL.
    let out = Command::new(env!("CARGO_BIN_EXE_connect-health")).env_clear().env("CONNECT_CLUSTERS", "[]").output().expect("run the connect-health binary");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("connect-health: ")).unwrap_or_else(|| panic!("no `connect-health: ` line on stderr:\n{stderr}"));
    assert!(line.starts_with("connect-health: configuration error: environment variable CONNECT_CLUSTERS"), "{line}");
    assert!(line.contains("set CONNECT_CLUSTERS or CONNECT_URL"), "{line}");
    assert!(stdout.contains("cold start failed") && stdout.contains("set CONNECT_CLUSTERS or CONNECT_URL"), "logged too:\n{stdout}");
    for printed in [&stdout, &stderr] {
        assert!(!printed.contains("ConfigError {"), "Debug form printed:\n{printed}");
    }
}
