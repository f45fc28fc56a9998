//! Detection on upload: the status a photo carries (`set_detect_status`) and the claim on a
//! cut-off detection (`claim_stale_detection`).

use omni_office::store::{Put, StoreError};
use omni_office::wire::DetectStatus;

use super::{Fixture, T0, given_inspection, given_photo, photo};

async fn status(f: &Fixture, photo_id: &str) -> (DetectStatus, Option<String>) {
    let p = f.store().photo("insp-1", photo_id).await.unwrap().unwrap();
    (p.detect_status, p.detect_error)
}

/// A photo stored `pending` reads back `pending`; each status update replaces the status
/// and the reason (none clears it); a replayed upload leaves them; updating a photo the
/// store does not hold (unknown id, or an id of another inspection) is not found.
pub async fn detect_status(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    given_inspection(f, "insp-2").await;
    let (p, bytes) = given_photo(f, "insp-1", "p1", 1, DetectStatus::Pending).await;
    assert_eq!(status(f, "p1").await, (DetectStatus::Pending, None));

    let steps = [
        (DetectStatus::Failed, Some("endpoint down")),
        (DetectStatus::Pending, None),
        (DetectStatus::Done, None),
        (DetectStatus::None, Some("no endpoint configured")),
    ];
    for (next, error) in steps {
        store.set_detect_status(&p, next, error).await.unwrap();
        assert_eq!(status(f, "p1").await, (next, error.map(str::to_owned)));
    }
    let put = store.put_photo(&p, &bytes, DetectStatus::Pending).await;
    assert_eq!(put.unwrap(), Put::Unchanged);
    let archived = (
        DetectStatus::None,
        Some("no endpoint configured".to_owned()),
    );
    assert_eq!(status(f, "p1").await, archived);

    for missing in [
        photo("insp-1", "p9", &bytes, T0),
        photo("insp-2", "p1", &bytes, T0),
    ] {
        let set = store
            .set_detect_status(&missing, DetectStatus::Done, None)
            .await;
        assert!(matches!(set, Err(StoreError::NotFound(_))), "{set:?}");
        assert!(
            store
                .photo(&missing.inspection_id, "p9")
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(store.photo("insp-2", "p1").await.unwrap().is_none());
    assert_eq!(status(f, "p1").await, archived);
}

/// The claim on a pending detection: refused while the upload's own claim is fresh, granted
/// once stale to one caller only, then stale again in its turn; never for a photo that is not
/// `pending` (stored without detection, or done) nor for a photo the store does not hold.
pub async fn stale_claims(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    let (p, _) = given_photo(f, "insp-1", "pending-photo", 77, DetectStatus::Pending).await;
    let claim = |stale_before_ms, now_ms| {
        let p = p.clone();
        async move {
            store
                .claim_stale_detection(&p, stale_before_ms, now_ms)
                .await
                .unwrap()
        }
    };
    // The upload's own claim is not stale yet.
    assert!(!claim(T0, T0 + 10).await);
    // Stale: claimed by the first caller only.
    assert!(claim(T0 + 1, T0 + 20).await);
    assert!(!claim(T0 + 1, T0 + 21).await);
    assert!(!claim(T0 + 20, T0 + 21).await);
    // The new claim goes stale in its turn.
    assert!(claim(T0 + 21, T0 + 30).await);
    // Done photos are never claimed.
    store
        .set_detect_status(&p, DetectStatus::Done, None)
        .await
        .unwrap();
    assert!(!claim(i64::MAX, i64::MAX).await);

    // Stored without detection: never claimed; nor a photo that is not there.
    let (plain, bytes) = given_photo(f, "insp-1", "plain", 78, DetectStatus::None).await;
    assert!(
        !store
            .claim_stale_detection(&plain, i64::MAX, T0)
            .await
            .unwrap()
    );
    let missing = photo("insp-1", "missing", &bytes, T0);
    assert!(
        !store
            .claim_stale_detection(&missing, i64::MAX, T0)
            .await
            .unwrap()
    );
    assert!(store.photo("insp-1", "missing").await.unwrap().is_none());
}
