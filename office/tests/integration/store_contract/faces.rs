//! Faces and kinds: a photo's face and an inspection's kind round trip; a repeated upload of
//! the same bytes with another face replaces the face (the phone may change it until it has
//! the office's answer); other bytes stay a conflict that changes nothing.

use omni_office::store::{Put, StoreError};
use omni_office::wire::{DetectStatus, Face, Inspection};

use super::{Fixture, T0, given_inspection, inspection, photo};
use crate::common::{CONTAINER, jpeg};

pub async fn faces_and_kinds(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    let bytes = jpeg(41);
    let door = omni_office::wire::Photo {
        face: Face::Door,
        ..photo("insp-1", "p1", &bytes, T0 + 10)
    };
    assert_eq!(
        store
            .put_photo(&door, &bytes, DetectStatus::None)
            .await
            .unwrap(),
        Put::Created
    );
    let read = store.photo("insp-1", "p1").await.unwrap().unwrap();
    assert_eq!(read.photo.face, Face::Door);
    assert_eq!(
        store
            .put_photo(&door, &bytes, DetectStatus::None)
            .await
            .unwrap(),
        Put::Unchanged
    );

    let left = omni_office::wire::Photo {
        face: Face::Left,
        received_at_ms: T0 + 20,
        ..door.clone()
    };
    assert_eq!(
        store
            .put_photo(&left, &bytes, DetectStatus::None)
            .await
            .unwrap(),
        Put::Updated
    );
    let read = store.photo("insp-1", "p1").await.unwrap().unwrap();
    assert_eq!(read.photo.face, Face::Left);
    assert_eq!(read.photo.received_at_ms, T0 + 10, "only the face changes");
    let listed = store.photos("insp-1").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].photo.face, Face::Left);

    let other = jpeg(42);
    let roof = omni_office::wire::Photo {
        face: Face::Roof,
        ..photo("insp-1", "p1", &other, T0 + 30)
    };
    let refused = store.put_photo(&roof, &other, DetectStatus::None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let read = store.photo("insp-1", "p1").await.unwrap().unwrap();
    assert_eq!(
        (read.photo.face, read.photo.sha256),
        (Face::Left, door.sha256)
    );
    assert_eq!(
        store
            .inspection("insp-1")
            .await
            .unwrap()
            .unwrap()
            .photo_count,
        1
    );

    // The kind round trips, and a later revision without one removes it.
    let kinded = Inspection {
        kind: Some("gate-in".into()),
        ..inspection("insp-2", CONTAINER, T0, 1)
    };
    assert_eq!(store.put_inspection(&kinded).await.unwrap(), Put::Created);
    let read = store.inspection("insp-2").await.unwrap().unwrap();
    assert_eq!(read.inspection.kind.as_deref(), Some("gate-in"));
    let bare = Inspection {
        kind: None,
        received_at_ms: read.inspection.received_at_ms,
        ..inspection("insp-2", CONTAINER, T0, 2)
    };
    assert_eq!(store.put_inspection(&bare).await.unwrap(), Put::Updated);
    let read = store.inspection("insp-2").await.unwrap().unwrap();
    assert_eq!(read.inspection.kind, None);
}
