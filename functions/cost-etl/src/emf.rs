//! CloudWatch metrics through the Embedded Metric Format: one JSON log line, no API call.
//!
//! CloudWatch Logs extracts metrics from any log line that is a JSON object with an `_aws`
//! member describing them, so a function reports counts without calling PutMetricData (no
//! extra latency, no extra IAM permission, no failure mode). The line must be the whole log
//! record, so it is written straight to stdout, not through the tracing formatter.

use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// CloudWatch metric units this workspace uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
        }
    }
}

/// A set of metrics sharing one namespace and one set of dimensions.
#[derive(Debug, Clone)]
pub struct MetricSet {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, Unit, f64)>,
    /// Plain members of the log line (searchable in Logs Insights, not metrics).
    properties: Vec<(String, String)>,
}

impl MetricSet {
    pub fn new(namespace: impl Into<String>) -> Self {
        MetricSet { namespace: namespace.into(), dimensions: Vec::new(), metrics: Vec::new(), properties: Vec::new() }
    }

    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    pub fn metric(mut self, name: impl Into<String>, unit: Unit, value: f64) -> Self {
        self.metrics.push((name.into(), unit, value));
        self
    }

    /// A member of the line that is neither a dimension nor a metric (e.g. `requestId`, so the
    /// line is found with the rest of its invocation's logs).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    pub fn count(self, name: impl Into<String>, value: u64) -> Self {
        self.metric(name, Unit::Count, value as f64)
    }

    /// The EMF document.
    pub fn to_json(&self, timestamp: SystemTime) -> Value {
        let millis = timestamp.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let definitions: Vec<Value> = self.metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()})).collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": millis,
                "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": [dimension_names], "Metrics": definitions}],
            }),
        );
        for (name, value) in self.properties.iter().chain(&self.dimensions) {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        Value::Object(root)
    }

    /// Write the document as one line to stdout (where Lambda's log capture reads it).
    pub fn emit(&self) {
        let line = self.to_json(SystemTime::now()).to_string();
        // `println!` (not a raw stdout handle) so test harnesses capture it; it panics only if
        // stdout is gone, and a lost metric line must never fail an invocation.
        let _ = std::panic::catch_unwind(|| println!("{line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn document_follows_the_embedded_metric_format() {
        let set = MetricSet::new("CostEtl").dimension("Service", "cost-etl").count("JobsSucceeded", 3).count("JobsRetried", 0).property("requestId", "req-1");
        let doc = set.to_json(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_123u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "CostEtl",
                        "Dimensions": [["Service"]],
                        "Metrics": [{"Name": "JobsSucceeded", "Unit": "Count"}, {"Name": "JobsRetried", "Unit": "Count"}]
                    }]
                },
                "Service": "cost-etl",
                "requestId": "req-1",
                "JobsSucceeded": 3.0,
                "JobsRetried": 0.0
            })
        );
    }
}
