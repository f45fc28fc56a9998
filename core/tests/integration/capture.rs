//! Capturing photos into an inspection: validation, durability rules, queries.

use crate::common::{self, add_whole_photo, create_inspection, new_inspection, open_inspector};

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use omni_core::{
    ContainerNumber, Error, InspectionFilter, Inspector, InspectorConfig, Location, PhotoError,
    PhotoFormat, PhotoLimits, PhotoState,
};

#[test]
fn captured_photo_is_stored_untouched_and_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = open_inspector(dir.path());
    let inspection = create_inspection(&inspector, "CSQU3054383");
    let bytes = common::jpeg(64, 48, 1);
    let photo = add_whole_photo(&inspector, inspection.id, &bytes).expect("add");
    assert_eq!(photo.state, PhotoState::Queued);
    assert_eq!((photo.width, photo.height), (64, 48));
    assert_eq!(photo.format, PhotoFormat::Jpeg);
    assert_eq!(photo.sha256, common::sha256_hex(&bytes));
    let path = inspector.photo_path(&photo);
    assert_eq!(
        path,
        dir.path().join("photos").join(format!("{}.jpg", photo.id))
    );
    assert_eq!(fs::read(&path).expect("read original"), bytes);

    let png = common::png(30, 20, 2);
    let photo2 = add_whole_photo(&inspector, inspection.id, &png).expect("png");
    assert_eq!(photo2.format, PhotoFormat::Png);

    let detail = inspector.inspection(inspection.id).expect("detail");
    assert_eq!(detail.photos.len(), 2);
    assert_eq!(detail.photos[0].photo, photo);
    assert!(detail.photos[0].results.is_empty());
}

#[test]
fn bad_photos_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = open_inspector(dir.path());
    let inspection = create_inspection(&inspector, "MSCU6639870");
    let good =
        add_whole_photo(&inspector, inspection.id, &common::jpeg(32, 32, 7)).expect("good photo");

    let mut bomb = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    bomb.extend_from_slice(b"IHDR");
    bomb.extend_from_slice(&30_000u32.to_be_bytes());
    bomb.extend_from_slice(&30_000u32.to_be_bytes());
    bomb.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let mut huge = common::jpeg(16, 16, 3);
    huge.resize(40 * 1024 * 1024 + 1, 0);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero bytes", Vec::new()),
        (
            "text renamed .jpg",
            b"Dear inspector, this is not a photo.\n".to_vec(),
        ),
        ("PNG claiming 30000x30000", bomb),
        ("over 40 MB", huge),
        ("JPEG magic only", vec![0xFF, 0xD8, 0xFF]),
    ];
    for (name, bytes) in cases {
        let err = add_whole_photo(&inspector, inspection.id, &bytes).expect_err(name);
        let Error::Photo(reason) = &err else {
            panic!("{name}: expected a photo error, got {err}");
        };
        match name {
            "zero bytes" => assert_eq!(*reason, PhotoError::Empty),
            "text renamed .jpg" => {
                assert!(matches!(reason, PhotoError::UnsupportedFormat { .. }))
            }
            "PNG claiming 30000x30000" => {
                assert!(matches!(reason, PhotoError::TooManyPixels { .. }))
            }
            "over 40 MB" => assert!(matches!(reason, PhotoError::TooLarge { .. })),
            _ => assert!(matches!(reason, PhotoError::CorruptHeader { .. })),
        }
    }
    let detail = inspector.inspection(inspection.id).expect("detail");
    assert_eq!(detail.photos.len(), 1, "only the good photo is stored");
    assert_eq!(detail.photos[0].photo, good);
    let files: Vec<_> = fs::read_dir(dir.path().join("photos"))
        .expect("list")
        .collect();
    assert_eq!(files.len(), 1, "no stray files");
    assert_eq!(inspector.integrity_check().expect("check"), vec!["ok"]);
}

#[test]
fn truncated_jpeg_with_valid_header_is_kept_as_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = open_inspector(dir.path());
    let inspection = create_inspection(&inspector, "MAEU8120519");
    let full = common::jpeg(640, 480, 9);
    let truncated = &full[..full.len() / 3];
    let photo =
        add_whole_photo(&inspector, inspection.id, truncated).expect("truncated JPEG is kept");
    assert_eq!((photo.width, photo.height), (640, 480));
    assert_eq!(
        fs::read(inspector.photo_path(&photo)).expect("read"),
        truncated
    );
}

#[test]
fn limits_are_configurable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = InspectorConfig {
        photo_limits: PhotoLimits {
            max_bytes: 1_000_000,
            max_pixels: 100,
        },
        ..InspectorConfig::default()
    };
    let inspector = Inspector::open(dir.path(), config).expect("open");
    let inspection = create_inspection(&inspector, "CSQU3054383");
    let err = add_whole_photo(&inspector, inspection.id, &common::jpeg(11, 10, 0))
        .expect_err("110 pixels > 100");
    assert!(matches!(
        err,
        Error::Photo(PhotoError::TooManyPixels {
            width: 11,
            height: 10,
            limit: 100
        })
    ));
}

#[test]
fn photo_for_unknown_inspection_is_refused_without_leaving_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = open_inspector(dir.path());
    let unknown = omni_core::InspectionId::new();
    let err = add_whole_photo(&inspector, unknown, &common::jpeg(8, 8, 0))
        .expect_err("unknown inspection");
    assert!(matches!(err, Error::InspectionNotFound(id) if id == unknown));
    assert_eq!(
        fs::read_dir(dir.path().join("photos")).expect("ls").count(),
        0
    );
}

#[test]
fn invalid_location_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = open_inspector(dir.path());
    let mut new = new_inspection("CSQU3054383");
    new.location = Some(Location {
        latitude: 91.0,
        longitude: 0.0,
        accuracy_m: None,
    });
    assert!(matches!(
        inspector.create_inspection(new),
        Err(Error::InvalidLocation(_))
    ));
    assert_eq!(inspector.stats().expect("stats").inspections, 0);
}

#[test]
fn queries_filter_page_and_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = open_inspector(dir.path());
    let mut ids = Vec::new();
    for (i, number) in ["CSQU3054383", "MSCU6639870", "CSQU3054383"]
        .iter()
        .enumerate()
    {
        let mut new = new_inspection(number);
        new.inspector_id = Some(format!("inspector-{i}"));
        new.location = Some(Location {
            latitude: 9.35,
            longitude: -79.9,
            accuracy_m: Some(4.5),
        });
        let inspection = inspector.create_inspection(new).expect("create");
        for seed in 0..=i as u32 {
            add_whole_photo(&inspector, inspection.id, &common::jpeg(16, 16, seed)).expect("add");
        }
        ids.push(inspection.id);
        std::thread::sleep(Duration::from_millis(3));
    }
    let all = inspector
        .list_inspections(&InspectionFilter::default())
        .expect("list");
    assert_eq!(
        all.iter().map(|s| s.inspection.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1], ids[0]],
        "newest first"
    );
    assert_eq!(all[0].photos.queued, 3);
    assert_eq!(
        all[0].inspection.location.and_then(|l| l.accuracy_m),
        Some(4.5)
    );

    let csqu = inspector
        .list_inspections(&InspectionFilter {
            container_number: Some(ContainerNumber::parse("csqu 3054383").expect("valid")),
            ..InspectionFilter::default()
        })
        .expect("filter");
    assert_eq!(csqu.len(), 2);

    let page = inspector
        .list_inspections(&InspectionFilter {
            limit: Some(1),
            offset: 1,
            ..InspectionFilter::default()
        })
        .expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].inspection.id, ids[1]);

    let failed = inspector
        .list_inspections(&InspectionFilter {
            photo_state: Some(PhotoState::Failed),
            ..InspectionFilter::default()
        })
        .expect("by state");
    assert!(failed.is_empty());

    let stats = inspector.stats().expect("stats");
    assert_eq!(stats.inspections, 3);
    assert_eq!(
        (
            stats.photos.queued,
            stats.photos.synced,
            stats.photos.failed
        ),
        (6, 0, 0)
    );

    let closed = inspector.close_inspection(ids[0]).expect("close");
    assert!(closed.closed_at.is_some());
}

#[test]
fn reopen_reconciles_orphans_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (kept, lost) = {
        let inspector = open_inspector(dir.path());
        let inspection = create_inspection(&inspector, "CSQU3054383");
        let kept = add_whole_photo(&inspector, inspection.id, &common::jpeg(8, 8, 1)).expect("add");
        let lost = add_whole_photo(&inspector, inspection.id, &common::jpeg(8, 8, 2)).expect("add");
        fs::remove_file(inspector.photo_path(&lost)).expect("lose file");
        (kept, lost)
    };
    let photos = dir.path().join("photos");
    let orphan = photos.join(format!("{}.jpg", omni_core::PhotoId::new()));
    fs::write(&orphan, common::jpeg(8, 8, 3)).expect("orphan");
    fs::write(photos.join(".incoming-partial"), b"half").expect("temp");
    fs::write(photos.join("README.txt"), b"someone's note").expect("other");

    let inspector = open_inspector(dir.path());
    let report = inspector.open_report();
    let quarantined = photos
        .join("orphans")
        .join(orphan.file_name().expect("name"));
    assert_eq!(report.orphans_quarantined, vec![quarantined.clone()]);
    assert_eq!(report.quarantined, 1);
    assert_eq!(report.temp_files_removed, 1);
    assert!(!photos.join(".incoming-partial").exists(), "temporaries go");
    assert_eq!(report.missing_files, vec![lost.id]);
    assert!(!orphan.exists());
    assert_eq!(
        fs::read(&quarantined).expect("quarantined, not deleted"),
        common::jpeg(8, 8, 3)
    );
    assert!(
        photos.join("README.txt").exists(),
        "unknown files are left alone"
    );

    let detail = inspector.inspection(kept.inspection_id).expect("detail");
    let lost_now = &detail
        .photos
        .iter()
        .find(|p| p.photo.id == lost.id)
        .expect("kept row")
        .photo;
    assert_eq!(lost_now.state, PhotoState::Failed);
    assert_eq!(
        lost_now.failure_reason.as_deref(),
        Some("photo file missing")
    );
    assert!(
        detail
            .photos
            .iter()
            .any(|p| p.photo.id == kept.id && p.photo.state == PhotoState::Queued)
    );
    drop(inspector);

    let again = open_inspector(dir.path());
    assert!(
        again.open_report().missing_files.is_empty(),
        "reported once"
    );
}

/// Moves the database (and its WAL) of `data_dir` aside into `to`.
fn move_database(data_dir: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).expect("aside dir");
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("inspections.sqlite3{suffix}");
        let from = data_dir.join(&name);
        if from.exists() {
            fs::rename(&from, to.join(&name)).expect("move database");
        }
    }
}

#[test]
fn a_lost_database_quarantines_every_photo_and_recover_adopts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let originals: Vec<(omni_core::Photo, Vec<u8>)> = {
        let inspector = open_inspector(&data);
        let inspection = create_inspection(&inspector, "CSQU3054383");
        (0..3)
            .map(|i| {
                let bytes = common::jpeg(32 + i, 24, i);
                let photo = add_whole_photo(&inspector, inspection.id, &bytes).expect("add");
                (photo, bytes)
            })
            .collect()
    };
    move_database(&data, &dir.path().join("aside"));
    let orphans = data.join("photos").join("orphans");
    fs::create_dir_all(&orphans).expect("orphans");
    fs::write(orphans.join("notes.txt"), b"not a photo").expect("other file");

    let inspector = open_inspector(&data);
    let report = inspector.open_report().clone();
    assert_eq!(report.orphans_quarantined.len(), 3, "{report:?}");
    assert_eq!(report.quarantined, 4);
    assert_eq!(inspector.stats().expect("stats").photos.total(), 0);
    for (photo, bytes) in &originals {
        assert!(!inspector.photo_path(photo).exists());
        assert_eq!(
            &fs::read(orphans.join(photo.file_name())).expect("kept"),
            bytes,
            "evidence kept byte for byte"
        );
    }
    let listed = inspector.quarantined_files().expect("list");
    assert_eq!(listed.len(), 4);
    assert_eq!(
        listed.iter().filter(|f| f.photo_id.is_some()).count(),
        3,
        "{listed:?}"
    );

    let recovered = inspector
        .recover_quarantined(omni_core::Recovery {
            container_number: ContainerNumber::parse("MSKU1234565").expect("number"),
            inspector_id: Some("yard-7".into()),
            only: None,
        })
        .expect("recover");
    let inspection = recovered.inspection.expect("an inspection");
    assert!(inspection.recovered_at.is_some());
    assert_eq!(inspection.container_number.as_str(), "MSKU1234565");
    assert_eq!(recovered.adopted.len(), 3);
    assert_eq!(recovered.skipped.len(), 1, "the note stays in quarantine");
    assert!(orphans.join("notes.txt").exists());
    let detail = inspector.inspection(inspection.id).expect("detail");
    assert_eq!(detail.photos.len(), 3);
    for (original, bytes) in &originals {
        let adopted = &detail
            .photos
            .iter()
            .find(|p| p.photo.id == original.id)
            .expect("same photo id")
            .photo;
        assert_eq!(adopted.sha256, original.sha256);
        assert_eq!(adopted.state, PhotoState::Queued);
        assert_eq!(
            (adopted.width, adopted.height),
            (original.width, original.height)
        );
        assert_eq!(
            &fs::read(inspector.photo_path(adopted)).expect("back"),
            bytes
        );
    }
    drop(inspector);
    let again = open_inspector(&data);
    assert!(again.open_report().orphans_quarantined.is_empty());
    assert_eq!(again.open_report().quarantined, 1);
    assert_eq!(again.integrity_check().expect("check"), vec!["ok"]);
}

#[test]
fn a_database_brought_back_gets_its_quarantined_files_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let aside = dir.path().join("aside");
    let (photo, bytes) = {
        let inspector = open_inspector(&data);
        let inspection = create_inspection(&inspector, "CSQU3054383");
        let bytes = common::jpeg(16, 16, 5);
        let photo = add_whole_photo(&inspector, inspection.id, &bytes).expect("add");
        (photo, bytes)
    };
    move_database(&data, &aside);
    // Opened without its database: the photo is quarantined under a fresh database.
    drop(open_inspector(&data));
    assert!(!data.join("photos").join(photo.file_name()).exists());
    // The old database is put back (e.g. the Corrupt report was a false alarm).
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(data.join(format!("inspections.sqlite3{suffix}")));
    }
    move_database(&aside, &data);
    let inspector = open_inspector(&data);
    let report = inspector.open_report();
    assert_eq!(report.files_restored, vec![photo.id], "{report:?}");
    assert!(report.missing_files.is_empty(), "{report:?}");
    assert_eq!(report.quarantined, 0);
    let back = inspector.photo(photo.id).expect("row");
    assert_eq!(back.state, PhotoState::Queued);
    assert_eq!(fs::read(inspector.photo_path(&back)).expect("file"), bytes);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = open_inspector(dir.path());
    let err = Inspector::open(dir.path(), InspectorConfig::default())
        .err()
        .expect("locked");
    assert!(matches!(err, Error::DataDirLocked { .. }), "{err}");
    drop(first);
    open_inspector(dir.path());
}

#[test]
fn four_threads_capture_concurrently_without_busy_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = Arc::new(open_inspector(dir.path()));
    let inspection = create_inspection(&inspector, "CSQU3054383");
    let per_thread = 40;
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            let inspector = Arc::clone(&inspector);
            std::thread::spawn(move || {
                let mut added = Vec::new();
                for i in 0..per_thread {
                    let bytes = common::jpeg(24, 24, t * 1000 + i);
                    // Readers run alongside the writers: WAL never blocks them.
                    inspector.stats().expect("read while writing");
                    let photo = add_whole_photo(&inspector, inspection.id, &bytes)
                        .expect("no SQLITE_BUSY surfaces");
                    added.push((photo.id, common::sha256_hex(&bytes)));
                }
                added
            })
        })
        .collect();
    let added: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(added.len(), 4 * per_thread as usize);
    let detail = inspector.inspection(inspection.id).expect("detail");
    assert_eq!(detail.photos.len(), added.len());
    for (id, sha) in added {
        let photo = &detail
            .photos
            .iter()
            .find(|p| p.photo.id == id)
            .expect("row")
            .photo;
        assert_eq!(photo.sha256, sha);
        let bytes = fs::read(inspector.photo_path(photo)).expect("file");
        assert_eq!(common::sha256_hex(&bytes), sha);
    }
}
