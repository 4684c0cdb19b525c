//! Proves the local AWS peer works through the real AWS SDK for Rust: a queue round trip and a
//! metric round trip against a private moto_server, and that the server is gone once dropped.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use test_support::Moto;

#[tokio::test]
async fn sqs_send_and_receive_through_the_sdk() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config());
    let queue_url = sqs.create_queue().queue_name("jobs").send().await.unwrap().queue_url.unwrap();
    // The queue is named in the URL's path under moto's default account, which the SDK sends back.
    assert!(queue_url.starts_with("http") && queue_url.ends_with("/123456789012/jobs"), "{queue_url}");

    sqs.send_message().queue_url(&queue_url).message_body(r#"{"platform":"meta"}"#).send().await.unwrap();
    let received = sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<_> = received.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec![r#"{"platform":"meta"}"#]);
}

#[tokio::test]
async fn cloudwatch_put_metric_and_list_it_back() {
    let moto = Moto::start();
    let cw = aws_sdk_cloudwatch::Client::new(&moto.sdk_config());
    cw.put_metric_data()
        .namespace("KafkaConnect")
        .metric_data(
            MetricDatum::builder()
                .metric_name("FailedTasks")
                .dimensions(Dimension::builder().name("Cluster").value("main").build())
                .unit(StandardUnit::Count)
                .value(2.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listed = cw.list_metrics().namespace("KafkaConnect").send().await.unwrap();
    let names: Vec<_> = listed.metrics().iter().filter_map(|m| m.metric_name()).collect();
    assert_eq!(names, vec!["FailedTasks"]);
    let dims: Vec<_> = listed.metrics()[0].dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect();
    assert_eq!(dims, vec![("Cluster", "main")]);
}

#[tokio::test]
async fn dropping_the_peer_stops_the_server() {
    let moto = Moto::start();
    let port = moto.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(moto);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "moto_server still listening on {port} after drop");
}
