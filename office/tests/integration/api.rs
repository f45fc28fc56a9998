//! The API against the embedded store: create and update inspections, upload photos, list
//! and read them back; the bytes come back identical through the short-lived URL.

use omni_office::store::Put;
use omni_office::wire::InspectionState;
use sha2::{Digest, Sha256};

use crate::common::{CONTAINER, OTHER_CONTAINER, TestOffice, inspection, jpeg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspections_photos_and_verdicts_round_trip() {
    let office = TestOffice::start(None).await;
    let client = office.client();

    // Created (201), repeated (200, unchanged), updated to revision 2 (200).
    let first = inspection("csqu 305438-3", 1_700_000_000_000, 1);
    let created = client.put_inspection("insp-1", &first).await;
    assert_eq!(created.status, 201, "{:?}", created);
    let stored = created.json();
    assert_eq!(stored["container_number"], CONTAINER);
    let received_at = stored["received_at_ms"].clone();
    assert_eq!(client.put_inspection("insp-1", &first).await.status, 200);
    let mut closed = inspection(CONTAINER, 1_700_000_000_000, 2);
    closed.state = InspectionState::Closed;
    let updated = client.put_inspection("insp-1", &closed).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["state"], "closed");
    assert_eq!(updated.json()["received_at_ms"], received_at);
    // Two more, one of another container.
    client
        .put_inspection("insp-2", &inspection(CONTAINER, 1_700_000_100_000, 1))
        .await;
    client
        .put_inspection("insp-3", &inspection(OTHER_CONTAINER, 1_700_000_200_000, 1))
        .await;

    // Photos: created, repeated (no-op), a second one.
    let photo = jpeg(1);
    let up = client.put_photo("insp-1", "photo-1", &photo, None).await;
    assert_eq!(up.status, 201, "{up:?}");
    let up = up.json();
    assert_eq!(up["created"], true);
    assert_eq!(up["detect_status"], "none");
    assert_eq!(up["photo"]["sha256"], hex::encode(Sha256::digest(&photo)));
    let again = client.put_photo("insp-1", "photo-1", &photo, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["created"], false);
    assert_eq!(
        client
            .put_photo("insp-1", "photo-2", &omni_e2e::png(40, 30, 2), None)
            .await
            .status,
        201
    );

    // An edge verdict that found rust.
    let verdict = serde_json::json!({"response": {
        "schema_version": 1,
        "model": {"name": "omni-yolo11n-demo", "version": "1.0.0", "sha256": "ab".repeat(32)},
        "image": {"width": 64, "height": 48},
        "inference_ms": 12.5,
        "detections": [{"class_id": 2, "label": "rust", "score": 0.8,
                        "box": {"x1": 1.0, "y1": 2.0, "x2": 30.0, "y2": 40.0}}]
    }});
    let path = "/v1/inspections/insp-1/photos/photo-1/verdicts/edge";
    assert_eq!(client.put_json(path, &verdict).await.status, 201);
    assert_eq!(client.put_json(path, &verdict).await.status, 200);

    // Listing: by container, newest first; by date; by state; by damage.
    let list = |query: &'static str| {
        let client = &client;
        async move {
            let answer = client.get(&format!("/v1/inspections{query}")).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            answer.json()["inspections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, ["insp-3", "insp-2", "insp-1"]);
    assert_eq!(list("?container=CSQU3054383").await, ["insp-2", "insp-1"]);
    assert_eq!(
        list("?since_ms=1700000050000&until_ms=1700000150000").await,
        ["insp-2"]
    );
    assert_eq!(list("?state=closed").await, ["insp-1"]);
    assert_eq!(list("?has_damage=true").await, ["insp-1"]);
    assert_eq!(list("?has_damage=false&limit=1").await, ["insp-3"]);
    // Reviewed or not (a person marked it on the web view), and whose.
    let marked = office
        .store
        .mark_reviewed("insp-2", "ana", 1_700_000_300_000);
    assert_eq!(marked.await.unwrap(), Put::Created);
    assert_eq!(list("?reviewed=true").await, ["insp-2"]);
    assert_eq!(list("?reviewed=false").await, ["insp-3", "insp-1"]);
    assert_eq!(
        list("?inspector=inspector-7&reviewed=false&container=CSQU3054383").await,
        ["insp-1"]
    );
    assert!(list("?inspector=inspector-9").await.is_empty());
    let reviewed = client.get("/v1/inspections?reviewed=true").await.json();
    let summary = &reviewed["inspections"][0];
    assert_eq!(
        (&summary["reviewed_at_ms"], &summary["reviewed_by"]),
        (
            &serde_json::json!(1_700_000_300_000i64),
            &serde_json::json!("ana")
        )
    );
    let detail = client.get("/v1/inspections/insp-2").await.json();
    assert_eq!(detail["reviewed_by"], "ana");
    assert_eq!(detail["reviewed_at_ms"], 1_700_000_300_000i64);

    // One inspection with photos, verdicts and URLs; the bytes come back identical.
    let detail = client.get("/v1/inspections/insp-1").await;
    assert_eq!(detail.status, 200);
    let detail = detail.json();
    assert_eq!(detail["has_damage"], true);
    // Not reviewed: no mark in the answer.
    assert!(detail.get("reviewed_at_ms").is_none(), "{detail}");
    let photos = detail["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    let first = &photos[0];
    assert_eq!(first["photo"]["id"], "photo-1");
    assert_eq!(first["verdicts"][0]["source"], "edge");
    assert_eq!(first["verdicts"][0]["model_name"], "omni-yolo11n-demo");
    assert_eq!(first["verdicts"][0]["has_damage"], true);
    let url = first["url"].as_str().unwrap();
    let fetched = reqwest::get(url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), photo);
    // A tampered URL (another photo's id under the same signature) is refused.
    let tampered = url.replace("photo-1", "photo-2");
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 403);

    // The file on disk is the upload, byte for byte.
    let sha = hex::encode(Sha256::digest(&photo));
    let on_disk = std::fs::read(office.dir.path().join(format!("photos/photo-1.{sha}"))).unwrap();
    assert_eq!(on_disk, photo);
}
