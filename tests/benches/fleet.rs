//! The fleet case the plan is sized for: N phones (independent data directories, stores and
//! sync engines, default `SyncConfig`) with queued photos wake up together against one
//! serverless endpoint with `MaxConcurrency` 5, a fixed model latency and a cold start.
//! Prints the figures (requests per photo, throttles, drain time against the ideal) and the
//! request-rate curve, and checks every store: each photo synced, exactly one cloud result.
//!
//! Run with `cargo bench -p omni-e2e --bench fleet -- [phones] [photos_per_phone]
//! [latency_ms]` (defaults 200 20 300). Knobs for experiments, from the environment (the
//! defaults are the product's): `FLEET_MAX_CONCURRENCY` (5), `FLEET_COLD_START_MS` (2000),
//! `FLEET_ENGINE_CONCURRENCY` (`SyncConfig::concurrency`), `FLEET_PAUSE_BASE_MS` and
//! `FLEET_PAUSE_CAP_MS` (`SyncConfig::pause`), `FLEET_THROTTLE_BASE_MS` and
//! `FLEET_THROTTLE_CAP_MS` (`SyncConfig::throttle`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use omni_core::cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_core::cloud::{CachedCredentials, ServiceUrl};
use omni_core::detections::DetectionSource;
use omni_core::sync::{StopReason, SyncConfig, SyncEngine, SyncReport};
use omni_core::{Inspector, PhotoId, PhotoState};
use omni_e2e::{ENDPOINT_NAME, REGION, TestEndpoint, fill_store, test_credentials};
use omni_endpoint::{FaultConfig, ModelChoice, ServerlessConfig};

/// The endpoint's `MaxConcurrency` in the plan.
const MAX_CONCURRENCY: u32 = 5;
/// Width of the buckets the request-rate curve is summarised in.
const BUCKET_S: usize = 10;

struct Phone {
    _dir: tempfile::TempDir,
    inspector: Arc<Inspector>,
    ids: Vec<PhotoId>,
}

fn arg(index: usize, default: u64) -> u64 {
    // `cargo bench` passes `--bench` to harness-less benches: skip flags.
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().expect("a number"))
}

fn main() {
    let phones = arg(0, 200) as usize;
    let per_phone = arg(1, 20) as u32;
    let latency = Duration::from_millis(arg(2, 300));
    let max_concurrency = env("FLEET_MAX_CONCURRENCY").map_or(MAX_CONCURRENCY, |n| n as u32);
    let cold_start = Duration::from_millis(env("FLEET_COLD_START_MS").unwrap_or(2000));
    let mut config = SyncConfig::default();
    if let Some(n) = env("FLEET_ENGINE_CONCURRENCY") {
        config.concurrency = n as usize;
    }
    if let Some(ms) = env("FLEET_PAUSE_BASE_MS") {
        config.pause.base = Duration::from_millis(ms);
    }
    if let Some(ms) = env("FLEET_PAUSE_CAP_MS") {
        config.pause.cap = Duration::from_millis(ms);
    }
    if let Some(ms) = env("FLEET_THROTTLE_BASE_MS") {
        config.throttle.base = Duration::from_millis(ms);
    }
    if let Some(ms) = env("FLEET_THROTTLE_CAP_MS") {
        config.throttle.cap = Duration::from_millis(ms);
    }
    let photos = phones * per_phone as usize;
    println!(
        "fleet: {phones} phones x {per_phone} photos, model latency {latency:?}, MaxConcurrency \
         {max_concurrency}, cold start {cold_start:?}; engine: concurrency {}, pause {:?}..{:?}, \
         throttle {:?}..{:?}, backoff {:?}..{:?}, max_attempts {}",
        config.concurrency,
        config.pause.base,
        config.pause.cap,
        config.throttle.base,
        config.throttle.cap,
        config.backoff.base,
        config.backoff.cap,
        config.max_attempts
    );

    // The stores, filled before the endpoint starts (its per-second curve starts at 0).
    let filling = Instant::now();
    let fleet = fill_fleet(phones, per_phone);
    eprintln!("filled {phones} stores in {:.1?}", filling.elapsed());

    let credentials = test_credentials(Some("fleet-session"));
    let endpoint = TestEndpoint::start(
        ModelChoice::Null,
        FaultConfig {
            latency,
            serverless: ServerlessConfig {
                max_concurrency: Some(max_concurrency),
                cold_start,
                idle_scale_down: None,
            },
            ..FaultConfig::default()
        },
        Some(credentials.clone()),
    );
    let url = endpoint.url();
    let engines: Vec<SyncEngine> = fleet
        .iter()
        .map(|phone| {
            let runtime =
                RuntimeConfig::new(ServiceUrl::parse(&url).expect("url"), ENDPOINT_NAME, REGION);
            let cache = Arc::new(CachedCredentials::fixed(credentials.clone()));
            SyncEngine::new(
                phone.inspector.clone(),
                RuntimeClient::new(runtime, cache).expect("client"),
                config.clone(),
            )
        })
        .collect();

    // All engines start together, as tasks of one runtime; the main thread samples.
    let done = Arc::new(AtomicBool::new(false));
    let phones_done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let runner = {
        let (done, phones_done) = (done.clone(), phones_done.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let reports = runtime.block_on(async move {
                let tasks: Vec<_> = engines
                    .into_iter()
                    .map(|engine| {
                        let phones_done = phones_done.clone();
                        tokio::spawn(async move {
                            let report = engine.run_until_idle().await.expect("sync run");
                            phones_done.fetch_add(1, Ordering::Relaxed);
                            (report, started.elapsed())
                        })
                    })
                    .collect();
                let mut reports = Vec::with_capacity(tasks.len());
                for task in tasks {
                    reports.push(task.await.expect("engine task"));
                }
                reports
            });
            done.store(true, Ordering::SeqCst);
            reports
        })
    };
    let mut answered_curve = Vec::new();
    let mut last_print = Instant::now();
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let second = started.elapsed().as_secs() as usize;
        let stats = endpoint.stats();
        if answered_curve.len() <= second {
            answered_curve.resize(second + 1, stats.answered);
        }
        answered_curve[second] = stats.answered;
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            eprintln!(
                "{:>5.0} s: answered {}/{photos}, invocations {}, throttled {}, phones done {}",
                started.elapsed().as_secs_f64(),
                stats.answered,
                stats.invocations,
                stats.throttled,
                phones_done.load(Ordering::Relaxed)
            );
        }
    }
    let reports: Vec<(SyncReport, Duration)> = runner.join().expect("runner");
    let drain = reports.iter().map(|(_, t)| *t).max().unwrap_or_default();
    let stats = endpoint.stats();

    // Every store: each photo synced with exactly one cloud result.
    let mut exactly_once = 0usize;
    let mut not_synced = 0usize;
    let mut extra_results = 0usize;
    for phone in &fleet {
        for id in &phone.ids {
            let photo = phone.inspector.photo(*id).expect("photo");
            let cloud = phone
                .inspector
                .stored_results(*id)
                .expect("results")
                .iter()
                .filter(|r| r.detections.source == DetectionSource::Cloud)
                .count();
            if photo.state != PhotoState::Synced {
                not_synced += 1;
            }
            if cloud > 1 {
                extra_results += cloud - 1;
            }
            if photo.state == PhotoState::Synced && cloud == 1 {
                exactly_once += 1;
            }
        }
    }
    let sum = |f: fn(&SyncReport) -> u64| reports.iter().map(|(r, _)| f(r)).sum::<u64>();
    let (synced, failed, retried, engine_requests) = (
        sum(|r| r.synced),
        sum(|r| r.failed),
        sum(|r| r.retried),
        sum(|r| r.requests),
    );
    let not_idle = reports
        .iter()
        .filter(|(r, _)| r.stopped != StopReason::Idle)
        .count();
    let ideal = latency.mul_f64(photos as f64 / f64::from(max_concurrency)) + cold_start;
    let ratio = drain.as_secs_f64() / ideal.as_secs_f64();
    let requests = stats.invocations;
    let per_photo = requests as f64 / photos as f64;
    let mut finish: Vec<f64> = reports.iter().map(|(_, t)| t.as_secs_f64()).collect();
    finish.sort_by(f64::total_cmp);
    let pct = |p: f64| finish[((finish.len() as f64 - 1.0) * p).round() as usize];

    println!();
    println!(
        "| photos | phones | total requests | requests/photo | throttled | failed photos | synced exactly once | drain s | ideal s | ratio |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {photos} | {phones} | {requests} | {per_photo:.2} | {} | {failed} | {exactly_once}/{photos} | {:.1} | {:.1} | {ratio:.2} |",
        stats.throttled,
        drain.as_secs_f64(),
        ideal.as_secs_f64(),
    );
    println!();
    println!(
        "engines: synced {synced}, failed {failed}, retried {retried}, requests {engine_requests}, \
         runs not ending idle {not_idle}; stores: not synced {not_synced}, extra cloud results \
         {extra_results}"
    );
    println!(
        "endpoint: invocations {}, answered {}, distinct photos answered {}, duplicate answers {}, \
         throttled {}, errors by type {:?}, cold starts {}, max in flight {}",
        stats.invocations,
        stats.answered,
        stats.answered_photos,
        stats.duplicate_answers,
        stats.throttled,
        stats.errors,
        stats.cold_starts,
        stats.max_in_flight
    );
    println!(
        "phones finished: first {:.1} s, median {:.1} s, p90 {:.1} s, last {:.1} s",
        pct(0.0),
        pct(0.5),
        pct(0.9),
        pct(1.0)
    );
    let capacity = f64::from(max_concurrency) / latency.as_secs_f64();
    println!(
        "\nrequest rate per {BUCKET_S} s (endpoint clock; capacity {capacity:.1} answers/s):\n"
    );
    println!("| seconds | requests | throttled | answered | requests/s | answered/s |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let invocations = &stats.invocations_per_second;
    let throttled = &stats.throttled_per_second;
    let at = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
    let answered_at = |s: usize| -> u64 {
        if s == 0 {
            0
        } else {
            answered_curve
                .get(s - 1)
                .or(answered_curve.last())
                .copied()
                .unwrap_or(0)
        }
    };
    let seconds = invocations.len().max(answered_curve.len());
    for start in (0..seconds).step_by(BUCKET_S) {
        let end = (start + BUCKET_S).min(seconds);
        let req: u64 = (start..end).map(|i| at(invocations, i)).sum();
        let thr: u64 = (start..end).map(|i| at(throttled, i)).sum();
        let ans = answered_at(end) - answered_at(start);
        let width = (end - start) as f64;
        println!(
            "| {start}-{end} | {req} | {thr} | {ans} | {:.1} | {:.1} |",
            req as f64 / width,
            ans as f64 / width
        );
    }
    println!("\nrequests per second: {invocations:?}");
    println!("throttled per second: {throttled:?}");

    let goals = [
        (
            "every photo synced exactly once",
            exactly_once == photos && stats.duplicate_answers == 0,
        ),
        ("no photo failed", failed == 0 && not_synced == 0),
        (
            "total requests <= 1.5 x photos",
            requests as f64 <= 1.5 * photos as f64,
        ),
        ("drain time <= 1.5 x ideal", ratio <= 1.5),
    ];
    println!();
    for (goal, met) in goals {
        println!("{goal}: {}", if met { "met" } else { "NOT met" });
    }
}

/// `phones` stores of `per_phone` photos each, filled from a few threads (fsync-bound).
fn fill_fleet(phones: usize, per_phone: u32) -> Vec<Phone> {
    let next = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= phones {
                        break mine;
                    }
                    let dir = tempfile::tempdir().expect("tempdir");
                    let (inspector, ids) = fill_store(dir.path(), per_phone, 64, 48);
                    mine.push((
                        i,
                        Phone {
                            _dir: dir,
                            inspector,
                            ids,
                        },
                    ));
                }
            })
        })
        .collect();
    let mut all: Vec<(usize, Phone)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("filler"))
        .collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, phone)| phone).collect()
}
