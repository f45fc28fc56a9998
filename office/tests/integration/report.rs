//! The office's report: `GET /v1/inspections/{id}/report` on a real server (SigV4, SQLite,
//! 127.0.0.1) and `omni-office report` through the binary read the same EIR, written once per
//! revision and review state in the background even when requests race; the PDF read back
//! with poppler's pdftotext; an open inspection, one without a kind and a missing one are
//! typed errors with nothing stored. The lifecycle (written on close, 202 then 200, reviews,
//! a slow Nova) is in [`lifecycle`].

mod lifecycle;

use std::process::Command;
use std::time::Duration;

use omni_office::report::{ReportSettings, write};
use omni_office::store::ReportKey;

use crate::common::{CONTAINER, Client, TestOffice, inspection, jpeg};

const T0: i64 = 1_700_000_000_000;

/// The report key of `revision` after `reviews` reviews.
pub fn key(revision: u64, reviews: u64) -> ReportKey {
    ReportKey { revision, reviews }
}

/// `GET /v1/inspections/{id}/report` until it answers 200 (each 202 a pending report, with
/// `Retry-After`), within 30 s.
pub async fn written(client: &Client, id: &str) -> serde_json::Value {
    let path = format!("/v1/inspections/{id}/report");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let answer = client.get(&path).await;
        match answer.status {
            200 => return answer.json(),
            202 => answer.assert_error(202, "ReportPendingException"),
            _ => panic!("{answer:?}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report of {id} was not written in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An edge verdict body: `boxes` of class `class_id` on a 64 × 48 photo.
fn verdict(class_id: u32, boxes: &[[f32; 4]]) -> serde_json::Value {
    let detections: Vec<_> = boxes
        .iter()
        .map(|[x1, y1, x2, y2]| {
            serde_json::json!({"class_id": class_id,
                "label": omni_protocol::DAMAGE_CLASSES[class_id as usize], "score": 0.8,
                "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}})
        })
        .collect();
    serde_json::json!({"response": {
        "schema_version": 1,
        "model": {"name": "omni-yolo11n-demo", "version": "1.0.0", "sha256": "ab".repeat(32)},
        "image": {"width": 64, "height": 48},
        "inference_ms": 12.5,
        "detections": detections,
    }})
}

/// Inspection `insp-1` (gate-in) with a door photo (2 dents, one large) and a front photo
/// (rust), still open, sent through `client`.
pub async fn with_damage(client: &Client) {
    let mut put = inspection(CONTAINER, T0, 1);
    put.kind = Some("gate-in".into());
    assert_eq!(client.put_inspection("insp-1", &put).await.status, 201);
    with_damage_after_close(client).await;
}

/// [`with_damage`]'s photos and verdicts alone (the inspection already stored).
pub async fn with_damage_after_close(client: &Client) {
    for (id, face, seed) in [("door", "D", 1), ("front", "F", 2)] {
        let answer = client.put_photo_face("insp-1", id, &jpeg(seed), face).await;
        assert_eq!(answer.status, 201, "{answer:?}");
    }
    let path = "/v1/inspections/insp-1/photos/door/verdicts/edge";
    let dents = verdict(0, &[[1.0, 2.0, 30.0, 40.0], [40.0, 10.0, 44.0, 14.0]]);
    assert_eq!(client.put_json(path, &dents).await.status, 201);
    let path = "/v1/inspections/insp-1/photos/front/verdicts/edge";
    let rust = verdict(2, &[[5.0, 5.0, 20.0, 20.0]]);
    assert_eq!(client.put_json(path, &rust).await.status, 201);
}

/// An office holding [`with_damage`]'s inspection.
async fn office_with_damage() -> TestOffice {
    let office = TestOffice::start(None).await;
    with_damage(&office.client()).await;
    office
}

/// Closes `insp-1` at `revision`, as the phone does.
pub async fn close(client: &Client, revision: u64) {
    let mut put = inspection(CONTAINER, T0, revision);
    put.kind = Some("gate-in".into());
    put.state = omni_office::wire::InspectionState::Closed;
    let status = client.put_inspection("insp-1", &put).await.status;
    assert!(status == 200 || status == 201, "{status}");
}

fn office_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_omni-office"));
    command
        .args(args)
        .env_remove("OMNI_OFFICE_TABLE")
        .env_remove("OMNI_OFFICE_BUCKET")
        .env_remove("OMNI_OFFICE_DATA")
        .env_remove("OMNI_OFFICE_NOVA");
    command
}

fn office_bin(args: &[&str]) -> std::process::Output {
    office_command(args).output().unwrap()
}

/// [`office_bin`], asserting that it succeeded.
fn office_bin_ok(args: &[&str]) -> std::process::Output {
    omni_e2e::process::output_ok(&mut office_command(args))
}

/// The text of a PDF file, or `None` (with a note) where pdftotext is missing and
/// `OMNI_SKIP_PDFTOTEXT_TESTS` says to skip.
pub fn pdftotext(path: &std::path::Path) -> Option<String> {
    let run = Command::new("pdftotext")
        .arg("-layout")
        .arg(path)
        .arg("-")
        .output()
        .map_err(|e| format!("cannot run pdftotext: {e}"));
    let out = omni_e2e::needs::require(
        run,
        "poppler's pdftotext",
        "`apt-get install poppler-utils` (bash scripts/test.sh does)",
        &[omni_e2e::needs::SKIP_PDFTOTEXT],
    )?;
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_cli_read_one_eir_per_revision() {
    let office = office_with_damage().await;
    let client = office.client();

    // Open: a typed 409, nothing stored.
    let open = client.get("/v1/inspections/insp-1/report").await;
    open.assert_error(409, "InspectionOpenException");
    assert_eq!(
        office.store.report("insp-1", key(1, 0)).await.unwrap(),
        None
    );

    close(&client, 2).await;
    written(&client, "insp-1").await;
    // Requests racing on the closed revision: every one reads the same stored report.
    let answers = futures_join(&client).await;
    let first = answers[0].json();
    for a in &answers {
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.json(), first, "one report per revision");
    }
    let stored = office
        .store
        .report("insp-1", key(2, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        first
    );

    assert_eq!(first["header"]["container_number"], CONTAINER);
    assert_eq!(first["header"]["kind"], "gate-in");
    assert_eq!(first["header"]["revision"], 2);
    assert_eq!(first["written_by"]["method"], "rules");
    let lines = first["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "one line per detection");
    let faces: Vec<&str> = lines.iter().map(|l| l["face"].as_str().unwrap()).collect();
    assert_eq!(faces, ["D", "D", "F"]);
    for line in lines {
        let location = line["location"].as_str().unwrap();
        assert!(
            location.ends_with("???"),
            "face from the photo, the rest unknown: {location}"
        );
    }
    assert_eq!(
        first["faces"]["missing"],
        serde_json::json!(["L", "R", "T", "I"])
    );
    assert_eq!(
        first["verdict"]["status"], "not_fit",
        "a large dent is major"
    );

    // The CLI reads the stored report, and writes the PDF.
    let data = office.dir.path().to_str().unwrap();
    let out = office_bin_ok(&["report", "insp-1", "--data-dir", data, "--json"]);
    let from_cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_cli, first);
    let pdf = office.dir.path().join("eir.pdf");
    let out = office_bin_ok(&[
        "report",
        "insp-1",
        "--data-dir",
        data,
        "--pdf",
        pdf.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missing L R T I"), "{text}");
    if let Some(pdf_text) = pdftotext(&pdf) {
        assert!(pdf_text.contains(CONTAINER), "{pdf_text}");
        assert!(
            pdf_text.contains(first["header"]["eir_number"].as_str().unwrap()),
            "{pdf_text}"
        );
        for line in lines {
            assert!(
                pdf_text.contains(line["location"].as_str().unwrap()),
                "{pdf_text}"
            );
            assert!(
                pdf_text.contains(line["repair_code"].as_str().unwrap()),
                "{pdf_text}"
            );
        }
        assert!(pdf_text.to_lowercase().contains("not fit"), "{pdf_text}");
    }
    let es = office.dir.path().join("eir-es.pdf");
    office_bin_ok(&[
        "report",
        "insp-1",
        "--data-dir",
        data,
        "--pdf",
        es.to_str().unwrap(),
        "--lang",
        "es",
    ]);
    if let Some(pdf_text) = pdftotext(&es) {
        assert!(pdf_text.to_lowercase().contains("no apto"), "{pdf_text}");
    }

    // A later revision (a re-close) gets its own report; the old one stays.
    close(&client, 3).await;
    let third = written(&client, "insp-1").await;
    assert_eq!(third["header"]["revision"], 3);
    assert_eq!(
        office
            .store
            .report("insp-1", key(2, 0))
            .await
            .unwrap()
            .unwrap(),
        stored
    );
}

/// Four concurrent report requests.
async fn futures_join(client: &crate::common::Client) -> Vec<crate::common::Answer> {
    let path = "/v1/inspections/insp-1/report";
    let (a, b, c, d) = tokio::join!(
        client.get(path),
        client.get(path),
        client.get(path),
        client.get(path)
    );
    vec![a, b, c, d]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_kind_a_missing_inspection_and_a_bad_id_are_typed_errors() {
    let office = TestOffice::start(None).await;
    let client = office.client();
    let mut put = inspection(CONTAINER, T0, 2);
    put.state = omni_office::wire::InspectionState::Closed;
    assert_eq!(client.put_inspection("insp-1", &put).await.status, 201);
    client
        .get("/v1/inspections/insp-1/report")
        .await
        .assert_error(409, "InspectionKindMissingException");
    assert_eq!(
        office.store.report("insp-1", key(2, 0)).await.unwrap(),
        None
    );
    client
        .get("/v1/inspections/nope/report")
        .await
        .assert_error(404, "ResourceNotFoundException");
    client
        .get("/v1/inspections/bad%20id/report")
        .await
        .assert_error(400, "ValidationException");

    // The same through the library and the binary: one clear line, exit non-zero.
    let err = write(office.store.as_ref(), &ReportSettings::default(), "insp-1")
        .await
        .unwrap_err();
    assert_eq!(err.status, 409);
    let data = office.dir.path().to_str().unwrap();
    let out = office_bin(&["report", "insp-1", "--data-dir", data]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("InspectionKindMissingException"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// The office's background writer with Nova against the Bedrock Runtime stand-in (the report
/// crate's, SigV4 service `bedrock`): a checked answer is used; an access-denied one falls
/// back to the rules with the reason; either is stored once, and `omni-office report` reads
/// the stored one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_writes_the_report_and_a_refusal_falls_back_to_the_rules() {
    use crate::standin::{Scripted, StandIn};
    let answer = serde_json::json!({
        "narrative_en": "Gate-in of CSQU3054383: two dents on the door end, rust on the front.",
        "narrative_es": "Entrada de CSQU3054383: dos abolladuras en puertas, óxido en el frontal.",
        "lines": [
            {"damage_id": "door/d0", "severity": "major"},
            {"damage_id": "door/d1", "severity": "minor"},
            {"damage_id": "front/d0", "severity": "moderate"}
        ]
    });
    let standin = StandIn::start(vec![Scripted::Tool(answer), Scripted::access_denied()]).await;
    let office = lifecycle::office_writing(lifecycle::nova(&standin.url)).await;
    let client = office.client();
    with_damage(&client).await;
    close(&client, 2).await;
    let eir = written(&client, "insp-1").await;
    assert_eq!(eir["written_by"]["method"], "nova", "{eir}");
    assert_eq!(eir["written_by"]["model_id"], "us.amazon.nova-lite-v1:0");
    assert!(eir["narrative"]["es"].as_str().unwrap().contains("óxido"));
    assert_eq!(eir["lines"][1]["severity"], "minor");
    assert_eq!(standin.received().len(), 1);
    // Stored once: asked again, by the API or the CLI, without calling Bedrock.
    assert_eq!(
        client.get("/v1/inspections/insp-1/report").await.json(),
        eir
    );
    let data = office.dir.path().to_str().unwrap();
    let out = office_bin_ok(&["report", "insp-1", "--data-dir", data, "--json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        eir
    );
    assert_eq!(standin.received().len(), 1);

    // A closed revision Bedrock refuses: the rules write it, with the reason.
    close(&client, 3).await;
    let eir = written(&client, "insp-1").await;
    assert_eq!(eir["written_by"]["method"], "rules");
    let reason = eir["written_by"]["fallback_reason"].as_str().unwrap();
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert_eq!(eir["header"]["revision"], 3);
    assert_eq!(standin.received().len(), 2);
}
