//! Lambda entry point of connect-health: telemetry, clients, run. Nothing else.
//!
//! One thread: Lambda sends one invocation at a time, the run's work is mostly waiting on the
//! network, and a single-threaded runtime starts without spawning workers and keeps every
//! allocation in one allocator arena, so memory freed by one step (a cluster's answer, once
//! digested) is what the next one reuses.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    common::telemetry::init();
    let app = match connect_health::App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            // The error's sentence, not Rust's Debug form of it, in the log and on stderr.
            tracing::error!(error = %e, "cold start failed");
            eprintln!("connect-health: {}", common::text::bounded(&e.to_string(), 2000));
            std::process::exit(1);
        }
    };
    let app = &app;
    // Boxed: the run's future is deep enough to pass the compiler's layout depth limit inside the runtime's.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| Box::pin(app.handle(event)))).await
}
