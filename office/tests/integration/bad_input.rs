//! Each kind of bad input: a clear 4xx with an AWS-style error body, and nothing written.

use omni_office::store::ListQuery;
use sha2::{Digest, Sha256};

use crate::common::{Answer, CONTAINER, TestOffice, inspection, jpeg};

async fn office_with_one_inspection() -> TestOffice {
    let office = TestOffice::start(None).await;
    let answer = office
        .client()
        .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 3))
        .await;
    assert_eq!(answer.status, 201);
    office
}

/// [`office_with_one_inspection`] with photo `p1` (`jpeg(1)`) stored in it.
async fn office_with_one_photo() -> TestOffice {
    let office = office_with_one_inspection().await;
    let answer = office
        .client()
        .put_photo("insp-1", "p1", &jpeg(1), None)
        .await;
    assert_eq!(answer.status, 201);
    office
}

async fn count(office: &TestOffice) -> (usize, usize) {
    let list = office
        .store
        .list(&ListQuery {
            limit: 100,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let photos = office.store.photos("insp-1").await.unwrap().len();
    (list.len(), photos)
}

/// Asserts a 400 `ValidationException` whose message names `what`.
fn assert_invalid(answer: &Answer, what: &str) {
    answer.assert_error(400, "ValidationException");
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains(what), "{message}");
}

#[tokio::test]
async fn malformed_json_is_a_serialization_exception() {
    let office = office_with_one_inspection().await;
    let answer = office
        .client()
        .send(
            "PUT",
            "/v1/inspections/insp-2",
            &[],
            b"{\"container_number\": ".to_vec(),
        )
        .await;
    answer.assert_error(400, "SerializationException");
    assert_eq!(count(&office).await, (1, 0));
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let office = office_with_one_inspection().await;
    let mut body = serde_json::to_value(inspection(CONTAINER, 1, 1)).unwrap();
    body["colour"] = "red".into();
    let answer = office
        .client()
        .put_json("/v1/inspections/insp-2", &body)
        .await;
    assert_invalid(&answer, "colour");
    assert_eq!(count(&office).await, (1, 0));
}

#[tokio::test]
async fn a_container_number_with_a_wrong_check_digit_is_refused() {
    let office = office_with_one_inspection().await;
    let answer = office
        .client()
        .put_inspection("insp-2", &inspection("CSQU3054384", 1, 1))
        .await;
    assert_invalid(&answer, "ISO 6346");
    assert_eq!(count(&office).await, (1, 0));
}

#[tokio::test]
async fn a_stale_or_different_revision_is_a_conflict() {
    let office = office_with_one_inspection().await;
    let client = office.client();
    // Older revision.
    client
        .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 2))
        .await
        .assert_error(409, "ConflictException");
    // Same revision, other content.
    let mut other = inspection(CONTAINER, 1_700_000_000_000, 3);
    other.inspector_id = "someone-else".into();
    client
        .put_inspection("insp-1", &other)
        .await
        .assert_error(409, "ConflictException");
    let stored = office.store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!(stored.inspection.revision, 3);
    assert_eq!(stored.inspection.inspector_id, "inspector-7");
}

#[tokio::test]
async fn a_wrong_hash_is_refused_and_nothing_is_stored() {
    let office = office_with_one_inspection().await;
    let photo = jpeg(1);
    let wrong = hex::encode(Sha256::digest(b"something else"));
    let answer = office
        .client()
        .send(
            "PUT",
            "/v1/inspections/insp-1/photos/p1",
            &[("x-omni-photo-sha256", wrong.as_str())],
            photo.clone(),
        )
        .await;
    answer.assert_error(400, "BadDigest");
    // No hash at all.
    office
        .client()
        .send("PUT", "/v1/inspections/insp-1/photos/p1", &[], photo)
        .await
        .assert_error(400, "ValidationException");
    assert_eq!(count(&office).await, (1, 0));
    let files = std::fs::read_dir(office.dir.path().join("photos"))
        .unwrap()
        .count();
    assert_eq!(files, 0);
}

#[tokio::test]
async fn another_body_for_a_stored_photo_id_is_a_conflict() {
    let office = office_with_one_photo().await;
    let client = office.client();
    client
        .put_photo("insp-1", "p1", &jpeg(2), None)
        .await
        .assert_error(409, "ConflictException");
    let photos = office.store.photos("insp-1").await.unwrap();
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].photo.sha256, hex::encode(Sha256::digest(jpeg(1))));
}

#[tokio::test]
async fn unknown_inspection_ids_are_not_found() {
    let office = office_with_one_inspection().await;
    let client = office.client();
    client
        .get("/v1/inspections/nope")
        .await
        .assert_error(404, "ResourceNotFoundException");
    client
        .put_photo("nope", "p1", &jpeg(1), None)
        .await
        .assert_error(404, "ResourceNotFoundException");
    let verdict = serde_json::json!({"response": {"schema_version": 1,
        "model": {"name": "m", "version": "1", "sha256": "00"},
        "image": {"width": 64, "height": 48}, "inference_ms": 1.0, "detections": []}});
    client
        .put_json(
            "/v1/inspections/insp-1/photos/missing/verdicts/cloud",
            &verdict,
        )
        .await
        .assert_error(404, "ResourceNotFoundException");
    assert_eq!(count(&office).await, (1, 0));
}

#[tokio::test]
async fn oversized_bodies_and_photos_are_refused() {
    let office = office_with_one_inspection().await;
    let client = office.client();
    // Over the 10 MB request cap.
    let huge = vec![0u8; 10 * 1024 * 1024 + 1];
    let sha = hex::encode(Sha256::digest(&huge));
    client
        .send(
            "PUT",
            "/v1/inspections/insp-1/photos/p1",
            &[("x-omni-photo-sha256", sha.as_str())],
            huge,
        )
        .await
        .assert_error(413, "RequestEntityTooLargeException");
    // Under the cap but over the core's 4 MB photo limit (a JPEG with padding).
    let mut big = jpeg(1);
    big.resize(4_000_001, 0);
    client
        .put_photo("insp-1", "p1", &big, None)
        .await
        .assert_error(413, "RequestEntityTooLargeException");
    // Not a photo at all.
    client
        .put_photo("insp-1", "p1", b"GIF89a not a photo", None)
        .await
        .assert_error(400, "ValidationException");
    assert_eq!(count(&office).await, (1, 0));
}

#[tokio::test]
async fn bad_verdicts_and_queries_are_refused() {
    let office = office_with_one_photo().await;
    let client = office.client();
    // An unknown class.
    let verdict = serde_json::json!({"response": {"schema_version": 1,
        "model": {"name": "m", "version": "1", "sha256": "00"},
        "image": {"width": 64, "height": 48}, "inference_ms": 1.0,
        "detections": [{"class_id": 9, "label": "hole", "score": 0.5,
                        "box": {"x1": 0.0, "y1": 0.0, "x2": 1.0, "y2": 1.0}}]}});
    client
        .put_json("/v1/inspections/insp-1/photos/p1/verdicts/edge", &verdict)
        .await
        .assert_error(400, "ValidationException");
    client
        .put_json("/v1/inspections/insp-1/photos/p1/verdicts/oracle", &verdict)
        .await
        .assert_error(400, "ValidationException");
    client
        .get("/v1/inspections?has_damage=maybe")
        .await
        .assert_error(400, "ValidationException");
    client
        .get("/v1/inspections?container=XXXX0000000")
        .await
        .assert_error(400, "ValidationException");
    let too_long = format!("/v1/inspections?inspector={}", "x".repeat(129));
    for query in [
        "/v1/inspections?reviewed=maybe",
        "/v1/inspections?inspector=",
        "/v1/inspections?inspector=%20",
        too_long.as_str(),
    ] {
        client
            .get(query)
            .await
            .assert_error(400, "ValidationException");
    }
    client
        .get("/v1/nothing-here")
        .await
        .assert_error(404, "UnknownOperationException");
    assert!(office.store.verdicts("insp-1").await.unwrap().is_empty());
}

/// The head of a photo PUT of `body` to `url` sent by hand: its hash header, signed (for the
/// API, now, by `signer`) with the SigV4 headers.
fn raw_photo_head(
    signer: &omni_sigv4::Credentials,
    url: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let sha = hex::encode(Sha256::digest(body));
    let mut head = crate::common::sign_for_api_now(
        signer,
        "PUT",
        url,
        &[("x-omni-photo-sha256", sha.as_str())],
        body,
    );
    head.push(("x-omni-photo-sha256".into(), sha));
    head
}

/// A plain client (all of the body written before anything is read, as botocore over urllib
/// does) uploading 11 MB reads the 413 instead of a broken pipe; one that asks
/// `Expect: 100-continue` gets the 413 before it sends a byte. Nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_upload_is_refused_in_a_way_the_client_reads() {
    let office = office_with_one_inspection().await;
    let body = vec![0u8; 11 * 1024 * 1024];
    let url = format!("http://{}/v1/inspections/insp-1/photos/p1", office.addr);
    let head = raw_photo_head(&crate::common::credentials(), &url, &body);
    let addr = office.addr;
    let (full, early) = tokio::task::spawn_blocking(move || {
        let full = omni_e2e::raw_http_request(
            addr,
            &head,
            "PUT /v1/inspections/insp-1/photos/p1 HTTP/1.1",
            &body,
        );
        let early = omni_e2e::raw_http_expect_continue(
            addr,
            &head,
            "PUT /v1/inspections/insp-1/photos/p1 HTTP/1.1",
            body.len(),
        );
        (full, early)
    })
    .await
    .unwrap();
    let full = full.expect("the client reads an answer, not a broken pipe");
    assert!(full.starts_with("HTTP/1.1 413"), "{full}");
    assert!(
        full.to_lowercase()
            .contains("x-amzn-errortype: requestentitytoolargeexception"),
        "{full}"
    );
    let early = early.unwrap();
    assert!(early.starts_with("HTTP/1.1 413"), "{early}");
    assert!(!early.contains("100 Continue"), "{early}");
    assert_eq!(count(&office).await, (1, 0));
}

/// A request signed with an unknown key is refused on its headers: a client that announces
/// 6 MiB and sends none of it reads the 403 at once (the office does not wait for the body),
/// and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_refused_before_the_body_is_sent() {
    let office = office_with_one_inspection().await;
    let body = vec![0u8; 6 * 1024 * 1024];
    let path = "/v1/inspections/insp-1/photos/p1";
    let url = format!("http://{}{path}", office.addr);
    let stranger = omni_sigv4::Credentials {
        access_key_id: "AKIDSTRANGER".into(),
        ..crate::common::credentials()
    };
    let head = raw_photo_head(&stranger, &url, &body);
    let addr = office.addr;
    let length = body.len();
    let answer = tokio::task::spawn_blocking(move || {
        omni_e2e::raw_http_head_only(addr, &head, &format!("PUT {path} HTTP/1.1"), length)
    })
    .await
    .unwrap()
    .expect("the office waited for the body instead of refusing the headers")
    .to_lowercase();
    assert!(answer.starts_with("http/1.1 403"), "{answer}");
    assert!(
        answer.contains("x-amzn-errortype: unrecognizedclientexception"),
        "{answer}"
    );
    assert_eq!(count(&office).await, (1, 0));
}
