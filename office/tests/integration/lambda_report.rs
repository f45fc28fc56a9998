//! The report on the AWS store through the Lambda (issue 24): a gate-in inspection with a door
//! photo and its edge verdict, closed, sent as API Gateway events to `bootstrap` on moto
//! (DynamoDB + S3). `GET .../report` answers 202 `ReportPendingException` (the writer started,
//! never awaited) and then the EIR; `omni-office report --pdf` on the same table and bucket
//! reads that very report, and its PDF reads back with pdftotext.
//!
//! Here the function's process keeps running between invocations, so the writer the GET
//! started finishes; a real Lambda sandbox frozen mid-write is taken over after the claim's
//! five minutes (`CLAIM_STALE`), which this test does not wait for.

use std::process::Command;
use std::time::Duration;

use omni_office::wire::InspectionState;
use serde_json::{Value, json};

use crate::common::{CONTAINER, inspection, jpeg};
use crate::lambda::{Lambda, body_json, event, status};

const T0: i64 = 1_700_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_writes_the_report_in_the_background_and_the_cli_reads_it() {
    let Some((moto, mut lambda, table, bucket)) = Lambda::on_moto("lambda-report").await else {
        return;
    };
    let mut open = inspection(CONTAINER, T0, 1);
    open.kind = Some("gate-in".into());
    let created = lambda
        .invoke_json("PUT", "/v1/inspections/insp-1", &open)
        .await;
    assert_eq!(status(&created), 201, "{created}");
    let uploaded = lambda
        .put_photo(
            "/v1/inspections/insp-1/photos/door",
            &jpeg(1),
            &[("x-omni-photo-face", "D")],
        )
        .await;
    assert_eq!(status(&uploaded), 201, "{uploaded}");
    let dents = json!({"response": {
        "schema_version": 1,
        "model": {"name": "omni-yolo11n-demo", "version": "1.0.0", "sha256": "ab".repeat(32)},
        "image": {"width": 64, "height": 48},
        "inference_ms": 12.5,
        "detections": [
            {"class_id": 0, "label": "dent", "score": 0.8,
             "box": {"x1": 1.0, "y1": 2.0, "x2": 30.0, "y2": 40.0}},
            {"class_id": 2, "label": "rust", "score": 0.7,
             "box": {"x1": 40.0, "y1": 10.0, "x2": 44.0, "y2": 14.0}},
        ],
    }});
    let verdict = lambda
        .invoke_json(
            "PUT",
            "/v1/inspections/insp-1/photos/door/verdicts/edge",
            &dents,
        )
        .await;
    assert_eq!(status(&verdict), 201, "{verdict}");
    let mut closed = open.clone();
    closed.revision = 2;
    closed.state = InspectionState::Closed;
    let closing = lambda
        .invoke_json("PUT", "/v1/inspections/insp-1", &closed)
        .await;
    assert_eq!(status(&closing), 200, "{closing}");

    // The first GET starts the writer and answers at once.
    let report = event("GET", "/v1/inspections/insp-1/report", &[], None);
    let first = lambda.invoke(report.clone()).await;
    assert_eq!(status(&first), 202, "{first}");
    assert_eq!(body_json(&first)["__type"], "ReportPendingException");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let eir: Value = loop {
        let answer = lambda.invoke(report.clone()).await;
        match status(&answer) {
            200 => break body_json(&answer),
            202 => {}
            _ => panic!("{answer}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Lambda's report was not written in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(eir["header"]["container_number"], CONTAINER);
    assert_eq!(eir["header"]["revision"], 2);
    assert_eq!(eir["written_by"]["method"], "rules");
    let lines = eir["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "one line per detection: {eir}");
    assert!(lines.iter().all(|l| l["face"] == "D"), "{eir}");
    assert_eq!(eir["verdict"]["status"], "not_fit", "a major dent: {eir}");

    // The ops CLI on the same table and bucket reads the very report the Lambda stored.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("eir.pdf");
    let out = omni_e2e::process::output_ok(
        Command::new(env!("CARGO_BIN_EXE_omni-office"))
            .args(["report", "insp-1", "--json", "--pdf"])
            .arg(&pdf)
            .args(["--aws-table", &table, "--aws-bucket", &bucket])
            .args(["--aws-endpoint-url", &moto.url])
            .env_remove("OMNI_OFFICE_DATA")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true"),
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed, eir,
        "the CLI reads the Lambda's report, not a new one"
    );
    let Some(text) = crate::report::pdftotext(&pdf) else {
        return;
    };
    assert!(text.contains(CONTAINER), "{text}");
    assert!(
        text.contains(eir["header"]["eir_number"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("NOT FIT"), "{text}");
}
