//! The report's lifecycle on a real server (SigV4, SQLite, 127.0.0.1): a close sent before
//! its photos (the phone's order) leaves no empty report behind; `GET .../report` starts the
//! writer in the background and answers 202 `ReportPendingException` while it is being
//! written (at once, also while a slow Nova answers) and then 200; a review makes a new report that follows it (reclass, delete, draw)
//! while the old one stays; racing writers store one report per key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omni_office::report::{ReportSettings, write};
use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::{Review, ReviewBox, ReviewChange, VerdictRef, VerdictSource};
use omni_report::nova::Credentials;
use omni_report::{NovaConfig, NovaWriter};

use super::{close, key, with_damage, with_damage_after_close, written};
use crate::common::{Client, TestOffice, reclassified_and_deleted, sign_for_api_now};
use crate::standin::{ACCESS_KEY, SECRET_KEY, Scripted, StandIn};

/// An office on 127.0.0.1 (real SQLite) writing reports as `settings` says.
pub async fn office_writing(settings: ReportSettings) -> TestOffice {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    TestOffice::start_writing(dir, store, None, Arc::new(settings)).await
}

/// Reports by Nova on the Bedrock Runtime stand-in at `url`.
pub fn nova(url: &str) -> ReportSettings {
    let config = NovaConfig {
        region: crate::standin::REGION.into(),
        endpoint_url: Some(url.to_owned()),
        backoff_base: Duration::from_millis(20),
        timeout: Duration::from_secs(20),
        ..NovaConfig::default()
    };
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    ReportSettings {
        nova: Some(NovaWriter::with_credentials(config, credentials)),
        ..ReportSettings::default()
    }
}

/// The phone's lane sends a closed revision before its photos and verdicts: the report the
/// phone then asks for has them all (a report written at the close would have none, for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_sent_before_the_photos_does_not_freeze_an_empty_report() {
    let office = office_writing(ReportSettings::default()).await;
    let client = office.client();
    close(&client, 2).await;
    assert_eq!(office.store.photos("insp-1").await.unwrap().len(), 0);
    // Then the photos and their verdicts (the first put of the inspection is a repeat).
    with_damage_after_close(&client).await;
    // Nothing written meanwhile: no request asked for it.
    assert_eq!(
        office.store.report("insp-1", key(2, 0)).await.unwrap(),
        None
    );
    let eir = written(&client, "insp-1").await;
    assert_eq!(eir["lines"].as_array().unwrap().len(), 3, "{eir}");
    let stored = office.store.report("insp-1", key(2, 0)).await.unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored.unwrap()).unwrap();
    assert_eq!(stored, eir);
    assert_eq!(stored["header"]["reviews"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_while_a_slow_nova_writes_is_202_at_once_then_200() {
    let answer = serde_json::json!({
        "narrative_en": "Two dents on the door end, rust on the front.",
        "narrative_es": "Dos abolladuras en puertas, óxido en el frontal.",
        "lines": [
            {"damage_id": "door/d0", "severity": "major"},
            {"damage_id": "door/d1", "severity": "minor"},
            {"damage_id": "front/d0", "severity": "moderate"}
        ]
    });
    let slow = Scripted::Delay(Duration::from_secs(4), Box::new(Scripted::Tool(answer)));
    let standin = StandIn::start(vec![slow]).await;
    let office = office_writing(nova(&standin.url)).await;
    let client = office.client();
    with_damage(&client).await;
    let asked = Instant::now();
    close(&client, 2).await;
    for _ in 0..3 {
        let started = Instant::now();
        let answer = raw_get(&client, "/v1/inspections/insp-1/report").await;
        let took = started.elapsed();
        assert_eq!(
            answer.status(),
            202,
            "Nova takes 4 s: a quick GET is pending"
        );
        assert!(
            took < Duration::from_secs(1),
            "a pending report took {took:?}"
        );
        let headers = answer.headers();
        assert_eq!(headers["retry-after"], "2");
        assert_eq!(headers["x-amzn-errortype"], "ReportPendingException");
        let body: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("is being written"), "{message}");
    }
    let eir = written(&client, "insp-1").await;
    assert_eq!(eir["written_by"]["method"], "nova", "{eir}");
    assert!(asked.elapsed() >= Duration::from_secs(4));
    assert_eq!(standin.received().len(), 1, "one writer asked Nova");
}

/// A signed GET, as the phone sends it, answered with its headers.
async fn raw_get(client: &Client, path: &str) -> reqwest::Response {
    let url = format!("{}{path}", client.base);
    let signed = sign_for_api_now(&client.signer, "GET", &url, &[], &[]);
    let mut request = client.http.get(&url);
    for (name, value) in signed {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

/// The door photo's verdict, as the first review started from it.
fn based_on_door() -> Option<VerdictRef> {
    Some(VerdictRef {
        source: VerdictSource::Edge,
        model_sha256: "ab".repeat(32),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_makes_a_new_report_that_follows_it() {
    let office = office_writing(ReportSettings::default()).await;
    let client = office.client();
    with_damage(&client).await;
    close(&client, 2).await;
    let first = written(&client, "insp-1").await;
    let ids: Vec<&str> = first["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["damage_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["door/d0", "door/d1", "front/d0"]);
    assert_eq!(first["lines"][0]["class"], "dent");
    assert_eq!(first["lines"][0]["repair_code"], "GS");

    // Ana calls the large dent rust, deletes the small one and draws mould (the door photo
    // is 64 × 48; the boxes as fractions of it).
    let review = Review {
        inspection_id: "insp-1".into(),
        photo_id: "door".into(),
        revision: 1,
        reviewer: "ana".into(),
        reviewed_at_ms: 1_765_000_000_000,
        based_on: based_on_door(),
        boxes: vec![
            ReviewBox {
                class_id: 2,
                x1: 1.0 / 64.0,
                y1: 2.0 / 48.0,
                x2: 30.0 / 64.0,
                y2: 40.0 / 48.0,
            },
            ReviewBox {
                class_id: 5,
                x1: 0.5,
                y1: 0.25,
                x2: 0.75,
                y2: 0.5,
            },
        ],
        changes: [
            reclassified_and_deleted(0),
            vec![ReviewChange::Drawn { class_id: 5 }],
        ]
        .concat(),
    };
    office.store.put_review(&review).await.unwrap();
    let second = written(&client, "insp-1").await;
    assert_eq!(second["header"]["revision"], 2);
    assert_eq!(second["header"]["reviews"], 1);
    let number = second["header"]["eir_number"].as_str().unwrap();
    assert_eq!(
        number,
        format!("{}-V1", first["header"]["eir_number"].as_str().unwrap())
    );
    let lines = second["lines"].as_array().unwrap();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["damage_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["door/d0", "door/r1.1", "front/d0"],
        "the small dent is gone"
    );
    // Reclassed: rust's repair, cited by the review.
    assert_eq!(lines[0]["class"], "rust");
    assert_eq!(lines[0]["repair_code"], "PS");
    assert_eq!(lines[0]["cites"]["kind"], "review");
    assert_eq!(lines[0]["cites"]["review_id"], "1");
    assert_eq!(lines[0]["cites"]["reviewer"], "ana");
    assert_eq!(lines[0]["cites"]["detection"], 0);
    // Untouched: still the detector's.
    assert_eq!(lines[2], first["lines"][2]);
    // Drawn: mould in the photo's pixels, cited by the review that drew it.
    assert_eq!(lines[1]["class"], "mold");
    assert_eq!(lines[1]["cites"]["review_id"], "1.1");
    assert_eq!(lines[1]["cites"]["reviewer"], "ana");
    assert_eq!(
        lines[1]["box"],
        serde_json::json!({"x1": 32.0, "y1": 12.0, "x2": 48.0, "y2": 24.0})
    );
    assert!(
        lines
            .iter()
            .all(|l| l["location"].as_str().unwrap().ends_with("???"))
    );

    // The old report stays; each key has its own.
    let stored = |k| {
        let store = office.store.clone();
        async move {
            let json = store.report("insp-1", k).await.unwrap().unwrap();
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        }
    };
    assert_eq!(stored(key(2, 0)).await, first);
    assert_eq!(stored(key(2, 1)).await, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_store_one_report_per_key() {
    let office = office_writing(ReportSettings::default()).await;
    let client = office.client();
    with_damage(&client).await;
    // The close starts the office's own writer; four more race it.
    close(&client, 2).await;
    let settings = Arc::new(ReportSettings::default());
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (store, settings) = (office.store.clone(), settings.clone());
        writers.spawn(async move { write(store.as_ref(), &settings, "insp-1").await.unwrap() });
    }
    let wrote: Vec<_> = writers.join_all().await.into_iter().flatten().collect();
    let stored = written(&client, "insp-1").await;
    for eir in wrote {
        // Through its JSON text, as stored (f32 confidences read back as the API sends them).
        let json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&eir).unwrap()).unwrap();
        assert_eq!(json, stored, "one report per key");
    }
}
