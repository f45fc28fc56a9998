//! Faces and kinds through the API: `x-omni-photo-face` on an upload (absent: X; another
//! letter: 400, nothing stored), the kind on an inspection, and the faces required,
//! photographed and missing in `GET /v1/inspections/{id}`.

use sha2::{Digest, Sha256};

use crate::common::{CONTAINER, TestOffice, inspection, jpeg};

/// Uploads `bytes` with `face` as the face header's raw value.
async fn upload(
    office: &TestOffice,
    id: &str,
    bytes: &[u8],
    face: Option<&str>,
) -> crate::common::Answer {
    let sha = hex::encode(Sha256::digest(bytes));
    let mut headers = vec![
        ("content-type", "image/jpeg"),
        ("x-omni-photo-sha256", sha.as_str()),
    ];
    if let Some(face) = face {
        headers.push(("x-omni-photo-face", face));
    }
    office
        .client()
        .send(
            "PUT",
            &format!("/v1/inspections/insp-1/photos/{id}"),
            &headers,
            bytes.to_vec(),
        )
        .await
}

#[tokio::test]
async fn faces_are_stored_and_the_missing_ones_shown() {
    let office = TestOffice::start(None).await;
    let mut put = inspection(CONTAINER, 1_700_000_000_000, 2);
    put.kind = Some("gate-out".into());
    assert_eq!(
        office.client().put_inspection("insp-1", &put).await.status,
        201
    );

    let door = upload(&office, "p1", &jpeg(1), Some("D")).await;
    assert_eq!(door.status, 201);
    assert_eq!(door.json()["photo"]["face"], "D");
    assert_eq!(
        upload(&office, "p2", &jpeg(2), None).await.json()["photo"]["face"],
        "X"
    );
    assert_eq!(upload(&office, "p3", &jpeg(3), Some("F")).await.status, 201);
    // The phone changed p1's face before it had the answer: the retry carries the new one.
    let retried = upload(&office, "p1", &jpeg(1), Some("L")).await;
    assert_eq!(retried.status, 200);
    assert_eq!(retried.json()["photo"]["face"], "L");

    let detail = office.client().get("/v1/inspections/insp-1").await.json();
    assert_eq!(detail["inspection"]["kind"], "gate-out");
    assert_eq!(
        detail["faces"]["required"],
        serde_json::json!(["F", "D", "L", "R", "T"])
    );
    assert_eq!(
        detail["faces"]["photographed"],
        serde_json::json!(["F", "L", "X"])
    );
    assert_eq!(
        detail["faces"]["missing"],
        serde_json::json!(["D", "R", "T"])
    );
}

#[tokio::test]
async fn an_unknown_face_or_kind_is_refused_and_nothing_stored() {
    let office = TestOffice::start(None).await;
    let put = inspection(CONTAINER, 1_700_000_000_000, 1);
    assert_eq!(
        office.client().put_inspection("insp-1", &put).await.status,
        201
    );
    for bad in ["Q", "f", "FD", "", "<script>"] {
        let answer = upload(&office, "p1", &jpeg(4), Some(bad)).await;
        answer.assert_error(400, "ValidationException");
        let message = answer.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("expected one of F, D, L, R, T, U, I, X"),
            "{message}"
        );
    }
    assert!(office.store.photos("insp-1").await.unwrap().is_empty());

    let mut kinded = inspection(CONTAINER, 1_700_000_000_000, 2);
    kinded.kind = Some("Gate In!".into());
    let answer = office.client().put_inspection("insp-1", &kinded).await;
    answer.assert_error(400, "ValidationException");
    let stored = office.store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!(
        (stored.inspection.revision, stored.inspection.kind),
        (1, None)
    );
}
