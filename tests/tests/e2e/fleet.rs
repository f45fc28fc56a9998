//! The fleet case at a small scale: phones with independent stores and engines (default
//! `SyncConfig`) wake up together against a serverless endpoint with `MaxConcurrency` 5 and a
//! cold start. Every photo reaches the cloud exactly once, none fails, and throttling does not
//! multiply the billed requests. The full-scale figures (200 phones × 20 photos, 300 ms
//! model) come from `cargo bench -p omni-e2e --bench fleet` (docs/benchmarks.md); no timing
//! is asserted here.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::sync::Arc;
use std::time::Duration;

use omni_core::cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_core::cloud::{CachedCredentials, ServiceUrl};
use omni_core::detections::DetectionSource;
use omni_core::sync::{StopReason, SyncConfig, SyncEngine};
use omni_core::{Inspector, PhotoId, PhotoState};
use omni_e2e::{ENDPOINT_NAME, REGION, TestEndpoint, fill_store, test_credentials};
use omni_endpoint::{FaultConfig, ModelChoice, ServerlessConfig};

const MAX_CONCURRENCY: u32 = 5;

#[test]
fn a_fleet_waking_up_together_syncs_every_photo_once_without_a_storm_of_requests() {
    // 4 phones per endpoint slot, 40 requests at once against 5 places.
    fleet(20, 5);
}

/// The same with 8 phones per slot (the engine before its admission window sent ~1.6
/// requests per photo here).
#[test]
fn a_denser_fleet_stays_within_one_and_a_half_requests_per_photo() {
    fleet(40, 5);
}

/// `phones` stores of `per_phone` photos, each with its own engine (default `SyncConfig`),
/// all started at once against a `MaxConcurrency` 5 endpoint with a 50 ms model and a
/// 300 ms cold start; asserts the fleet guarantees.
fn fleet(phones: usize, per_phone: u32) {
    let fleet: Vec<(tempfile::TempDir, Arc<Inspector>, Vec<PhotoId>)> = (0..phones)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let (inspector, ids) = fill_store(dir.path(), per_phone, 64, 48);
            (dir, inspector, ids)
        })
        .collect();
    let photos = phones * per_phone as usize;
    let credentials = test_credentials(Some("fleet-session"));
    let endpoint = TestEndpoint::start(
        ModelChoice::Null,
        FaultConfig {
            latency: Duration::from_millis(50),
            serverless: ServerlessConfig {
                max_concurrency: Some(MAX_CONCURRENCY),
                cold_start: Duration::from_millis(300),
                idle_scale_down: None,
            },
            ..FaultConfig::default()
        },
        Some(credentials.clone()),
    );
    let engines: Vec<SyncEngine> = fleet
        .iter()
        .map(|(_, inspector, _)| {
            let runtime = RuntimeConfig::new(
                ServiceUrl::parse(&endpoint.url()).unwrap(),
                ENDPOINT_NAME,
                REGION,
            );
            let cache = Arc::new(CachedCredentials::fixed(credentials.clone()));
            SyncEngine::new(
                inspector.clone(),
                RuntimeClient::new(runtime, cache).unwrap(),
                SyncConfig::default(),
            )
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reports = runtime.block_on(async {
        let tasks: Vec<_> = engines
            .into_iter()
            .map(|engine| tokio::spawn(async move { engine.run_until_idle().await.unwrap() }))
            .collect();
        let mut reports = Vec::new();
        for task in tasks {
            reports.push(task.await.unwrap());
        }
        reports
    });
    let stats = endpoint.stats();
    let summary = format!(
        "{photos} photos: endpoint invocations {}, answered {}, throttled {}, duplicate answers \
         {}, cold starts {}, max in flight {}, errors by type {:?}; requests per second {:?}, \
         throttled per second {:?}",
        stats.invocations,
        stats.answered,
        stats.throttled,
        stats.duplicate_answers,
        stats.cold_starts,
        stats.max_in_flight,
        stats.errors,
        stats.invocations_per_second,
        stats.throttled_per_second,
    );
    eprintln!("{summary}");

    // The case really is a throttled one: more requests at once than the endpoint takes.
    assert!(stats.throttled > 0, "{summary}");
    assert!(stats.max_in_flight <= MAX_CONCURRENCY, "{summary}");

    // Every run drained its queue; no photo failed.
    for report in &reports {
        assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
        assert_eq!(report.failed, 0, "{report:?}");
    }
    let synced: u64 = reports.iter().map(|r| r.synced).sum();
    assert_eq!(synced, photos as u64, "{summary}");

    // Exactly once, seen from both sides: each store holds one cloud result per photo, and
    // the endpoint answered each photo once (a second answer would be a billed duplicate that
    // the store's uniqueness would hide).
    for (_, inspector, ids) in &fleet {
        for id in ids {
            assert_eq!(inspector.photo(*id).unwrap().state, PhotoState::Synced);
            let cloud = inspector
                .stored_results(*id)
                .unwrap()
                .iter()
                .filter(|r| r.detections.source == DetectionSource::Cloud)
                .count();
            assert_eq!(cloud, 1, "photo {id}");
        }
    }
    assert_eq!(stats.answered, photos as u64, "{summary}");
    assert_eq!(stats.answered_photos, photos as u64, "{summary}");
    assert_eq!(stats.duplicate_answers, 0, "{summary}");

    // Throttling costs requests, but a fleet that backs off does not multiply them: at most
    // 1.5 requests per photo (the bound), counted by the endpoint and by the engines.
    let engine_requests: u64 = reports.iter().map(|r| r.requests).sum();
    let requests = stats.invocations.max(engine_requests);
    assert!(
        requests as f64 <= 1.5 * photos as f64,
        "{requests} requests for {photos} photos (engines counted {engine_requests}); {summary}"
    );
}
