//! On-device model refresh against a real HTTP server on loopback: install, every rejection,
//! resumable download, network policy; rollback and fallback (`rollback`), S3 sources and
//! redirects (`sources`). (`omni model …`, SIGKILL during an update included, is tested in
//! the CLI's crate.)

// The whole module is test code, helpers included.
#![allow(clippy::unwrap_used)]

use crate::common;
use omni_e2e::model_publish as publish;
use omni_e2e::model_server as server;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omni_core::DetectOutcome;
use omni_core::detect::EdgeDetectorConfig;
use omni_core::model_manifest::ModelManifest;
use omni_core::model_refresh::{
    ManifestSource, ModelEvent, ModelRefreshListener, ModelStore, ModelUpdater, Network,
    RefreshConfig, RefreshError, RefreshPolicy, Slot, UpdateOutcome,
};
use publish::{
    FIXTURE_NAME, MANIFEST_PATH, fixture_with_version, manifest_for, model_path,
    model_with_version, publish, publish_manifest, put_envelope, tampered_envelope, trusted,
};
use server::StaticServer;

mod rollback;
mod sources;

/// Records events.
#[derive(Default)]
struct Events(Mutex<Vec<ModelEvent>>);

impl ModelRefreshListener for Events {
    fn on_event(&self, event: ModelEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Events {
    fn take(&self) -> Vec<ModelEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn config(server: &StaticServer) -> RefreshConfig {
    let source = ManifestSource::parse(&server.url(MANIFEST_PATH), "us-east-1", None).unwrap();
    let mut config = RefreshConfig::new(source, vec![trusted(1)]).unwrap();
    config.policy = RefreshPolicy::any_network();
    config
}

fn updater(dir: &Path, config: RefreshConfig) -> (ModelUpdater, Arc<Events>) {
    let updater = ModelUpdater::new(dir, config, None).unwrap();
    let events = Arc::new(Events::default());
    updater.set_listener(events.clone());
    (updater, events)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn active_version(dir: &Path) -> Option<String> {
    ModelStore::new(dir)
        .installed(Slot::Active)
        .map(|m| m.version.to_string())
}

/// Publishes the fixture model as `version` and installs it.
fn publish_and_install(server: &StaticServer, updater: &ModelUpdater, version: &str) {
    publish(server, version, &model_with_version(version), 1);
    block_on(updater.update()).unwrap();
}

/// Runs one update, which must install a model.
fn assert_installs(updater: &ModelUpdater) {
    let outcome = block_on(updater.update());
    assert!(
        matches!(outcome, Ok(UpdateOutcome::Installed { .. })),
        "{outcome:?}"
    );
}

/// Runs one update, which must make `version` the active model of `dir`.
fn assert_installs_version(updater: &ModelUpdater, dir: &Path, version: &str) {
    assert_installs(updater);
    assert_eq!(active_version(dir).as_deref(), Some(version));
}

fn rejected_code(result: Result<UpdateOutcome, RefreshError>) -> String {
    match result {
        Err(RefreshError::Rejected(reason)) => reason.code().to_owned(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn happy_path_installs_and_the_next_detection_carries_the_new_identity() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = model_with_version("0.2.0");
    let manifest = publish(&server, "0.2.0", &bytes, 1);
    let (updater, events) = updater(dir.path(), config(&server));

    let outcome = block_on(updater.update()).expect("update");
    let UpdateOutcome::Installed {
        manifest: installed,
        replaced,
        requests,
        range_requests,
    } = outcome
    else {
        panic!("expected an install, got {outcome:?}");
    };
    assert_eq!(*installed, manifest);
    assert_eq!(replaced.as_deref(), Some("0.1.0"), "the bundled demo model");
    assert_eq!((requests, range_requests), (1, 0));
    let events = events.take();
    assert!(
        matches!(&events[0], ModelEvent::UpdateAvailable { version, .. } if version == "0.2.0")
    );
    assert!(
        events.iter().any(
            |e| matches!(e, ModelEvent::Downloading { received, total, .. } if received == total)
        ),
        "progress reaches the total"
    );
    assert!(
        matches!(events.last(), Some(ModelEvent::Installed { version, .. }) if version == "0.2.0")
    );

    // On disk: active/ holds the model and its manifest, nothing is left in staging.
    let active = dir.path().join("models/active");
    assert_eq!(std::fs::read(active.join("model.onnx")).unwrap(), bytes);
    assert!(!dir.path().join("models/staging/download.part").exists());
    assert!(!dir.path().join("models/staging/next").exists());

    // The next detection through the Inspector runs the new model and stores its identity.
    let inspector = common::open_inspector(dir.path());
    let inspection = common::create_inspection(&inspector, "CSQU3054383");
    let photo =
        common::add_whole_photo(&inspector, inspection.id, &common::jpeg(640, 480, 3)).unwrap();
    let loaded = ModelStore::new(dir.path())
        .load(&EdgeDetectorConfig::default())
        .unwrap();
    assert_eq!(loaded.slot, Slot::Active);
    assert!(loaded.fallbacks.is_empty());
    let DetectOutcome::Detected(result) =
        inspector.detect_photo(&loaded.detector, photo.id).unwrap()
    else {
        panic!("expected a detection");
    };
    let stored = inspector.stored_results(photo.id).unwrap();
    assert_eq!(stored.len(), 1);
    for model in [&result.detections.model, &stored[0].detections.model] {
        assert_eq!(model.name, FIXTURE_NAME);
        assert_eq!(model.version, "0.2.0");
        assert_eq!(model.sha256, common::sha256_hex(&bytes));
    }

    // Unchanged manifest: one conditional request answered 304, nothing else.
    server.clear_log();
    let again = block_on(updater.update()).expect("second update");
    assert_eq!(again, UpdateOutcome::UpToDate { not_modified: true });
    let log = server.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, MANIFEST_PATH);
    assert_eq!(log[0].status, 304);
    assert!(log[0].if_none_match.is_some());
}

#[test]
fn a_device_format_model_installs_and_detects_like_its_onnx_source() {
    use omni_core::detect::Detector as _;
    use omni_core::detect::device_model::{self, DevicePrecision};
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let onnx = fixture_with_version("yolo11n-6cls-320-f32.onnx", "0.2.0");
    let device = device_model::export(&onnx, DevicePrecision::Float16)
        .unwrap()
        .bytes;
    let mut manifest = manifest_for("0.2.0", &device);
    manifest.file = "0.2.0/model.nnef.tgz".into();
    manifest.precision = DevicePrecision::Float16.as_str().into();
    publish_manifest(&server, &manifest, Some(&device), 1);
    let (updater, _events) = updater(dir.path(), config(&server));
    let outcome = block_on(updater.update()).expect("update");
    assert!(
        matches!(&outcome, UpdateOutcome::Installed { manifest: m, .. } if **m == manifest),
        "{outcome:?}"
    );
    let loaded = ModelStore::new(dir.path())
        .load(&EdgeDetectorConfig::default())
        .unwrap();
    assert_eq!(loaded.slot, Slot::Active);
    let identity = loaded.detector.identity();
    assert_eq!(
        (identity.name.as_str(), identity.version.as_str()),
        (FIXTURE_NAME, "0.2.0")
    );
    assert_eq!(identity.sha256, common::sha256_hex(&device));
    // Same photo, same detections as the ONNX model it was made from (f16 weights: boxes
    // within 1 px, scores within 0.01).
    let photo = std::fs::read(common::fixture("images/yard-1280x720.jpg")).unwrap();
    let reference =
        omni_core::detect::EdgeDetector::from_bytes(&onnx, &EdgeDetectorConfig::default())
            .unwrap()
            .detect(&photo)
            .unwrap();
    let found = loaded.detector.detect(&photo).unwrap();
    assert!(!reference.detections.is_empty());
    assert_eq!(found.detections.len(), reference.detections.len());
    for (a, b) in reference.detections.iter().zip(&found.detections) {
        assert_eq!(a.class_id, b.class_id);
        assert!((a.score - b.score).abs() <= 0.01, "{a:?} vs {b:?}");
        assert!(a.bbox.iou(&b.bbox) >= 0.99, "{a:?} vs {b:?}");
    }
}

/// A rejection case: the expected code, and how to publish it.
type Case<'a> = (&'static str, Box<dyn Fn() + 'a>);

fn case<'a>(code: &'static str, publish: impl Fn() + 'a) -> Case<'a> {
    (code, Box::new(publish))
}

#[test]
fn every_bad_manifest_or_model_is_rejected_with_its_reason_and_the_active_model_stays() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    publish(&server, "0.2.0", &model_with_version("0.2.0"), 1);
    let (updater, events) = updater(dir.path(), config(&server));
    block_on(updater.update()).expect("install 0.2.0");
    events.take();
    let good = model_with_version("0.3.0");

    // Publishes `model` under `version`'s manifest for `good`, changed by `edit`.
    let publish_edited = |version: &str, model: Option<&[u8]>, edit: fn(&mut ModelManifest)| {
        let mut manifest = publish::manifest_for(version, &good);
        edit(&mut manifest);
        publish_manifest(&server, &manifest, model, 1);
    };
    let cases: Vec<Case<'_>> = vec![
        case("sha_mismatch", || {
            let mut tampered = good.clone();
            let last = tampered.len() - 100;
            tampered[last] ^= 0xff;
            publish_edited("0.3.0", Some(&tampered), |_| {});
        }),
        case("bad_signature", || {
            let signed = publish::manifest_for("0.3.0", &good);
            let mut shown = signed.clone();
            shown.version = "0.3.1".parse().unwrap();
            server.put(&model_path(&signed), good.clone());
            put_envelope(&server, &tampered_envelope(&signed, &shown, 1));
        }),
        case("unknown_key", || {
            publish(&server, "0.3.0", &good, 7);
        }),
        case("unsigned", || {
            let mut envelope = publish::envelope(&publish::manifest_for("0.3.0", &good), 1);
            envelope.signatures.clear();
            put_envelope(&server, &envelope);
        }),
        case("not_newer", || {
            publish(&server, "0.1.5", &model_with_version("0.1.5"), 1);
        }),
        // Same version, other bytes.
        case("not_newer", || {
            publish_edited("0.2.0", Some(&good), |m| m.file = "0.2.0/other.onnx".into());
        }),
        case("model_missing", || {
            publish_edited("0.3.0", None, |m| m.file = "0.3.0/absent.onnx".into());
        }),
        case("model_does_not_load", || {
            let bytes = publish::fixture_model("not-detect-classify.onnx");
            publish(&server, "0.3.0", &bytes, 1);
        }),
        // Wrong class count inside the model (the manifest claims the right classes).
        case("model_does_not_load", || {
            let bytes = publish::fixture_model("detect-3-classes.onnx");
            publish(&server, "0.3.0", &bytes, 1);
        }),
        // The file says 0.1.0 in its metadata, the manifest 0.3.0.
        case("identity_mismatch", || {
            publish(&server, "0.3.0", &model_with_version("0.1.0"), 1);
        }),
        case("class_mismatch", || {
            publish_edited("0.3.0", Some(&good), |m| m.classes.swap(0, 1));
        }),
        case("core_too_old", || {
            publish_edited("0.3.0", Some(&good), |m| {
                m.min_core_version = "9.0.0".parse().unwrap();
            });
        }),
        case("size_mismatch", || {
            publish_edited("0.3.0", Some(&good), |m| m.size -= 10);
        }),
        case("bad_file_location", || {
            publish_edited("0.3.0", Some(&good), |m| {
                m.file = "../../elsewhere/model.onnx".into();
            });
        }),
    ];

    let active_bytes = std::fs::read(dir.path().join("models/active/model.onnx")).unwrap();
    for (expected, setup) in &cases {
        setup();
        let code = rejected_code(block_on(updater.update()));
        assert_eq!(&code, expected);
        let events = events.take();
        assert!(
            matches!(events.last(), Some(ModelEvent::Rejected { code, .. }) if code == expected),
            "{expected}: {events:?}"
        );
        assert_eq!(
            active_version(dir.path()).as_deref(),
            Some("0.2.0"),
            "{expected}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("models/active/model.onnx")).unwrap(),
            active_bytes,
            "{expected}: active model untouched"
        );
        assert!(!dir.path().join("models/previous").exists(), "{expected}");
        assert!(
            !dir.path().join("models/staging/download.part").exists(),
            "{expected}"
        );
    }
    let loaded = ModelStore::new(dir.path())
        .load(&EdgeDetectorConfig::default())
        .unwrap();
    assert_eq!((loaded.slot, loaded.fallbacks.len()), (Slot::Active, 0));

    // A refused manifest is not fetched again while unchanged: one 304 (the last case is a
    // final refusal; size and hash mismatches are tried again).
    server.clear_log();
    assert_eq!(
        block_on(updater.update()).unwrap(),
        UpdateOutcome::UpToDate { not_modified: true }
    );
    assert_eq!(server.log().len(), 1);

    // With downgrades pinned by config, an older version is accepted.
    publish(&server, "0.1.5", &model_with_version("0.1.5"), 1);
    let mut downgrade = config(&server);
    downgrade.allow_downgrade = true;
    let (updater, _) = self::updater(dir.path(), downgrade);
    assert_installs_version(&updater, dir.path(), "0.1.5");
}

#[test]
fn a_download_cut_halfway_resumes_with_one_range_request() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = model_with_version("0.2.0");
    let manifest = publish(&server, "0.2.0", &bytes, 1);
    let path = model_path(&manifest);
    server.cut_next(&path);
    let (updater, _) = updater(dir.path(), config(&server));
    let outcome = block_on(updater.update()).expect("update");
    assert!(
        matches!(
            outcome,
            UpdateOutcome::Installed {
                requests: 2,
                range_requests: 1,
                ..
            }
        ),
        "{outcome:?}"
    );
    let requests = server.requests_for(&path);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        (requests[0].range.as_deref(), requests[0].status),
        (None, 200)
    );
    assert_eq!(requests[0].sent, bytes.len() / 2);
    let ranged: Vec<_> = requests.iter().filter(|r| r.range.is_some()).collect();
    assert_eq!(ranged.len(), 1);
    assert_eq!(ranged[0].status, 206);
    assert_eq!(
        ranged[0].range.as_deref(),
        Some(format!("bytes={}-", bytes.len() / 2).as_str())
    );
    assert_eq!(
        ranged[0].sent,
        bytes.len() - bytes.len() / 2,
        "only the rest was sent"
    );
    assert_eq!(
        std::fs::read(dir.path().join("models/active/model.onnx")).unwrap(),
        bytes
    );
}

#[test]
fn a_download_interrupted_across_runs_resumes_from_the_partial_file() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = model_with_version("0.2.0");
    let manifest = publish(&server, "0.2.0", &bytes, 1);
    let path = model_path(&manifest);
    let mut one_try = config(&server);
    one_try.download_attempts = 1;
    server.cut_next(&path);
    let (first, _) = updater(dir.path(), one_try.clone());
    assert!(matches!(
        block_on(first.update()),
        Err(RefreshError::Network(_))
    ));
    assert_eq!(active_version(dir.path()), None);
    let part = std::fs::metadata(dir.path().join("models/staging/download.part")).unwrap();
    assert_eq!(part.len() as usize, bytes.len() / 2);

    let (second, _) = updater(dir.path(), one_try);
    assert!(matches!(
        block_on(second.update()),
        Ok(UpdateOutcome::Installed {
            requests: 1,
            range_requests: 1,
            ..
        })
    ));
    assert_eq!(active_version(dir.path()).as_deref(), Some("0.2.0"));
}

#[test]
fn metered_networks_defer_downloads_unless_the_policy_allows_them() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = publish(&server, "0.2.0", &model_with_version("0.2.0"), 1);
    let mut wifi_only = config(&server);
    wifi_only.policy = RefreshPolicy::default();
    let (updater, events) = updater(dir.path(), wifi_only);
    // The network is metered until the host says otherwise.
    assert_eq!(
        block_on(updater.update()).unwrap(),
        UpdateOutcome::Deferred {
            version: "0.2.0".into(),
            network: Network::Metered
        }
    );
    assert!(server.requests_for(&model_path(&manifest)).is_empty());
    assert!(matches!(
        &events.take()[..],
        [ModelEvent::UpdateAvailable { .. }]
    ));
    assert_eq!(active_version(dir.path()), None);
    updater.set_network(Network::Unmetered);
    assert_installs(&updater);

    let other = tempfile::tempdir().unwrap();
    let mut metered_ok = config(&server);
    metered_ok.policy = RefreshPolicy {
        allow_metered: true,
    };
    let (updater, _) = self::updater(other.path(), metered_ok);
    updater.set_network(Network::Metered);
    assert_installs(&updater);
}

#[test]
fn check_reports_without_downloading() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = publish(&server, "0.2.0", &model_with_version("0.2.0"), 1);
    let (updater, events) = updater(dir.path(), config(&server));
    let outcome = block_on(updater.check_for_model_update()).unwrap();
    assert!(
        matches!(&outcome, omni_core::model_refresh::CheckOutcome::Available { manifest: m } if **m == manifest)
    );
    assert!(matches!(
        &events.take()[..],
        [ModelEvent::UpdateAvailable { .. }]
    ));
    assert!(server.requests_for(&model_path(&manifest)).is_empty());
    block_on(updater.update()).unwrap();
    assert_eq!(
        block_on(updater.check_for_model_update()).unwrap(),
        omni_core::model_refresh::CheckOutcome::NotModified
    );
}

#[test]
fn a_second_update_on_the_same_data_directory_is_refused_while_one_runs() {
    let server = StaticServer::start();
    server.set_chunk_delay(Some(Duration::from_millis(20)));
    let dir = tempfile::tempdir().unwrap();
    publish(&server, "0.2.0", &model_with_version("0.2.0"), 1);
    let (first, _) = updater(dir.path(), config(&server));
    let (second, _) = updater(dir.path(), config(&server));
    std::thread::scope(|scope| {
        let running = scope.spawn(|| block_on(first.update()));
        // Wait until the first one is downloading.
        omni_e2e::wait_until(
            "the first update to start downloading",
            Duration::from_secs(20),
            Duration::from_millis(5),
            || !server.log().is_empty(),
        );
        assert!(matches!(block_on(second.update()), Err(RefreshError::Busy)));
        assert!(matches!(second.rollback(), Err(RefreshError::Busy)));
        assert!(matches!(
            running.join().unwrap(),
            Ok(UpdateOutcome::Installed { .. })
        ));
    });
}
