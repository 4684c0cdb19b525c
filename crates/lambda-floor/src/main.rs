//! A bare Lambda function: the runtime and nothing else. Its init time (spawn to the first
//! `/invocation/next`) is the floor the real functions' cold starts are measured against
//! (scripts/bench-cold-start.js, via scripts/bench.sh).

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) })).await
}
