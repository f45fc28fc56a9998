//! Photos: records and bytes (`put_photo`, `photo`, `photos`, `photo_bytes`), the scope of a
//! photo id, and presigned URLs.

use std::time::Duration;

use omni_office::store::{Put, StoreError, StoredPhoto};
use omni_office::wire::{DetectStatus, Photo, VerdictSource};

use super::{Fixture, T0, fields, given_inspection, given_photo, inspection, photo, verdict};
use crate::common::{CONTAINER, OTHER_CONTAINER, jpeg};

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap().as_millis()).unwrap()
}

fn stored(photo: &Photo, detect_status: DetectStatus) -> StoredPhoto {
    StoredPhoto {
        photo: photo.clone(),
        detect_status,
        detect_error: None,
    }
}

async fn photo_count(f: &Fixture, inspection_id: &str) -> u64 {
    let summary = f.store().inspection(inspection_id).await.unwrap().unwrap();
    summary.photo_count
}

/// A photo is created once and read back (record, listing, bytes); a replay of the same
/// bytes is unchanged whatever it asks and however late; other bytes under the same id are a
/// conflict that changes nothing; a photo of a missing inspection is not found and nothing
/// is stored; an inspection's photos come oldest first (ties by id), each counted once; any
/// bytes and content type round trip exactly.
pub async fn photos(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    assert!(store.photos("insp-1").await.unwrap().is_empty());
    assert!(store.photo("insp-1", "p1").await.unwrap().is_none());

    let bytes = jpeg(1);
    let p1 = photo("insp-1", "p1", &bytes, T0 + 10);
    let put = store.put_photo(&p1, &bytes, DetectStatus::None).await;
    assert_eq!(put.unwrap(), Put::Created);
    let record = stored(&p1, DetectStatus::None);
    assert_eq!(
        store.photo("insp-1", "p1").await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(store.photos("insp-1").await.unwrap(), vec![record.clone()]);
    assert_eq!(store.photo_bytes(&p1).await.unwrap(), bytes);
    assert_eq!(photo_count(f, "insp-1").await, 1);

    // A retried upload, received later and asking for detection: unchanged.
    let replay = Photo {
        received_at_ms: T0 + 99,
        ..p1.clone()
    };
    let put = store
        .put_photo(&replay, &bytes, DetectStatus::Pending)
        .await;
    assert_eq!(put.unwrap(), Put::Unchanged);
    assert_eq!(
        store.photo("insp-1", "p1").await.unwrap(),
        Some(record.clone())
    );

    // Other bytes under the same id: refused; the record and the bytes stay.
    let other_bytes = jpeg(2);
    let other = photo("insp-1", "p1", &other_bytes, T0 + 11);
    let put = store
        .put_photo(&other, &other_bytes, DetectStatus::None)
        .await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "{put:?}");
    assert_eq!(store.photos("insp-1").await.unwrap(), vec![record.clone()]);
    assert_eq!(store.photo_bytes(&p1).await.unwrap(), bytes);
    assert_eq!(photo_count(f, "insp-1").await, 1);

    // No inspection: not found, and nothing stored, not even the bytes.
    let orphan = photo("missing", "p9", &bytes, T0);
    let put = store.put_photo(&orphan, &bytes, DetectStatus::None).await;
    assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
    assert!(store.inspection("missing").await.unwrap().is_none());
    assert!(store.photo("missing", "p9").await.unwrap().is_none());
    assert!(store.photos("missing").await.unwrap().is_empty());
    assert!(store.photo_bytes(&orphan).await.is_err());

    // Oldest first, ties by id; every byte value and a PNG's content type round trip.
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let p0 = photo("insp-1", "p0", &big, T0 + 10);
    let png_bytes = b"\x89PNG\r\n\x1a\n not really a PNG, the store does not look".to_vec();
    let png = Photo {
        content_type: "image/png".into(),
        ..photo("insp-1", "p9", &png_bytes, T0 + 5)
    };
    for (p, b) in [(&p0, &big), (&png, &png_bytes)] {
        let put = store.put_photo(p, b, DetectStatus::None).await;
        assert_eq!(put.unwrap(), Put::Created);
    }
    let listed = store.photos("insp-1").await.unwrap();
    let order: Vec<_> = listed.iter().map(|p| p.photo.id.as_str()).collect();
    assert_eq!(order, ["p9", "p0", "p1"]);
    assert_eq!(listed[0], stored(&png, DetectStatus::None));
    assert_eq!(store.photo_bytes(&p0).await.unwrap(), big);
    assert_eq!(store.photo_bytes(&png).await.unwrap(), png_bytes);
    assert_eq!(photo_count(f, "insp-1").await, 3);
}

/// A photo id is unique within its inspection only: the same id under another inspection is
/// another photo (created, with its own record, bytes, count, verdicts, detection status and
/// claim), as a phone's recovered photo is sent again under a new inspection; nothing done to
/// one touches the other, and a verdict names its photo through its own inspection.
pub async fn photo_id_scope(f: &Fixture) {
    let store = f.store();
    for (id, container) in [("insp-a", CONTAINER), ("insp-b", OTHER_CONTAINER)] {
        store
            .put_inspection(&inspection(id, container, T0, 1))
            .await
            .unwrap();
    }
    let (same, other) = (jpeg(10), jpeg(11));
    // The same id and bytes under two inspections (a recovered photo), and the same id with
    // other bytes.
    let a_shared = photo("insp-a", "shared", &same, T0 + 1);
    let b_shared = photo("insp-b", "shared", &same, T0 + 2);
    let a_other = photo("insp-a", "other", &same, T0 + 3);
    let b_other = photo("insp-b", "other", &other, T0 + 4);
    for (p, b) in [
        (&a_shared, &same),
        (&b_shared, &same),
        (&a_other, &same),
        (&b_other, &other),
    ] {
        let put = store.put_photo(p, b, DetectStatus::Pending).await;
        assert_eq!(put.unwrap(), Put::Created, "{p:?}");
    }
    let put = store.put_photo(&b_shared, &same, DetectStatus::None).await;
    assert_eq!(put.unwrap(), Put::Unchanged);
    let clash = photo("insp-b", "shared", &other, T0 + 5);
    let put = store.put_photo(&clash, &other, DetectStatus::None).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "{put:?}");

    for (inspection_id, own) in [
        ("insp-a", [&a_shared, &a_other]),
        ("insp-b", [&b_shared, &b_other]),
    ] {
        assert_eq!(photo_count(f, inspection_id).await, 2);
        let listed: Vec<_> = store
            .photos(inspection_id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.photo)
            .collect();
        assert_eq!(listed, own.map(Photo::clone));
        for p in own {
            let read = store.photo(inspection_id, &p.id).await.unwrap().unwrap();
            assert_eq!(read.photo, *p);
        }
    }
    assert_eq!(store.photo_bytes(&a_other).await.unwrap(), same);
    assert_eq!(store.photo_bytes(&b_other).await.unwrap(), other);

    // The same verdict key (photo, source, model) under each inspection, with other answers.
    let damaged = verdict("shared", VerdictSource::Cloud, "aa", Some(0.9), T0 + 10);
    let clean = verdict("shared", VerdictSource::Cloud, "aa", None, T0 + 11);
    assert_eq!(
        store.put_verdict("insp-a", &damaged).await.unwrap(),
        Put::Created
    );
    assert_eq!(
        store.put_verdict("insp-b", &clean).await.unwrap(),
        Put::Created
    );
    let of = |inspection_id: &'static str| async move {
        let verdicts = store.verdicts(inspection_id).await.unwrap();
        verdicts.iter().map(fields).collect::<Vec<_>>()
    };
    assert_eq!(of("insp-a").await, [fields(&damaged)]);
    assert_eq!(of("insp-b").await, [fields(&clean)]);
    let has_damage = |id| async move { store.inspection(id).await.unwrap().unwrap().has_damage };
    assert!(has_damage("insp-a").await);
    assert!(!has_damage("insp-b").await);

    // A photo only another inspection holds: no verdict for it here.
    let only_b = jpeg(12);
    let b_only = photo("insp-b", "only-b", &only_b, T0 + 6);
    store
        .put_photo(&b_only, &only_b, DetectStatus::None)
        .await
        .unwrap();
    let v = verdict("only-b", VerdictSource::Edge, "aa", None, T0 + 12);
    let put = store.put_verdict("insp-a", &v).await;
    assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
    assert!(store.photo("insp-a", "only-b").await.unwrap().is_none());

    // Detection status and claims are the photo's own.
    store
        .set_detect_status(&b_shared, DetectStatus::Failed, Some("endpoint down"))
        .await
        .unwrap();
    let a = store.photo("insp-a", "shared").await.unwrap().unwrap();
    assert_eq!(
        (a.detect_status, a.detect_error),
        (DetectStatus::Pending, None)
    );
    let b = store.photo("insp-b", "shared").await.unwrap().unwrap();
    assert_eq!(b.detect_status, DetectStatus::Failed);
    let stale = T0 + 1000;
    assert!(
        store
            .claim_stale_detection(&a_other, stale, stale)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_stale_detection(&b_other, stale, stale)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_stale_detection(&a_other, stale, stale)
            .await
            .unwrap()
    );
}

/// A store with its own URLs (S3) presigns one that serves the photo's bytes until about
/// `now + ttl`; the embedded store has none (the API serves the bytes itself).
pub async fn presigned_urls(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    let (p, bytes) = given_photo(f, "insp-1", "p1", 20, DetectStatus::None).await;
    let ttl = Duration::from_secs(120);
    let before = now_ms();
    let url = store.presigned_url(&p, ttl).await.unwrap();
    let after = now_ms();
    let Some((url, expires_at_ms)) = url else {
        assert!(!f.presigns, "this store presigns its URLs");
        return;
    };
    assert!(f.presigns, "this store serves its own bytes");
    assert!(
        (before + 120_000..=after + 120_000).contains(&expires_at_ms),
        "{expires_at_ms} not {before} + ttl"
    );
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200, "{url}");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
}
