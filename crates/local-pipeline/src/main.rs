//! `make run`: the whole pipeline locally, end to end. See the crate's lib for the steps.

use std::process::ExitCode;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match local_pipeline::run().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local pipeline failed: {e}");
            ExitCode::FAILURE
        }
    }
}
