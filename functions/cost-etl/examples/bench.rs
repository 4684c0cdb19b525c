//! Figures for docs/cost-etl.md, per platform (Meta, Google Ads, TikTok); a benchmark, not a
//! test: nothing here asserts a speed.
//!
//! 1. Rows normalized per second, pure (no I/O while timed): one real-shaped answer per
//!    platform, fetched once from its local peer with the adapter's own request (a Meta Insights
//!    page of 500 rows; a Google Ads searchStream answer of 25,000 rows in 3 result batches; a
//!    TikTok report page of 1,000 rows), then parsed and normalized by the adapter's
//!    `normalize_page` over and over; again with grouping per day and JSON Lines in memory.
//! 2. A batch of 10 jobs per platform against its local peer delaying every answer 200 ms, with
//!    moto for S3, DynamoDB and Secrets Manager: wall time at BATCH_CONCURRENCY 1 (one at a time),
//!    4 and 10 (the default), and once without delay at 1 (the batch's own cost on this machine).
//!    2b. The default configuration on one Meta batch of 10 jobs x 31 days x 50 campaigns (4
//!    pages each), once on 10 accounts and once on 2 accounts (jobs of one account are chained),
//!    with S3 on moto and again on the S3 peer (`peers::s3`: at once, and at 50 ms a PUT).
//!    Meta and TikTok jobs need 3 pages each (TikTok also asks once per advertiser for its
//!    currency: 4 delayed calls); Google Ads answers a job in one searchStream call (plus one
//!    undelayed token exchange per cold start). Calls per job are counted at the peers.
//! 3. Peak resident memory (VmHWM) of each part, reset in between (Linux `clear_refs`), with the
//!    resident size each part started from; the peers run in this process, moto does not.
//!
//! Run (needs `.tools/venv/bin/moto_server`; `bash scripts/install-tools.sh` installs it):
//!   cargo build --workspace --all-targets && target/debug/examples/cost-etl-bench      (dev)
//!   cargo build --release --target x86_64-unknown-linux-gnu -p cost-etl --example cost-etl-bench \
//!     && target/x86_64-unknown-linux-gnu/release/examples/cost-etl-bench                 (release)
//! `cost-etl-bench 2b` runs part 2b alone. The README and docs/cost-etl.md carry both profiles' figures (release ~4x dev). The
//! batches also print their EMF metrics lines to stdout, as in Lambda; the tables come last.

use aws_lambda_events::sqs::SqsMessage;
use chrono::NaiveDate;
use common::config::Env;
use common::deadline::Deadline;
use cost_etl::clients::Clients;
use cost_etl::config::{Config, DEFAULT_GOOGLE_ADS_API_VERSION, DEFAULT_META_API_VERSION};
use cost_job::{JobSpec, Platform};
use cost_etl::normalize::{group_by_day, to_jsonl, CostRow};
use cost_etl::platforms::{google_ads, meta, tiktok};
use cost_etl::App;
use peers::google_ads::GoogleAdsPeer;
use peers::meta::MetaPeer;
use peers::tiktok::TiktokPeer;
use peers::AdPlatforms;
use std::time::{Duration, Instant};

/// Rows normalized per platform in part 1 (each pass: normalize only, then the full path).
const ROWS_PER_PASS: usize = 500_000;
const JOBS: usize = 10;
const PEER_DELAY: Duration = Duration::from_millis(200);
/// Part 2's runs per platform: (peer delay, BATCH_CONCURRENCY). The first, without delay, is
/// the batch's own cost on this machine (peers, moto and the function share its cores).
const RUNS: [(Duration, usize); 4] = [(Duration::ZERO, 1), (PEER_DELAY, 1), (PEER_DELAY, 4), (PEER_DELAY, 10)];

const META_TOKEN: &str = AdPlatforms::META_TOKEN;
const TIKTOK_TOKEN: &str = AdPlatforms::TIKTOK_TOKEN;
const GOOGLE_CLIENT_ID: &str = AdPlatforms::GOOGLE_CLIENT_ID;
const GOOGLE_CLIENT_SECRET: &str = AdPlatforms::GOOGLE_CLIENT_SECRET;
const GOOGLE_REFRESH_TOKEN: &str = AdPlatforms::GOOGLE_REFRESH_TOKEN;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn job_spec(platform: &str, account: &str, from: NaiveDate, to: NaiveDate) -> JobSpec {
    JobSpec::parse(&format!(r#"{{"platform":"{platform}","account_id":"{account}","date_from":"{from}","date_to":"{to}"}}"#)).unwrap()
}

async fn body_of(request: reqwest::RequestBuilder) -> Vec<u8> {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "peer refused the bench's request");
    response.bytes().await.unwrap().to_vec()
}

// --- 1. normalize throughput ------------------------------------------------------------------

/// One platform answer as its peer sent it, and the job it answers.
struct Captured {
    platform: &'static str,
    answer: String,
    job: JobSpec,
    body: Vec<u8>,
}

/// The adapter's pure part of a fetch: one answer body to rows.
fn normalize(job: &JobSpec, body: &[u8]) -> Vec<CostRow> {
    match job.platform {
        Platform::Meta => meta::normalize_page(job, body).unwrap().0,
        Platform::GoogleAds => google_ads::normalize_page(job, body).unwrap(),
        Platform::Tiktok => tiktok::normalize_page(job, "KRW", body).unwrap().0,
    }
}

/// Each platform's answer, requested from its peer as the adapter requests it.
async fn capture_answers() -> Vec<Captured> {
    let http = common::http::client_builder().build().unwrap();
    let mut out = Vec::new();

    // Meta: 60 campaigns x 10 days; the first page holds 500 rows and a `paging.next`.
    let job = job_spec("meta", "act_1234", d("2026-11-13"), d("2026-11-22"));
    let peer = MetaPeer::new(META_TOKEN);
    peer.add_account("1234", "KRW", peers::meta::synthetic_rows(60, job.date_from, job.date_to));
    let base = peers::meta::serve(peer).await;
    let url = meta::first_page_url(&base, DEFAULT_META_API_VERSION, &job).unwrap();
    let body = body_of(http.get(url).bearer_auth(META_TOKEN)).await;
    let (rows, next) = meta::normalize_page(&job, &body).unwrap();
    assert!(rows.len() == meta::PAGE_LIMIT && next.is_some(), "expected a full first page with a next link");
    out.push(Captured { platform: "Meta", answer: format!("Insights page, {} rows", rows.len()), job, body });

    // Google Ads: 1000 campaigns x 25 days = 25,000 rows, streamed in batches of 10,000 as the API does.
    let job = job_spec("google_ads", "123-456-7890", d("2026-10-29"), d("2026-11-22"));
    let peer = GoogleAdsPeer::new(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN);
    peer.add_customer("1234567890", "KRW", peers::google_ads::synthetic_rows(1000, job.date_from, job.date_to));
    let base = peers::google_ads::serve(peer).await;
    let form = format!("grant_type=refresh_token&client_id={GOOGLE_CLIENT_ID}&client_secret={GOOGLE_CLIENT_SECRET}&refresh_token={}", GOOGLE_REFRESH_TOKEN.replace('/', "%2F"));
    let grant = body_of(http.post(format!("{base}/token")).header("content-type", "application/x-www-form-urlencoded").body(form)).await;
    let token = google_ads::parse_token_answer(200, &grant, None).unwrap();
    let query = serde_json::json!({ "query": google_ads::gaql(job.date_from, job.date_to) }).to_string();
    let url = google_ads::search_stream_url(&base, DEFAULT_GOOGLE_ADS_API_VERSION, &job);
    let body = body_of(http.post(url).bearer_auth(token.access_token.expose()).header("content-type", "application/json").body(query)).await;
    let batches = serde_json::from_slice::<Vec<serde_json::Value>>(&body).unwrap().len();
    let rows = google_ads::normalize_page(&job, &body).unwrap().len();
    out.push(Captured { platform: "Google Ads", answer: format!("searchStream answer, {rows} rows in {batches} batches"), job, body });

    // TikTok: 150 campaigns x 10 days; the first of 2 pages holds 1000 rows.
    let job = job_spec("tiktok", "7012345678901234567", d("2026-11-13"), d("2026-11-22"));
    let peer = TiktokPeer::new(TIKTOK_TOKEN);
    peer.add_advertiser("7012345678901234567", "KRW", peers::tiktok::synthetic_rows(150, job.date_from, job.date_to));
    let base = peers::tiktok::serve(peer).await;
    let url = tiktok::report_url(&base, job.account_id.as_str(), job.date_from, job.date_to, 1).unwrap();
    let body = body_of(http.get(url).header("Access-Token", TIKTOK_TOKEN)).await;
    let (rows, info) = tiktok::normalize_page(&job, "KRW", &body).unwrap();
    assert!(rows.len() == tiktok::PAGE_SIZE as usize && info.total_page == 2, "expected a full first page of two");
    out.push(Captured { platform: "TikTok", answer: format!("report page, {} rows", rows.len()), job, body });
    out
}

struct Throughput {
    platform: &'static str,
    answer: String,
    answer_kib: usize,
    answers: usize,
    normalize: f64,
    normalize_mib: f64,
    full: f64,
    jsonl_mib: usize,
}

/// Normalize the answer until about [`ROWS_PER_PASS`] rows, then the same with grouping per day
/// and JSON Lines, as the sink writes them.
fn measure(c: &Captured) -> Throughput {
    let answers = ROWS_PER_PASS.div_ceil(normalize(&c.job, &c.body).len());

    let started = Instant::now();
    let mut rows = 0usize;
    for _ in 0..answers {
        rows += normalize(&c.job, &c.body).len();
    }
    let normalize_only = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..answers {
        let days = group_by_day(&c.job, normalize(&c.job, &c.body)).unwrap();
        bytes += days.values().map(|rows| to_jsonl(rows).len()).sum::<usize>();
    }
    let full = started.elapsed().as_secs_f64();
    Throughput {
        platform: c.platform,
        answer: c.answer.clone(),
        answer_kib: c.body.len() / 1024,
        answers,
        normalize: rows as f64 / normalize_only,
        normalize_mib: (answers * c.body.len()) as f64 / normalize_only / (1024.0 * 1024.0),
        full: rows as f64 / full,
        jsonl_mib: bytes / (1024 * 1024),
    }
}

// --- 2. a batch of 10 jobs against slow peers ---------------------------------------------------

struct BatchFigures {
    platform: &'static str,
    rows_per_job: usize,
    /// Delayed platform calls per job, counted at the peer (same for every run).
    calls_per_job: String,
    /// Wall time of each of [`RUNS`].
    walls: Vec<Duration>,
}

/// One platform's seeding and call counting; `account(run, i)` is a fresh account per job.
struct BatchPlatform {
    name: &'static str,
    platform: &'static str,
    rows_per_job: usize,
    account: fn(usize, usize) -> String,
    seed: fn(&AdPlatforms, &str, NaiveDate, NaiveDate),
    calls: fn(&AdPlatforms, &str) -> String,
}

const PLATFORMS: [BatchPlatform; 3] = [
    // 400 campaigns x 3 days = 1200 rows: pages of 500, 500 and 200.
    BatchPlatform {
        name: "Meta",
        platform: "meta",
        rows_per_job: 1200,
        account: |run, i| format!("act_{}{i:02}", run + 1),
        seed: |p, account, from, to| p.meta.add_account(account, "KRW", peers::meta::synthetic_rows(400, from, to)),
        calls: |p, account| format!("{} Insights pages", p.meta.requests_for(account)),
    },
    // 1000 campaigns x 3 days = 3000 rows in one searchStream answer (one batch).
    BatchPlatform {
        name: "Google Ads",
        platform: "google_ads",
        rows_per_job: 3000,
        account: |run, i| format!("{}", 5_000_000_000u64 + (run * 100 + i) as u64),
        seed: |p, account, from, to| p.google.add_customer(account, "KRW", peers::google_ads::synthetic_rows(1000, from, to)),
        calls: |p, account| format!("{} searchStream call", p.google.calls_for(account)),
    },
    // 1000 campaigns x 3 days = 3000 rows: 3 report pages of 1000, plus the currency lookup.
    BatchPlatform {
        name: "TikTok",
        platform: "tiktok",
        rows_per_job: 3000,
        account: |run, i| format!("{}", 7_100_000_000_000_000_000u64 + (run * 100 + i) as u64),
        seed: |p, account, from, to| p.tiktok.add_advertiser(account, "KRW", peers::tiktok::synthetic_rows(1000, from, to)),
        calls: |p, account| format!("{} report pages + {} advertiser info", p.tiktok.report_calls_for(account).len(), p.tiktok.info_calls_for(account)),
    },
];

async fn batch_wall_times(only_2b: bool) -> (Vec<BatchFigures>, Vec<ShapeFigures>, usize) {
    let moto = test_support::Moto::start();
    let clients = Clients::from_sdk_config(&moto.sdk_config()).unwrap();
    clients.s3.create_bucket().bucket("costs").send().await.unwrap();
    moto.create_table("idempotency", "id").await;
    let dlq = clients.sqs.create_queue().queue_name("dlq").send().await.unwrap().queue_url.unwrap();
    let peers = AdPlatforms::start().await;
    for (platform, secret) in peers.secrets() {
        clients.secrets.create_secret().name(format!("cost-etl/{platform}")).secret_string(secret.to_string()).send().await.unwrap();
    }
    let world = World { dlq, platforms: peers.env() };

    let (from, to) = (d("2026-11-20"), d("2026-11-22"));
    let mut figures = Vec::new();
    for (p, platform) in PLATFORMS.iter().enumerate().filter(|_| !only_2b) {
        let mut walls = Vec::new();
        let mut calls_per_job = String::new();
        for (c, (delay, concurrency)) in RUNS.into_iter().enumerate() {
            peers.meta.set_page_delay(delay);
            peers.google.set_delay(delay);
            peers.tiktok.set_page_delay(delay);
            let concurrency_text = concurrency.to_string();
            let env = bench_env(&world, Some(concurrency_text.as_str()));
            // A new App per run is a cold start: secrets, the Google token and TikTok currencies are fetched again.
            let app = App::new(Config::from_env(&env).unwrap(), clients.clone());
            let run = p * RUNS.len() + c;
            let accounts: Vec<String> = (0..JOBS).map(|i| (platform.account)(run, i)).collect();
            let records: Vec<SqsMessage> = accounts
                .iter()
                .enumerate()
                .map(|(i, account)| {
                    (platform.seed)(&peers, account, from, to);
                    job_record(format!("{}-{run}-{i}", platform.platform), platform.platform, account, from, to)
                })
                .collect();
            let started = Instant::now();
            let report = app.process(&records, Deadline::after(Duration::from_secs(600))).await;
            let elapsed = started.elapsed();
            assert_eq!(report.failed().count(), 0, "bench batch had failures: {:?}", report.records);
            let mut counted: Vec<String> = accounts.iter().map(|a| (platform.calls)(&peers, a)).collect();
            counted.dedup();
            calls_per_job = counted.join(" / ");
            walls.push(elapsed);
        }
        figures.push(BatchFigures { platform: platform.name, rows_per_job: platform.rows_per_job, calls_per_job, walls });
    }
    let s3_peer = peers::s3::S3Peer::new();
    s3_peer.add_bucket("costs");
    let s3_url = peers::s3::serve(s3_peer.clone()).await;
    let s3_client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&moto.sdk_config()).endpoint_url(s3_url).force_path_style(true).build());
    let shapes = default_batches(&world, &clients, &peers, &(s3_peer, s3_client)).await;
    (figures, shapes, peers.google.exchanges())
}

/// Where the bench's peers and queues are.
struct World {
    dlq: String,
    /// cost-etl's settings for the ad-platform peers.
    platforms: Vec<(&'static str, String)>,
}

/// An SQS record of one job, as the event source delivers it.
fn job_record(message_id: String, platform: &str, account: &str, from: NaiveDate, to: NaiveDate) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.receipt_handle = Some(format!("rh-{message_id}"));
    m.message_id = Some(message_id);
    m.body = Some(format!(r#"{{"platform":"{platform}","account_id":"{account}","date_from":"{from}","date_to":"{to}"}}"#));
    m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:jobs".into());
    m
}

/// The function's environment against the bench world; `concurrency` `None`: the default.
fn bench_env(world: &World, concurrency: Option<&str>) -> Env {
    let mut pairs = vec![
        ("OUTPUT_BUCKET", "costs"),
        ("IDEMPOTENCY_TABLE", "idempotency"),
        ("DLQ_URL", world.dlq.as_str()),
        ("SECRETS_PREFIX", "cost-etl"),
        // What Lambda gives the function in serverless.yml (dev and prod).
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
    ];
    pairs.extend(world.platforms.iter().map(|(k, v)| (*k, v.as_str())));
    if let Some(concurrency) = concurrency {
        pairs.push(("BATCH_CONCURRENCY", concurrency));
    }
    Env::from_pairs(pairs)
}

/// Part 2b: one Meta batch of 10 jobs of 31 days x 50 campaigns (1,550 rows: 4 pages of up to
/// 500, 200 ms each) with the default configuration, in two shapes: ten accounts (the jobs run
/// side by side), and two accounts with five months each (jobs of one account run one after
/// another, as the platforms' per-account rate limits want: the floor is five jobs' pages).
/// S3 is moto, as everywhere else, and then the S3 peer (`peers::s3`): moto is one Python
/// process that spends several ms of CPU on each of the batch's 310 PUTs on the cores the
/// function uses, which real S3 does not; the peer answers at once, or after 50 ms a PUT (the
/// upper end of "tens of milliseconds", the median AWS gives for small S3 requests).
struct ShapeFigures {
    shape: &'static str,
    s3: &'static str,
    pages_per_job: usize,
    wall: Duration,
}

/// Where a 2b shape's S3 writes go.
#[derive(Clone, Copy)]
enum S3Target {
    Moto,
    Peer(Duration),
}

async fn default_batches(world: &World, clients: &Clients, peers: &AdPlatforms, s3_peer: &(peers::s3::S3Peer, aws_sdk_s3::Client)) -> Vec<ShapeFigures> {
    let months = |i: usize| {
        let from = d("2026-01-01") + chrono::Months::new(i as u32);
        (from, from + chrono::Days::new(30))
    };
    let mut out = Vec::new();
    // The no-delay row: what the batch costs besides the platform's answers (moto taking the S3
    // writes, the ledger, the function's own work) on this machine.
    let fifty = Duration::from_millis(50);
    let shapes = [
        ("10 jobs on 10 accounts", 10usize, PEER_DELAY, S3Target::Moto),
        ("10 jobs on 2 accounts", 2, PEER_DELAY, S3Target::Moto),
        ("10 accounts, no delay", 10, Duration::ZERO, S3Target::Moto),
        ("10 jobs on 10 accounts", 10, PEER_DELAY, S3Target::Peer(Duration::ZERO)),
        ("10 jobs on 10 accounts", 10, PEER_DELAY, S3Target::Peer(fifty)),
        ("10 jobs on 2 accounts", 2, PEER_DELAY, S3Target::Peer(fifty)),
        ("10 accounts, no delay", 10, Duration::ZERO, S3Target::Peer(Duration::ZERO)),
    ];
    for (s, (shape, accounts, delay, target)) in shapes.into_iter().enumerate() {
        peers.meta.set_page_delay(delay);
        let (clients, s3) = match target {
            S3Target::Moto => (clients.clone(), "moto"),
            S3Target::Peer(latency) => {
                s3_peer.0.set_delay(latency);
                (Clients { s3: s3_peer.1.clone(), ..clients.clone() }, if latency.is_zero() { "S3 peer, at once" } else { "S3 peer, 50 ms a PUT" })
            }
        };
        let puts_before = s3_peer.0.puts();
        let app = App::new(Config::from_env(&bench_env(world, None)).unwrap(), clients);
        let names: Vec<String> = (0..accounts).map(|a| format!("act_9{s}{a:02}")).collect();
        // Each account holds the months its jobs ask for, no more (the peers live in this process).
        let last_day = months(JOBS.div_ceil(accounts) - 1).1;
        for name in &names {
            peers.meta.add_account(name, "USD", peers::meta::synthetic_rows(50, d("2026-01-01"), last_day));
        }
        let ranges: Vec<(NaiveDate, NaiveDate)> = (0..JOBS).map(|i| months(i / accounts)).collect();
        let records: Vec<SqsMessage> = ranges.iter().enumerate().map(|(i, &(from, to))| job_record(format!("shape-{s}-{i}"), "meta", &names[i % accounts], from, to)).collect();
        let started = Instant::now();
        let report = app.process(&records, Deadline::after(Duration::from_secs(600))).await;
        let wall = started.elapsed();
        assert_eq!(report.failed().count(), 0, "bench batch had failures: {:?}", report.records);
        if let S3Target::Peer(_) = target {
            let days: usize = ranges.iter().map(|(from, to)| (*to - *from).num_days() as usize + 1).sum();
            assert_eq!(s3_peer.0.puts() - puts_before, days, "every day of every job written to the S3 peer");
        }
        let pages: usize = names.iter().map(|n| peers.meta.requests_for(n)).sum();
        out.push(ShapeFigures { shape, s3, pages_per_job: pages / JOBS, wall });
    }
    out
}

/// A figure of this process's `/proc` status in KiB: `VmHWM` (peak resident) or `VmRSS`.
fn status_kib(field: &str) -> Option<u64> {
    test_support::procfs::status_kib(std::process::id(), field)
}

/// Start a new peak (Linux: "5" to clear_refs resets VmHWM to the current RSS), so each part's
/// peak is its own and not the peers' answer building before it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Part 2b's table.
fn print_shapes(shapes: &[ShapeFigures]) {
    println!("2b. one Meta batch, default configuration: 10 jobs of 31 days x 50 campaigns, 200 ms per page (wall time)");
    println!("| shape                   | S3                   | pages per job | wall time |");
    println!("|-------------------------|----------------------|---------------|-----------|");
    for s in shapes {
        println!("| {:<23} | {:<20} | {:>13} | {:>7.2} s |", s.shape, s.s3, s.pages_per_job, s.wall.as_secs_f64());
    }
    println!("(jobs of one account run one after another; different accounts side by side; the floor of a shape is");
    println!(" its longest chain of pages, 4 x 200 ms on 10 accounts, plus its writes: on moto, what the no-delay row");
    println!(" costs, 310 S3 writes into one Python process on these cores; on the S3 peer, 4 rounds of 8 PUTs a job)");
}

#[tokio::main]
async fn main() {
    // `cost-etl-bench 2b`: part 2b alone.
    if std::env::args().skip(1).any(|a| a == "2b") {
        let (_, shapes, _) = batch_wall_times(true).await;
        print_shapes(&shapes);
        return;
    }
    let captured = capture_answers().await;
    // Building the answers (peer side) is not what is measured.
    // The allocator keeps what the peers' answer building freed, so each part's peak is shown
    // with the resident size it started from.
    let peaks_reset = reset_peak_rss();
    let normalize_start = status_kib("VmRSS");
    let throughput: Vec<Throughput> = captured.iter().map(measure).collect();
    let normalize_peak = status_kib("VmHWM");
    drop(captured);
    reset_peak_rss();
    let batch_start = status_kib("VmRSS");
    let (batches, shapes, google_exchanges) = batch_wall_times(false).await;
    let batch_peak = status_kib("VmHWM");

    println!();
    println!("cost-etl bench ({} profile)", if cfg!(debug_assertions) { "dev" } else { "release" });
    println!();
    println!("1. rows normalized per second (pure, no I/O; ~{} rows per column)", thousands(ROWS_PER_PASS as f64));
    println!("| platform   | answer                                       | KiB  | times | parse+normalize rows/s | (MiB/s of body) | + group per day + JSONL rows/s | JSONL MiB |");
    println!("|------------|----------------------------------------------|------|-------|------------------------|-----------------|--------------------------------|-----------|");
    for t in &throughput {
        println!(
            "| {:<10} | {:<44} | {:>4} | {:>5} | {:>22} | {:>15.1} | {:>30} | {:>9} |",
            t.platform,
            t.answer,
            t.answer_kib,
            t.answers,
            thousands(t.normalize),
            t.normalize_mib,
            thousands(t.full),
            t.jsonl_mib
        );
    }
    println!();
    println!("2. batch of {JOBS} jobs per platform, moto for S3/DynamoDB/Secrets Manager (wall time; a cold start each)");
    let heads: Vec<String> = RUNS.iter().map(|(delay, c)| format!("{} ms, conc. {c}", delay.as_millis())).collect();
    println!("| platform   | rows/job | platform calls per job (counted)   | {} |", heads.iter().map(|h| format!("{h:>17}")).collect::<Vec<_>>().join(" | "));
    println!("|------------|----------|------------------------------------|{}|", heads.iter().map(|_| "-".repeat(19)).collect::<Vec<_>>().join("|"));
    for b in &batches {
        let walls: Vec<String> = b.walls.iter().map(|w| format!("{:>15.2} s", w.as_secs_f64())).collect();
        println!("| {:<10} | {:>8} | {:<34} | {} |", b.platform, b.rows_per_job, b.calls_per_job, walls.join(" | "));
    }
    println!("(columns: peer delay per answer, BATCH_CONCURRENCY; 10 is the default. Google Ads does not page: one");
    println!(" searchStream call per job, plus {google_exchanges} undelayed token exchanges in all, one per cold start.)");
    println!();
    print_shapes(&shapes);
    println!();
    if peaks_reset {
        println!("3. peak RSS (VmHWM) of the bench process (peers in-process, moto not counted):");
        println!("   part 1 (normalize): peak {} from {} resident at its start", mib(normalize_peak), mib(normalize_start));
        println!("   part 2 (batches):   peak {} from {} resident at its start", mib(batch_peak), mib(batch_start));
    } else {
        println!("3. peak RSS (VmHWM) of the bench process, all parts and peers: {}", mib(batch_peak));
    }
}
