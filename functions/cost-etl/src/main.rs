//! Lambda entry point of cost-etl: telemetry, clients, run. Nothing else.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    common::telemetry::init();
    let app = match cost_etl::App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            // The error's sentence, not Rust's Debug form of it, in the log and on stderr.
            tracing::error!(error = %e, "cold start failed");
            eprintln!("cost-etl: {}", common::text::bounded(&e.to_string(), 2000));
            std::process::exit(1);
        }
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move { app.handle(event).await })).await
}
