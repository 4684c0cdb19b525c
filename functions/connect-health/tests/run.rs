//! connect-health against the local Kafka Connect peer and moto: what gets restarted, what
//! CloudWatch receives, and how a run survives conflicts, dead clusters, auth and a CloudWatch
//! that refuses its metrics.

mod common_setup;

use common_setup::*;
use connect_health::{App, Clients};
use peers::kafka_connect::{Restarted, FAILED, PAUSED, RUNNING};
use test_support::Moto;

#[tokio::test]
async fn restarts_exactly_the_transient_failures_and_publishes_metrics() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 4, RUNNING);
    peer.set_task("es-sink", 1, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 2, FAILED, Some(POISON_TRACE));
    peer.set_task("es-sink", 3, FAILED, Some(TIMEOUT_TRACE));
    peer.add_connector("jdbc-source", "source", FAILED, 0, RUNNING);
    peer.set_connector("jdbc-source", FAILED, Some(CONFIG_TRACE));
    peer.add_connector("paused-sink", "sink", PAUSED, 2, PAUSED);
    peer.add_connector("s3-sink", "sink", RUNNING, 2, RUNNING);

    let app = app(&moto, config(vec![cluster("main", &url)]));
    let report = run(&app).await;

    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 1), Restarted::Task("es-sink".into(), 3)]);
    assert_eq!(peer.task_state("es-sink", 2).as_deref(), Some(FAILED), "the poison record is left alone");
    assert_eq!(peer.connector_state("jdbc-source").as_deref(), Some(FAILED), "the bad config is left alone");
    // Task 2 is FAILED but skipped, so the onlyFailed form would restart it too: per-task calls.
    assert_eq!(posts(&peer), ["/connectors/es-sink/tasks/1/restart", "/connectors/es-sink/tasks/3/restart"]);
    assert_eq!(peer.calls().len(), 4, "GET /, GET /connectors?expand=status, two restarts: {:?}", peer.calls());

    assert_eq!(
        actions(&report, "main", "es-sink"),
        [
            ("1".into(), "restarted".into(), "network-fault".into()),
            ("2".into(), "skipped".into(), "poison-serialization".into()),
            ("3".into(), "restarted".into(), "network-fault".into()),
        ]
    );
    assert_eq!(actions(&report, "main", "jdbc-source"), [("\"connector\"".into(), "skipped".into(), "config".into())]);
    let es = connector(&report, "main", "es-sink");
    assert_eq!(es["tasks"]["failed"], 3);
    assert_eq!(es["actions"][0]["root_cause"], "java.net.SocketTimeoutException: Read timed out");
    let cluster_report = &report["clusters"][0];
    assert_eq!(cluster_report["reachable"], true);
    assert_eq!(cluster_report["version"], "3.7.0");
    assert_eq!(cluster_report["http_calls"], 4);
    // CONNECTOR_METRICS=problems: the 7 cluster series, FailedConnectors (jdbc-source is FAILED),
    // and the non-zero problem counts of the three connectors with a problem: es-sink (failed,
    // restarted, skipped), jdbc-source (connector failed, skipped), paused-sink (paused).
    assert_eq!(report["metrics"]["datums"], 7 + 1 + 3 + 2 + 1);
    assert_eq!(report["metrics"]["put_calls"], 1);
    assert_eq!(report["metrics"]["failed_batches"], 0);
    assert!(report["metrics"].get("error").is_none(), "{report}");

    let m = |name: &'static str, connector: Option<&'static str>| metric(&moto, "KafkaConnect", name, "main", connector);
    assert_eq!(m("ClusterReachable", None).await, Some(1.0));
    assert_eq!(m("Connectors", None).await, None, "only with CONNECTOR_METRICS=all");
    assert_eq!(m("FailedConnectors", None).await, Some(1.0));
    assert_eq!(m("RunningTasks", None).await, Some(3.0));
    assert_eq!(m("FailedTasks", None).await, Some(3.0));
    assert_eq!(m("FailedTasks", Some("es-sink")).await, Some(3.0));
    assert_eq!(m("RunningTasks", Some("es-sink")).await, None, "RUNNING counts are not a problem");
    assert_eq!(m("TasksRestarted", Some("es-sink")).await, Some(2.0));
    assert_eq!(m("RestartsSkipped", Some("es-sink")).await, Some(1.0));
    assert_eq!(m("ConnectorFailed", Some("jdbc-source")).await, Some(1.0));
    assert_eq!(m("ConnectorFailed", Some("paused-sink")).await, None, "paused is not failed: no zero series");
    assert_eq!(m("PausedTasks", Some("paused-sink")).await, Some(2.0));
    assert_eq!(m("UnassignedTasks", Some("s3-sink")).await, None, "s3-sink is healthy: no series of its own (missing data means healthy)");
    // Cluster-level sums over the connectors (dimension Cluster only).
    assert_eq!(m("PausedTasks", None).await, Some(2.0));
    assert_eq!(m("UnassignedTasks", None).await, Some(0.0));
    assert_eq!(m("TasksRestarted", None).await, Some(2.0));
    assert_eq!(m("RestartsSkipped", None).await, Some(2.0), "the poison record and the bad config need a human");
}

#[tokio::test]
async fn connect_3_restarts_all_chosen_failures_in_one_call() {
    let moto = Moto::start();
    let (peer, url) = peer("3.0.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 3, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 2, FAILED, Some(TIMEOUT_TRACE));
    let report = run(&app(&moto, config(vec![cluster("main", &url)]))).await;
    assert_eq!(posts(&peer), ["/connectors/es-sink/restart?includeTasks=true&onlyFailed=true"]);
    let calls: Vec<String> = peer.calls().into_iter().map(|c| format!("{} {}", c.method, c.uri)).collect();
    assert_eq!(
        calls[2..],
        ["GET /connectors/es-sink/status".to_string(), "POST /connectors/es-sink/restart?includeTasks=true&onlyFailed=true".to_string()],
        "the status is read again just before the onlyFailed call, and shows exactly the chosen failures"
    );
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 0), Restarted::Task("es-sink".into(), 2)]);
    let detail = connector(&report, "main", "es-sink")["actions"][0]["detail"].as_str().unwrap().to_string();
    assert_eq!(detail, "worker reports RESTARTING: task 0, task 2");
}

#[tokio::test]
async fn connect_2_8_gets_per_task_restarts_because_it_ignores_only_failed() {
    let moto = Moto::start();
    let (peer, url) = peer("2.8.2").await;
    peer.add_connector("es-sink", "sink", RUNNING, 3, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 2, FAILED, Some(TIMEOUT_TRACE));
    run(&app(&moto, config(vec![cluster("main", &url)]))).await;
    assert_eq!(posts(&peer), ["/connectors/es-sink/tasks/0/restart", "/connectors/es-sink/tasks/2/restart"]);
    assert_eq!(peer.task_state("es-sink", 0).as_deref(), Some(RUNNING));
    assert_eq!(peer.task_state("es-sink", 2).as_deref(), Some(RUNNING));
}

#[tokio::test]
async fn connect_2_2_is_read_connector_by_connector() {
    let moto = Moto::start();
    let (peer, url) = peer("2.2.0").await;
    for name in ["a", "b", "c"] {
        peer.add_connector(name, "source", RUNNING, 2, RUNNING);
    }
    peer.set_task("b", 1, FAILED, Some(TIMEOUT_TRACE));
    let report = run(&app(&moto, config(vec![cluster("old", &url)]))).await;
    let gets: Vec<String> = peer.calls().into_iter().filter(|c| c.method == "GET").map(|c| c.uri).collect();
    assert_eq!(gets[..2], ["/".to_string(), "/connectors".to_string()]);
    let mut statuses = gets[2..].to_vec();
    statuses.sort();
    assert_eq!(statuses, ["/connectors/a/status", "/connectors/b/status", "/connectors/c/status"]);
    assert_eq!(peer.restarts(), [Restarted::Task("b".into(), 1)]);
    assert_eq!(report["clusters"][0]["connectors_total"], 3);
}

#[tokio::test]
async fn http_calls_do_not_grow_with_connectors_on_connect_2_3_and_later() {
    let moto = Moto::start();
    let (peer, url) = peer("2.3.0").await;
    for i in 0..200 {
        peer.add_connector(&format!("connector-{i:03}"), "sink", RUNNING, 5, RUNNING);
    }
    let report = run(&app(&moto, all_connectors(config(vec![cluster("main", &url)])))).await;
    assert_eq!(peer.calls().len(), 2);
    assert_eq!(report["clusters"][0]["connectors_total"], 200);
    assert_eq!(report["metrics"]["datums"], 9 + 200 * 7);
    assert_eq!(report["metrics"]["put_calls"], 2, "1409 datums need two PutMetricData calls");
    assert_eq!(metric(&moto, "KafkaConnect", "RunningTasks", "main", None).await, Some(1000.0));
}

#[tokio::test]
async fn one_cluster_down_does_not_hide_the_other() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 1, FAILED);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let report = run(&app(&moto, config(vec![cluster("down", &dead), cluster("up", &url)]))).await;
    let down = &report["clusters"][0];
    assert_eq!(down["reachable"], false);
    assert!(down["error"].as_str().unwrap().contains("GET /: cannot reach the worker"), "{down}");
    assert_eq!(report["clusters"][1]["reachable"], true);
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 0)]);
    assert_eq!(metric(&moto, "KafkaConnect", "ClusterReachable", "down", None).await, Some(0.0));
    assert_eq!(metric(&moto, "KafkaConnect", "Connectors", "down", None).await, None, "no made-up zeros");
    assert_eq!(metric(&moto, "KafkaConnect", "ClusterReachable", "up", None).await, Some(1.0));
    assert_eq!(metric(&moto, "KafkaConnect", "TasksRestarted", "up", Some("es-sink")).await, Some(1.0));
}

#[tokio::test]
async fn clusters_are_checked_a_few_at_a_time_and_reported_in_configuration_order() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("s3-sink", "sink", RUNNING, 2, RUNNING);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    // Unreachable clusters finish first, so with more than one at a time the order of finishing
    // is not the configuration's.
    let names = ["a-up", "b-down", "c-up", "d-down", "e-up"];
    let clusters: Vec<_> = names.iter().map(|name| cluster(name, if name.ends_with("-up") { url.as_str() } else { dead.as_str() })).collect();
    for concurrency in [1, 2, 32] {
        let mut c = config(clusters.clone());
        c.cluster_concurrency = concurrency;
        let report = run(&app(&moto, c)).await;
        let seen: Vec<(&str, bool)> = report["clusters"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap(), c["reachable"].as_bool().unwrap())).collect();
        assert_eq!(seen, [("a-up", true), ("b-down", false), ("c-up", true), ("d-down", false), ("e-up", true)], "CLUSTER_CONCURRENCY={concurrency}");
        assert_eq!(report["clusters"][4]["connectors_total"], 1);
    }
}

#[tokio::test]
async fn an_answer_past_the_body_cap_makes_only_its_cluster_unreachable() {
    let moto = Moto::start();
    let (big, big_url) = peer("3.7.0").await;
    for i in 0..100 {
        big.add_connector(&format!("connector-{i:03}"), "sink", RUNNING, 2, RUNNING);
    }
    let (small, small_url) = peer("3.7.0").await;
    small.add_connector("s3-sink", "sink", RUNNING, 1, RUNNING);
    small.set_task("s3-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    let mut c = config(vec![cluster("big", &big_url), cluster("small", &small_url)]);
    // 100 connectors answer some 20 KB.
    c.max_body_bytes = 4096;
    let report = run(&app(&moto, c)).await;
    let refused = &report["clusters"][0];
    assert_eq!(refused["reachable"], false);
    let error = refused["error"].as_str().unwrap();
    assert!(error.starts_with("GET /connectors?expand=status: response body is larger than 4096 bytes"), "{error}");
    assert!(error.contains("raise the function's memory or lower CLUSTER_CONCURRENCY"), "says what to do: {error}");
    assert_eq!(report["clusters"][1]["reachable"], true);
    assert_eq!(small.restarts(), [Restarted::Task("s3-sink".into(), 0)], "the other cluster is checked as usual");
}

#[tokio::test]
async fn dry_run_decides_and_restarts_nothing() {
    let moto = Moto::start();
    create_table(&moto).await;
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 2, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 1, FAILED, Some(POISON_TRACE));
    let mut c = config(vec![cluster("main", &url)]);
    c.dry_run = true;
    c.restart_state_table = Some(TABLE.into());
    let report = run(&app(&moto, c)).await;
    assert!(posts(&peer).is_empty());
    assert!(peer.restarts().is_empty());
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        actions(&report, "main", "es-sink"),
        [("0".into(), "would_restart".into(), "network-fault".into()), ("1".into(), "skipped".into(), "poison-serialization".into())]
    );
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config());
    assert_eq!(ddb.scan().table_name(TABLE).send().await.unwrap().count(), 0, "dry run writes no restart state");
    assert_eq!(metric(&moto, "KafkaConnect", "TasksRestarted", "main", Some("es-sink")).await, None, "nothing restarted, no series");
}

#[tokio::test]
async fn a_rebalance_is_retried_then_deferred() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("es-sink", "sink", RUNNING, 1, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    let app = app(&moto, config(vec![cluster("main", &url)]));

    peer.inject_conflicts(1);
    let report = run(&app).await;
    assert_eq!(posts(&peer).len(), 2, "one 409, then the retry");
    assert_eq!(actions(&report, "main", "es-sink")[0].1, "restarted");

    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.clear_log();
    peer.inject_conflicts(100);
    let report = run(&app).await;
    assert_eq!(posts(&peer).len(), 3, "three tries in all");
    assert!(peer.restarts().is_empty());
    let action = &connector(&report, "main", "es-sink")["actions"][0];
    assert_eq!(action["action"], "deferred");
    assert!(action["detail"].as_str().unwrap().contains("answered 409"), "{action}");
}

#[tokio::test]
async fn basic_auth_comes_from_a_secrets_manager_secret() {
    let moto = Moto::start();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    secrets.create_secret().name("connect/main").secret_string(r#"{"username":"connect","password":"s3cret-pw"}"#).send().await.unwrap();
    secrets.create_secret().name("connect/wrong").secret_string(r#"{"username":"connect","password":"not-it-pw"}"#).send().await.unwrap();
    let (peer, url) = peer("3.7.0").await;
    let peer = peer.with_basic_auth("connect", "s3cret-pw");
    peer.add_connector("es-sink", "sink", RUNNING, 1, RUNNING);
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));

    let mut good = cluster("main", &url);
    good.auth_secret_id = Some("connect/main".into());
    let mut bad = cluster("wrong", &url);
    bad.auth_secret_id = Some("connect/wrong".into());
    let mut missing = cluster("missing", &url);
    missing.auth_secret_id = Some("connect/missing".into());
    let report = run(&app(&moto, config(vec![bad, missing, good]))).await;

    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 0)]);
    assert_eq!(report["clusters"][2]["reachable"], true);
    let wrong = report["clusters"][0]["error"].as_str().unwrap();
    assert!(wrong.contains("credentials rejected; check secret connect/wrong") && wrong.contains("answered HTTP 401"), "{wrong}");
    let missing = report["clusters"][1]["error"].as_str().unwrap();
    assert!(missing.contains("secret connect/missing could not be read"), "{missing}");
    let text = report.to_string();
    assert!(!text.contains("s3cret-pw") && !text.contains("not-it-pw"), "no secret in the report");
}

#[tokio::test]
async fn handles_the_scheduled_event_from_events_dir() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    peer.add_connector("s3-sink", "sink", RUNNING, 2, RUNNING);
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test_support::tools::workspace_root().join("events/connect-health-scheduled.json")).unwrap()).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    let app = app(&moto, config(vec![cluster("main", &url)]));
    let report = app.handle(lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default())).await.unwrap();
    // The runtime serializes the answer as it is: its JSON is the report's.
    let report = serde_json::to_value(&report).unwrap();
    assert_eq!(report["clusters"][0]["tasks"]["running"], 2);
    assert_eq!(report["metrics"]["put_calls"], 1);
}

#[tokio::test]
async fn every_metrics_batch_is_tried_and_a_failed_one_fails_the_invocation() {
    let moto = Moto::start();
    let (peer, url) = peer("3.7.0").await;
    for i in 0..200 {
        peer.add_connector(&format!("connector-{i:03}"), "sink", RUNNING, 1, RUNNING);
    }
    peer.set_task("connector-000", 0, FAILED, Some(TIMEOUT_TRACE));
    // CloudWatch on a closed port, without SDK retries: every PutMetricData call fails at once.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut clients = Clients::from_sdk_config(&moto.sdk_config());
    clients.cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&moto.sdk_config())
            .endpoint_url(closed)
            .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
            .build(),
    );
    let app = App::new(all_connectors(config(vec![cluster("main", &url)])), clients).expect("app");

    let report = run(&app).await;
    assert_eq!(peer.restarts(), [Restarted::Task("connector-000".into(), 0)], "the run's work does not depend on CloudWatch");
    let metrics = &report["metrics"];
    assert_eq!(metrics["datums"], 9 + 200 * 7);
    assert_eq!(metrics["put_calls"], 2, "the second batch is sent although the first failed: {metrics}");
    assert_eq!(metrics["failed_batches"], 2, "{metrics}");
    assert!(metrics["error"].as_str().unwrap().starts_with("AWS cloudwatch.PutMetricData failed"), "{metrics}");

    // The same through the Lambda handler: the invocation fails, naming the counts and the first error.
    peer.set_task("connector-000", 0, FAILED, Some(TIMEOUT_TRACE));
    let event = lambda_runtime::LambdaEvent::new(serde_json::json!({}), lambda_runtime::Context::default());
    let error = app.handle(event).await.expect_err("a failed batch fails the invocation").to_string();
    assert!(error.contains("2 of 2 PutMetricData batches to namespace KafkaConnect failed"), "{error}");
    assert!(error.contains("first error: AWS cloudwatch.PutMetricData failed"), "{error}");
    assert_eq!(peer.restarts().len(), 2, "restarted again before the metrics failed");
}

/// Every connector gets its own series (`CONNECTOR_METRICS=all`): the batching tests need many datums.
fn all_connectors(mut config: connect_health::config::Config) -> connect_health::config::Config {
    config.connector_metrics = connect_health::config::ConnectorMetrics::All;
    config
}
