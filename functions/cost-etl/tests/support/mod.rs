//! A cost-etl world for integration tests: moto (S3, DynamoDB, SQS, Secrets Manager) through
//! the AWS SDK, and the three ad-platform peers over HTTP, wired together by the same
//! environment variables a deploy sets. Shared by the test files with `mod support;`.

#![allow(dead_code)]

use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::types::QueueAttributeName;
use sqs_batch::batch::BatchReport;
use common::config::Env;
use common::deadline::Deadline;
use sqs_batch::idempotency::{DynamoLedger, IdempotencyKey};
use cost_etl::clients::Clients;
use cost_etl::config::Config;
use cost_etl::handler::Outcome;
use cost_job::LEDGER_NAMESPACE;
use cost_job::JobSpec;
use cost_etl::App;
use peers::google_ads::GoogleAdsPeer;
use peers::meta::MetaPeer;
use peers::tiktok::TiktokPeer;
use peers::AdPlatforms;
use std::collections::BTreeMap;
use std::time::Duration;
use test_support::Moto;

pub const BUCKET: &str = "costs";
pub const TABLE: &str = "idempotency";
pub const JOBS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:jobs";
pub const GOOGLE_CLIENT_SECRET: &str = AdPlatforms::GOOGLE_CLIENT_SECRET;
pub const GOOGLE_REFRESH_TOKEN: &str = AdPlatforms::GOOGLE_REFRESH_TOKEN;
pub const TIKTOK_TOKEN: &str = AdPlatforms::TIKTOK_TOKEN;

pub struct World {
    _moto: Moto,
    pub meta: MetaPeer,
    pub google: GoogleAdsPeer,
    pub tiktok: TiktokPeer,
    pub config: Config,
    pub clients: Clients,
    pub dlq_url: String,
    /// The idempotency table as the handler sees it, for seeding and inspecting claims.
    pub ledger: DynamoLedger,
    /// The environment `config` was read from (the builder's variables included).
    env: Vec<(String, String)>,
}

/// What a test file needs beyond the plain world; `World::start()` is `World::builder().start()`.
#[derive(Default)]
pub struct WorldBuilder {
    env: Vec<(String, String)>,
    google_developer_token: Option<String>,
    google_login_customer_id: Option<String>,
}

impl WorldBuilder {
    /// One more environment variable for `Config`; it wins over the world's own value (e.g. a
    /// short `PLATFORM_TIMEOUT_SECONDS`).
    pub fn env(mut self, var: &str, value: &str) -> Self {
        self.env.push((var.to_string(), value.to_string()));
        self
    }

    /// The Google Ads secret carries this developer token, and the peer refuses calls without it.
    pub fn google_developer_token(mut self, token: &str) -> Self {
        self.google_developer_token = Some(token.to_string());
        self
    }

    /// The Google Ads secret names this manager account as `login_customer_id`.
    pub fn google_login_customer_id(mut self, id: &str) -> Self {
        self.google_login_customer_id = Some(id.to_string());
        self
    }

    pub async fn start(self) -> World {
        let moto = Moto::start();
        let clients = Clients::from_sdk_config(&moto.sdk_config()).unwrap();
        clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        moto.create_table(TABLE, "id").await;
        let dlq_url = clients.sqs.create_queue().queue_name("jobs-dlq").send().await.unwrap().queue_url.unwrap();
        let platforms = AdPlatforms::start().await;
        for (platform, mut secret) in platforms.secrets() {
            if platform == "google_ads" {
                if let Some(token) = &self.google_developer_token {
                    secret["developer_token"] = token.as_str().into();
                    platforms.google.require_developer_token(token);
                }
                if let Some(id) = &self.google_login_customer_id {
                    secret["login_customer_id"] = id.as_str().into();
                }
            }
            clients.secrets.create_secret().name(format!("cost-etl/{platform}")).secret_string(secret.to_string()).send().await.unwrap();
        }
        let platform_env = platforms.env();
        let mut pairs: Vec<(&str, &str)> = vec![
            ("OUTPUT_BUCKET", BUCKET),
            ("IDEMPOTENCY_TABLE", TABLE),
            ("DLQ_URL", dlq_url.as_str()),
            ("SECRETS_PREFIX", "cost-etl"),
            ("PLATFORM_TIMEOUT_SECONDS", "10"),
        ];
        pairs.extend(platform_env.iter().map(|(k, v)| (*k, v.as_str())));
        // Later pairs win: `Env` keeps the last value of a variable.
        pairs.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let env: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::from_env(&Env::from_pairs(pairs)).unwrap();
        let ledger = DynamoLedger::new(clients.dynamodb.clone(), TABLE, Duration::from_secs(3600));
        let AdPlatforms { meta, google, tiktok, .. } = platforms;
        World { _moto: moto, meta, google, tiktok, config, clients, dlq_url, ledger, env }
    }
}

/// A DLQ message: the original message id and reason code (from its attributes), the original
/// body, and every attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeadLetter {
    pub id: String,
    pub code: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

impl World {
    pub async fn start() -> World {
        World::builder().start().await
    }

    pub fn builder() -> WorldBuilder {
        WorldBuilder::default()
    }

    /// The SDK configuration pointing at this world's moto.
    pub fn sdk_config(&self) -> aws_types::SdkConfig {
        self._moto.sdk_config()
    }

    /// The environment of the real `cost-etl` binary in this world: moto's, plus the one the
    /// in-process `config` was read from (bucket, table, DLQ, peers, secrets under `cost-etl/`,
    /// the builder's variables), plus `extra`, which wins (e.g. `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`),
    /// for `test_support::LambdaFunction::start`.
    pub fn function_env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self._moto.env();
        env.extend(self.env.iter().cloned());
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// A fresh App: what a cold start builds (no cached tokens, currencies or secrets).
    pub fn app(&self) -> App {
        App::new(self.config.clone(), self.clients.clone())
    }

    /// Every object under `costs/`, key -> bytes.
    pub async fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut token = None;
        loop {
            let listed = self.clients.s3.list_objects_v2().bucket(BUCKET).prefix("costs/").set_continuation_token(token).send().await.unwrap();
            for object in listed.contents() {
                let key = object.key().unwrap().to_string();
                let body = self.clients.s3.get_object().bucket(BUCKET).key(&key).send().await.unwrap().body.collect().await.unwrap().into_bytes().to_vec();
                out.insert(key, body);
            }
            token = listed.next_continuation_token().map(String::from);
            if token.is_none() {
                return out;
            }
        }
    }

    /// Every DLQ message, sorted; drains the DLQ.
    pub async fn dead_letter_messages(&self) -> Vec<DeadLetter> {
        let mut out = Vec::new();
        loop {
            let received = self.clients.sqs.receive_message().queue_url(&self.dlq_url).max_number_of_messages(10).message_attribute_names("All").send().await.unwrap();
            if received.messages().is_empty() {
                out.sort();
                return out;
            }
            for m in received.messages() {
                let attributes: BTreeMap<String, String> = m.message_attributes().map(|a| a.iter().map(|(k, v)| (k.clone(), v.string_value().unwrap_or_default().to_string())).collect()).unwrap_or_default();
                let attr = |name: &str| attributes.get(name).cloned().unwrap_or_default();
                out.push(DeadLetter { id: attr("original_message_id"), code: attr("reason_code"), body: m.body().unwrap_or_default().to_string(), attributes });
                self.clients.sqs.delete_message().queue_url(&self.dlq_url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
            }
        }
    }

    /// Every DLQ message as (original message id, reason code, body), sorted; drains the DLQ.
    pub async fn dead_letters(&self) -> Vec<(String, String, String)> {
        self.dead_letter_messages().await.into_iter().map(|l| (l.id, l.code, l.body)).collect()
    }

    /// The ledger key the handler uses for a job body.
    pub fn key_of(&self, body: &str) -> IdempotencyKey {
        IdempotencyKey::derive(LEDGER_NAMESPACE, &JobSpec::parse(body).unwrap().canonical())
    }

    /// A jobs queue with `visibility_seconds` as its own timeout, holding `messages` (id label,
    /// body); returns its URL and the records as Lambda would deliver them (real receipt
    /// handles, the queue's ARN), labelled with the given ids and in the given order.
    pub async fn queue_with(&self, name: &str, visibility_seconds: u32, messages: &[(&str, &str)]) -> (String, Vec<SqsMessage>) {
        let sqs = &self.clients.sqs;
        let url = sqs.create_queue().queue_name(name).attributes(QueueAttributeName::VisibilityTimeout, visibility_seconds.to_string()).send().await.unwrap().queue_url.unwrap();
        let attrs = sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::QueueArn).send().await.unwrap();
        let arn = attrs.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
        for (_, body) in messages {
            sqs.send_message().queue_url(&url).message_body(*body).send().await.unwrap();
        }
        let mut received: Vec<SqsMessage> = Vec::new();
        for _ in 0..20 {
            let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
            for m in out.messages() {
                let label = messages.iter().find(|(_, b)| Some(*b) == m.body()).map(|(id, _)| *id).expect("a message we sent");
                let mut r = record(label, m.body().unwrap());
                r.receipt_handle = m.receipt_handle().map(String::from);
                r.event_source_arn = Some(arn.clone());
                received.push(r);
            }
            if received.len() == messages.len() {
                break;
            }
        }
        assert_eq!(received.len(), messages.len(), "every message received once");
        received.sort_by_key(|r| messages.iter().position(|(id, _)| Some(*id) == r.message_id.as_deref()));
        (url, received)
    }
}

/// A job body.
pub fn job(platform: &str, account: &str, from: &str, to: &str) -> String {
    format!(r#"{{"platform":"{platform}","account_id":"{account}","date_from":"{from}","date_to":"{to}"}}"#)
}

pub fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// A record as Lambda delivers it from the jobs queue, with a made-up receipt handle (no queue
/// behind it: pacing such a record fails, which some tests want).
pub fn record(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.receipt_handle = Some(format!("rh-{id}"));
    m.body = Some(body.to_string());
    m.event_source = Some("aws:sqs".into());
    m.event_source_arn = Some(JOBS_ARN.into());
    m.aws_region = Some("us-east-1".into());
    m.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    m
}

/// The ids Lambda would be told to deliver again.
pub fn failed_ids(report: &BatchReport<Outcome>) -> Vec<String> {
    report.response().batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
}

/// A deadline far enough away not to matter.
pub fn far() -> Deadline {
    Deadline::after(Duration::from_secs(600))
}
