//! `local-pipeline --serve ENV_FILE`: the pipeline's AWS side kept running for an orchestrator
//! under test (the Airflow end-to-end test): moto with the stack from serverless.yml, the
//! ad-platform peers with the demo world, and cost-etl under the Runtime API emulator fed by an
//! always-on SQS event source, as on AWS. Writes `KEY=VALUE` lines an orchestrator needs to
//! `ENV_FILE`, then `READY` to stdout, and runs until stdin closes or it is killed.

use crate::{event_source, start_world, Progress};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;
use test_support::LambdaFunction;

/// Healthy accounts per platform, and ones each platform rejects (for a run that must fail).
const ACCOUNTS: [(&str, &str, &str); 3] = [("meta", "1001\n1002\n", "1004\n"), ("google_ads", "123-456-7890\n", "999-999-9999\n"), ("tiktok", "7098765432109876543\n", "7000000000000000000\n")];

pub async fn serve(env_file: &Path) -> Result<(), String> {
    let p = Progress(Instant::now());
    p.say("building cost-etl and cost-jobs (debug profile)");
    let etl_binary = test_support::lambda::build_binary("cost-etl");
    let cost_jobs = test_support::lambda::build_binary("cost-jobs");
    let world = start_world(&p).await?;
    let etl = LambdaFunction::start_built(&etl_binary, &world.cost_etl_env());

    let accounts_dir = env_file.with_extension("accounts");
    std::fs::create_dir_all(&accounts_dir).map_err(|e| format!("{}: {e}", accounts_dir.display()))?;
    for (platform, good, bad) in ACCOUNTS {
        std::fs::write(accounts_dir.join(format!("{platform}_accounts.txt")), good).map_err(|e| e.to_string())?;
        std::fs::write(accounts_dir.join(format!("{platform}_accounts_bad.txt")), bad).map_err(|e| e.to_string())?;
    }
    let mut text = String::new();
    for (key, value) in world.moto.env() {
        let _ = writeln!(text, "{key}={value}");
    }
    let _ = writeln!(text, "COST_JOBS_QUEUE_URL={}", world.stack.jobs_queue_url);
    let _ = writeln!(text, "COST_JOBS_DLQ_URL={}", world.stack.dlq_url);
    let _ = writeln!(text, "COST_JOBS_LEDGER_TABLE={}", world.stack.idempotency_table);
    let _ = writeln!(text, "COST_JOBS_BINARY={}", cost_jobs.display());
    let _ = writeln!(text, "ACCOUNTS_DIR={}", accounts_dir.display());
    std::fs::write(env_file, text).map_err(|e| format!("{}: {e}", env_file.display()))?;
    println!("READY");
    p.say(&format!("serving: jobs queue {} drained by cost-etl; close stdin or stop this process to end", world.stack.jobs_queue_url));

    let sqs = aws_sdk_sqs::Client::new(&world.aws);
    let source = event_source::serve(&sqs, &world.stack.jobs_queue_url, &etl, 10, |line| p.say(&format!("cost-etl: {line}")));
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    });
    let result = tokio::select! {
        result = source => result.map(|_| ()),
        _ = stdin_closed => Ok(()),
    };
    p.say("stopping cost-etl, the peers and moto");
    drop(etl);
    result.map_err(|e| e.to_string())
}
