//! `make run`: the whole pipeline locally, end to end (see the crate's lib for the steps);
//! `--serve ENV_FILE` keeps its AWS side running for an orchestrator under test (`serve`).

use std::process::ExitCode;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => local_pipeline::run().await.map(|_| ()),
        [flag, env_file] if flag == "--serve" => local_pipeline::serve::serve(std::path::Path::new(env_file)).await,
        _ => Err("usage: local-pipeline [--serve ENV_FILE]".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local pipeline failed: {e}");
            ExitCode::FAILURE
        }
    }
}
