//! Platform credentials kept as SSM Parameter Store SecureStrings (`SECRETS_PREFIX=ssm:/...`)
//! instead of Secrets Manager secrets: read and used the same way, never printed, and a missing
//! parameter is dead-lettered at once naming it. Against moto's SSM.

mod support;

use aws_sdk_ssm::types::ParameterType;
use peers::meta::synthetic_rows;
use sqs_batch::batch::RecordStatus;
use support::*;

#[tokio::test]
async fn a_securestring_parameter_is_a_secret_source_like_secrets_manager() {
    let world = World::builder().env("SECRETS_PREFIX", "ssm:/pipeline/test/ad-platforms").start().await;
    let ssm = aws_sdk_ssm::Client::new(&world.sdk_config());
    let token = peers::AdPlatforms::META_TOKEN;
    ssm.put_parameter()
        .name("/pipeline/test/ad-platforms/meta")
        .r#type(ParameterType::SecureString)
        .value(format!(r#"{{"access_token":"{token}"}}"#))
        .send()
        .await
        .unwrap();
    world.meta.add_account("1", "EUR", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));

    let app = world.app();
    let good = job("meta", "act_1", "2026-11-20", "2026-11-21");
    let report = app.process(&[record("m1", &good)], far()).await;
    assert!(matches!(report.records[0].status, RecordStatus::Done(_)), "{:?}", report.records[0].status);
    assert_eq!(world.objects().await.len(), 2);

    // TikTok's parameter does not exist: dead-lettered at once, the parameter named, no value leaked.
    let tiktok = job("tiktok", "7012345678901234567", "2026-11-20", "2026-11-20");
    let report = app.process(&[record("t1", &tiktok)], far()).await;
    assert!(failed_ids(&report).is_empty());
    let letters = world.dead_letter_messages().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].code, "platform.credentials_unreadable");
    let reason = &letters[0].attributes["reason"];
    assert!(reason.contains("ssm:/pipeline/test/ad-platforms/tiktok") && reason.contains("ParameterNotFound"), "{reason}");
    assert!(!reason.contains(token));
}
