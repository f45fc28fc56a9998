//! Inspections: writes by revision (`put_inspection`, `inspection`) and listings (`list`).

use omni_office::store::{ListQuery, Put, StoreError};
use omni_office::wire::{
    DetectStatus, Inspection, InspectionState, InspectionSummary, Location, VerdictSource,
};

use super::{Fixture, T0, inspection, photo, verdict};
use crate::common::{CONTAINER, OTHER_CONTAINER, jpeg};

async fn stored(f: &Fixture, id: &str) -> InspectionSummary {
    f.store().inspection(id).await.unwrap().unwrap()
}

fn conflict(result: Result<Put, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

/// A new inspection is created and read back whole; a replay of the same revision is
/// unchanged (keeping the first receive time); the same revision with any other content, and
/// any lower revision, are conflicts that change nothing; a higher revision replaces the
/// content (location removed or added, container and state changed) and keeps the first
/// receive time.
pub async fn revisions(f: &Fixture) {
    let store = f.store();
    assert!(store.inspection("insp-1").await.unwrap().is_none());

    let v1 = inspection("insp-1", CONTAINER, T0, 1);
    assert_eq!(store.put_inspection(&v1).await.unwrap(), Put::Created);
    let read = stored(f, "insp-1").await;
    assert_eq!(read.inspection, v1);
    assert_eq!((read.photo_count, read.has_damage), (0, false));

    // A retried request, received later: unchanged, the first receive time stays.
    let replay = Inspection {
        received_at_ms: v1.received_at_ms + 5000,
        ..v1.clone()
    };
    assert_eq!(store.put_inspection(&replay).await.unwrap(), Put::Unchanged);
    assert_eq!(stored(f, "insp-1").await.inspection, v1);

    // The same revision with other content, field by field: refused, nothing written.
    let others = [
        Inspection {
            inspector_id: "someone-else".into(),
            ..v1.clone()
        },
        Inspection {
            container_number: OTHER_CONTAINER.into(),
            ..v1.clone()
        },
        Inspection {
            state: InspectionState::Closed,
            ..v1.clone()
        },
        Inspection {
            location: None,
            ..v1.clone()
        },
        Inspection {
            updated_at_ms: v1.updated_at_ms + 1,
            ..v1.clone()
        },
        Inspection {
            created_at_ms: v1.created_at_ms - 1,
            ..v1.clone()
        },
    ];
    for other in &others {
        assert!(conflict(store.put_inspection(other).await), "{other:?}");
    }
    assert_eq!(stored(f, "insp-1").await.inspection, v1);

    // A higher revision replaces everything but the first receive time.
    let v3 = Inspection {
        container_number: OTHER_CONTAINER.into(),
        state: InspectionState::Closed,
        location: None,
        received_at_ms: v1.received_at_ms + 9000,
        ..inspection("insp-1", OTHER_CONTAINER, T0, 3)
    };
    assert_eq!(store.put_inspection(&v3).await.unwrap(), Put::Updated);
    let expected = Inspection {
        received_at_ms: v1.received_at_ms,
        ..v3.clone()
    };
    assert_eq!(stored(f, "insp-1").await.inspection, expected);
    assert_eq!(store.put_inspection(&v3).await.unwrap(), Put::Unchanged);

    // Lower revisions are refused, even an exact replay of revision 1.
    let v2 = inspection("insp-1", CONTAINER, T0, 2);
    assert!(conflict(store.put_inspection(&v2).await));
    assert!(conflict(store.put_inspection(&v1).await));
    assert_eq!(stored(f, "insp-1").await.inspection, expected);

    // A location without accuracy, then with it again.
    let v4 = Inspection {
        location: Some(Location {
            latitude: -33.8688,
            longitude: 151.2093,
            accuracy_m: None,
        }),
        ..inspection("insp-1", CONTAINER, T0, 4)
    };
    assert_eq!(store.put_inspection(&v4).await.unwrap(), Put::Updated);
    let read = stored(f, "insp-1").await.inspection;
    assert_eq!(read.location, v4.location);
    let v5 = inspection("insp-1", CONTAINER, T0, 5);
    assert_eq!(store.put_inspection(&v5).await.unwrap(), Put::Updated);
    assert_eq!(
        stored(f, "insp-1").await.inspection,
        Inspection {
            received_at_ms: v1.received_at_ms,
            ..v5
        }
    );
    // Another id is another inspection.
    assert!(store.inspection("insp-2").await.unwrap().is_none());
}

async fn ids(f: &Fixture, query: ListQuery) -> Vec<String> {
    f.store()
        .list(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.inspection.id)
        .collect()
}

fn all() -> ListQuery {
    ListQuery {
        limit: 100,
        ..ListQuery::default()
    }
}

/// Listings: newest first with ties by id; the limit keeps the newest (0 keeps none); the
/// container, `since` (inclusive), `until` (exclusive), state and damage filters, alone and
/// together; an update that changes the container moves the inspection between listings;
/// summaries carry the photo count and the damage flag.
pub async fn listing(f: &Fixture) {
    let store = f.store();
    assert!(ids(f, all()).await.is_empty());
    let s = 1000;
    for (id, container, at) in [
        ("b", CONTAINER, T0 + 300 * s),
        ("a", CONTAINER, T0 + 100 * s),
        ("x", OTHER_CONTAINER, T0 + 250 * s),
        ("t2", CONTAINER, T0 + 200 * s),
        ("c", CONTAINER, T0 + 200 * s),
        ("d", OTHER_CONTAINER, T0 + 200 * s),
    ] {
        let put = store
            .put_inspection(&inspection(id, container, at, 1))
            .await;
        assert_eq!(put.unwrap(), Put::Created);
    }
    assert_eq!(ids(f, all()).await, ["b", "x", "c", "d", "t2", "a"]);
    let limited = |limit| ListQuery { limit, ..all() };
    assert_eq!(ids(f, limited(3)).await, ["b", "x", "c"]);
    assert_eq!(ids(f, limited(4)).await, ["b", "x", "c", "d"]);
    assert!(ids(f, limited(0)).await.is_empty());

    let container = |c: &str| ListQuery {
        container: Some(c.into()),
        ..all()
    };
    assert_eq!(ids(f, container(CONTAINER)).await, ["b", "c", "t2", "a"]);
    assert_eq!(ids(f, container(OTHER_CONTAINER)).await, ["x", "d"]);
    assert!(ids(f, container("TGHU7654328")).await.is_empty());
    let two = ListQuery {
        limit: 2,
        ..container(CONTAINER)
    };
    assert_eq!(ids(f, two).await, ["b", "c"]);
    let zero = ListQuery {
        limit: 0,
        ..container(CONTAINER)
    };
    assert!(ids(f, zero).await.is_empty());

    // Dates: since inclusive, until exclusive, with and without a container.
    let since = ListQuery {
        since_ms: Some(T0 + 200 * s),
        ..all()
    };
    assert_eq!(ids(f, since).await, ["b", "x", "c", "d", "t2"]);
    let until = ListQuery {
        until_ms: Some(T0 + 200 * s),
        ..all()
    };
    assert_eq!(ids(f, until).await, ["a"]);
    let window = ListQuery {
        since_ms: Some(T0 + 150 * s),
        until_ms: Some(T0 + 250 * s),
        ..container(CONTAINER)
    };
    assert_eq!(ids(f, window.clone()).await, ["c", "t2"]);
    let window_until = ListQuery {
        until_ms: Some(T0 + 200 * s),
        ..window
    };
    assert!(ids(f, window_until).await.is_empty());

    // State: close c (a higher revision).
    let mut closed = inspection("c", CONTAINER, T0 + 200 * s, 2);
    closed.state = InspectionState::Closed;
    assert_eq!(store.put_inspection(&closed).await.unwrap(), Put::Updated);
    let state = |st| ListQuery {
        state: Some(st),
        ..all()
    };
    assert_eq!(ids(f, state(InspectionState::Closed)).await, ["c"]);
    assert_eq!(
        ids(f, state(InspectionState::Open)).await,
        ["b", "x", "d", "t2", "a"]
    );

    // Damage: a damaging verdict on a's photo, a clean one on b's.
    for (id, damage) in [("a", Some(0.8)), ("b", None)] {
        let bytes = jpeg(3);
        let p = photo(id, "p1", &bytes, T0 + 400 * s);
        store
            .put_photo(&p, &bytes, DetectStatus::None)
            .await
            .unwrap();
        let v = verdict("p1", VerdictSource::Edge, "aa", damage, T0 + 401 * s);
        store.put_verdict(id, &v).await.unwrap();
    }
    let damaged = |d| ListQuery {
        has_damage: Some(d),
        ..all()
    };
    assert_eq!(ids(f, damaged(true)).await, ["a"]);
    assert_eq!(ids(f, damaged(false)).await, ["b", "x", "c", "d", "t2"]);
    let summaries = store.list(&container(CONTAINER)).await.unwrap();
    let counts: Vec<_> = summaries
        .iter()
        .map(|s| (s.inspection.id.as_str(), s.photo_count, s.has_damage))
        .collect();
    assert_eq!(
        counts,
        [
            ("b", 1, false),
            ("c", 0, false),
            ("t2", 0, false),
            ("a", 1, true)
        ]
    );
    assert_eq!(summaries[1].inspection, closed);

    // Everything together.
    let together = ListQuery {
        since_ms: Some(T0 + 100 * s),
        until_ms: Some(T0 + 300 * s),
        state: Some(InspectionState::Open),
        has_damage: Some(false),
        ..container(CONTAINER)
    };
    assert_eq!(ids(f, together).await, ["t2"]);

    // A new container (a higher revision) moves x from one container's listing to the other.
    let moved = inspection("x", CONTAINER, T0 + 250 * s, 2);
    assert_eq!(store.put_inspection(&moved).await.unwrap(), Put::Updated);
    assert_eq!(
        ids(f, container(CONTAINER)).await,
        ["b", "x", "c", "t2", "a"]
    );
    assert_eq!(ids(f, container(OTHER_CONTAINER)).await, ["d"]);
}
