//! The last delivery the jobs queue's redrive policy allows: nothing reaches the DLQ without
//! having failed, and nothing reaches it without a reason. Against moto (a real queue, ledger and
//! DLQ) and the Meta peer.

mod support;

use aws_sdk_sqs::types::QueueAttributeName;
use cost_etl::handler::Outcome;
use peers::meta::{synthetic_rows, Fault};
use sqs_batch::batch::RecordStatus;
use sqs_batch::requeue::REQUEUES_ATTRIBUTE;
use std::time::Duration;
use support::*;

fn delivered(mut record: aws_lambda_events::sqs::SqsMessage, receive_count: u32) -> aws_lambda_events::sqs::SqsMessage {
    record.attributes.insert("ApproximateReceiveCount".into(), receive_count.to_string());
    record
}

#[tokio::test]
async fn a_job_whose_claim_a_crashed_invocation_holds_is_requeued_on_its_last_delivery_and_then_written() {
    // A short start margin so an invocation with a few seconds left still starts records.
    let world = World::builder().env("DEADLINE_MARGIN_SECONDS", "1").start().await;
    world.meta.add_account("1", "EUR", synthetic_rows(2, d("2026-11-20"), d("2026-11-21")));
    let body = job("meta", "act_1", "2026-11-20", "2026-11-21");
    let (queue_url, records) = world.queue_with("jobs", 300, &[("m1", body.as_str())]).await;

    // Invocation A claims the job and dies while the platform is answering: its claim stays
    // held until its deadline, four seconds away.
    world.meta.set_page_delay(Duration::from_secs(60));
    let crashed = world.app();
    let first = records.clone();
    let run = tokio::spawn(async move { crashed.process(&first, sqs_batch::batch::Deadline::after(Duration::from_secs(4))).await });
    for _ in 0..200 {
        if world.meta.requests_arrived() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(world.meta.requests_arrived(), 1, "the crashed invocation was talking to the platform");
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    world.meta.set_page_delay(Duration::ZERO);

    // The fifth and last delivery the redrive policy allows finds the claim still held: the job
    // has not failed, so it must not be returned (the redrive policy would move it to the DLQ).
    let app = world.app();
    let last = vec![delivered(records[0].clone(), 5)];
    let report = app.process(&last, far()).await;
    assert_eq!(report.records[0].status, RecordStatus::Done(Outcome::Requeued));
    assert!(failed_ids(&report).is_empty(), "acknowledged, not returned");
    assert!(world.dead_letters().await.is_empty(), "nothing dead-lettered");
    assert_eq!(world.meta.requests_arrived(), 1, "the held job was not fetched twice");

    // The copy is a new message (receive count 1) with the same body, delayed until the hold
    // ends; once delivered it runs and writes the days.
    let sqs = &world.clients.sqs;
    let mut copy = None;
    for _ in 0..30 {
        let out = sqs.receive_message().queue_url(&queue_url).message_attribute_names("All").wait_time_seconds(1).send().await.unwrap();
        if let Some(m) = out.messages().first() {
            copy = Some(m.clone());
            break;
        }
    }
    let copy = copy.expect("the requeued copy arrives once its delay is over");
    assert_eq!(copy.body(), Some(body.as_str()));
    assert_eq!(copy.message_attributes().unwrap()[REQUEUES_ATTRIBUTE].string_value(), Some("1"));
    let mut again = record("m1-copy", copy.body().unwrap());
    again.receipt_handle = copy.receipt_handle().map(String::from);
    again.event_source_arn = records[0].event_source_arn.clone();
    again.message_attributes.insert(REQUEUES_ATTRIBUTE.into(), {
        let mut a = aws_lambda_events::sqs::SqsMessageAttribute::default();
        a.data_type = Some("Number".into());
        a.string_value = Some("1".into());
        a
    });
    let report = app.process(&[again], far()).await;
    assert!(matches!(report.records[0].status, RecordStatus::Done(Outcome::Processed(_))), "{:?}", report.records[0].status);
    assert_eq!(world.objects().await.len(), 2, "both days written");
    assert!(world.dead_letters().await.is_empty());
    let attrs = sqs.get_queue_attributes().queue_url(&queue_url).attribute_names(QueueAttributeName::All).send().await.unwrap();
    assert_eq!(attrs.attributes().unwrap().get(&QueueAttributeName::ApproximateNumberOfMessagesDelayed).map(String::as_str), Some("0"), "no copy left behind");
}

#[tokio::test]
async fn a_retryable_failure_on_the_last_delivery_is_dead_lettered_with_its_reason_and_the_ledger_remembers_it() {
    let world = World::start().await;
    world.meta.add_account("7", "EUR", synthetic_rows(1, d("2026-11-20"), d("2026-11-20")));
    world.meta.set_fault("7", Fault::ServerError { times: 100 });
    let body = job("meta", "act_7", "2026-11-20", "2026-11-20");
    let app = world.app();

    // The fourth delivery: retried, and the ledger keeps why.
    let report = app.process(&[delivered(record("m7", &body), 4)], far()).await;
    assert_eq!(failed_ids(&report), vec!["m7"]);
    let last = world.ledger.get(&world.key_of(&body)).await.unwrap().unwrap().last_failure.expect("the ledger keeps the last failure");
    assert!(last.code.starts_with("platform."), "{last:?}");
    assert!(last.message.contains("meta/act_7"), "{last:?}");

    // The fifth (last) delivery: dead-lettered by the function itself, with the reason, and
    // acknowledged, so the redrive policy never moves it without one.
    let report = app.process(&[delivered(record("m7", &body), 5)], far()).await;
    assert!(failed_ids(&report).is_empty());
    assert!(matches!(&report.records[0].status, RecordStatus::Done(Outcome::DeadLettered { reason_code }) if reason_code == &last.code));
    let letters = world.dead_letter_messages().await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.body, body);
    assert_eq!(letter.code, last.code);
    assert_eq!(letter.attributes["error_class"], "retryable");
    assert_eq!(letter.attributes["receive_count"], "5");
    assert!(letter.attributes["reason"].starts_with("gave up after 5 deliveries (the queue's maxReceiveCount): meta/act_7"), "{}", letter.attributes["reason"]);
}

#[tokio::test]
async fn a_permanent_failure_is_still_dead_lettered_at_once_naming_what_to_fix() {
    let world = World::start().await;
    world.clients.secrets.delete_secret().secret_id("cost-etl/tiktok").force_delete_without_recovery(true).send().await.unwrap();
    let body = job("tiktok", "7012345678901234567", "2026-11-20", "2026-11-20");
    let report = world.app().process(&[record("t1", &body)], far()).await;
    assert!(failed_ids(&report).is_empty());
    let letters = world.dead_letter_messages().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attributes["error_class"], "permanent");
    assert!(letters[0].attributes["reason"].contains("cost-etl/tiktok"), "the missing secret is named: {}", letters[0].attributes["reason"]);
}
