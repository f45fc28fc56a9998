//! Rollback (to the previous model, then the bundled one), what a rollback refuses after it,
//! and the fallback from a broken active model.

use super::*;

#[test]
fn rollback_restores_the_previous_model_then_the_bundled_one() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (updater, events) = updater(dir.path(), config(&server));
    assert!(matches!(
        updater.rollback(),
        Err(RefreshError::NothingToRollBack)
    ));
    publish_and_install(&server, &updater, "0.2.0");
    publish_and_install(&server, &updater, "0.3.0");
    assert_eq!(active_version(dir.path()).as_deref(), Some("0.3.0"));
    events.take();

    let done = updater.rollback().unwrap();
    assert_eq!(
        (done.in_use, done.from.as_str(), done.to.as_str()),
        (Slot::Active, "0.3.0", "0.2.0")
    );
    assert_eq!(
        events.take(),
        vec![ModelEvent::RolledBack {
            from: "0.3.0".into(),
            to: "0.2.0".into()
        }]
    );
    let store = ModelStore::new(dir.path());
    let loaded = store.load(&EdgeDetectorConfig::default()).unwrap();
    assert_eq!(loaded.detector.model().identity().version, "0.2.0");
    assert_eq!(
        store.installed(Slot::Previous).unwrap().version.to_string(),
        "0.3.0"
    );
    // The rolled-back manifest is not installed again while it is unchanged.
    assert_eq!(
        block_on(updater.update()).unwrap(),
        UpdateOutcome::UpToDate { not_modified: true }
    );
    assert_eq!(active_version(dir.path()).as_deref(), Some("0.2.0"));

    // Rolling back again swaps back; with only active/ left it returns to the bundled model.
    assert_eq!(updater.rollback().unwrap().to, "0.3.0");
    std::fs::remove_dir_all(dir.path().join("models/previous")).unwrap();
    let done = updater.rollback().unwrap();
    assert_eq!((done.in_use, done.to.as_str()), (Slot::Bundled, "bundled"));
    let loaded = store.load(&EdgeDetectorConfig::default()).unwrap();
    assert_eq!((loaded.slot, loaded.fallbacks.len()), (Slot::Bundled, 0));
}

#[test]
fn a_rollback_sticks_old_manifests_are_not_replayed_and_a_corrupted_model_is_repaired() {
    let server = StaticServer::start();
    // No ETags (python -m http.server): nothing can be settled by a 304.
    server.set_etags(false);
    let dir = tempfile::tempdir().unwrap();
    let (updater, _) = updater(dir.path(), config(&server));
    let v1 = model_with_version("0.1.0");
    let v1_manifest = manifest_for("0.1.0", &v1);
    publish_and_install(&server, &updater, "0.2.0");
    publish_and_install(&server, &updater, "0.3.0");
    updater.rollback().unwrap();
    assert_eq!(active_version(dir.path()).as_deref(), Some("0.2.0"));
    // The same signed 0.3.0 manifest again, no ETag: refused, the rollback stands.
    assert_eq!(rejected_code(block_on(updater.update())), "rolled_back");
    assert_eq!(active_version(dir.path()).as_deref(), Some("0.2.0"));

    // Old signed manifests replayed: older than the model in use, or newer than it but
    // older than the newest ever installed here (0.3.0).
    server.put(&model_path(&v1_manifest), v1.clone());
    put_envelope(&server, &publish::envelope(&v1_manifest, 1));
    assert_eq!(rejected_code(block_on(updater.update())), "not_newer");
    publish(&server, "0.2.5", &model_with_version("0.2.5"), 1);
    assert_eq!(
        rejected_code(block_on(updater.update())),
        "older_than_installed"
    );
    assert_eq!(active_version(dir.path()).as_deref(), Some("0.2.0"));

    // 0.4.0 installs; its file is then corrupted on disk: the next update repairs it.
    let v4 = model_with_version("0.4.0");
    publish(&server, "0.4.0", &v4, 1);
    block_on(updater.update()).unwrap();
    let active_file = dir.path().join("models/active/model.onnx");
    let mut corrupted = std::fs::read(&active_file).unwrap();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0xff;
    std::fs::write(&active_file, &corrupted).unwrap();
    assert_installs(&updater);
    assert_eq!(std::fs::read(&active_file).unwrap(), v4, "repaired");
    assert_eq!(
        ModelStore::new(dir.path())
            .installed(Slot::Previous)
            .map(|m| m.version.to_string())
            .as_deref(),
        Some("0.2.0"),
        "the corrupted copy is not kept as the rollback target"
    );

    // A download that does not match its manifest is not settled for good: once the
    // file on the server is right, the same manifest installs.
    server.set_etags(true);
    let v5 = model_with_version("0.5.0");
    let v5_manifest = publish(&server, "0.5.0", &v5, 1);
    server.put(&model_path(&v5_manifest), model_with_version("0.5.1"));
    let code = rejected_code(block_on(updater.update()));
    assert!(code == "sha_mismatch" || code == "size_mismatch", "{code}");
    server.put(&model_path(&v5_manifest), v5);
    assert_installs_version(&updater, dir.path(), "0.5.0");
}

#[test]
fn a_broken_active_model_falls_back_to_previous_then_bundled() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (updater, _) = updater(dir.path(), config(&server));
    publish_and_install(&server, &updater, "0.2.0");
    publish_and_install(&server, &updater, "0.3.0");
    let store = ModelStore::new(dir.path());
    let model = dir.path().join("models/active/model.onnx");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    let loaded = store.load(&EdgeDetectorConfig::default()).unwrap();
    assert_eq!(loaded.slot, Slot::Previous);
    assert_eq!(loaded.detector.model().identity().version, "0.2.0");
    assert_eq!(loaded.fallbacks.len(), 1);
    assert_eq!(loaded.fallbacks[0].slot, Slot::Active);
    assert!(
        loaded.fallbacks[0].reason.contains("bytes"),
        "{:?}",
        loaded.fallbacks
    );

    std::fs::remove_file(dir.path().join("models/previous/manifest.json")).unwrap();
    let loaded = store.load(&EdgeDetectorConfig::default()).unwrap();
    assert_eq!(loaded.slot, Slot::Bundled);
    assert_eq!(loaded.fallbacks.len(), 2);
    assert_eq!(
        loaded.detector.model().identity().sha256,
        common::sha256_hex(omni_core::bundled_model::MODEL_BYTES)
    );
}
