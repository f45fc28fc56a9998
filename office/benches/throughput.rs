//! The yard office's throughput on the embedded store (issue 13's numbers): record writes/s
//! and photo uploads/s with N phones at once (tasks of one process, each with the phones'
//! own `OfficeClient`, SigV4-signed), then the latency of container lookups through the API
//! over a store filled with M inspections. Prints a table; asserts nothing about time.
//!
//! `cargo bench -p omni-office --bench throughput -- [phones] [per_phone] [inspections]`
//! (defaults 50 20 100000).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use omni_cloud::office_client::{OfficeClient, OfficeConfig};
use omni_cloud::payload::Payload;
use omni_cloud::{CachedCredentials, ServiceUrl, SigV4Scope};
use omni_office::AppConfig;
use omni_office::api::Auth;
use omni_office::store::Store;
use omni_office::store::embedded::{self, EmbeddedStore};
use omni_sigv4::test_sign::signature_headers;

use common::{REGION, arg, container, credentials, filled, percentile, put};

/// Distinct containers in the filled store (100 inspections each at 100,000).
const CONTAINERS: usize = 1000;
/// Container lookups timed after the fill.
const LOOKUPS: usize = 300;

fn row(what: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    println!(
        "| {what} | {count} | {:.2} | {:.1} | {:.1} | {:.1} |",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
}

/// Runs `work(0..workers)` at once, each on a task of its own timing its operations; the
/// latencies of all.
async fn concurrently<F, Fut>(workers: usize, work: F) -> Vec<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Vec<Duration>> + Send + 'static,
{
    let tasks: Vec<_> = (0..workers).map(|w| tokio::spawn(work(w))).collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a worker"));
    }
    latencies
}

/// Awaits `operation`, its latency added to `latencies`.
async fn timed<T>(latencies: &mut Vec<Duration>, operation: impl Future<Output = T>) -> T {
    let t = Instant::now();
    let out = operation.await;
    latencies.push(t.elapsed());
    out
}

fn main() {
    let phones = arg(0, 50);
    let per_phone = arg(1, 20);
    let fill = arg(2, 100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(phones, per_phone, fill));
}

async fn run(phones: usize, per_phone: usize, fill: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("the store"));
    let config = AppConfig {
        store: store.clone(),
        auth: Some(Auth {
            credentials: credentials(),
            region: REGION.into(),
        }),
        detector: None,
        url_key: embedded::url_key(dir.path()).expect("a URL key"),
        url_ttl: Duration::from_secs(60),
        reports: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        omni_office::serve(listener, config, std::future::pending())
            .await
            .expect("the office serves");
    });
    let client = OfficeClient::new(
        OfficeConfig::new(ServiceUrl::parse(&base).expect("a URL"), REGION),
        Arc::new(CachedCredentials::fixed(credentials())),
    )
    .expect("a client");
    let photo = omni_e2e::jpeg(1600, 1200, 7);
    println!(
        "office throughput: embedded store (SQLite WAL, synchronous=FULL; photo files fsync'd), \
         {phones} phones x {per_phone}, photo {} bytes, then {fill} inspections",
        photo.len()
    );
    println!();
    println!("| operation | count | seconds | per second | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");

    // Record writes: every phone PUTs its inspections, one after the other, all phones at once.
    let started = Instant::now();
    let latencies = concurrently(phones, |p| {
        let client = client.clone();
        async move {
            let mut latencies = Vec::new();
            for i in 0..per_phone {
                timed(
                    &mut latencies,
                    client.put_inspection(
                        &format!("phone{p}-insp{i}"),
                        &put(container(p * per_phone + i), 1_700_000_000_000),
                    ),
                )
                .await
                .expect("an inspection stored");
            }
            latencies
        }
    })
    .await;
    row(
        "PUT inspection (record write)",
        latencies.len(),
        started.elapsed(),
        latencies,
    );

    // Photo uploads: each phone uploads one photo into each of its inspections.
    let started = Instant::now();
    let latencies = concurrently(phones, |p| {
        let client = client.clone();
        let payload = Payload {
            bytes: photo.clone(),
            content_type: "image/jpeg",
            sent_size: (1600, 1200),
            original_size: (1600, 1200),
        };
        async move {
            let mut latencies = Vec::new();
            for i in 0..per_phone {
                // Distinct bytes per photo would only change the hash; the same body
                // under distinct ids is stored once per id, as uploads are.
                timed(
                    &mut latencies,
                    client.upload_photo(
                        &format!("phone{p}-insp{i}"),
                        &format!("phone{p}-photo{i}"),
                        &payload,
                        omni_office::wire::Face::Whole,
                        false,
                    ),
                )
                .await
                .expect("a photo stored");
            }
            latencies
        }
    })
    .await;
    let elapsed = started.elapsed();
    let uploads = latencies.len();
    row("PUT photo (no detection)", uploads, elapsed, latencies);

    // Fill: `fill` inspections straight into the store (8 writers), over CONTAINERS
    // containers, one a minute.
    let started = Instant::now();
    let writers = 8;
    let latencies = concurrently(writers, |w| {
        let store = store.clone();
        async move {
            let mut latencies = Vec::new();
            for n in (w..fill).step_by(writers) {
                let inspection = filled(n, CONTAINERS);
                timed(&mut latencies, store.put_inspection(&inspection))
                    .await
                    .expect("stored");
            }
            latencies
        }
    })
    .await;
    row(
        "store put_inspection (fill, 8 writers)",
        latencies.len(),
        started.elapsed(),
        latencies,
    );

    // Container lookups through the API (signed GETs), one at a time.
    let http = reqwest::Client::new();
    let scope = SigV4Scope {
        region: REGION.into(),
        service: "execute-api".into(),
    };
    let signer = credentials();
    let mut latencies = Vec::new();
    let mut found = 0;
    let started = Instant::now();
    for i in 0..LOOKUPS {
        let url = format!(
            "{base}/v1/inspections?container={}&limit=100",
            container((i * 37) % CONTAINERS)
        );
        let t = Instant::now();
        let mut request = http.get(&url);
        for (name, value) in
            signature_headers(&scope, &signer, "GET", &url, &[], &[], SystemTime::now())
        {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("an answer");
        assert!(response.status().is_success(), "{}", response.status());
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.expect("a body")).expect("JSON");
        found += body["inspections"].as_array().map_or(0, Vec::len);
        latencies.push(t.elapsed());
    }
    row(
        "GET /v1/inspections?container= (API, signed)",
        LOOKUPS,
        started.elapsed(),
        latencies,
    );
    println!();
    println!(
        "lookups returned {found} inspections in all ({:.1} each; {} per container in the store)",
        found as f64 / LOOKUPS as f64,
        fill / CONTAINERS
    );
}
