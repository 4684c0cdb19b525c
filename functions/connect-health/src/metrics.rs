//! CloudWatch metrics: the datums of one run (derived from the report, one timestamp) and
//! their publication in as few `PutMetricData` calls as the API allows.

use crate::report::{ActionTaken, ClusterReport, Report};
use crate::status::State;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

/// `PutMetricData` accepts at most this many datums per call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;

/// One metric value, before it becomes an SDK `MetricDatum`.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: &'static str,
    pub cluster: String,
    /// `None` for the per-cluster metrics.
    pub connector: Option<String>,
    pub value: f64,
}

/// Every datum of a run. An unreachable cluster publishes only `ClusterReachable` = 0, so
/// its absent counts are not mistaken for zeros.
pub fn datums(report: &Report) -> Vec<Datum> {
    let mut out = Vec::new();
    for cluster in &report.clusters {
        cluster_datums(cluster, &mut out);
    }
    out
}

fn cluster_datums(cluster: &ClusterReport, out: &mut Vec<Datum>) {
    let per_cluster = |name, value: u32| Datum { name, cluster: cluster.name.clone(), connector: None, value: f64::from(value) };
    out.push(per_cluster("ClusterReachable", u32::from(cluster.reachable)));
    if !cluster.reachable {
        return;
    }
    out.push(per_cluster("Connectors", cluster.connectors_total));
    out.push(per_cluster("FailedConnectors", cluster.failed_connectors));
    out.push(per_cluster("RunningTasks", cluster.tasks.running));
    out.push(per_cluster("FailedTasks", cluster.tasks.failed));
    for connector in &cluster.connectors {
        let datum = |name, value: u32| Datum { name, cluster: cluster.name.clone(), connector: Some(connector.name.clone()), value: f64::from(value) };
        out.push(datum("RunningTasks", connector.tasks.running));
        out.push(datum("FailedTasks", connector.tasks.failed));
        out.push(datum("PausedTasks", connector.tasks.paused));
        out.push(datum("UnassignedTasks", connector.tasks.unassigned));
        out.push(datum("ConnectorFailed", u32::from(connector.state == State::Failed)));
        out.push(datum("TasksRestarted", connector.count(ActionTaken::Restarted)));
        out.push(datum("RestartsSkipped", connector.count(ActionTaken::Skipped)));
    }
}

/// The SDK datums, split into `PutMetricData`-sized batches.
pub fn batches(datums: &[Datum], timestamp: DateTime<Utc>) -> Vec<Vec<MetricDatum>> {
    let timestamp = SmithyDateTime::from_millis(timestamp.timestamp_millis());
    datums.chunks(MAX_DATUMS_PER_CALL).map(|chunk| chunk.iter().map(|d| to_sdk(d, timestamp)).collect()).collect()
}

fn to_sdk(datum: &Datum, timestamp: SmithyDateTime) -> MetricDatum {
    let mut builder = MetricDatum::builder()
        .metric_name(datum.name)
        .unit(StandardUnit::Count)
        .value(datum.value)
        .timestamp(timestamp)
        .dimensions(Dimension::builder().name("Cluster").value(dimension_value(&datum.cluster)).build());
    if let Some(connector) = &datum.connector {
        builder = builder.dimensions(Dimension::builder().name("Connector").value(dimension_value(connector)).build());
    }
    builder.build()
}

/// CloudWatch dimension values are 1 to 1024 characters; connector names can be longer.
fn dimension_value(value: &str) -> String {
    let cut = common::text::truncate_bytes(value, 1024);
    if cut.is_empty() {
        "-".to_string()
    } else {
        cut.to_string()
    }
}

/// Send every batch; returns the number of calls made, or the first error with that count.
pub async fn publish(client: &aws_sdk_cloudwatch::Client, namespace: &str, batches: Vec<Vec<MetricDatum>>) -> Result<usize, (usize, common::error::AwsError)> {
    let mut calls = 0;
    for batch in batches {
        calls += 1;
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(batch))
            .send()
            .await
            .map_err(|e| (calls, common::error::AwsError::new("cloudwatch.PutMetricData", &e)))?;
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{TaskCounts, Target};
    use crate::report::{ActionCounts, ActionReport, ConnectorReport, MetricsReport};
    use chrono::TimeZone;

    fn action(task: Target, action: ActionTaken) -> ActionReport {
        ActionReport { task, action, rule: "r".into(), root_cause: None, detail: None }
    }

    fn report() -> Report {
        let connectors = vec![
            ConnectorReport {
                name: "es-sink".into(),
                kind: Some("sink".into()),
                state: State::Running,
                tasks: TaskCounts { running: 2, failed: 2, paused: 0, unassigned: 1, restarting: 0, other: 0 },
                actions: vec![action(Target::Task(1), ActionTaken::Restarted), action(Target::Task(2), ActionTaken::Skipped)],
            },
            ConnectorReport { name: "jdbc".into(), kind: None, state: State::Failed, tasks: TaskCounts::default(), actions: vec![action(Target::Connector, ActionTaken::BackingOff)] },
        ];
        Report {
            run_at: Utc.with_ymd_and_hms(2026, 11, 20, 0, 5, 0).unwrap(),
            dry_run: false,
            clusters: vec![
                ClusterReport {
                    name: "main".into(),
                    reachable: true,
                    version: Some("3.7.0".into()),
                    error: None,
                    connectors_total: 2,
                    failed_connectors: 1,
                    tasks: TaskCounts { running: 2, failed: 2, paused: 0, unassigned: 1, restarting: 0, other: 0 },
                    actions: ActionCounts::default(),
                    http_calls: 3,
                    elapsed_ms: 12,
                    connectors,
                },
                ClusterReport::unreachable("backup", "connection refused".into(), 1),
            ],
            metrics: MetricsReport::default(),
        }
    }

    #[test]
    fn datums_follow_the_design_names_and_dimensions() {
        let d = datums(&report());
        let find = |name: &str, cluster: &str, connector: Option<&str>| {
            d.iter().find(|x| x.name == name && x.cluster == cluster && x.connector.as_deref() == connector).map(|x| x.value)
        };
        assert_eq!(d.len(), 5 + 2 * 7 + 1);
        assert_eq!(find("ClusterReachable", "main", None), Some(1.0));
        assert_eq!(find("Connectors", "main", None), Some(2.0));
        assert_eq!(find("FailedConnectors", "main", None), Some(1.0));
        assert_eq!(find("RunningTasks", "main", None), Some(2.0));
        assert_eq!(find("FailedTasks", "main", None), Some(2.0));
        assert_eq!(find("RunningTasks", "main", Some("es-sink")), Some(2.0));
        assert_eq!(find("FailedTasks", "main", Some("es-sink")), Some(2.0));
        assert_eq!(find("PausedTasks", "main", Some("es-sink")), Some(0.0));
        assert_eq!(find("UnassignedTasks", "main", Some("es-sink")), Some(1.0));
        assert_eq!(find("ConnectorFailed", "main", Some("es-sink")), Some(0.0));
        assert_eq!(find("ConnectorFailed", "main", Some("jdbc")), Some(1.0));
        assert_eq!(find("TasksRestarted", "main", Some("es-sink")), Some(1.0));
        assert_eq!(find("RestartsSkipped", "main", Some("es-sink")), Some(1.0));
        assert_eq!(find("RestartsSkipped", "main", Some("jdbc")), Some(0.0), "backing off is not skipped");
        assert_eq!(find("ClusterReachable", "backup", None), Some(0.0));
        assert_eq!(d.iter().filter(|x| x.cluster == "backup").count(), 1, "no zero counts for an unreachable cluster");
    }

    #[test]
    fn batches_hold_at_most_1000_datums_with_one_timestamp() {
        let datum = Datum { name: "RunningTasks", cluster: "c".into(), connector: Some("x".into()), value: 1.0 };
        let many = vec![datum; 2001];
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 0, 5, 0).unwrap();
        let b = batches(&many, at);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [1000, 1000, 1]);
        let first = &b[0][0];
        assert_eq!(first.unit(), Some(&StandardUnit::Count));
        assert_eq!(first.timestamp().unwrap().to_millis().unwrap(), at.timestamp_millis());
        let dims: Vec<(&str, &str)> = first.dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect();
        assert_eq!(dims, [("Cluster", "c"), ("Connector", "x")]);
        assert!(batches(&[], at).is_empty());
        assert_eq!(batches(&many[..1000], at).len(), 1);
    }
}
