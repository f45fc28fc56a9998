//! Thumbnails (`put_thumbnail`, `thumbnail_bytes`): stored once beside a stored photo.

use omni_office::store::{Put, StoreError};
use omni_office::wire::DetectStatus;

use super::{Fixture, T0, given_inspection, given_photo, photo};
use crate::common::jpeg;

/// A photo has no thumbnail until one is put; the first one stands (a replay or another one
/// is unchanged); the photo's record and bytes are untouched; a photo the store does not
/// hold (unknown id, other bytes under a stored id) is not found and gets nothing; the same
/// photo id under another inspection has a thumbnail of its own.
pub async fn thumbnails(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    let (p1, bytes) = given_photo(f, "insp-1", "p1", 1, DetectStatus::None).await;
    let record = store.photo("insp-1", "p1").await.unwrap();
    assert_eq!(store.thumbnail_bytes(&p1).await.unwrap(), None);

    let thumb = b"\xFF\xD8\xFF thumbnail of p1".to_vec();
    let put = store.put_thumbnail(&p1, &thumb).await;
    assert_eq!(put.unwrap(), Put::Created);
    assert_eq!(
        store.thumbnail_bytes(&p1).await.unwrap(),
        Some(thumb.clone())
    );

    // A replay, and another thumbnail: unchanged, the first stands.
    assert_eq!(
        store.put_thumbnail(&p1, &thumb).await.unwrap(),
        Put::Unchanged
    );
    let put = store.put_thumbnail(&p1, b"another").await;
    assert_eq!(put.unwrap(), Put::Unchanged);
    assert_eq!(
        store.thumbnail_bytes(&p1).await.unwrap(),
        Some(thumb.clone())
    );
    assert_eq!(store.photo_bytes(&p1).await.unwrap(), bytes);
    assert_eq!(store.photo("insp-1", "p1").await.unwrap(), record);
    assert_eq!(store.photos("insp-1").await.unwrap().len(), 1);

    // Not stored: an unknown photo, and other bytes under a stored id.
    for ghost in [
        photo("insp-1", "p9", &jpeg(3), T0),
        photo("insp-1", "p1", &jpeg(2), T0),
    ] {
        let put = store.put_thumbnail(&ghost, &thumb).await;
        assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
        assert_eq!(store.thumbnail_bytes(&ghost).await.unwrap(), None);
    }
    // (The embedded store shares one file between the same id and bytes under two
    // inspections, so only the write is checked here.)
    let put = store
        .put_thumbnail(&photo("missing", "p1", &bytes, T0), &thumb)
        .await;
    assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
    assert!(store.photo("insp-1", "p9").await.unwrap().is_none());

    // The same photo id under another inspection: a thumbnail of its own.
    given_inspection(f, "insp-2").await;
    let (p2, _) = given_photo(f, "insp-2", "p1", 4, DetectStatus::None).await;
    assert_eq!(store.thumbnail_bytes(&p2).await.unwrap(), None);
    let put = store.put_thumbnail(&p2, b"thumbnail of insp-2's p1").await;
    assert_eq!(put.unwrap(), Put::Created);
    assert_eq!(
        store.thumbnail_bytes(&p2).await.unwrap().as_deref(),
        Some(&b"thumbnail of insp-2's p1"[..])
    );
    assert_eq!(store.thumbnail_bytes(&p1).await.unwrap(), Some(thumb));
}
