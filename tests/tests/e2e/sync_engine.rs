//! The sync engine against the local endpoint: results stored once, errors classified,
//! malformed answers refused, the edge fallback, and no traffic while offline.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use omni_core::cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_core::cloud::{CachedCredentials, Credentials, ServiceUrl};
use omni_core::detections::DetectionSource;
use omni_core::sync::{StopReason, SyncConfig, SyncEngine, SyncEvent, SyncListener, SyncReport};
use omni_core::{Inspector, PhotoState, bundled_model};
use omni_e2e::{
    ENDPOINT_NAME, REGION, RedirectTrap, SmallFs, TestEndpoint, add_photo_now, fill_store,
    test_credentials, truncated_jpeg,
};
use omni_endpoint::{FaultConfig, Malformed, ModelChoice};

fn fast_config() -> SyncConfig {
    omni_e2e::fast_sync_config(4)
}

fn engine(
    inspector: &Arc<Inspector>,
    url: &str,
    credentials: Credentials,
    config: SyncConfig,
) -> SyncEngine {
    engine_named(inspector, url, ENDPOINT_NAME, credentials, config)
}

fn engine_named(
    inspector: &Arc<Inspector>,
    url: &str,
    endpoint_name: &str,
    credentials: Credentials,
    config: SyncConfig,
) -> SyncEngine {
    let client = client(url, endpoint_name, credentials, 0);
    SyncEngine::new(inspector.clone(), client, config)
}

/// A client of the endpoint `endpoint_name` at `url`, signing with `credentials` on a clock
/// `clock_offset_ms` off.
fn client(
    url: &str,
    endpoint_name: &str,
    credentials: Credentials,
    clock_offset_ms: i64,
) -> RuntimeClient {
    let mut runtime = RuntimeConfig::new(ServiceUrl::parse(url).unwrap(), endpoint_name, REGION);
    runtime.clock_offset_ms = clock_offset_ms;
    let cache = Arc::new(CachedCredentials::fixed(credentials));
    RuntimeClient::new(runtime, cache).unwrap()
}

/// A runtime for one engine run (shared by the e2e modules).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Keeps every sync event a listener hears (shared by the e2e modules).
#[derive(Default)]
pub(crate) struct Recorder(pub(crate) Mutex<Vec<SyncEvent>>);

impl SyncListener for Recorder {
    fn on_event(&self, event: SyncEvent) {
        self.0.lock().unwrap().push(event);
    }
}

/// One run of `engine` until its queue is idle (or it stops).
fn run(engine: &SyncEngine) -> SyncReport {
    runtime().block_on(engine.run_until_idle()).unwrap()
}

/// Every photo still queued and never charged an attempt.
fn assert_all_queued_uncharged(inspector: &Inspector, ids: &[omni_core::PhotoId]) {
    for id in ids {
        let photo = inspector.photo(*id).unwrap();
        assert_eq!(
            (photo.state, photo.attempt_count),
            (PhotoState::Queued, 0),
            "{photo:?}"
        );
    }
}

fn cloud_results(inspector: &Inspector, id: omni_core::PhotoId) -> usize {
    inspector
        .stored_results(id)
        .unwrap()
        .iter()
        .filter(|r| r.detections.source == DetectionSource::Cloud)
        .count()
}

#[test]
fn queued_photos_get_exactly_one_cloud_result_from_the_real_model() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 6, 640, 480);
    let creds = test_credentials(Some("session-token"));
    let endpoint = TestEndpoint::accepting(ModelChoice::Bundled, &creds);
    let engine = engine(&inspector, &endpoint.url(), creds, fast_config());
    let recorder = Arc::new(Recorder::default());
    engine.set_listener(recorder.clone());
    let report = run(&engine);
    assert_eq!(report.stopped, StopReason::Idle);
    assert_eq!((report.synced, report.failed, report.requests), (6, 0, 6));
    let model = bundled_model::manifest().unwrap();
    for id in &ids {
        let photo = inspector.photo(*id).unwrap();
        assert_eq!(photo.state, PhotoState::Synced);
        let results = inspector.stored_results(*id).unwrap();
        assert_eq!(results.len(), 1);
        let cloud = &results[0].detections;
        assert_eq!(cloud.source, DetectionSource::Cloud);
        assert_eq!(cloud.model.sha256, model.sha256);
        assert_eq!((cloud.image_width, cloud.image_height), (640, 480));
    }
    let events = recorder.0.lock().unwrap();
    let synced = events
        .iter()
        .filter(|e| matches!(e, SyncEvent::PhotoSynced { .. }))
        .count();
    assert_eq!(synced, 6);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::QueueCounts { counts, .. } if counts.synced == 6))
    );

    // A second run has nothing to send.
    let again = run(&engine);
    assert_eq!((again.requests, again.stopped), (0, StopReason::Idle));
    assert_eq!(endpoint.stats().answered, 6);
}

#[test]
fn offline_sends_nothing_and_an_unreachable_endpoint_is_not_hammered() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, _) = fill_store(dir.path(), 5, 64, 48);
    let creds = test_credentials(None);
    let endpoint = TestEndpoint::accepting(ModelChoice::Null, &creds);
    let online_engine = engine(&inspector, &endpoint.url(), creds.clone(), fast_config());
    online_engine.set_online(false);
    let report = run(&online_engine);
    assert_eq!((report.stopped, report.requests), (StopReason::Offline, 0));
    assert_eq!(
        endpoint.stats().requests,
        0,
        "no request may leave while offline"
    );

    // Nothing listens on this port: each failure pauses the whole queue, growing, and the
    // run gives up after 4 pauses instead of spinning.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let down = engine(
        &inspector,
        &format!("http://{closed}"),
        creds,
        fast_config(),
    );
    let report = run(&down);
    assert!(
        matches!(report.stopped, StopReason::Unreachable(_)),
        "{report:?}"
    );
    // One request per pause at most, plus the ones already in flight when it paused.
    assert!(report.requests <= 4 * 2, "{report:?}");
    assert_eq!(
        inspector.stats().unwrap().photos.queued,
        5,
        "photos stay queued"
    );
}

#[test]
fn transient_errors_are_retried_and_permanent_ones_wedge_only_their_photo() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 30, 64, 48);
    // One photo the endpoint refuses (400 ValidationError): not an image it can decode.
    let inspection = inspector.photo(ids[0]).unwrap().inspection_id;
    let bad = add_photo_now(&inspector, inspection, &truncated_jpeg(99))
        .unwrap()
        .id;
    let creds = test_credentials(None);
    let faults = FaultConfig {
        error_rate: 0.4,
        seed: 11,
        ..FaultConfig::default()
    };
    let endpoint = TestEndpoint::start(ModelChoice::Bundled, faults, Some(creds.clone()));
    let engine = engine(
        &inspector,
        &endpoint.url(),
        creds,
        SyncConfig {
            max_attempts: 50,
            ..fast_config()
        },
    );
    let report = run(&engine);
    assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
    assert_eq!((report.synced, report.failed), (30, 1), "{report:?}");
    assert!(
        report.retried > 0,
        "40% injected errors must cause retries: {report:?}"
    );
    for id in &ids {
        assert_eq!(cloud_results(&inspector, *id), 1);
    }
    let wedged = inspector.photo(bad).unwrap();
    assert_eq!(wedged.state, PhotoState::Failed);
    assert!(wedged.failure_reason.unwrap().contains("ValidationError"));
    assert_eq!(cloud_results(&inspector, bad), 0);
    // Retried by hand, it fails again the same way, and nothing else is resent.
    assert_eq!(inspector.retry_failed(None).unwrap(), 1);
    let again = run(&engine);
    assert_eq!((again.synced, again.failed), (0, 1));
}

#[test]
fn each_kind_of_malformed_answer_is_refused_and_nothing_is_stored() {
    let creds = test_credentials(None);
    for kind in Malformed::ALL {
        let dir = tempfile::tempdir().unwrap();
        let (inspector, ids) = fill_store(dir.path(), 1, 64, 48);
        let faults = FaultConfig {
            malformed: Some(kind),
            ..FaultConfig::default()
        };
        let endpoint = TestEndpoint::start(ModelChoice::Null, faults, Some(creds.clone()));
        let engine = engine(&inspector, &endpoint.url(), creds.clone(), fast_config());
        let recorder = Arc::new(Recorder::default());
        engine.set_listener(recorder.clone());
        let report = run(&engine);
        // Retried (a proxy page can be transient), then failed after model_error_attempts.
        assert_eq!(
            (report.synced, report.failed, report.requests),
            (0, 1, 3),
            "{kind:?}"
        );
        let photo = inspector.photo(ids[0]).unwrap();
        assert_eq!(photo.state, PhotoState::Failed, "{kind:?}");
        let reason = photo.failure_reason.unwrap();
        assert!(
            reason.starts_with("invalid response:"),
            "{kind:?}: {reason}"
        );
        assert!(
            inspector.stored_results(ids[0]).unwrap().is_empty(),
            "{kind:?}"
        );
        let retries = recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, SyncEvent::AttemptFailed { .. }))
            .count();
        assert_eq!(retries, 2, "{kind:?}");
    }
}

#[test]
fn refused_credentials_pause_the_queue_without_charging_the_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 3, 64, 48);
    let server = test_credentials(Some("required-token"));
    let endpoint = TestEndpoint::accepting(ModelChoice::Null, &server);
    for (client, expected) in [
        (
            Credentials {
                secret_access_key: "wrong".into(),
                ..server.clone()
            },
            "InvalidSignatureException",
        ),
        (
            Credentials {
                session_token: None,
                ..server.clone()
            },
            "UnrecognizedClientException",
        ),
    ] {
        let engine = engine(&inspector, &endpoint.url(), client, fast_config());
        let report = run(&engine);
        match &report.stopped {
            StopReason::Unreachable(reason) => assert!(reason.contains(expected), "{reason}"),
            other => panic!("expected a stop on refused credentials, got {other:?}"),
        }
        assert_all_queued_uncharged(&inspector, &ids);
    }
    // With the right credentials everything goes through.
    let good = engine(&inspector, &endpoint.url(), server, fast_config());
    let report = run(&good);
    assert_eq!(report.synced, 3);
}

#[test]
fn a_slow_cloud_leaves_the_edge_verdict_standing_and_its_result_lands_later() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 2, 320, 240);
    let creds = test_credentials(None);
    let edge: Arc<dyn omni_core::detect::Detector> =
        Arc::new(bundled_model::detector(&Default::default()).unwrap());
    let rt = runtime();
    // An engine that waits `budget` for the cloud's verdict before it falls back to the edge's.
    let with_budget = |url: &str, budget| {
        let config = SyncConfig {
            latency_budget: budget,
            ..fast_config()
        };
        engine(&inspector, url, creds.clone(), config)
    };

    // Slower than the budget: the edge result stands, the cloud one is stored later.
    let slow = TestEndpoint::start(
        ModelChoice::Bundled,
        FaultConfig {
            latency: Duration::from_millis(1500),
            ..FaultConfig::default()
        },
        Some(creds.clone()),
    );
    let engine_slow = with_budget(&slow.url(), Duration::from_millis(200));
    let verdict = rt
        .block_on(engine_slow.verdict(ids[0], edge.clone()))
        .unwrap();
    assert!(verdict.cloud_pending);
    assert_eq!(verdict.result.detections.source, DetectionSource::Edge);
    omni_e2e::wait_until(
        "the late cloud answer",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || cloud_results(&inspector, ids[0]) > 0,
    );
    assert_eq!(
        cloud_results(&inspector, ids[0]),
        1,
        "the late cloud answer is stored"
    );
    let detail = inspector
        .inspection(inspector.photo(ids[0]).unwrap().inspection_id)
        .unwrap();
    let photo = detail.photos.iter().find(|p| p.photo.id == ids[0]).unwrap();
    assert_eq!(
        photo.results.len(),
        2,
        "edge and cloud results side by side"
    );
    assert_eq!(
        photo.current,
        Some(DetectionSource::Cloud),
        "cloud preferred"
    );

    // Within the budget: the cloud verdict comes back directly.
    let fast = TestEndpoint::accepting(ModelChoice::Bundled, &creds);
    let engine_fast = with_budget(&fast.url(), Duration::from_secs(30));
    let verdict = rt
        .block_on(engine_fast.verdict(ids[1], edge.clone()))
        .unwrap();
    assert!(!verdict.cloud_pending);
    assert_eq!(verdict.result.detections.source, DetectionSource::Cloud);

    // Offline: the edge verdict at once, the photo stays queued.
    let dir2 = tempfile::tempdir().unwrap();
    let (offline_store, offline_ids) = fill_store(dir2.path(), 1, 320, 240);
    let offline = engine(
        &offline_store,
        &fast.url(),
        test_credentials(None),
        fast_config(),
    );
    offline.set_online(false);
    let verdict = rt.block_on(offline.verdict(offline_ids[0], edge)).unwrap();
    assert!(verdict.cloud_pending);
    assert_eq!(
        offline_store.photo(offline_ids[0]).unwrap().state,
        PhotoState::Queued
    );
}

#[test]
fn a_missing_endpoint_pauses_the_queue_and_fails_no_photo() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 6, 64, 48);
    let creds = test_credentials(None);
    let endpoint = TestEndpoint::accepting(ModelChoice::Null, &creds);
    let engine = engine_named(
        &inspector,
        &endpoint.url(),
        "omni-inspector-deleted",
        creds,
        fast_config(),
    );
    let report = run(&engine);
    match &report.stopped {
        StopReason::EndpointRefused(reason) => {
            assert!(reason.contains("omni-inspector-deleted") && reason.contains("not found"))
        }
        other => panic!("expected the endpoint to be blamed, got {other:?}"),
    }
    assert_eq!(report.failed, 0, "{report:?}");
    assert_all_queued_uncharged(&inspector, &ids);
    // One request per pause at most, plus the ones in flight when it paused.
    assert!(
        endpoint.stats().invocations <= 4 + 2,
        "{:?}",
        endpoint.stats()
    );
}

#[test]
fn photo_after_photo_refused_pauses_the_queue_instead_of_failing_it() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, _) = fill_store(dir.path(), 0, 64, 48);
    let inspection = inspector
        .list_inspections(&omni_core::InspectionFilter::default())
        .unwrap()[0]
        .inspection
        .id;
    // Photos the endpoint refuses one by one (400 ValidationError): it cannot decode them.
    let bad: Vec<_> = (0..8)
        .map(|i| {
            add_photo_now(&inspector, inspection, &truncated_jpeg(50 + i))
                .unwrap()
                .id
        })
        .collect();
    let creds = test_credentials(None);
    let endpoint = TestEndpoint::accepting(ModelChoice::Bundled, &creds);
    let config = fast_config();
    let limit = config.permanent_failures_before_pause;
    let engine = engine(&inspector, &endpoint.url(), creds, config);
    let report = run(&engine);
    assert!(
        matches!(report.stopped, StopReason::EndpointRefused(_)),
        "{report:?}"
    );
    let failed = bad
        .iter()
        .filter(|id| inspector.photo(**id).unwrap().state == PhotoState::Failed)
        .count();
    let reasons: Vec<_> = bad
        .iter()
        .map(|id| inspector.photo(*id).unwrap().failure_reason)
        .collect();
    assert_eq!(
        failed as u32, limit,
        "only the first {limit} are wedged: {report:?} {reasons:?}"
    );
    assert_eq!(report.failed, u64::from(limit));
    assert_eq!(
        inspector.stats().unwrap().photos.queued,
        8 - u64::from(limit)
    );
}

#[test]
fn signed_requests_are_never_redirected_to_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 3, 64, 48);
    let trap = RedirectTrap::start();
    let engine = engine(
        &inspector,
        trap.url(),
        test_credentials(Some("session-token-to-keep")),
        fast_config(),
    );
    let report = run(&engine);
    match &report.stopped {
        StopReason::EndpointRefused(reason) => {
            assert!(reason.contains("redirect"), "{reason}")
        }
        other => panic!("expected the redirect to be refused, got {other:?}"),
    }
    assert_eq!(
        trap.target_hits(),
        0,
        "nothing may reach the redirect target"
    );
    assert_all_queued_uncharged(&inspector, &ids);
}

#[test]
fn a_full_disk_pauses_sync_and_stores_the_answers_later_without_asking_again() {
    let Some(fs) = SmallFs::mount(8 << 20) else {
        return;
    };
    let data = fs.path().join("data");
    let (inspector, ids) = fill_store(&data, 8, 160, 120);
    let creds = test_credentials(None);
    let endpoint = TestEndpoint::accepting(ModelChoice::Null, &creds);
    let config = fast_config();
    let concurrency = config.concurrency as u64;
    let engine = engine(&inspector, &endpoint.url(), creds, config);
    let filler = fs.fill("filler");
    let report = run(&engine);
    match &report.stopped {
        StopReason::StorageFailing(reason) => assert!(reason.contains("full"), "{reason}"),
        other => panic!("expected a stop on a full disk, got {other:?}"),
    }
    // Only the first answers were asked for; they wait in memory, not re-requested.
    let asked = endpoint.stats().invocations;
    assert!(
        (1..=concurrency).contains(&asked),
        "{asked} requests for {} photos on a full disk",
        ids.len()
    );
    assert_eq!(inspector.stats().unwrap().photos.queued, 8, "nothing lost");
    assert_eq!(inspector.integrity_check().unwrap(), vec!["ok"]);

    std::fs::remove_file(filler).unwrap();
    let report = run(&engine);
    assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
    assert_eq!(inspector.stats().unwrap().photos.synced, 8);
    for id in &ids {
        assert_eq!(cloud_results(&inspector, *id), 1);
    }
    let stats = endpoint.stats();
    assert_eq!(
        (stats.invocations, stats.duplicate_answers),
        (8, 0),
        "each photo asked exactly once: {stats:?}"
    );
}

#[test]
fn capture_on_a_full_disk_is_a_clear_error_and_stores_nothing() {
    let Some(fs) = SmallFs::mount(4 << 20) else {
        return;
    };
    let data = fs.path().join("data");
    let (inspector, ids) = fill_store(&data, 2, 64, 48);
    let before: Vec<_> = ids.iter().map(|id| inspector.photo(*id).unwrap()).collect();
    let filler = fs.fill("filler");
    let big = omni_e2e::jpeg(1024, 768, 7);
    let err = add_photo_now(&inspector, before[0].inspection_id, &big).expect_err("no room");
    assert!(
        matches!(err, omni_core::Error::StorageFull { .. }),
        "a typed error: {err}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(data.join("photos"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".incoming-"))
        .collect();
    assert!(leftovers.is_empty(), "half-written files: {leftovers:?}");
    assert_eq!(inspector.stats().unwrap().photos.total(), 2);
    for photo in &before {
        assert_eq!(&inspector.photo(photo.id).unwrap(), photo);
        let bytes = std::fs::read(inspector.photo_path(photo)).unwrap();
        assert_eq!(bytes.len() as u64, photo.size_bytes);
    }
    std::fs::remove_file(filler).unwrap();
    add_photo_now(&inspector, before[0].inspection_id, &big).expect("room again");
}

#[test]
fn a_device_clock_twenty_minutes_slow_is_corrected_from_the_servers_date() {
    let dir = tempfile::tempdir().unwrap();
    let (inspector, ids) = fill_store(dir.path(), 4, 64, 48);
    let creds = test_credentials(Some("session-token"));
    let endpoint = TestEndpoint::accepting(ModelChoice::Null, &creds);
    // The phone's clock is 20 minutes slow: every signature would be refused as stale.
    let client = client(&endpoint.url(), ENDPOINT_NAME, creds, -20 * 60 * 1000);
    let sync = fast_config();
    let concurrency = sync.concurrency as u64;
    let engine = SyncEngine::new(inspector.clone(), client.clone(), sync);
    let report = run(&engine);
    assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
    assert_eq!(report.synced, 4);
    assert!(
        client.clock_offset_ms().abs() < 10_000,
        "offset learned from the Date header: {} ms",
        client.clock_offset_ms()
    );
    for id in &ids {
        assert_eq!(
            inspector.photo(*id).unwrap().attempt_count,
            1,
            "not charged"
        );
    }
    let stats = endpoint.stats();
    let refused = stats
        .errors
        .get("InvalidSignatureException")
        .copied()
        .unwrap_or(0);
    assert!(
        (1..=concurrency).contains(&refused),
        "only the first requests were refused: {stats:?}"
    );
    assert_eq!(
        (stats.answered, stats.requests),
        (4, 4 + refused),
        "{stats:?}"
    );
}
