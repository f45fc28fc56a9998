//! The embedded store's migration 003 (photo ids scoped to their inspection) on a database
//! that the previous schema (version 2, photo ids global) wrote: every row comes back through
//! the store as it was (and, after 006, as not reviewed), and a database it cannot copy whole
//! is left as it was. Migration 007 keeps the reports a version-6 database holds, as reports of
//! no review.

use std::path::Path;

use omni_office::store::embedded::EmbeddedStore;
use omni_office::store::{ListQuery, Put, ReportKey, Store};
use omni_office::wire::{DetectStatus, Review};
use rusqlite::{Connection, params};

use crate::common::{CONTAINER, OTHER_CONTAINER, jpeg, photo_record};

const T0: i64 = 1_700_000_000_000;

/// A version-2 database in `dir`: two inspections; photos p1 (pending, claimed at T0 + 50),
/// p2 (failed, with its reason) of insp-1 and p3 of insp-2, their files; an edge verdict on
/// p1 and a damaging cloud one on p3.
fn version_2(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("office.sqlite3")).unwrap();
    conn.execute_batch(include_str!("../../migrations/001_init.sql"))
        .unwrap();
    conn.execute_batch(include_str!("../../migrations/002_detect_claim.sql"))
        .unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    for (id, container, state, revision, lat) in [
        ("insp-1", CONTAINER, "open", 1, Some(36.13)),
        ("insp-2", OTHER_CONTAINER, "closed", 3, None),
    ] {
        conn.execute(
            "INSERT INTO inspections VALUES (?1, ?2, 'inspector-7', ?3, ?4, ?5, ?6, ?7, ?8, \
             ?9, ?10)",
            params![
                id,
                container,
                T0,
                T0 + 60_000,
                lat,
                lat.map(|_| -5.35),
                lat.map(|_| 8.0),
                state,
                revision,
                T0 + 1000
            ],
        )
        .unwrap();
    }
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    for (n, (id, inspection, status, error, claim)) in [
        ("p1", "insp-1", "pending", None, Some(T0 + 50)),
        ("p2", "insp-1", "failed", Some("endpoint down"), None),
        ("p3", "insp-2", "none", None, None),
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = jpeg(n as u32);
        let p = photo_record(inspection, id, &bytes, T0 + n as i64);
        std::fs::write(dir.join(format!("photos/{id}.{}", p.sha256)), &bytes).unwrap();
        conn.execute(
            "INSERT INTO photos VALUES (?1, ?2, ?3, ?4, 'image/jpeg', ?5, ?6, ?7, ?8)",
            params![
                id,
                inspection,
                p.sha256,
                bytes.len() as i64,
                p.received_at_ms,
                status,
                error,
                claim
            ],
        )
        .unwrap();
    }
    for (photo, source, damage) in [("p1", "edge", false), ("p3", "cloud", true)] {
        conn.execute(
            "INSERT INTO verdicts VALUES (?1, ?2, 'yolo11n', '7', 'aa', ?3, ?4, ?5)",
            params![photo, source, damage, format!("{{\"{photo}\":1}}"), T0 + 9],
        )
        .unwrap();
    }
    conn
}

#[tokio::test]
async fn migration_003_keeps_every_row_of_a_version_2_database() {
    let dir = tempfile::tempdir().unwrap();
    drop(version_2(dir.path()));
    let store = EmbeddedStore::open(dir.path()).unwrap();

    let one = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!((one.photo_count, one.has_damage), (2, false));
    let location = one.inspection.location.unwrap();
    assert_eq!(
        (location.latitude, location.longitude, location.accuracy_m),
        (36.13, -5.35, Some(8.0))
    );
    let two = store.inspection("insp-2").await.unwrap().unwrap();
    assert_eq!((two.photo_count, two.has_damage), (1, true));
    assert_eq!(
        (two.inspection.revision, two.inspection.location),
        (3, None)
    );

    let photos = store.photos("insp-1").await.unwrap();
    let states: Vec<_> = photos
        .iter()
        .map(|p| {
            (
                p.photo.id.as_str(),
                p.detect_status,
                p.detect_error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("p1", DetectStatus::Pending, None),
            ("p2", DetectStatus::Failed, Some("endpoint down"))
        ]
    );
    for (n, p) in photos
        .iter()
        .chain(&store.photos("insp-2").await.unwrap())
        .enumerate()
    {
        assert_eq!(
            p.photo,
            photo_record(
                &p.photo.inspection_id,
                &p.photo.id,
                &jpeg(n as u32),
                T0 + n as i64
            )
        );
        assert_eq!(store.photo_bytes(&p.photo).await.unwrap(), jpeg(n as u32));
    }
    // p1's claim (T0 + 50) came along: not stale before it, stale after.
    let p1 = &photos[0].photo;
    assert!(
        !store
            .claim_stale_detection(p1, T0 + 50, T0 + 60)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_stale_detection(p1, T0 + 61, T0 + 70)
            .await
            .unwrap()
    );

    let mut read = store.verdicts("insp-1").await.unwrap();
    read.extend(store.verdicts("insp-2").await.unwrap());
    let read: Vec<_> = read
        .iter()
        .map(|v| {
            (
                v.photo_id.as_str(),
                v.source.as_str(),
                v.has_damage,
                v.response.get(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            ("p1", "edge", false, r#"{"p1":1}"#),
            ("p3", "cloud", true, r#"{"p3":1}"#)
        ]
    );

    // The new scope: p3's id under insp-1 is another photo; reopening migrates nothing more.
    let bytes = jpeg(2);
    let again = photo_record("insp-1", "p3", &bytes, T0 + 99);
    let put = store.put_photo(&again, &bytes, DetectStatus::None).await;
    assert_eq!(put.unwrap(), Put::Created);
    drop(store);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let photos = store.photos("insp-1").await.unwrap();
    assert_eq!(photos.len(), 3);
    // Photos received before faces existed show the whole container (migration 004).
    assert!(
        photos
            .iter()
            .all(|p| p.photo.face == omni_office::wire::Face::Whole)
    );
    let conn = Connection::open(dir.path().join("office.sqlite3")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version, 7,
        "every migration applied, up to 007 (reports per review state)"
    );

    // Inspections from before reviews read as not reviewed, and can be reviewed now.
    let unreviewed = ListQuery {
        reviewed: Some(false),
        limit: 10,
        ..ListQuery::default()
    };
    assert_eq!(store.list(&unreviewed).await.unwrap().len(), 2);
    for id in ["insp-1", "insp-2"] {
        let summary = store.inspection(id).await.unwrap().unwrap();
        assert_eq!((summary.reviewed_at_ms, summary.reviewed_by), (None, None));
        assert!(store.reviews(id).await.unwrap().is_empty());
    }
    let review = Review {
        inspection_id: "insp-2".into(),
        photo_id: "p3".into(),
        revision: 1,
        reviewer: "ana".into(),
        reviewed_at_ms: T0 + 500,
        based_on: None,
        boxes: vec![],
        changes: vec![],
    };
    assert_eq!(store.put_review(&review).await.unwrap(), Put::Created);
    assert_eq!(
        store
            .mark_reviewed("insp-2", "ana", T0 + 600)
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(store.reviews("insp-2").await.unwrap(), [review]);
    let listed = store.list(&unreviewed).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].inspection.id, "insp-1");
}

/// A verdict whose photo row is gone (written with foreign keys off) cannot be given an
/// inspection: the migration fails and the database stays at version 2 with every row.
#[test]
fn a_database_the_migration_cannot_copy_whole_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let conn = version_2(dir.path());
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    conn.execute(
        "INSERT INTO verdicts VALUES ('gone', 'edge', 'm', '1', 'aa', 0, '{}', 1)",
        [],
    )
    .unwrap();
    drop(conn);
    let opened = EmbeddedStore::open(dir.path());
    assert!(opened.is_err());
    let conn = Connection::open(dir.path().join("office.sqlite3")).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("PRAGMA user_version"), 2);
    assert_eq!(count("SELECT COUNT(*) FROM verdicts"), 3);
    assert_eq!(count("SELECT COUNT(*) FROM photos"), 3);
}

/// A version-6 database with a stored report and a claimed one: after 007 the stored one reads
/// as the report of no review (what it was built from), the claim still holds, and a review
/// state is a new key.
#[tokio::test]
async fn migration_007_keeps_reports_as_reports_of_no_review() {
    let dir = tempfile::tempdir().unwrap();
    let conn = version_2(dir.path());
    for script in [
        include_str!("../../migrations/003_photo_ids_per_inspection.sql"),
        include_str!("../../migrations/004_faces_and_kinds.sql"),
        include_str!("../../migrations/005_reports.sql"),
        include_str!("../../migrations/006_reviews.sql"),
    ] {
        conn.execute_batch(script).unwrap();
    }
    conn.pragma_update(None, "user_version", 6).unwrap();
    conn.execute(
        "INSERT INTO reports VALUES ('insp-2', 3, ?1, '{\"eir\":3}'), ('insp-2', 2, ?1, NULL)",
        params![T0],
    )
    .unwrap();
    drop(conn);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let key = |revision, reviews| ReportKey { revision, reviews };
    assert_eq!(
        store.report("insp-2", key(3, 0)).await.unwrap().as_deref(),
        Some(r#"{"eir":3}"#)
    );
    assert_eq!(store.report("insp-2", key(3, 1)).await.unwrap(), None);
    assert!(
        !store
            .claim_report("insp-2", key(2, 0), T0, T0 + 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_report("insp-2", key(3, 1), T0, T0 + 1)
            .await
            .unwrap()
    );
    let conn = Connection::open(dir.path().join("office.sqlite3")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 7);
}
