//! cost-jobs: the orchestrator's side of the cost-etl queue.
//!
//! An Airflow task enqueues jobs ([`plan`] decides them, ten per SendMessageBatch with retries
//! of only the failed entries in [`retry`]), then waits until the queue has drained ([`drain`]
//! decides from the readings), and an operator inspects or redrives what reached the DLQ
//! ([`dead_letter`]). SQS calls live in [`sqs`] alone; [`commands`] wires each subcommand.

pub mod cli;
pub mod commands;
pub mod dead_letter;
pub mod drain;
pub mod error;
pub mod ledger;
pub mod plan;
pub mod queue;
pub mod retry;
pub mod runs;
pub mod sqs;

/// Parse the command line, run it, and give the process exit code (see [`drain::exit`]).
pub async fn main_exit_code() -> i32 {
    use clap::Parser;
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // --help and --version are not errors; everything else is a usage error (64, not
            // clap's 2, which `wait` uses for a timeout).
            return if err.use_stderr() { drain::exit::USAGE } else { drain::exit::OK };
        }
    };
    match commands::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("cost-jobs: error: {err}");
            err.exit_code()
        }
    }
}
