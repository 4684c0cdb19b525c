//! The real cost-etl binary under the Runtime API emulator, told it has 128 MB
//! (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), given one batch with two hostile platform answers that
//! never end (a Google Ads searchStream whose array of batches never closes, Meta Insights pages
//! whose `paging.next` never runs out) next to two good jobs.
//!
//! What it proves: each hostile job stops at its share of the memory and is dead-lettered with a
//! reason that says what to change (`platform.job_too_large`), the good jobs of the same batch
//! complete, and the process never holds more than the 128 MB it was told: in Lambda, passing it
//! would kill the invocation and bring every record of the batch back. The binary is the debug
//! build (bigger than the release one); the bound is the budget the function was given.

mod support;

use peers::{google_ads, meta};
use support::{d, job, World, BUCKET};
use test_support::LambdaFunction;

const MEMORY_MB: u64 = 128;

/// An SQS event of `(message id, body)` records, as Lambda delivers it.
fn event(records: &[(&str, &str)]) -> String {
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    event.records = records.iter().map(|(id, body)| support::record(id, body)).collect();
    serde_json::to_string(&event).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_answers_end_their_own_jobs_within_the_memory_the_function_was_given() {
    let w = World::start().await;
    let (from, to) = (d("2026-11-01"), d("2026-11-30"));
    // Hostile: every batch and page is valid, there is just never an end.
    w.google.add_customer("9000000001", "USD", google_ads::synthetic_rows(20, from, to));
    w.google.set_fault("9000000001", google_ads::Fault::EndlessStream);
    w.google.set_batch_size(200);
    w.meta.add_account("9001", "USD", meta::synthetic_rows(20, from, to));
    w.meta.set_fault("9001", meta::Fault::EndlessPages { rows_per_page: 200 });
    // Good: small jobs of the same platforms, in the same batch.
    w.google.add_customer("9000000002", "USD", google_ads::synthetic_rows(3, d("2026-11-20"), d("2026-11-22")));
    w.meta.add_account("9002", "USD", meta::synthetic_rows(3, d("2026-11-20"), d("2026-11-22")));

    let memory = MEMORY_MB.to_string();
    let function = LambdaFunction::start("cost-etl", &w.function_env(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory), ("BATCH_CONCURRENCY", "10")]));
    let records = [
        ("endless-google", job("google_ads", "9000000001", "2026-11-01", "2026-11-30")),
        ("endless-meta", job("meta", "act_9001", "2026-11-01", "2026-11-30")),
        ("good-google", job("google_ads", "9000000002", "2026-11-20", "2026-11-22")),
        ("good-meta", job("meta", "act_9002", "2026-11-20", "2026-11-22")),
    ];
    let payload = event(&records.iter().map(|(id, body)| (*id, body.as_str())).collect::<Vec<_>>());
    let answer = function.invoke(&payload).await.json();

    // Nothing comes back: the hostile jobs are permanent failures, dead-lettered with their reason.
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "{answer}\n{}", function.logs());
    let dead = w.dead_letter_messages().await;
    let codes: Vec<(&str, &str)> = dead.iter().map(|l| (l.id.as_str(), l.code.as_str())).collect();
    assert_eq!(codes, [("endless-google", "platform.job_too_large"), ("endless-meta", "platform.job_too_large")], "{}", function.logs());
    for letter in &dead {
        let reason = &letter.attributes["reason"];
        assert!(reason.contains(&format!("AWS_LAMBDA_FUNCTION_MEMORY_SIZE={MEMORY_MB} MB shared by BATCH_CONCURRENCY=10 jobs")), "{reason}");
        assert!(reason.contains("split the job's date range"), "{reason}");
        assert_eq!(letter.attributes["error_class"], "permanent", "a redelivery would meet the same wall");
    }
    // The hostile peers were read well past one page or batch, until the share ran out.
    assert_eq!(w.google.calls_for("9000000001"), 1);
    assert!(w.meta.requests_for("9001") > 10, "{} pages", w.meta.requests_for("9001"));

    // The good jobs of the same batch completed.
    let keys: Vec<String> = w.objects().await.into_keys().collect();
    let expected: Vec<String> = ["platform=google_ads/account=9000000002", "platform=meta/account=act_9002"]
        .iter()
        .flat_map(|prefix| ["2026-11-20", "2026-11-21", "2026-11-22"].map(|day| format!("costs/{prefix}/date={day}/costs.jsonl")))
        .collect();
    assert_eq!(keys, expected, "only the good jobs wrote to s3://{BUCKET}");

    // And the process stayed within what it was told it has.
    let peak = function.peak_rss_bytes().expect("the function's /proc status (Linux)");
    assert!(peak < MEMORY_MB * 1024 * 1024, "peak RSS {} MiB passed the function's {MEMORY_MB} MB", peak / (1024 * 1024));
    // The README's figure (`cargo test --test memory -- --nocapture`).
    eprintln!("cost-etl (debug build) peak RSS with two endless answers in a batch of 4, told {MEMORY_MB} MB: {:.1} MiB", peak as f64 / (1024.0 * 1024.0));
}
