//! Set-up the end-to-end test files share (a module of each test binary, not a test of its own).

use test_support::Moto;

/// What cost-etl needs in moto: the queue `jobs-dlq` (its URL is returned, for `DLQ_URL`), the
/// bucket `costs`, the ledger table `idempotency`, and the Meta secret `{secrets_prefix}/meta`
/// holding `meta_token`.
pub async fn cost_etl_aws(moto: &Moto, secrets_prefix: &str, meta_token: &str) -> String {
    let aws = moto.sdk_config();
    let dlq_url = aws_sdk_sqs::Client::new(&aws).create_queue().queue_name("jobs-dlq").send().await.unwrap().queue_url.unwrap();
    common::aws::s3_client(&aws).create_bucket().bucket("costs").send().await.unwrap();
    moto.create_table("idempotency", "id").await;
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(format!("{secrets_prefix}/meta"))
        .secret_string(format!(r#"{{"access_token":"{meta_token}"}}"#))
        .send()
        .await
        .unwrap();
    dlq_url
}
