//! Retries that race: the same write sent several times at once (a phone's retry overtaking
//! its first attempt, two Lambda instances) lands once.

use std::sync::Arc;

use omni_office::store::{Put, Store, StoreError};
use omni_office::wire::{DetectStatus, Inspection, VerdictSource};
use tokio::task::JoinSet;

use super::{Fixture, T0, inspection, photo, verdict};
use crate::common::{CONTAINER, jpeg};

const RACERS: usize = 8;

/// Runs `write` `RACERS` times at once and counts the outcomes: created or updated,
/// unchanged, conflicts.
async fn race<F, Fut>(store: &Arc<dyn Store>, write: F) -> (usize, usize, usize)
where
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: Future<Output = Result<Put, StoreError>> + Send + 'static,
{
    let mut writes = JoinSet::new();
    for i in 0..RACERS {
        writes.spawn(write(store.clone(), i));
    }
    let (mut written, mut unchanged, mut conflicts) = (0, 0, 0);
    while let Some(outcome) = writes.join_next().await {
        match outcome.unwrap() {
            Ok(Put::Created | Put::Updated) => written += 1,
            Ok(Put::Unchanged) => unchanged += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("a racing write failed: {e}"),
        }
    }
    (written, unchanged, conflicts)
}

/// Concurrent identical writes of an inspection, a photo and a verdict: one creates, the
/// others are unchanged, the photo is counted once. Concurrent photos with other bytes under
/// one id: one wins, the others conflict, and the record names the winner's bytes.
/// Concurrent revisions in any order end at the highest. Concurrent claims of one stale
/// detection: exactly one wins.
pub async fn races(f: &Fixture) {
    let store = &f.store;
    let first = inspection("insp-1", CONTAINER, T0, 1);
    let outcome = race(store, |s, _| {
        let i = first.clone();
        async move { s.put_inspection(&i).await }
    })
    .await;
    assert_eq!(outcome, (1, RACERS - 1, 0));

    let bytes = jpeg(1);
    let p1 = photo("insp-1", "p1", &bytes, T0);
    let outcome = race(store, |s, _| {
        let (p, b) = (p1.clone(), bytes.clone());
        async move { s.put_photo(&p, &b, DetectStatus::Pending).await }
    })
    .await;
    assert_eq!(outcome, (1, RACERS - 1, 0));
    let summary = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!(summary.photo_count, 1);

    // Other bytes under one id: one wins, its bytes are the ones stored.
    let outcome = race(store, |s, i| async move {
        let b = jpeg(100 + i as u32);
        s.put_photo(&photo("insp-1", "p2", &b, T0), &b, DetectStatus::None)
            .await
    })
    .await;
    assert_eq!(outcome, (1, 0, RACERS - 1));
    let winner = store.photo("insp-1", "p2").await.unwrap().unwrap().photo;
    let stored = store.photo_bytes(&winner).await.unwrap();
    let ours = (0..RACERS).map(|i| jpeg(100 + i as u32));
    assert!(ours.into_iter().any(|b| b == stored));
    assert_eq!(winner, photo("insp-1", "p2", &stored, T0));
    let summary = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!(summary.photo_count, 2);

    let v = verdict("p1", VerdictSource::Cloud, "aa", Some(0.9), T0);
    let outcome = race(store, |s, _| {
        let v = v.clone();
        async move { s.put_verdict("insp-1", &v).await }
    })
    .await;
    assert_eq!(outcome, (1, RACERS - 1, 0));
    assert_eq!(store.verdicts("insp-1").await.unwrap().len(), 1);

    // Revisions 2..=9 at once: each lands or is refused as older, and the highest stays.
    let (written, unchanged, _) = race(store, |s, i| async move {
        let revision = 2 + i as u64;
        s.put_inspection(&inspection("insp-1", CONTAINER, T0, revision))
            .await
    })
    .await;
    assert!(written >= 1 && unchanged == 0, "{written} {unchanged}");
    let last = store.inspection("insp-1").await.unwrap().unwrap();
    let highest = inspection("insp-1", CONTAINER, T0, 1 + RACERS as u64);
    assert_eq!(
        last.inspection,
        Inspection {
            received_at_ms: first.received_at_ms,
            ..highest
        }
    );
    assert_eq!((last.photo_count, last.has_damage), (2, true));

    // One stale claim, many claimants.
    let mut claims = JoinSet::new();
    for _ in 0..RACERS {
        let (s, p) = (store.clone(), p1.clone());
        claims.spawn(async move { s.claim_stale_detection(&p, T0 + 1, T0 + 2).await });
    }
    let mut granted = 0;
    while let Some(claim) = claims.join_next().await {
        granted += usize::from(claim.unwrap().unwrap());
    }
    assert_eq!(granted, 1);
}
