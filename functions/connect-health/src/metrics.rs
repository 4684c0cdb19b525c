//! CloudWatch metrics: the datums of one run (derived from the report, one timestamp), their
//! publication (every batch sent, failures collected) and the invocation's error when a batch
//! failed. How datums become bounded `PutMetricData` batches is in `metrics/batching.rs`.

mod batching;

pub use batching::{batches, dimension_value, encoded_size_estimate, lazy_batches, split_ranges, MAX_BATCH_BYTES, MAX_DATUMS_PER_CALL, MAX_DIMENSION_CHARS};

use crate::config::ConnectorMetrics;
use crate::report::{ActionTaken, ClusterReport, ConnectorReport, MetricsReport, Report};
use crate::status::State;
use aws_sdk_cloudwatch::types::MetricDatum;
use common::error::AwsError;
use std::future::Future;

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
/// its absent counts are not mistaken for zeros. Per-connector datums follow `per_connector`.
pub fn datums(report: &Report, per_connector: ConnectorMetrics) -> Vec<Datum> {
    let mut out = Vec::new();
    for cluster in &report.clusters {
        cluster_datums(cluster, per_connector, &mut out);
    }
    out
}

/// Whether a connector has something to say this run: a task or the connector itself not
/// RUNNING, or any restart decision about it.
pub fn has_problems(connector: &ConnectorReport) -> bool {
    let t = &connector.tasks;
    t.failed + t.paused + t.unassigned + t.restarting + t.other > 0 || connector.state != State::Running || !connector.actions.is_empty()
}

fn cluster_datums(cluster: &ClusterReport, per_connector: ConnectorMetrics, out: &mut Vec<Datum>) {
    let per_cluster = |name, value: u32| Datum { name, cluster: cluster.name.clone(), connector: None, value: f64::from(value) };
    out.push(per_cluster("ClusterReachable", u32::from(cluster.reachable)));
    if !cluster.reachable {
        return;
    }
    // The cluster's totals are sums over its connectors (`ClusterReport::from_connectors`). These
    // series are always published: they carry the alarms and the dashboard, and missing data on
    // them alarms. Each is a CloudWatch custom metric billed per month.
    out.push(per_cluster("RunningTasks", cluster.tasks.running));
    out.push(per_cluster("FailedTasks", cluster.tasks.failed));
    out.push(per_cluster("PausedTasks", cluster.tasks.paused));
    out.push(per_cluster("UnassignedTasks", cluster.tasks.unassigned));
    out.push(per_cluster("TasksRestarted", cluster.actions.restarted));
    // Failures that need a human: a policy skip or the restart cap (backing off is not counted).
    out.push(per_cluster("RestartsSkipped", cluster.actions.skipped));
    // Not alarmed: FailedConnectors only while some connector instance is FAILED (missing means
    // none), Connectors only when every series is wanted.
    if cluster.failed_connectors > 0 || per_connector == ConnectorMetrics::All {
        out.push(per_cluster("FailedConnectors", cluster.failed_connectors));
    }
    if per_connector == ConnectorMetrics::All {
        out.push(per_cluster("Connectors", cluster.connectors_total));
    }
    for connector in &cluster.connectors {
        let datum = |name, value: u32| Datum { name, cluster: cluster.name.clone(), connector: Some(connector.name.clone()), value: f64::from(value) };
        let values = [
            ("RunningTasks", connector.tasks.running),
            ("FailedTasks", connector.tasks.failed),
            ("PausedTasks", connector.tasks.paused),
            ("UnassignedTasks", connector.tasks.unassigned),
            ("ConnectorFailed", u32::from(connector.state == State::Failed)),
            ("TasksRestarted", connector.count(ActionTaken::Restarted)),
            ("RestartsSkipped", connector.count(ActionTaken::Skipped)),
        ];
        match per_connector {
            ConnectorMetrics::All => out.extend(values.map(|(name, value)| datum(name, value))),
            // Only what says something: the non-zero problem counts of a connector with a problem
            // (missing data on a per-connector series means healthy, or zero).
            ConnectorMetrics::Problems if has_problems(connector) => {
                out.extend(values.into_iter().filter(|(name, value)| *name != "RunningTasks" && *value > 0).map(|(name, value)| datum(name, value)))
            }
            ConnectorMetrics::Problems | ConnectorMetrics::None => {}
        }
    }
}

/// What sending a run's batches came to.
#[derive(Debug, Default)]
pub struct Published {
    /// `PutMetricData` calls made: one per batch.
    pub calls: usize,
    /// Calls that failed.
    pub failed: usize,
    /// The first failure.
    pub first_error: Option<AwsError>,
}

/// Send every batch, each on its own: a failed batch does not stop the ones after it. Batches
/// are taken one at a time, so a lazy source ([`lazy_batches`]) builds each only when it is sent.
pub async fn publish<I>(client: &aws_sdk_cloudwatch::Client, namespace: &str, batches: I) -> Published
where
    I: IntoIterator<Item = Vec<MetricDatum>>,
    I::IntoIter: ExactSizeIterator,
{
    publish_each(batches, move |batch| async move {
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(batch))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::new("cloudwatch.PutMetricData", &e))
    })
    .await
}

/// [`publish`]'s loop, with the call passed in: every batch is handed to `put` in order, and the
/// failures are counted, the first one kept.
pub async fn publish_each<I, F, Fut>(batches: I, mut put: F) -> Published
where
    I: IntoIterator<Item = Vec<MetricDatum>>,
    I::IntoIter: ExactSizeIterator,
    F: FnMut(Vec<MetricDatum>) -> Fut,
    Fut: Future<Output = Result<(), AwsError>>,
{
    let batches = batches.into_iter();
    let total = batches.len();
    let mut published = Published::default();
    for (i, batch) in batches.into_iter().enumerate() {
        published.calls += 1;
        if let Err(e) = put(batch).await {
            tracing::warn!(batch = i + 1, of = total, error = %e, "PutMetricData batch failed; sending the others");
            published.failed += 1;
            if published.first_error.is_none() {
                published.first_error = Some(e);
            }
        }
    }
    published
}

/// The invocation's error when some metrics did not reach CloudWatch: the run's work is done and
/// reported, but a failed invocation is what makes Lambda's `Errors` metric and the function's
/// error alarm fire.
#[derive(Debug, thiserror::Error)]
#[error(
    "metrics not fully published: {failed} of {calls} PutMetricData batches to namespace {namespace} failed (the run's report is in the log); \
     first error: {first_error}; check the function's cloudwatch:PutMetricData permission for this namespace and that CloudWatch is reachable"
)]
pub struct MetricsNotPublished {
    pub namespace: String,
    pub failed: usize,
    pub calls: usize,
    pub first_error: String,
}

/// `Some` when a batch of the run failed (pure: from the report's metrics section).
pub fn failure(metrics: &MetricsReport) -> Option<MetricsNotPublished> {
    (metrics.failed_batches > 0).then(|| MetricsNotPublished {
        namespace: metrics.namespace.clone(),
        failed: metrics.failed_batches,
        calls: metrics.put_calls,
        first_error: metrics.error.clone().unwrap_or_else(|| "(not recorded)".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{TaskCounts, Target};
    use crate::report::{ActionReport, ConnectorReport};
    use chrono::{TimeZone, Utc};

    fn actions(list: &[(Target, ActionTaken)]) -> Vec<ActionReport> {
        list.iter().map(|&(task, action)| ActionReport { task, action, rule: "r".into(), root_cause: None, detail: None }).collect()
    }

    /// Every cluster total the new metrics read differs from the others, so a metric fed from
    /// the wrong field fails.
    fn report() -> Report {
        use ActionTaken::*;
        use Target::{Connector, Task};
        let connectors = vec![
            ConnectorReport {
                name: "es-sink".into(),
                kind: Some("sink".into()),
                state: State::Running,
                tasks: TaskCounts { running: 2, failed: 2, paused: 0, unassigned: 1, restarting: 0, other: 0 },
                actions: actions(&[(Task(1), Restarted), (Task(2), Skipped)]),
            },
            ConnectorReport { name: "jdbc".into(), kind: None, state: State::Failed, tasks: TaskCounts::default(), actions: actions(&[(Connector, BackingOff)]) },
            ConnectorReport {
                name: "s3-sink".into(),
                kind: Some("sink".into()),
                state: State::Running,
                tasks: TaskCounts { running: 2, failed: 8, paused: 5, unassigned: 2, restarting: 0, other: 0 },
                actions: actions(&[
                    (Task(0), Restarted),
                    (Task(1), Restarted),
                    (Task(2), Restarted),
                    (Task(3), Restarted),
                    (Task(4), Restarted),
                    (Task(5), Skipped),
                    (Task(6), Deferred),
                    (Task(7), BackingOff),
                ]),
            },
        ];
        Report {
            run_at: Utc.with_ymd_and_hms(2026, 11, 20, 0, 5, 0).unwrap(),
            dry_run: false,
            clusters: vec![ClusterReport::from_connectors("main", "3.7.0".into(), connectors, 3), ClusterReport::unreachable("backup", "connection refused".into(), 1)],
            metrics: MetricsReport::default(),
        }
    }

    fn find(d: &[Datum], name: &str, cluster: &str, connector: Option<&str>) -> Option<f64> {
        d.iter().find(|x| x.name == name && x.cluster == cluster && x.connector.as_deref() == connector).map(|x| x.value)
    }

    #[test]
    fn datums_follow_the_design_names_and_dimensions() {
        let d = datums(&report(), ConnectorMetrics::All);
        let find = |name: &str, cluster: &str, connector: Option<&str>| find(&d, name, cluster, connector);
        assert_eq!(d.len(), 9 + 3 * 7 + 1);
        assert_eq!(find("ClusterReachable", "main", None), Some(1.0));
        assert_eq!(find("Connectors", "main", None), Some(3.0));
        assert_eq!(find("FailedConnectors", "main", None), Some(1.0));
        assert_eq!(find("RunningTasks", "main", None), Some(4.0));
        assert_eq!(find("FailedTasks", "main", None), Some(10.0));
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
    fn cluster_datums_sum_paused_unassigned_restarted_and_skipped_over_connectors() {
        let d = datums(&report(), ConnectorMetrics::All);
        assert_eq!(find(&d, "PausedTasks", "main", None), Some(5.0));
        assert_eq!(find(&d, "UnassignedTasks", "main", None), Some(3.0));
        assert_eq!(find(&d, "TasksRestarted", "main", None), Some(6.0));
        assert_eq!(find(&d, "RestartsSkipped", "main", None), Some(2.0), "skipped only: not deferred, not backing off");
        for name in ["PausedTasks", "UnassignedTasks", "TasksRestarted", "RestartsSkipped"] {
            assert_eq!(d.iter().filter(|x| x.name == name && x.connector.is_none()).count(), 1, "{name}: one per reachable cluster");
            assert_eq!(find(&d, name, "backup", None), None, "{name}: nothing for an unreachable cluster");
        }
        assert_eq!(find(&d, "TasksRestarted", "main", Some("s3-sink")), Some(5.0), "per-connector datums stay");
        assert_eq!(find(&d, "RestartsSkipped", "main", Some("s3-sink")), Some(1.0));
        assert_eq!(find(&d, "PausedTasks", "main", Some("s3-sink")), Some(5.0));
    }

    #[test]
    fn by_default_only_connectors_with_something_to_say_get_series() {
        let mut r = report();
        let healthy = ConnectorReport { name: "healthy".into(), kind: Some("source".into()), state: State::Running, tasks: TaskCounts { running: 3, ..TaskCounts::default() }, actions: Vec::new() };
        let mut connectors = r.clusters[0].connectors.clone();
        connectors.push(healthy.clone());
        r.clusters[0] = ClusterReport::from_connectors("main", "3.7.0".into(), connectors, 3);
        assert!(!has_problems(&healthy));
        let per_connector = |d: &[Datum], name: &str| d.iter().filter(|x| x.connector.as_deref() == Some(name)).count();

        let problems = datums(&r, ConnectorMetrics::Problems);
        assert_eq!(per_connector(&problems, "healthy"), 0, "a healthy connector publishes nothing of its own");
        // es-sink: its non-zero problem counts (failed 2, unassigned 1, restarted 1, skipped 1),
        // not RunningTasks, not the zeros.
        assert_eq!(per_connector(&problems, "es-sink"), 4);
        assert_eq!(find(&problems, "UnassignedTasks", "main", Some("es-sink")), Some(1.0));
        assert_eq!(find(&problems, "PausedTasks", "main", Some("es-sink")), None);
        assert_eq!(find(&problems, "RunningTasks", "main", Some("es-sink")), None);
        assert_eq!(per_connector(&problems, "jdbc"), 1, "a FAILED connector instance: ConnectorFailed");
        assert_eq!(find(&problems, "RunningTasks", "main", None), Some(7.0), "the cluster totals still count it");
        assert_eq!(find(&problems, "FailedConnectors", "main", None), Some(1.0), "published while a connector is FAILED");
        assert_eq!(find(&problems, "Connectors", "main", None), None, "only with CONNECTOR_METRICS=all");

        let all = datums(&r, ConnectorMetrics::All);
        assert_eq!(per_connector(&all, "healthy"), 7);
        let none = datums(&r, ConnectorMetrics::None);
        assert!(none.iter().all(|x| x.connector.is_none()));
        assert_eq!(none.len(), 8 + 1, "cluster-level series only: seven, FailedConnectors, and the unreachable cluster's ClusterReachable");

        // A healthy cluster of 20 connectors: the cluster-level series and nothing else.
        let twenty: Vec<ConnectorReport> = (0..20).map(|i| ConnectorReport { name: format!("c{i}"), ..healthy.clone() }).collect();
        let quiet = Report { clusters: vec![ClusterReport::from_connectors("main", "3.7.0".into(), twenty, 2)], ..report() };
        let names: Vec<&str> = datums(&quiet, ConnectorMetrics::Problems).iter().map(|d| d.name).collect();
        assert_eq!(names, ["ClusterReachable", "RunningTasks", "FailedTasks", "PausedTasks", "UnassignedTasks", "TasksRestarted", "RestartsSkipped"], "a healthy cluster: the alarmed and charted series, nothing else");
    }

    fn refused(n: usize) -> AwsError {
        AwsError::with_code("cloudwatch.PutMetricData", Some("Throttling"), format!("batch {n} refused"))
    }

    #[tokio::test]
    async fn every_batch_is_sent_after_a_failure_and_the_first_error_is_kept() {
        let batches: Vec<Vec<MetricDatum>> = (1..=4).map(|n| vec![MetricDatum::builder().metric_name("RunningTasks").build(); n]).collect();
        let mut sent = Vec::new();
        let published = publish_each(batches, |batch| {
            sent.push(batch.len());
            let n = sent.len();
            std::future::ready(if n % 2 == 1 { Err(refused(n)) } else { Ok(()) })
        })
        .await;
        assert_eq!(sent, [1, 2, 3, 4], "every batch, in order");
        assert_eq!((published.calls, published.failed), (4, 2));
        assert_eq!(published.first_error.unwrap().to_string(), "AWS cloudwatch.PutMetricData failed: batch 1 refused");

        let clean = publish_each(vec![Vec::new(), Vec::new()], |_| std::future::ready(Ok(()))).await;
        assert_eq!((clean.calls, clean.failed), (2, 0));
        assert!(clean.first_error.is_none());
    }

    #[test]
    fn a_failed_batch_fails_the_invocation_with_counts_and_the_first_error() {
        let mut metrics = MetricsReport { namespace: "KafkaConnect".into(), datums: 14_009, put_calls: 15, failed_batches: 0, error: None };
        assert!(failure(&metrics).is_none());
        metrics.failed_batches = 2;
        metrics.error = Some(refused(3).to_string());
        let text = failure(&metrics).unwrap().to_string();
        assert!(text.contains("2 of 15 PutMetricData batches to namespace KafkaConnect failed"), "{text}");
        assert!(text.contains("first error: AWS cloudwatch.PutMetricData failed: batch 3 refused"), "{text}");
    }
}
