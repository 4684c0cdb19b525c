//! Lambda entry point of connect-health: telemetry, clients, run. Nothing else.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    common::telemetry::init();
    let app = connect_health::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move { app.handle(event).await })).await
}
