//! Entry point of the `cost-jobs` command-line tool.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let code = cost_jobs::main_exit_code().await;
    std::process::exit(code);
}
