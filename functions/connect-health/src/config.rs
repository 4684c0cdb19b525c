//! connect-health's settings, read once per cold start from the environment (or built
//! directly by tests), each error naming the variable to fix.

use crate::policy::Policy;
use common::config::{insecure_http, ConfigError, Env, INSECURE_HTTP_PROBLEM};
use common::memory::{MemoryBudget, DEFAULT_MEMORY_MB, MEMORY_SIZE_VAR};
use serde::Deserialize;
use std::time::Duration;

/// One Kafka Connect cluster to watch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: String,
    pub url: String,
    /// Secrets Manager secret `{"username":"...","password":"..."}` for HTTP basic auth.
    #[serde(default)]
    pub auth_secret_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub clusters: Vec<ClusterConfig>,
    pub metrics_namespace: String,
    pub policy: Policy,
    pub restart_state_table: Option<String>,
    pub dry_run: bool,
    /// Restarts of one task before it is left alone (until it has been healthy a while).
    pub max_restarts: u32,
    /// Longest wait for one HTTP call to a worker.
    pub http_timeout: Duration,
    /// Clusters checked at once (`CLUSTER_CONCURRENCY`); each may hold one answer of up to
    /// `max_body_bytes` and what is parsed from it.
    pub cluster_concurrency: usize,
    /// Largest response body read from a worker (`CONNECT_MAX_BODY_BYTES`): by default one
    /// cluster's share of the function's memory ([`default_max_body_bytes`]), never more.
    pub max_body_bytes: usize,
    /// Time kept back from the Lambda deadline to publish metrics and answer.
    pub reserve: Duration,
    /// Tries of a restart answered 409 (rebalance) within one run.
    pub conflict_attempts: u32,
    /// First pause after a 409; doubled after each further one.
    pub conflict_backoff: Duration,
    /// Which connectors get their own metric series (`CONNECTOR_METRICS`).
    pub connector_metrics: ConnectorMetrics,
}

/// Which connectors get per-connector metric series. CloudWatch bills every distinct series
/// ($0.30 a month each for the first 10,000 at us-east-1 list prices, prorated by the hours it
/// receives data): seven series per connector on every run is about $2.10 per connector a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorMetrics {
    /// Only connectors with something to say this run: a task or the connector not RUNNING, or
    /// a restart decision. A healthy connector publishes nothing per connector (missing data
    /// means healthy); the cluster-level series carry the alarms. The default.
    Problems,
    /// Every connector, every run (the original "RUNNING and FAILED per connector").
    All,
    /// No per-connector series; cluster-level series only.
    None,
}

impl std::str::FromStr for ConnectorMetrics {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text.trim().to_ascii_lowercase().as_str() {
            "problems" => Ok(ConnectorMetrics::Problems),
            "all" => Ok(ConnectorMetrics::All),
            "none" => Ok(ConnectorMetrics::None),
            _ => Err(()),
        }
    }
}

impl Config {
    /// Defaults for everything but the clusters; the body cap is the share of Lambda's default
    /// memory (128 MB), as when `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` is not set.
    pub fn new(clusters: Vec<ClusterConfig>) -> Config {
        Config {
            clusters,
            metrics_namespace: "KafkaConnect".to_string(),
            policy: Policy::builtin(),
            restart_state_table: None,
            dry_run: false,
            max_restarts: 10,
            http_timeout: Duration::from_secs(10),
            cluster_concurrency: DEFAULT_CLUSTER_CONCURRENCY,
            max_body_bytes: default_max_body_bytes(MemoryBudget::from_mb(DEFAULT_MEMORY_MB), DEFAULT_CLUSTER_CONCURRENCY),
            reserve: Duration::from_secs(3),
            conflict_attempts: 3,
            conflict_backoff: Duration::from_millis(250),
            connector_metrics: ConnectorMetrics::Problems,
        }
    }

    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        // An empty list counts as not set: serverless.yml always sets CONNECT_CLUSTERS (`[]` by
        // default), and `serverless invoke local --env CONNECT_URL=...` must still work.
        let listed = env.json_opt::<Vec<ClusterConfig>>("CONNECT_CLUSTERS")?.filter(|clusters| !clusters.is_empty());
        let clusters = match (listed, env.optional("CONNECT_URL")) {
            (Some(_), Some(_)) => return Err(ConfigError::new("CONNECT_URL", "is set together with CONNECT_CLUSTERS; set only one")),
            (Some(clusters), None) => clusters,
            (None, Some(_)) => vec![ClusterConfig { name: "default".into(), url: env.url_or("CONNECT_URL", "")?, auth_secret_id: None }],
            (None, None) => {
                return Err(ConfigError::new(
                    "CONNECT_CLUSTERS",
                    "is not set or an empty list, and neither is CONNECT_URL; set CONNECT_CLUSTERS or CONNECT_URL to give at least one Kafka Connect cluster",
                ))
            }
        };
        let clusters = validate_clusters(clusters, env.allow_insecure_http()?).map_err(|problem| ConfigError::new("CONNECT_CLUSTERS", problem))?;
        // The built-in policy comes with the defaults (built once).
        let policy = env.optional("RESTART_POLICY").map(|text| Policy::from_json(&text).map_err(|e| ConfigError::new("RESTART_POLICY", e.0))).transpose()?;
        let defaults = Config::new(Vec::new());
        let budget = MemoryBudget::from_env(env)?;
        let cluster_concurrency = env.number_in("CLUSTER_CONCURRENCY", defaults.cluster_concurrency, CLUSTER_CONCURRENCY_RANGE, "clusters")?;
        let max_body_bytes = body_cap(env, budget, cluster_concurrency)?;
        let namespace = env.optional("METRICS_NAMESPACE").unwrap_or(defaults.metrics_namespace);
        if namespace.len() > 255 || namespace.starts_with("AWS/") || namespace.starts_with(':') {
            return Err(ConfigError::new("METRICS_NAMESPACE", "is not a valid CloudWatch namespace (1-255 characters, not starting with AWS/)"));
        }
        Ok(Config {
            clusters,
            metrics_namespace: namespace,
            policy: policy.unwrap_or(defaults.policy),
            restart_state_table: env.optional("RESTART_STATE_TABLE"),
            dry_run: env.bool_or("DRY_RUN", false)?,
            max_restarts: env.number_in("MAX_RESTARTS", defaults.max_restarts, MAX_RESTARTS_RANGE, "restarts")?,
            http_timeout: env.seconds_in("CONNECT_TIMEOUT_SECONDS", defaults.http_timeout, CONNECT_TIMEOUT_RANGE)?,
            cluster_concurrency,
            max_body_bytes,
            connector_metrics: env.parse_or("CONNECTOR_METRICS", defaults.connector_metrics, "problems, all or none")?,
            ..defaults
        })
    }
}

/// `MAX_RESTARTS`: at least one restart (0 would be "never restart": use `DRY_RUN` or a `skip`
/// rule), at most 1000.
pub const MAX_RESTARTS_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;
/// `CONNECT_TIMEOUT_SECONDS`: 1 s to 5 minutes (a run has at most Lambda's 900 s for every call).
pub const CONNECT_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;
/// `CONNECT_MAX_BODY_BYTES`: 1 KiB (less cannot hold one connector's status) to 1 GiB.
pub const MAX_BODY_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=1 << 30;
/// `CLUSTER_CONCURRENCY` by default: a few clusters are read at once (their calls overlap), and
/// each still gets a useful share of a small function's memory (11 MiB at 128 MB, 27 MiB at 256).
pub const DEFAULT_CLUSTER_CONCURRENCY: usize = 4;
/// `CLUSTER_CONCURRENCY`: 1 (one cluster after the other, each with the whole share) to 32.
pub const CLUSTER_CONCURRENCY_RANGE: std::ops::RangeInclusive<usize> = 1..=32;

/// The body cap a cluster gets when `CONNECT_MAX_BODY_BYTES` is not set: its share of the
/// function's memory when `concurrency` clusters are checked at once (`MemoryBudget::per_unit`:
/// what is left after the runtime's reserve, halved for what is parsed from the bodies, divided
/// among the clusters), at most 1 GiB. Memory, not a fixed constant, decides it: Lambda kills a
/// function that passes its memory, and with it the report of every cluster of the run.
pub fn default_max_body_bytes(budget: MemoryBudget, concurrency: usize) -> usize {
    budget.per_unit(concurrency).min(*MAX_BODY_BYTES_RANGE.end())
}

/// `CONNECT_MAX_BODY_BYTES`, or the cluster's share ([`default_max_body_bytes`]). A value above
/// the share is refused at cold start rather than trusted: it lets answers that together exceed
/// the function's memory in.
fn body_cap(env: &Env, budget: MemoryBudget, concurrency: usize) -> Result<usize, ConfigError> {
    let share = default_max_body_bytes(budget, concurrency);
    let cap = env.number_in("CONNECT_MAX_BODY_BYTES", share, MAX_BODY_BYTES_RANGE, "bytes")?;
    if cap > share {
        return Err(ConfigError::new(
            "CONNECT_MAX_BODY_BYTES",
            format!(
                "is more than one cluster's share of the function's memory: {share} bytes with {} MB ({MEMORY_SIZE_VAR}) and CLUSTER_CONCURRENCY={concurrency} \
                 (answers that large, and what is parsed from them, could exceed the memory and get the whole run killed); \
                 lower it or leave it unset, or raise the function's memory (param connectHealthMemory in serverless.yml), or lower CLUSTER_CONCURRENCY",
                budget.total_mb()
            ),
        ));
    }
    Ok(cap)
}

/// Names, URLs and secrets of the clusters checked. `allow_insecure` is `ALLOW_INSECURE_HTTP`: a
/// cluster with credentials (`auth_secret_id`) must otherwise be `https://` or loopback, since
/// basic auth over plain http hands the password to anyone on the path.
fn validate_clusters(clusters: Vec<ClusterConfig>, allow_insecure: bool) -> Result<Vec<ClusterConfig>, String> {
    if clusters.is_empty() {
        return Err("is an empty list; give at least one cluster".into());
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(clusters.len());
    for (i, mut c) in clusters.into_iter().enumerate() {
        let at = format!("entry {}", i + 1);
        c.name = c.name.trim().to_string();
        // The name becomes a metric dimension and the prefix of restart-state keys.
        if c.name.is_empty() || c.name.len() > 128 || !c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.')) {
            return Err(format!("{at}: name must be 1-128 characters of letters, digits, '-', '_' or '.'"));
        }
        if !seen.insert(c.name.clone()) {
            return Err(format!("{at}: name {} is used twice", c.name));
        }
        let url = c.url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) || reqwest::Url::parse(&url).is_err() {
            return Err(format!("{at} ({}): url is not an http(s) URL", c.name));
        }
        if reqwest::Url::parse(&url).is_ok_and(|u| !u.username().is_empty() || u.password().is_some()) {
            return Err(format!("{at} ({}): url carries credentials; put them in a secret named by auth_secret_id", c.name));
        }
        c.auth_secret_id = c.auth_secret_id.filter(|s| !s.trim().is_empty());
        if c.auth_secret_id.is_some() && !allow_insecure && insecure_http(&url) {
            return Err(format!("{at} ({}): has credentials (auth_secret_id) and url {INSECURE_HTTP_PROBLEM}", c.name));
        }
        c.url = url;
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clusters_and_defaults() {
        let env = Env::from_pairs([(
            "CONNECT_CLUSTERS",
            r#"[{"name":"main","url":"https://connect:8083/","auth_secret_id":"connect/main"},{"name":"cdc","url":"http://cdc:8083"}]"#,
        )]);
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.clusters[0], ClusterConfig { name: "main".into(), url: "https://connect:8083".into(), auth_secret_id: Some("connect/main".into()) });
        assert_eq!(c.clusters[1].auth_secret_id, None);
        assert_eq!(c.metrics_namespace, "KafkaConnect");
        assert!(!c.dry_run);
        assert_eq!(c.restart_state_table, None);
    }

    #[test]
    fn connect_url_is_a_cluster_named_default() {
        let env = Env::from_pairs([("CONNECT_URL", "http://127.0.0.1:8083"), ("DRY_RUN", "true"), ("RESTART_STATE_TABLE", "restarts"), ("METRICS_NAMESPACE", "Team/Connect")]);
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.clusters[0].name, "default");
        assert!(c.dry_run);
        assert_eq!(c.restart_state_table.as_deref(), Some("restarts"));
        assert_eq!(c.metrics_namespace, "Team/Connect");
    }

    #[test]
    fn connector_metrics_default_to_problems_and_take_all_or_none() {
        let env = |value: Option<&str>| {
            let mut pairs = vec![("CONNECT_URL", "http://connect:8083")];
            if let Some(v) = value {
                pairs.push(("CONNECTOR_METRICS", v));
            }
            Config::from_env(&Env::from_pairs(pairs))
        };
        assert_eq!(env(None).unwrap().connector_metrics, ConnectorMetrics::Problems);
        assert_eq!(env(Some("all")).unwrap().connector_metrics, ConnectorMetrics::All);
        assert_eq!(env(Some("NONE")).unwrap().connector_metrics, ConnectorMetrics::None);
        assert_eq!(env(Some("some")).unwrap_err().var, "CONNECTOR_METRICS");
    }

    #[test]
    fn an_empty_cluster_list_counts_as_not_set() {
        // serverless.yml sets CONNECT_CLUSTERS='[]'; `invoke local --env CONNECT_URL=...` adds the URL.
        for empty in ["[]", " [ ] "] {
            let c = Config::from_env(&Env::from_pairs([("CONNECT_CLUSTERS", empty), ("CONNECT_URL", "http://127.0.0.1:8083/")])).unwrap();
            assert_eq!(c.clusters, [ClusterConfig { name: "default".into(), url: "http://127.0.0.1:8083".into(), auth_secret_id: None }]);
        }
        let e = Config::from_env(&Env::from_pairs([("CONNECT_CLUSTERS", "[]")])).unwrap_err();
        assert_eq!(e.var, "CONNECT_CLUSTERS");
        assert!(e.to_string().contains("set CONNECT_CLUSTERS or CONNECT_URL"), "{e}");
        assert!(e.to_string().starts_with("configuration error: environment variable CONNECT_CLUSTERS"), "{e}");
        let e = Config::from_env(&Env::from_pairs(Vec::<(&str, &str)>::new())).unwrap_err().to_string();
        assert!(e.contains("set CONNECT_CLUSTERS or CONNECT_URL"), "{e}");
    }

    #[test]
    fn a_cluster_with_credentials_needs_https_unless_loopback_or_allowed() {
        let clusters = |url: &str, secret: bool| {
            let secret = if secret { r#","auth_secret_id":"connect/main""# } else { "" };
            format!(r#"[{{"name":"main","url":"{url}"{secret}}}]"#)
        };
        let read = |json: &str, allow: Option<&str>| {
            let mut pairs = vec![("CONNECT_CLUSTERS", json)];
            if let Some(flag) = allow {
                pairs.push(("ALLOW_INSECURE_HTTP", flag));
            }
            Config::from_env(&Env::from_pairs(pairs))
        };
        let err = read(&clusters("http://connect.internal:8083", true), None).unwrap_err();
        assert_eq!(err.var, "CONNECT_CLUSTERS");
        let text = err.to_string();
        assert!(text.contains("entry 1 (main): has credentials (auth_secret_id) and url uses http://"), "{text}");
        assert!(text.contains("ALLOW_INSECURE_HTTP=true") && !text.contains("connect.internal"), "{text}");
        assert!(read(&clusters("http://connect.internal:8083", true), Some("true")).is_ok(), "allowed explicitly");
        assert!(read(&clusters("http://connect.internal:8083", false), None).is_ok(), "no credentials, nothing to leak");
        assert!(read(&clusters("http://127.0.0.1:8083", true), None).is_ok(), "loopback");
        assert!(read(&clusters("http://localhost:8083", true), None).is_ok(), "loopback");
        assert!(read(&clusters("https://connect.internal:8083", true), None).is_ok());
        assert_eq!(read(&clusters("http://connect.internal:8083", true), Some("maybe")).unwrap_err().var, "ALLOW_INSECURE_HTTP");
    }

    #[test]
    fn limits_out_of_range_fail_the_cold_start_naming_the_variable() {
        for (var, below, low, high, above) in [
            ("CONNECT_TIMEOUT_SECONDS", "0", "1", "300", "301"),
            ("MAX_RESTARTS", "0", "1", "1000", "1001"),
            ("CONNECT_MAX_BODY_BYTES", "1023", "1024", "1073741824", "1073741825"),
            ("CLUSTER_CONCURRENCY", "0", "1", "32", "33"),
        ] {
            // The largest memory and one cluster at a time: a share above 1 GiB, so that only the
            // range limits a body cap here.
            let with = |value: &str| {
                Config::from_env(&Env::from_pairs([
                    ("CONNECT_URL", "http://127.0.0.1:8083"),
                    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240"),
                    ("CLUSTER_CONCURRENCY", "1"),
                    (var, value),
                ]))
            };
            for bad in [below, above, "-1", "many"] {
                let err = with(bad).unwrap_err();
                assert_eq!(err.var, var, "{bad}");
                assert!(err.problem.contains(&format!("from {low} to {high}")), "{err}");
            }
            assert!(with(low).is_ok() && with(high).is_ok(), "{var}: both ends are in the range");
        }
        let c = Config::from_env(&Env::from_pairs([("CONNECT_URL", "http://127.0.0.1:8083"), ("MAX_RESTARTS", "3"), ("CONNECT_TIMEOUT_SECONDS", "20"), ("CONNECT_MAX_BODY_BYTES", "1048576")])).unwrap();
        assert_eq!((c.max_restarts, c.http_timeout, c.max_body_bytes), (3, Duration::from_secs(20), 1 << 20));
    }

    #[test]
    fn the_body_cap_is_each_clusters_share_of_the_memory() {
        let read = |pairs: &[(&str, &str)]| {
            let mut all = vec![("CONNECT_URL", "http://127.0.0.1:8083")];
            all.extend_from_slice(pairs);
            Config::from_env(&Env::from_pairs(all))
        };
        // serverless.yml gives connect-health 256 MB; 4 clusters at once by default.
        let deployed = read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")]).unwrap();
        assert_eq!(deployed.cluster_concurrency, 4);
        assert_eq!(deployed.max_body_bytes, MemoryBudget::from_mb(256).per_unit(4));
        assert_eq!(deployed.max_body_bytes, 28_311_552, "(256 MiB - 40 MiB reserved) / 2 / 4 clusters");
        // Fewer clusters at once, a larger share each; more memory, too.
        assert_eq!(read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"), ("CLUSTER_CONCURRENCY", "1")]).unwrap().max_body_bytes, 4 * 28_311_552);
        assert!(read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")]).unwrap().max_body_bytes > deployed.max_body_bytes);
        // Without the variable (tests, local runs): Lambda's default 128 MB, as Config::new.
        assert_eq!(read(&[]).unwrap().max_body_bytes, Config::new(Vec::new()).max_body_bytes);
        // Never above 1 GiB.
        assert_eq!(read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240"), ("CLUSTER_CONCURRENCY", "1")]).unwrap().max_body_bytes, 1 << 30);

        // An explicit cap up to the share is taken; above it, the cold start fails saying what to do.
        let share = deployed.max_body_bytes.to_string();
        assert_eq!(read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"), ("CONNECT_MAX_BODY_BYTES", share.as_str())]).unwrap().max_body_bytes, 28_311_552);
        let err = read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"), ("CONNECT_MAX_BODY_BYTES", "67108864")]).unwrap_err();
        assert_eq!(err.var, "CONNECT_MAX_BODY_BYTES");
        let text = err.to_string();
        for expected in ["28311552 bytes with 256 MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) and CLUSTER_CONCURRENCY=4", "raise the function's memory", "lower CLUSTER_CONCURRENCY"] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
        assert!(!text.contains("67108864"), "the value is not echoed: {text}");
        assert!(read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"), ("CONNECT_MAX_BODY_BYTES", "67108864")]).is_ok(), "fits a larger function's share");

        assert_eq!(read(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64")]).unwrap_err().var, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    }

    #[test]
    fn errors_name_the_variable_and_never_echo_values() {
        let err = |pairs: &[(&str, &str)]| Config::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap_err().to_string();
        assert!(err(&[]).contains("CONNECT_CLUSTERS is not set"));
        assert!(err(&[("CONNECT_URL", "http://a"), ("CONNECT_CLUSTERS", r#"[{"name":"a","url":"http://x"}]"#)]).contains("set only one"));
        assert!(err(&[("CONNECT_CLUSTERS", "[]")]).contains("empty list"));
        assert!(err(&[("CONNECT_CLUSTERS", r#"[{"name":"a/b","url":"http://x"}]"#)]).contains("entry 1: name must be"));
        assert!(err(&[("CONNECT_CLUSTERS", r#"[{"name":"a","url":"http://x"},{"name":"a","url":"http://y"}]"#)]).contains("used twice"));
        let e = err(&[("CONNECT_CLUSTERS", r#"[{"name":"a","url":"https://admin:s3cret@x"}]"#)]);
        assert!(e.contains("carries credentials") && !e.contains("s3cret"), "{e}");
        assert!(err(&[("CONNECT_CLUSTERS", r#"[{"name":"a","url":"ftp://x"}]"#)]).contains("not an http(s) URL"));
        assert!(err(&[("CONNECT_CLUSTERS", r#"[{"name":"a","uri":"http://x"}]"#)]).contains("CONNECT_CLUSTERS is not valid"));
        assert!(err(&[("CONNECT_URL", "http://x"), ("RESTART_POLICY", r#"[{"action":"skip"}]"#)]).contains("RESTART_POLICY rule 1"));
        assert!(err(&[("CONNECT_URL", "http://x"), ("DRY_RUN", "perhaps")]).contains("DRY_RUN"));
        assert!(err(&[("CONNECT_URL", "http://x"), ("METRICS_NAMESPACE", "AWS/Kafka")]).contains("METRICS_NAMESPACE"));
    }
}
