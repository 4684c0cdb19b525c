//! The demo world: a Kafka Connect cluster with failures of different kinds, ad accounts with
//! faults on all three ad platforms, and a realistic set of jobs: good ones, duplicates (one
//! spelled differently), invalid ones, rate-limited ones, and one that never succeeds and is
//! dead-lettered with its last error on the last delivery the queue's redrive policy allows.

use chrono::NaiveDate;
use peers::google_ads::GoogleAdsPeer;
use peers::kafka_connect::{KafkaConnect, FAILED, PAUSED, RUNNING};
use peers::meta::{synthetic_rows, Fault, MetaPeer};
use peers::tiktok::TiktokPeer;
use peers::AdPlatforms;

const ES_BULK_TIMEOUT: &str = "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.
\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:632)
\tat org.apache.kafka.connect.runtime.WorkerSinkTask.poll(WorkerSinkTask.java:350)
Caused by: org.apache.kafka.connect.errors.ConnectException: Bulk request failed
\tat io.confluent.connect.elasticsearch.ElasticsearchClient.handleResponse(ElasticsearchClient.java:512)
\t... 10 more
Caused by: java.net.SocketTimeoutException: 30,000 milliseconds timeout on connection http-outgoing-3 [ACTIVE]
\tat org.apache.http.nio.protocol.HttpAsyncRequestExecutor.timeout(HttpAsyncRequestExecutor.java:387)
\t... 12 more
";

const ES_REJECTED: &str = "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.
\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:632)
Caused by: org.elasticsearch.ElasticsearchStatusException: Elasticsearch exception [type=es_rejected_execution_exception, reason=rejected execution of coordinating operation]
\tat org.elasticsearch.rest.BytesRestResponse.errorFromXContent(BytesRestResponse.java:178)
\t... 8 more
";

const BAD_CONFIG: &str = "org.apache.kafka.common.config.ConfigException: Invalid value jdbc:postgresql://orders-db:5432/orders for configuration connection.url: Could not connect
\tat io.confluent.connect.jdbc.source.JdbcSourceTask.start(JdbcSourceTask.java:120)
\tat org.apache.kafka.connect.runtime.WorkerSourceTask.execute(WorkerSourceTask.java:232)
";

pub const POISON_RECORD: &str = "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler
\tat org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator.execAndHandleError(RetryWithToleranceOperator.java:206)
Caused by: org.apache.kafka.connect.errors.DataException: Failed to deserialize data for topic clicks to Avro:
\tat io.confluent.connect.avro.AvroConverter.toConnectData(AvroConverter.java:148)
\t... 13 more
Caused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!
\tat io.confluent.kafka.serializers.AbstractKafkaSchemaSerDe.getByteBuffer(AbstractKafkaSchemaSerDe.java:250)
\t... 15 more
";

const AUTH_FAILED: &str = "org.apache.kafka.connect.errors.ConnectException: Failed to start task
Caused by: org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512
\t... 9 more
";

/// A Connect 3.x cluster: healthy, paused, and failed connectors of every kind of error.
pub fn kafka_connect() -> KafkaConnect {
    let connect = KafkaConnect::new("3.7.0");
    connect.add_connector("users-es-sink", "sink", RUNNING, 4, RUNNING);
    connect.add_connector("orders-es-sink", "sink", RUNNING, 3, RUNNING);
    connect.set_task("orders-es-sink", 1, FAILED, Some(ES_BULK_TIMEOUT));
    connect.add_connector("audit-es-sink", "sink", RUNNING, 2, RUNNING);
    connect.set_task("audit-es-sink", 0, FAILED, Some(ES_REJECTED));
    connect.add_connector("orders-jdbc-source", "source", RUNNING, 1, RUNNING);
    connect.set_task("orders-jdbc-source", 0, FAILED, Some(BAD_CONFIG));
    connect.add_connector("clicks-s3-sink", "sink", RUNNING, 3, RUNNING);
    connect.set_task("clicks-s3-sink", 2, FAILED, Some(POISON_RECORD));
    connect.add_connector("payments-mirror", "source", RUNNING, 2, RUNNING);
    connect.set_task("payments-mirror", 0, FAILED, Some(AUTH_FAILED));
    connect.add_connector("inventory-cdc", "source", PAUSED, 2, PAUSED);
    connect
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("demo date")
}

/// Accounts and faults on the three ad platforms.
pub fn seed_ad_platforms(platforms: &AdPlatforms) {
    meta(&platforms.meta);
    google_ads(&platforms.google);
    tiktok(&platforms.tiktok);
}

/// Meta accounts: two healthy ones, one rate-limited once, one whose token was revoked.
fn meta(meta: &MetaPeer) {
    let (from, to) = (date("2026-11-01"), date("2026-11-30"));
    meta.add_account("1001", "KRW", synthetic_rows(5, from, to));
    meta.add_account("1002", "USD", synthetic_rows(3, from, to));
    meta.add_account("1003", "EUR", synthetic_rows(4, from, to));
    meta.set_fault("1003", Fault::RateLimited { code: 17, times: 1, regain_minutes: 0 });
    meta.add_account("1004", "USD", synthetic_rows(2, from, to));
    meta.set_fault("1004", Fault::TokenExpired);
}

/// Google Ads customers: a healthy one, one rate-limited once (asking for 2 s), and one whose
/// every answer is 503 UNAVAILABLE (it exhausts its receives; on the last one cost-etl dead-letters
/// it with its last error).
fn google_ads(google: &GoogleAdsPeer) {
    let (from, to) = (date("2026-11-01"), date("2026-11-30"));
    google.add_customer("1234567890", "JPY", peers::google_ads::synthetic_rows(4, from, to));
    google.add_customer("2223334444", "USD", peers::google_ads::synthetic_rows(2, from, to));
    google.set_fault("2223334444", peers::google_ads::Fault::RateLimited { times: 1, retry_delay_secs: 2 });
    google.add_customer("5556667777", "EUR", peers::google_ads::synthetic_rows(2, from, to));
    google.set_fault("5556667777", peers::google_ads::Fault::ServerError { unavailable: true });
}

/// TikTok advertisers: one in KRW with two months of data (a job longer than the API's 30-day
/// span), one in USD.
fn tiktok(tiktok: &TiktokPeer) {
    tiktok.add_advertiser("7012345678901234567", "KRW", peers::tiktok::synthetic_rows(3, date("2026-09-01"), date("2026-11-30")));
    tiktok.add_advertiser("7098765432109876543", "USD", peers::tiktok::synthetic_rows(2, date("2026-11-01"), date("2026-11-30")));
}

/// The job messages the orchestrator would enqueue today, with the mistakes real queues see.
pub fn job_messages() -> Vec<(&'static str, String)> {
    let job = |platform: &str, account: &str, from: &str, to: &str| format!(r#"{{"platform":"{platform}","account_id":"{account}","date_from":"{from}","date_to":"{to}"}}"#);
    vec![
        ("good", job("meta", "act_1001", "2026-11-20", "2026-11-22")),
        ("good", job("meta", "act_1002", "2026-11-20", "2026-11-26")),
        ("good", job("meta", "act_1001", "2026-11-23", "2026-11-26")),
        ("duplicate", job("meta", "act_1001", "2026-11-20", "2026-11-22")),
        ("duplicate", job("meta", "act_1002", "2026-11-20", "2026-11-26")),
        ("rate-limited once", job("meta", "act_1003", "2026-11-20", "2026-11-24")),
        ("revoked token", job("meta", "act_1004", "2026-11-20", "2026-11-21")),
        ("unknown account", job("meta", "act_9999", "2026-11-20", "2026-11-21")),
        ("good", job("google_ads", "123-456-7890", "2026-11-20", "2026-11-26")),
        ("duplicate, other spelling", job("google_ads", "1234567890", "2026-11-20", "2026-11-26")),
        ("rate-limited once", job("google_ads", "222-333-4444", "2026-11-24", "2026-11-26")),
        ("always 503", job("google_ads", "555-666-7777", "2026-11-25", "2026-11-26")),
        ("good, 61 days", job("tiktok", "7012345678901234567", "2026-09-27", "2026-11-26")),
        ("good", job("tiktok", "7098765432109876543", "2026-11-20", "2026-11-26")),
        ("invalid: reversed dates", job("meta", "act_1001", "2026-11-22", "2026-11-20")),
        ("invalid: unknown platform", r#"{"platform":"myspace","account_id":"a1","date_from":"2026-11-20","date_to":"2026-11-21"}"#.to_string()),
        ("invalid: not JSON", "fetch act_1001 please".to_string()),
    ]
}
