//! Basic-auth credentials that rotate while the container lives: the cached credentials are
//! rejected (401), so the run reads the cluster's secret again and tries once more, without a
//! cold start; credentials that are still rejected make the cluster unreachable, naming the secret.

mod common_setup;

use aws_sdk_secretsmanager::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept};
use common_setup::*;
use connect_health::{App, Clients};
use peers::kafka_connect::{KafkaConnect, Restarted, FAILED, RUNNING};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use test_support::Moto;

const SECRET: &str = "connect/main";

/// Counts the operations the App's Secrets Manager client executes (each `GetSecretValue`
/// once, whatever the SDK's retries).
#[derive(Debug, Clone, Default)]
struct SecretReads(Arc<AtomicUsize>);

impl SecretReads {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for SecretReads {
    fn name(&self) -> &'static str {
        "SecretReads"
    }

    fn read_before_execution(&self, _context: &BeforeSerializationInterceptorContextRef<'_>, _cfg: &mut ConfigBag) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn basic_auth(password: &str) -> String {
    format!(r#"{{"username":"connect","password":"{password}"}}"#)
}

/// Task 0 fails with a network time-out (restarted), task 1 with a poison record (skipped).
fn fail_both(peer: &KafkaConnect) {
    peer.set_task("es-sink", 0, FAILED, Some(TIMEOUT_TRACE));
    peer.set_task("es-sink", 1, FAILED, Some(POISON_TRACE));
}

fn expected_actions() -> Vec<(String, String, String)> {
    vec![("0".into(), "restarted".into(), "network-fault".into()), ("1".into(), "skipped".into(), "poison-serialization".into())]
}

#[tokio::test]
async fn a_rotated_password_is_read_again_after_a_401_without_a_cold_start() {
    let moto = Moto::start();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    secrets.create_secret().name(SECRET).secret_string(basic_auth("pass1-rotation-test")).send().await.unwrap();
    let (peer, url) = peer("3.7.0").await;
    peer.set_basic_auth("connect", "pass1-rotation-test");
    peer.add_connector("es-sink", "sink", RUNNING, 2, RUNNING);
    fail_both(&peer);

    // One App for the whole test: the container stays warm.
    let reads = SecretReads::default();
    let mut clients = Clients::from_sdk_config(&moto.sdk_config());
    clients.secrets =
        aws_sdk_secretsmanager::Client::from_conf(aws_sdk_secretsmanager::config::Builder::from(&moto.sdk_config()).interceptor(reads.clone()).build());
    let mut main = cluster("main", &url);
    main.auth_secret_id = Some(SECRET.into());
    let app = App::new(config(vec![main]), clients).expect("app");

    // Cold start: the secret is read once and accepted.
    let report = run(&app).await;
    assert_eq!(report["clusters"][0]["reachable"], true, "{report}");
    assert_eq!(actions(&report, "main", "es-sink"), expected_actions());
    assert_eq!(reads.count(), 1);

    // Warm: the cached credentials are used, the secret is not read.
    fail_both(&peer);
    peer.clear_log();
    let report = run(&app).await;
    assert_eq!(report["clusters"][0]["reachable"], true, "{report}");
    assert_eq!(reads.count(), 1, "credentials are cached for the container's life");
    assert!(peer.calls().iter().all(|c| c.status != 401), "{:?}", peer.calls());

    // The password rotates: the peer wants pass2 and the secret holds it.
    peer.set_basic_auth("connect", "pass2-rotation-test");
    secrets.put_secret_value().secret_id(SECRET).secret_string(basic_auth("pass2-rotation-test")).send().await.unwrap();
    fail_both(&peer);
    peer.clear_log();
    let report = run(&app).await;
    let main = &report["clusters"][0];
    assert_eq!(main["reachable"], true, "{report}");
    assert_eq!(actions(&report, "main", "es-sink"), expected_actions());
    assert_eq!(peer.restarts(), [Restarted::Task("es-sink".into(), 0)]);
    assert_eq!(reads.count(), 2, "read again once, after the 401");
    let calls = peer.calls();
    assert_eq!((calls[0].method.as_str(), calls[0].uri.as_str(), calls[0].status), ("GET", "/", 401), "{calls:?}");
    assert_eq!(calls.iter().filter(|c| c.status == 401).count(), 1, "then accepted: {calls:?}");
    assert_eq!(main["http_calls"], calls.len(), "the rejected call is counted too");

    // Connect's password changes again, but the secret gets a wrong one: the cached credentials
    // are rejected, one more read, one more try, then unreachable.
    peer.set_basic_auth("connect", "pass3-rotation-test");
    secrets.put_secret_value().secret_id(SECRET).secret_string(basic_auth("not-it-rotation-test")).send().await.unwrap();
    fail_both(&peer);
    peer.clear_log();
    let report = run(&app).await;
    let main = &report["clusters"][0];
    assert_eq!(main["reachable"], false, "{report}");
    let error = main["error"].as_str().unwrap();
    assert!(error.contains("credentials rejected; check secret connect/main") && error.contains("answered HTTP 401"), "{error}");
    assert_eq!(reads.count(), 3, "read once more, and not again after the second 401");
    assert_eq!(peer.calls().iter().map(|c| c.status).collect::<Vec<_>>(), [401, 401], "one try with the cached, one with the fresh credentials");
    assert!(peer.restarts().is_empty());
    assert_eq!(main["http_calls"], 2);
    assert_eq!(metric(&moto, "KafkaConnect", "ClusterReachable", "main", None).await, Some(3.0), "1 + 1 + 1 + 0 over the four runs");
    let text = report.to_string();
    for password in ["pass1-rotation-test", "pass2-rotation-test", "not-it-rotation-test"] {
        assert!(!text.contains(password), "no secret in the report");
    }
}
