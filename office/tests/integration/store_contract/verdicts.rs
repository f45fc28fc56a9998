//! Verdicts (`put_verdict`, `verdicts`) and the damage flag they set.

use omni_office::store::{Put, StoreError};
use omni_office::wire::{DetectStatus, Verdict, VerdictSource};

use super::{Fixture, T0, fields, given_inspection, given_photo, inspection, verdict};
use crate::common::CONTAINER;

async fn has_damage(f: &Fixture) -> bool {
    let summary = f.store().inspection("insp-1").await.unwrap().unwrap();
    summary.has_damage
}

/// A verdict is keyed by photo, source and model SHA-256: created once and read back whole; a
/// replay (even received later) is unchanged; another response for the key is a conflict that
/// changes nothing; another source or model is another verdict. A verdict needs its photo in
/// its inspection. A damaging verdict marks the inspection damaged for good (a later clean
/// one or a new revision does not clear it, nor the photo count). Verdicts come by receive
/// time, then photo, source and model.
pub async fn verdicts(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    given_photo(f, "insp-1", "p1", 1, DetectStatus::None).await;
    given_photo(f, "insp-1", "p2", 2, DetectStatus::None).await;
    assert!(store.verdicts("insp-1").await.unwrap().is_empty());

    let edge = verdict("p1", VerdictSource::Edge, "aa", None, T0 + 100);
    assert_eq!(
        store.put_verdict("insp-1", &edge).await.unwrap(),
        Put::Created
    );
    let read = store.verdicts("insp-1").await.unwrap();
    assert_eq!(read.iter().map(fields).collect::<Vec<_>>(), [fields(&edge)]);
    assert!(!has_damage(f).await);

    // A replay, received later: unchanged, the first stays.
    let replay = Verdict {
        received_at_ms: T0 + 500,
        ..edge.clone()
    };
    assert_eq!(
        store.put_verdict("insp-1", &replay).await.unwrap(),
        Put::Unchanged
    );
    // Another answer for the same key: refused, even one that found damage.
    let other = verdict("p1", VerdictSource::Edge, "aa", Some(0.7), T0 + 101);
    let put = store.put_verdict("insp-1", &other).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "{put:?}");
    let read = store.verdicts("insp-1").await.unwrap();
    assert_eq!(read.iter().map(fields).collect::<Vec<_>>(), [fields(&edge)]);
    assert!(!has_damage(f).await);

    // Unknown photo, a photo id of no inspection, an unknown inspection: not found.
    for (inspection_id, photo_id) in [("insp-1", "p9"), ("missing", "p1")] {
        let v = verdict(photo_id, VerdictSource::Cloud, "aa", Some(0.9), T0);
        let put = store.put_verdict(inspection_id, &v).await;
        assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
    }
    assert!(store.verdicts("missing").await.unwrap().is_empty());
    assert!(!has_damage(f).await);

    // Other keys: the cloud's verdict on the same photo, another edge model, the other photo;
    // the cloud found damage. Receive times tie so that the order's later keys show.
    let cloud = verdict("p1", VerdictSource::Cloud, "aa", Some(0.9), T0 + 200);
    let edge_bb = verdict("p1", VerdictSource::Edge, "bb", None, T0 + 200);
    let edge_ab = verdict("p1", VerdictSource::Edge, "ab", None, T0 + 200);
    let p2_cloud = verdict("p2", VerdictSource::Cloud, "aa", None, T0 + 150);
    let early = verdict("p2", VerdictSource::Edge, "aa", None, T0 + 50);
    for v in [&cloud, &edge_bb, &edge_ab, &p2_cloud, &early] {
        assert_eq!(store.put_verdict("insp-1", v).await.unwrap(), Put::Created);
    }
    assert!(has_damage(f).await);
    let read = store.verdicts("insp-1").await.unwrap();
    let expected = [&early, &edge, &p2_cloud, &cloud, &edge_ab, &edge_bb];
    assert_eq!(
        read.iter().map(fields).collect::<Vec<_>>(),
        expected.map(fields)
    );

    // Damage stays: a later clean verdict, a new revision.
    let clean = verdict("p2", VerdictSource::Cloud, "cc", None, T0 + 300);
    assert_eq!(
        store.put_verdict("insp-1", &clean).await.unwrap(),
        Put::Created
    );
    assert!(has_damage(f).await);
    let v2 = inspection("insp-1", CONTAINER, T0, 2);
    assert_eq!(store.put_inspection(&v2).await.unwrap(), Put::Updated);
    let summary = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!((summary.photo_count, summary.has_damage), (2, true));
    assert_eq!(summary.inspection.revision, 2);
    assert_eq!(store.verdicts("insp-1").await.unwrap().len(), 7);
}
