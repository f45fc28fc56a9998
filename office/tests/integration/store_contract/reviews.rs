//! Reviews (`put_review`, `reviews`), the inspection's reviewed mark (`mark_reviewed`) and
//! the listing filters on it and on the inspector.

use std::sync::Arc;

use omni_office::store::{ListQuery, Put, Store, StoreError};
use omni_office::wire::{DetectStatus, Review, ReviewBox, VerdictRef, VerdictSource};
use tokio::task::JoinSet;

use super::{Fixture, T0, given_inspection, given_photo, inspection};
use crate::common::{CONTAINER, OTHER_CONTAINER, reclassified_and_deleted};

/// A valid review of `photo_id` under `inspection_id`: one rust box (its left edge at `x1`)
/// reclassified from a dent, a scratch deleted; a first review starts from the cloud verdict.
fn review(inspection_id: &str, photo_id: &str, revision: u64, by: &str, at_ms: i64) -> Review {
    Review {
        inspection_id: inspection_id.into(),
        photo_id: photo_id.into(),
        revision,
        reviewer: by.into(),
        reviewed_at_ms: at_ms,
        based_on: (revision == 1).then(|| VerdictRef {
            source: VerdictSource::Cloud,
            model_sha256: "aa".into(),
        }),
        boxes: vec![ReviewBox {
            class_id: 2,
            x1: 0.1,
            y1: 0.2,
            x2: 0.5,
            y2: 0.6,
        }],
        changes: reclassified_and_deleted(3),
    }
}

/// A change that makes a review invalid.
type Breakage = fn(&mut Review);

fn conflict(put: &Result<Put, StoreError>, says: &str) -> bool {
    matches!(put, Err(StoreError::Conflict(m)) if m.contains(says))
}

/// The revision rule: the first review is revision 1 (created, read back whole); the same
/// again (even stamped later) is unchanged; other content for a stored revision is a stale review that changes
/// nothing; a revision past the next is refused; the next one lands. A review needs its photo
/// in its inspection; an invalid one (unknown class, box outside the photo, no reviewer)
/// stores nothing. The audit log comes oldest first (time, then photo id and revision), and
/// the same photo id under two inspections has reviews of its own.
pub async fn reviews(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    for (n, id) in ["p0", "p1", "p2"].into_iter().enumerate() {
        given_photo(f, "insp-1", id, n as u32, DetectStatus::None).await;
    }
    assert!(store.reviews("insp-1").await.unwrap().is_empty());

    let first = review("insp-1", "p1", 1, "ana", T0 + 10);
    assert_eq!(store.put_review(&first).await.unwrap(), Put::Created);
    assert_eq!(
        store.reviews("insp-1").await.unwrap(),
        std::slice::from_ref(&first)
    );
    // A retried form: the same record again.
    assert_eq!(store.put_review(&first).await.unwrap(), Put::Unchanged);

    // Ben looked at the unreviewed photo too, and saves after Ana: stale, refused.
    let mut late = review("insp-1", "p1", 1, "ben", T0 + 11);
    late.boxes[0].x1 = 0.2;
    let put = store.put_review(&late).await;
    assert!(conflict(&put, "stale review"), "{put:?}");
    assert!(conflict(&put, "ana"), "{put:?}");
    // A form resent later is stamped anew: still the same review, the first time stays.
    let resent = Review {
        reviewed_at_ms: T0 + 12,
        ..first.clone()
    };
    assert_eq!(store.put_review(&resent).await.unwrap(), Put::Unchanged);
    // The same boxes by another reviewer are another record: stale.
    let echo = Review {
        reviewer: "ben".into(),
        ..first.clone()
    };
    assert!(conflict(&store.put_review(&echo).await, "stale review"));
    assert_eq!(
        store.reviews("insp-1").await.unwrap(),
        std::slice::from_ref(&first)
    );

    // Skipping revision 2, or starting a photo at 2: refused.
    for skip in [
        review("insp-1", "p1", 3, "ben", T0 + 13),
        review("insp-1", "p2", 2, "ben", T0 + 13),
    ] {
        let put = store.put_review(&skip).await;
        assert!(conflict(&put, "not the next"), "{put:?}");
    }
    assert_eq!(
        store.reviews("insp-1").await.unwrap(),
        std::slice::from_ref(&first)
    );

    // Ben reloads and reviews on top of Ana's: revision 2.
    let second = review("insp-1", "p1", 2, "ben", T0 + 20);
    assert_eq!(store.put_review(&second).await.unwrap(), Put::Created);
    assert!(conflict(&store.put_review(&late).await, "stale review"));

    // No such photo, or inspection: not found, nothing stored.
    for (inspection_id, photo_id) in [("insp-1", "p9"), ("missing", "p1")] {
        let put = store
            .put_review(&review(inspection_id, photo_id, 1, "ana", T0))
            .await;
        assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
    }
    assert!(store.reviews("missing").await.unwrap().is_empty());

    // Invalid reviews, even of a photo with no review yet: refused before anything is read.
    let invalid: [(&str, Breakage); 4] = [
        ("class", |r| r.boxes[0].class_id = 6),
        ("[0, 1]", |r| r.boxes[0].x2 = 1.5),
        ("reviewer", |r| r.reviewer = String::new()),
        ("revision", |r| r.revision = 0),
    ];
    for (says, break_it) in invalid {
        let mut bad = review("insp-1", "p2", 1, "ana", T0 + 30);
        break_it(&mut bad);
        let put = store.put_review(&bad).await;
        assert!(
            matches!(&put, Err(StoreError::Invalid(m)) if m.contains(says)),
            "{says}: {put:?}"
        );
    }
    assert_eq!(
        store.reviews("insp-1").await.unwrap(),
        [first.clone(), second.clone()]
    );

    // The audit log: by time, ties by photo id then revision.
    let p2 = review("insp-1", "p2", 1, "ana", T0 + 5);
    let p0 = review("insp-1", "p0", 1, "ana", T0 + 10);
    for r in [&p2, &p0] {
        assert_eq!(store.put_review(r).await.unwrap(), Put::Created);
    }
    let log = [p2.clone(), p0.clone(), first.clone(), second.clone()];
    assert_eq!(store.reviews("insp-1").await.unwrap(), log);

    // p1 of another inspection is another photo: its first review is revision 1.
    given_inspection(f, "insp-2").await;
    given_photo(f, "insp-2", "p1", 7, DetectStatus::None).await;
    let other = review("insp-2", "p1", 1, "cruz", T0 + 40);
    assert_eq!(store.put_review(&other).await.unwrap(), Put::Created);
    let gap = review("insp-2", "p1", 3, "cruz", T0 + 41);
    assert!(conflict(&store.put_review(&gap).await, "not the next"));
    assert_eq!(store.reviews("insp-2").await.unwrap(), [other]);
    assert_eq!(store.reviews("insp-1").await.unwrap(), log);
}

async fn ids(store: &dyn Store, query: ListQuery) -> Vec<String> {
    let listed = store.list(&query).await.unwrap();
    listed.into_iter().map(|s| s.inspection.id).collect()
}

/// Marking an inspection reviewed: the first mark stands (a later one is unchanged, and a
/// new revision of the inspection keeps it); an unknown inspection is not found. Summaries
/// carry the mark; listings filter on it and on the inspector, alone, together and with the
/// container.
pub async fn review_marks(f: &Fixture) {
    let store = f.store();
    for (id, container, inspector, at) in [
        ("a", CONTAINER, "inspector-7", T0 + 1000),
        ("b", CONTAINER, "inspector-9", T0 + 2000),
        ("c", OTHER_CONTAINER, "inspector-7", T0 + 3000),
    ] {
        let mut i = inspection(id, container, at, 1);
        i.inspector_id = inspector.into();
        assert_eq!(store.put_inspection(&i).await.unwrap(), Put::Created);
    }
    let summary = store.inspection("a").await.unwrap().unwrap();
    assert_eq!((summary.reviewed_at_ms, summary.reviewed_by), (None, None));

    let put = store.mark_reviewed("missing", "ana", T0).await;
    assert!(matches!(put, Err(StoreError::NotFound(_))), "{put:?}");
    assert!(store.inspection("missing").await.unwrap().is_none());

    assert_eq!(
        store.mark_reviewed("a", "ana", T0 + 5000).await.unwrap(),
        Put::Created
    );
    assert_eq!(
        store.mark_reviewed("a", "ben", T0 + 6000).await.unwrap(),
        Put::Unchanged
    );
    let marked = (Some(T0 + 5000), Some("ana".to_owned()));
    let summary = store.inspection("a").await.unwrap().unwrap();
    assert_eq!((summary.reviewed_at_ms, summary.reviewed_by), marked);
    // The phone sends a new revision: the office's mark stays.
    let mut newer = inspection("a", CONTAINER, T0 + 1000, 2);
    newer.inspector_id = "inspector-7".into();
    assert_eq!(store.put_inspection(&newer).await.unwrap(), Put::Updated);
    let summary = store.inspection("a").await.unwrap().unwrap();
    assert_eq!((summary.reviewed_at_ms, summary.reviewed_by), marked);
    assert_eq!(summary.inspection.revision, 2);

    let q = |reviewed: Option<bool>, inspector: Option<&str>, container: Option<&str>| ListQuery {
        reviewed,
        inspector: inspector.map(str::to_owned),
        container: container.map(str::to_owned),
        limit: 100,
        ..ListQuery::default()
    };
    let listed = store.list(&q(Some(true), None, None)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].inspection.id.as_str(), listed[0].reviewed_at_ms),
        ("a", Some(T0 + 5000))
    );
    assert_eq!(listed[0].reviewed_by.as_deref(), Some("ana"));
    let cases = [
        (q(None, None, None), vec!["c", "b", "a"]),
        (q(Some(false), None, None), vec!["c", "b"]),
        (q(None, Some("inspector-7"), None), vec!["c", "a"]),
        (q(None, Some("inspector-9"), None), vec!["b"]),
        (q(None, Some("inspector"), None), vec![]),
        (q(Some(false), Some("inspector-7"), None), vec!["c"]),
        (q(Some(true), Some("inspector-9"), None), vec![]),
        (q(Some(false), None, Some(CONTAINER)), vec!["b"]),
        (
            q(Some(true), Some("inspector-7"), Some(CONTAINER)),
            vec!["a"],
        ),
        (
            q(None, Some("inspector-7"), Some(OTHER_CONTAINER)),
            vec!["c"],
        ),
    ];
    for (query, want) in cases {
        assert_eq!(ids(store, query.clone()).await, want, "{query:?}");
    }
}

const RACERS: usize = 8;

/// Counts the outcomes of `RACERS` concurrent writes: created, unchanged, conflicts.
async fn race(writes: Vec<tokio::task::JoinHandle<Result<Put, StoreError>>>) -> [usize; 3] {
    let mut counts = [0; 3];
    for write in writes {
        match write.await.unwrap() {
            Ok(Put::Created) => counts[0] += 1,
            Ok(Put::Unchanged) => counts[1] += 1,
            Err(StoreError::Conflict(_)) => counts[2] += 1,
            other => panic!("a racing write: {other:?}"),
        }
    }
    counts
}

/// Reviewers saving the same revision of one photo at once, each with their own boxes:
/// exactly one is stored, the others are stale. The same review sent several times at once
/// lands once. Concurrent marks as reviewed: one stands.
pub async fn review_races(f: &Fixture) {
    let store: &Arc<dyn Store> = &f.store;
    given_inspection(f, "insp-1").await;
    given_photo(f, "insp-1", "p1", 1, DetectStatus::None).await;

    let ours: Vec<Review> = (0..RACERS)
        .map(|i| {
            let mut r = review("insp-1", "p1", 1, &format!("reviewer-{i}"), T0 + 10);
            r.boxes[0].x1 = 0.01 * i as f32;
            r
        })
        .collect();
    let writes = ours
        .iter()
        .map(|r| {
            let (s, r) = (store.clone(), r.clone());
            tokio::spawn(async move { s.put_review(&r).await })
        })
        .collect();
    assert_eq!(race(writes).await, [1, 0, RACERS - 1]);
    let stored = store.reviews("insp-1").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(ours.contains(&stored[0]), "{stored:?}");

    let next = review("insp-1", "p1", 2, "ana", T0 + 20);
    let writes = (0..RACERS)
        .map(|_| {
            let (s, r) = (store.clone(), next.clone());
            tokio::spawn(async move { s.put_review(&r).await })
        })
        .collect();
    assert_eq!(race(writes).await, [1, RACERS - 1, 0]);
    assert_eq!(store.reviews("insp-1").await.unwrap().len(), 2);

    let mut marks = JoinSet::new();
    for i in 0..RACERS {
        let s = store.clone();
        marks.spawn(async move {
            let by = format!("reviewer-{i}");
            (s.mark_reviewed("insp-1", &by, T0 + i as i64).await, by)
        });
    }
    let mut winners = Vec::new();
    while let Some(mark) = marks.join_next().await {
        let (put, by) = mark.unwrap();
        if put.unwrap() == Put::Created {
            winners.push(by);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let summary = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!(summary.reviewed_by.as_ref(), winners.first());
}
