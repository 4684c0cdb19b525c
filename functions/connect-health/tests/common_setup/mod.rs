//! Shared set-up of the connect-health integration tests: a Kafka Connect peer, moto, and an
//! `App` built from an explicit config (the process environment is never touched).

#![allow(dead_code)]

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use connect_health::connect::Deadline;
use connect_health::{App, Clients, ClusterConfig, Config};
use peers::kafka_connect::{serve, KafkaConnect};
use serde_json::Value;
use std::time::Duration;
use test_support::Moto;

pub const TIMEOUT_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Bulk request failed
\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:587)
\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:581)
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)
\t... 12 more
";

pub const POISON_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler
\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execAndHandleError(RetryWithToleranceOperator.java:206)
Caused by: org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error
\tat io.confluent.connect.avro.AvroConverter.toConnectData(AvroConverter.java:118)
\t... 13 more
Caused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!
";

pub const CONFIG_TRACE: &str = "org.apache.kafka.common.config.ConfigException: Invalid value jdbc:nope for configuration connection.url
\tat io.confluent.connect.jdbc.JdbcSourceConnector.start(JdbcSourceConnector.java:80)
";

pub const TABLE: &str = "connect-health-restarts";

pub async fn peer(version: &str) -> (KafkaConnect, String) {
    let peer = KafkaConnect::new(version);
    let (url, _handle) = serve(peer.clone()).await;
    (peer, url)
}

pub fn cluster(name: &str, url: &str) -> ClusterConfig {
    ClusterConfig { name: name.into(), url: url.into(), auth_secret_id: None }
}

pub fn config(clusters: Vec<ClusterConfig>) -> Config {
    let mut c = Config::new(clusters);
    c.http_timeout = Duration::from_secs(5);
    c.conflict_backoff = Duration::from_millis(10);
    c
}

pub fn app(moto: &Moto, config: Config) -> App {
    App::new(config, Clients::from_sdk_config(&moto.sdk_config())).expect("app")
}

pub async fn run(app: &App) -> Value {
    serde_json::to_value(app.run(Deadline::after(Duration::from_secs(60))).await).unwrap()
}

pub async fn create_table(moto: &Moto) {
    moto.create_table(TABLE, "connector_task").await;
}

/// The sum of one metric's datums in the last hour, as CloudWatch (moto) stored it. Uses
/// GetMetricData, which (like CloudWatch, unlike moto's GetMetricStatistics) matches the
/// dimension set exactly, so `Cluster` alone does not also sum the per-connector datums.
pub async fn metric(moto: &Moto, namespace: &str, name: &str, cluster: &str, connector: Option<&str>) -> Option<f64> {
    let cw = aws_sdk_cloudwatch::Client::new(&moto.sdk_config());
    let now = std::time::SystemTime::now();
    let mut m = Metric::builder().namespace(namespace).metric_name(name).dimensions(Dimension::builder().name("Cluster").value(cluster).build());
    if let Some(c) = connector {
        m = m.dimensions(Dimension::builder().name("Connector").value(c).build());
    }
    let query = MetricDataQuery::builder().id("m").metric_stat(MetricStat::builder().metric(m.build()).period(60).stat("Sum").build()).build();
    let out = cw
        .get_metric_data()
        .metric_data_queries(query)
        .start_time((now - Duration::from_secs(3600)).into())
        .end_time((now + Duration::from_secs(600)).into())
        .send()
        .await
        .expect("get metric data");
    let values = out.metric_data_results().first().map(|r| r.values().to_vec()).unwrap_or_default();
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum())
}

/// The report entry of one connector.
pub fn connector<'a>(report: &'a Value, cluster: &str, name: &str) -> &'a Value {
    let c = report["clusters"].as_array().unwrap().iter().find(|c| c["name"] == cluster).unwrap_or_else(|| panic!("no cluster {cluster} in {report}"));
    c["connectors"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no connector {name} in {c}"))
}

/// `(task, action, rule)` of a connector's report entry.
pub fn actions(report: &Value, cluster: &str, name: &str) -> Vec<(String, String, String)> {
    connector(report, cluster, name)["actions"]
        .as_array()
        .map(|a| a.iter().map(|x| (x["task"].to_string(), x["action"].as_str().unwrap().to_string(), x["rule"].as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

pub fn posts(peer: &KafkaConnect) -> Vec<String> {
    peer.calls().into_iter().filter(|c| c.method == "POST").map(|c| c.uri).collect()
}
