//! The phone's office lane against the embedded yard office on 127.0.0.1, with detection on
//! upload through `omni-endpoint`: inspections taken offline reach the office exactly once,
//! photos (bytes identical) and verdicts included, also through dropped connections, 5xx
//! answers and an office restart.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use omni_core::cloud::office_client::{OfficeClient, OfficeConfig};
use omni_core::cloud::{CachedCredentials, ServiceUrl};
use omni_core::detections::DetectionSource;
use omni_core::sync::{StopReason, SyncConfig, SyncEngine};
use omni_core::{
    ContainerNumber, Face, InspectionId, Inspector, InspectorConfig, Location, NewInspection,
    PhotoId, PhotoState, Timestamp, bundled_model,
};
use omni_e2e::fault_proxy::{FaultProxy, ProxyFaults};
use omni_e2e::{REGION, TestEndpoint, office_inspections, sha256_hex, test_credentials};
use omni_endpoint::ModelChoice;
use omni_office_wire::{DetectStatus, InspectionState, VerdictSource};

use omni_e2e::office_server::{Office, office_credentials};

use crate::sync_engine::runtime;

/// The office of these tests, on `dir`, detecting through `endpoint`.
pub(crate) fn start_office(dir: &Path, endpoint: &TestEndpoint) -> Office {
    Office::start(
        dir,
        &office_credentials(),
        &endpoint.url(),
        &test_credentials(None),
    )
}

fn fast_config() -> SyncConfig {
    omni_e2e::fast_sync_config(50)
}

fn engine(inspector: Arc<Inspector>, office_url: &str) -> SyncEngine {
    let config = OfficeConfig::new(ServiceUrl::parse(office_url).unwrap(), REGION);
    let credentials = Arc::new(CachedCredentials::fixed(office_credentials()));
    SyncEngine::office(
        inspector,
        OfficeClient::new(config, credentials).unwrap(),
        fast_config(),
    )
}

/// A phone that took 3 inspections offline: A (closed, 2 JPEGs, located), B (open, a JPEG
/// and a truncated JPEG the endpoint refuses), C (closed, a PNG); edge verdicts stored for
/// every readable photo. Returns the refused photo.
fn offline_phone(dir: &Path) -> (Arc<Inspector>, PhotoId) {
    let inspector = Inspector::open(dir, InspectorConfig::default()).unwrap();
    let new = |number: &str, who: Option<&str>, location| NewInspection {
        container_number: ContainerNumber::parse(number).unwrap(),
        inspector_id: who.map(str::to_owned),
        location,
        notes: None,
        kind: None,
    };
    let a = inspector
        .create_inspection(NewInspection {
            kind: Some("gate-in".into()),
            ..new(
                "CSQU3054383",
                Some("inspector-7"),
                Some(Location {
                    latitude: 36.13,
                    longitude: -5.35,
                    accuracy_m: Some(8.0),
                }),
            )
        })
        .unwrap();
    let b = inspector
        .create_inspection(new("MSCU1234566", Some("inspector-7"), None))
        .unwrap();
    let c = inspector
        .create_inspection(new("CSQU3054383", None, None))
        .unwrap();
    let now = Timestamp::now();
    let add = |inspection, bytes: Vec<u8>, face| {
        inspector
            .add_photo(inspection, &bytes, now, face)
            .unwrap()
            .id
    };
    let door = add(a.id, omni_e2e::jpeg(640, 480, 1), Face::Roof);
    add(a.id, omni_e2e::jpeg(480, 640, 2), Face::Left);
    // Changed before it is synced: the office gets the new face.
    inspector.set_photo_face(door, Face::Door).unwrap();
    add(b.id, omni_e2e::jpeg(320, 240, 3), Face::Whole);
    let refused = add(b.id, omni_e2e::truncated_jpeg(99), Face::Whole);
    add(c.id, omni_e2e::png(300, 200, 4), Face::Whole);
    inspector.close_inspection(a.id).unwrap();
    inspector.close_inspection(c.id).unwrap();
    let edge = bundled_model::detector(&Default::default()).unwrap();
    for photo in inspector.pending_detection(&edge_sha(), 100).unwrap() {
        inspector.detect_photo(&edge, photo.id).unwrap();
    }
    (Arc::new(inspector), refused)
}

fn edge_sha() -> String {
    bundled_model::manifest().unwrap().sha256
}

/// Everything the phone holds is on the office exactly once and acknowledged on the phone:
/// the inspections (state, revision), every photo (bytes identical, SHA-256 checked), every
/// verdict (edge and cloud, one per source), the refused photo archived with its failed
/// detection.
fn assert_office_has_exactly_the_phone(phone: &Inspector, office: &Office, refused: PhotoId) {
    let listed = office_inspections(office);
    let phone_inspections = phone
        .list_inspections(&omni_core::InspectionFilter::default())
        .unwrap();
    let mut office_ids: Vec<String> = listed.iter().map(|s| s.inspection.id.clone()).collect();
    let mut phone_ids: Vec<String> = phone_inspections
        .iter()
        .map(|s| s.inspection.id.to_string())
        .collect();
    office_ids.sort();
    phone_ids.sort();
    assert_eq!(office_ids, phone_ids, "exactly the phone's inspections");
    for summary in &phone_inspections {
        let id: InspectionId = summary.inspection.id;
        let detail = phone.inspection(id).unwrap();
        let on_office = listed
            .iter()
            .find(|s| s.inspection.id == id.to_string())
            .unwrap();
        let closed = detail.inspection.closed_at.is_some();
        assert_eq!(
            on_office.inspection.state,
            if closed {
                InspectionState::Closed
            } else {
                InspectionState::Open
            }
        );
        assert_eq!(on_office.inspection.revision, detail.office.revision);
        assert_eq!(
            detail.office.acknowledged_revision,
            Some(detail.office.revision),
            "the phone records the acknowledged revision"
        );
        assert_eq!(
            on_office.inspection.container_number,
            detail.inspection.container_number.as_str()
        );
        assert_eq!(on_office.inspection.kind, detail.inspection.kind);
        let photos = office
            .block_on(office.store.photos(&id.to_string()))
            .unwrap();
        assert_eq!(photos.len(), detail.photos.len(), "every photo, once");
        let verdicts = office
            .block_on(office.store.verdicts(&id.to_string()))
            .unwrap();
        for p in &detail.photos {
            let stored = photos
                .iter()
                .find(|s| s.photo.id == p.photo.id.to_string())
                .unwrap_or_else(|| panic!("photo {} missing on the office", p.photo.id));
            let bytes = office
                .block_on(office.store.photo_bytes(&stored.photo))
                .unwrap();
            let local = phone.read_photo(&p.photo).unwrap();
            assert_eq!(sha256_hex(&bytes), sha256_hex(&local), "bytes identical");
            assert_eq!(bytes, local);
            assert_eq!(stored.photo.sha256, p.photo.sha256);
            assert_eq!(stored.photo.face, p.photo.face, "the face the phone chose");
            assert!(
                p.office_at.is_some(),
                "the phone records the photo as acknowledged"
            );
            // Synced: the face no longer changes.
            assert!(matches!(
                phone.set_photo_face(p.photo.id, omni_core::Face::Interior),
                Err(omni_core::Error::PhotoAlreadySynced(_))
            ));
            let mine: BTreeMap<&str, usize> = verdicts
                .iter()
                .filter(|v| v.photo_id == p.photo.id.to_string())
                .fold(BTreeMap::new(), |mut m, v| {
                    *m.entry(v.source.as_str()).or_default() += 1;
                    m
                });
            if p.photo.id == refused {
                assert_eq!(p.photo.state, PhotoState::Failed);
                assert!(
                    p.photo
                        .failure_reason
                        .as_deref()
                        .is_some_and(|r| r.contains("office detection failed")),
                    "{:?}",
                    p.photo.failure_reason
                );
                assert_eq!(stored.detect_status, DetectStatus::Failed);
                assert!(
                    mine.is_empty(),
                    "no verdict for the refused photo: {mine:?}"
                );
                continue;
            }
            assert_eq!(p.photo.state, PhotoState::Synced, "{}", p.photo.id);
            assert_eq!(stored.detect_status, DetectStatus::Done);
            assert_eq!(
                mine,
                BTreeMap::from([("cloud", 1), ("edge", 1)]),
                "one edge and one cloud verdict for {}",
                p.photo.id
            );
            assert_eq!(p.results.len(), 2, "the phone keeps one result per source");
            assert_eq!(p.verdicts_on_office, 2);
            let cloud = p
                .results
                .iter()
                .find(|r| r.detections.source == DetectionSource::Cloud)
                .unwrap();
            let office_cloud = verdicts
                .iter()
                .find(|v| v.photo_id == p.photo.id.to_string() && v.source == VerdictSource::Cloud)
                .unwrap();
            assert_eq!(cloud.detections.model.sha256, office_cloud.model_sha256);
            assert_eq!(
                !cloud.detections.detections.is_empty(),
                office_cloud.has_damage
            );
        }
    }
    let counts = phone.stats().unwrap().office;
    assert_eq!(
        (
            counts.inspections_pending,
            counts.photos_pending,
            counts.verdicts_pending,
            counts.wedged
        ),
        (0, 0, 0, 0),
        "{counts:?}"
    );
}

/// The endpoint the office of these tests detects through: the bundled model, no faults.
pub(crate) fn bundled_endpoint() -> TestEndpoint {
    TestEndpoint::accepting(ModelChoice::Bundled, &test_credentials(None))
}

#[test]
fn inspections_taken_offline_reach_the_office_once_with_every_photo_and_verdict() {
    let phone_dir = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    let endpoint = bundled_endpoint();
    let office = start_office(office_dir.path(), &endpoint);
    let (phone, refused) = offline_phone(phone_dir.path());
    let engine = engine(phone.clone(), &office.url());
    let report = runtime().block_on(engine.run_until_idle()).unwrap();
    assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
    assert_eq!((report.synced, report.failed), (4, 1), "{report:?}");
    // 3 inspections (the closed ones at revision 2 at once) and 4 edge verdicts; the 5
    // photos and their cloud verdicts travel in the photo lane's 5 uploads; one read of the
    // report of A (closed, with a kind; more while the office answers 202). Two photos of one
    // inspection sent together may both put it first (a repeat is a no-op).
    assert!(
        (3 + 5 + 4 + 1..=3 + 5 + 4 + 1 + 2 + report.retried).contains(&report.requests),
        "one request per record: {report:?}"
    );
    assert_eq!(
        endpoint.stats().invocations,
        5,
        "each photo crossed to the endpoint once"
    );
    assert_office_has_exactly_the_phone(&phone, &office, refused);

    // Nothing is sent twice: a second run finds nothing to do.
    let again = runtime().block_on(engine.run_until_idle()).unwrap();
    assert_eq!((again.requests, again.stopped), (0, StopReason::Idle));
}

#[test]
fn dropped_connections_5xx_and_an_office_restart_lose_and_duplicate_nothing() {
    let phone_dir = tempfile::tempdir().unwrap();
    let office_dir = tempfile::tempdir().unwrap();
    let endpoint = bundled_endpoint();
    let mut office = start_office(office_dir.path(), &endpoint);
    let proxy = FaultProxy::start(
        office.addr,
        ProxyFaults {
            drop_rate: 0.3,
            error_rate: 0.2,
            seed: 13,
        },
    );
    let (phone, refused) = offline_phone(phone_dir.path());
    let engine = engine(phone.clone(), &proxy.url());
    let sync = {
        let engine = engine.clone();
        std::thread::spawn(move || runtime().block_on(engine.run_until_idle()))
    };
    // Mid-sync the phone loses signal (requests in flight finish), and meanwhile the office
    // restarts: every task killed, the same data directory, another port.
    omni_e2e::wait_until(
        "four requests forwarded to the office",
        Duration::from_secs(60),
        Duration::from_millis(5),
        || proxy.stats().forwarded >= 4,
    );
    engine.set_online(false);
    let first = sync.join().unwrap().unwrap();
    assert_eq!(first.stopped, StopReason::Offline, "{first:?}");
    drop(office);
    office = start_office(office_dir.path(), &endpoint);
    proxy.set_upstream(office.addr);
    engine.set_online(true);
    let report = runtime().block_on(engine.run_until_idle()).unwrap();
    assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
    let stats = proxy.stats();
    assert!(
        stats.dropped_before + stats.dropped_after > 0 && stats.errors > 0,
        "faults were injected: {stats:?}"
    );
    assert_office_has_exactly_the_phone(&phone, &office, refused);
}
