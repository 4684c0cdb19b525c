//! Set-up the end-to-end test files share (a module of each test binary, not a test of its own).
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use test_support::Moto;

/// What cost-etl needs in moto: the queue `jobs-dlq` (its URL is returned, for `DLQ_URL`), the
/// bucket `costs`, the ledger table `idempotency`, and `secrets` (name, secret string).
pub async fn cost_etl_aws(moto: &Moto, secrets: &[(String, String)]) -> String {
    let aws = moto.sdk_config();
    let dlq_url = aws_sdk_sqs::Client::new(&aws).create_queue().queue_name("jobs-dlq").send().await.unwrap().queue_url.unwrap();
    common::aws::s3_client(&aws).create_bucket().bucket("costs").send().await.unwrap();
    moto.create_table("idempotency", "id").await;
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    for (name, value) in secrets {
        client.create_secret().name(name).secret_string(value).send().await.unwrap();
    }
    dlq_url
}

/// The Meta secret `{prefix}/meta` (DESIGN.md shape) holding `token`, for [`cost_etl_aws`].
pub fn meta_secret(prefix: &str, token: &str) -> (String, String) {
    (format!("{prefix}/meta"), format!(r#"{{"access_token":"{token}"}}"#))
}
