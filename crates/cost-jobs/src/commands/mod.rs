//! One module per subcommand: each turns parsed arguments into SQS calls and output, with the
//! decisions delegated to the pure modules. Each returns the process exit code.
//!
//! Output convention: stdout carries data (dry-run jobs, DLQ entries) and, for the commands an
//! orchestrator runs, one final JSON summary line (Airflow's BashOperator pushes the last stdout
//! line to XCom); stderr carries progress and human summaries.

pub mod dlq;
pub mod enqueue;
pub mod wait;

use crate::cli::{Cli, Command, DlqCommand};
use crate::error::CliError;

pub async fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Enqueue(args) => enqueue::run(args).await,
        Command::Wait(args) => wait::run(args).await,
        Command::Dlq { command: DlqCommand::List(args) } => dlq::list(args).await,
        Command::Dlq { command: DlqCommand::Redrive(args) } => dlq::redrive(args).await,
    }
}
