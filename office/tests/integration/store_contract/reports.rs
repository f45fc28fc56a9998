//! Reports: one writer claims a key (a stale claim may be taken over), the first report
//! stored stays, and each revision and each review state has its own.

use omni_office::store::{Put, ReportKey};

use super::{Fixture, T0, given_inspection};

fn key(revision: u64, reviews: u64) -> ReportKey {
    ReportKey { revision, reviews }
}

pub async fn reports(f: &Fixture) {
    let store = f.store();
    given_inspection(f, "insp-1").await;
    assert_eq!(store.report("insp-1", key(1, 0)).await.unwrap(), None);

    // One claim wins; a fresh claim is not taken over, a stale one is.
    assert!(
        store
            .claim_report("insp-1", key(1, 0), T0, T0 + 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_report("insp-1", key(1, 0), T0, T0 + 20)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_report("insp-1", key(1, 0), T0 + 11, T0 + 30)
            .await
            .unwrap()
    );

    // The first report stays; a later write changes nothing.
    let first = r#"{"eir":1}"#;
    assert_eq!(
        store.put_report("insp-1", key(1, 0), first).await.unwrap(),
        Put::Created
    );
    let second = r#"{"eir":2}"#;
    assert_eq!(
        store.put_report("insp-1", key(1, 0), second).await.unwrap(),
        Put::Unchanged
    );
    assert_eq!(
        store.report("insp-1", key(1, 0)).await.unwrap().as_deref(),
        Some(first)
    );
    // Written: no claim, however old.
    assert!(
        !store
            .claim_report("insp-1", key(1, 0), i64::MAX, T0 + 40)
            .await
            .unwrap()
    );

    // Another revision is another report.
    assert!(
        store
            .claim_report("insp-1", key(2, 0), T0, T0 + 50)
            .await
            .unwrap()
    );
    assert_eq!(store.report("insp-1", key(2, 0)).await.unwrap(), None);
    assert_eq!(
        store.put_report("insp-1", key(2, 0), second).await.unwrap(),
        Put::Created
    );
    assert_eq!(
        store.report("insp-1", key(2, 0)).await.unwrap().as_deref(),
        Some(second)
    );
    assert_eq!(
        store.report("insp-1", key(1, 0)).await.unwrap().as_deref(),
        Some(first)
    );

    // Racing claims on a new revision: exactly one wins.
    let mut claims = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let s = f.store.clone();
        claims.spawn(async move {
            s.claim_report("insp-1", key(3, 0), T0, T0 + 60)
                .await
                .unwrap()
        });
    }
    let won = claims.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);

    // A review state is another report of the same revision; the earlier one stays, and
    // racing claims on it have one winner too.
    let reviewed = r#"{"eir":3}"#;
    assert_eq!(store.report("insp-1", key(2, 1)).await.unwrap(), None);
    let mut claims = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let s = f.store.clone();
        claims.spawn(async move {
            s.claim_report("insp-1", key(2, 1), T0, T0 + 70)
                .await
                .unwrap()
        });
    }
    let won = claims.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    assert_eq!(
        store
            .put_report("insp-1", key(2, 1), reviewed)
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(
        store.put_report("insp-1", key(2, 1), first).await.unwrap(),
        Put::Unchanged
    );
    assert_eq!(
        store.report("insp-1", key(2, 1)).await.unwrap().as_deref(),
        Some(reviewed)
    );
    assert_eq!(
        store.report("insp-1", key(2, 0)).await.unwrap().as_deref(),
        Some(second)
    );
    assert_eq!(store.report("insp-1", key(2, 2)).await.unwrap(), None);
    assert_eq!(store.report("insp-1", key(1, 1)).await.unwrap(), None);
}
