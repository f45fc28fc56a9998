//! Every `omni-office` command the README and `docs/` show, run as a reader would type it,
//! through the real binary: `serve` without and with detection on upload (through a local
//! `omni-endpoint`), phones' uploads signed as the page's credentials, then `inspections
//! list|show|export` on what it stored. A page showing a command this test does not run (or
//! the reverse) fails it.

use omni_e2e::doc_commands::{DocRun, Served};
use omni_endpoint::{EndpointConfig, FaultConfig, ModelChoice};
use omni_sigv4::Credentials;

use crate::common::{CONTAINER, Client, inspection, jpeg};

/// The credentials the pages write (`AWS_ACCESS_KEY_ID=dev AWS_SECRET_ACCESS_KEY=dev`).
fn dev() -> Credentials {
    Credentials {
        access_key_id: "dev".into(),
        secret_access_key: "dev".into(),
        session_token: None,
        expires_at: None,
    }
}

/// A client of the office a page's `serve` started, signing as the page's `dev`/`dev`.
fn client(office: &Served) -> Client {
    Client {
        base: office.url.clone(),
        signer: dev(),
        http: reqwest::Client::new(),
    }
}

/// Stores `gate-1`: closed, gate-in, one door photo with an edge verdict of one dent.
async fn given_closed_gate_in(dir: &std::path::Path) {
    use omni_office::store::Store as _;
    let store = omni_office::store::embedded::EmbeddedStore::open(dir).unwrap();
    let mut put = inspection(CONTAINER, 1_760_000_000_000, 2);
    put.state = omni_office::wire::InspectionState::Closed;
    put.kind = Some("gate-in".into());
    let stored = omni_office::validate::inspection("gate-1", put, 1_760_000_100_000).unwrap();
    store.put_inspection(&stored).await.unwrap();
    let bytes = jpeg(9);
    let photo = omni_office::wire::Photo {
        face: omni_office::wire::Face::Door,
        ..crate::common::photo_record("gate-1", "door", &bytes, 1_760_000_100_000)
    };
    let none = omni_office::wire::DetectStatus::None;
    store.put_photo(&photo, &bytes, none).await.unwrap();
    let response = serde_json::json!({
        "schema_version": 1,
        "model": {"name": "omni-yolo11n-demo", "version": "1.0.0", "sha256": "ab".repeat(32)},
        "image": {"width": 64, "height": 48},
        "inference_ms": 12.5,
        "detections": [{"class_id": 0, "label": "dent", "score": 0.9,
                        "box": {"x1": 1.0, "y1": 2.0, "x2": 30.0, "y2": 40.0}}]
    });
    let raw = serde_json::value::RawValue::from_string(response.to_string()).unwrap();
    let verdict = omni_office::validate::verdict(
        "door",
        omni_office::wire::VerdictSource::Edge,
        raw,
        1_760_000_100_000,
    )
    .unwrap();
    store.put_verdict("gate-1", &verdict).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_office_command_runs() {
    let cwd = tempfile::tempdir().unwrap();
    let mut docs = DocRun::new(
        "omni-office",
        std::path::Path::new(env!("CARGO_BIN_EXE_omni-office")),
        cwd.path(),
    );
    docs.env("AWS_REGION", "us-east-1")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("OMNI_OFFICE_TABLE")
        .env_remove("OMNI_OFFICE_BUCKET")
        .env_remove("OMNI_OFFICE_DATA");
    let any_port = [("127.0.0.1:8090", "127.0.0.1:0")];

    // People for the web view: the password on standard input.
    let mut add = docs.command(
        "omni-office users add ana --role reviewer --data-dir office-data",
        &[],
    );
    let added = omni_e2e::process::output_with_stdin(&mut add, b"correct horse battery\n");
    omni_e2e::process::assert_success(&added);
    let users = docs.run("omni-office users list --data-dir office-data --json", &[]);
    assert_eq!(users.trim(), r#"[{"name":"ana","role":"reviewer"}]"#);

    // Without an endpoint: a photo asked to be detected is archived.
    let mut closed = inspection(CONTAINER, 1_750_000_000_000, 2);
    closed.state = omni_office::wire::InspectionState::Closed;
    {
        let office = docs.serve(
            "omni-office serve --listen 127.0.0.1:8090 --data-dir office-data",
            &any_port,
            "omni-office listening on ",
        );
        let phone = client(&office);
        assert_eq!(phone.put_inspection("insp-1", &closed).await.status, 201);
        let archived = phone.put_photo("insp-1", "p1", &jpeg(1), Some(true)).await;
        assert_eq!(archived.status, 201);
        assert_eq!(archived.json()["detect_status"], "none");
    }

    // With a local omni-endpoint: uploads are detected by default.
    let endpoint = omni_endpoint::start(EndpointConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        endpoint_name: "omni-inspector-yolo".into(),
        region: "us-east-1".into(),
        credentials: Some(dev()),
        model: ModelChoice::Bundled,
        faults: FaultConfig::default(),
    })
    .await
    .unwrap();
    let endpoint_url = endpoint.url();
    {
        let office = docs.serve(
            "omni-office serve --listen 127.0.0.1:8090 --data-dir office-data --endpoint-url http://127.0.0.1:8080 --detect-by-default",
            &[
                any_port[0],
                ("http://127.0.0.1:8080", endpoint_url.as_str()),
            ],
            "omni-office listening on ",
        );
        let detected = client(&office)
            .put_photo("insp-1", "p2", &jpeg(2), None)
            .await;
        assert_eq!(detected.status, 201);
        assert_eq!(
            detected.json()["detect_status"],
            "done",
            "{:?}",
            detected.json()
        );
    }

    let listed = docs.run(
        "omni-office inspections list --data-dir office-data --container \"CSQU 305438-3\" --since 2025-01-01 --state closed",
        &[],
    );
    assert!(listed.contains("insp-1"), "{listed}");
    let unreviewed = docs.run(
        "omni-office inspections list --data-dir office-data --reviewed false --inspector inspector-7",
        &[],
    );
    assert!(unreviewed.contains("insp-1"), "{unreviewed}");
    let shown: serde_json::Value = serde_json::from_str(&docs.run(
        "omni-office inspections show ID --data-dir office-data --json",
        &[("ID", "insp-1")],
    ))
    .unwrap();
    let photos = shown["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2, "{shown}");
    docs.run(
        "omni-office inspections export --data-dir office-data --format csv -o inspections.csv",
        &[],
    );
    let csv = std::fs::read_to_string(cwd.path().join("inspections.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "a header and one inspection: {csv}");
    assert!(csv.contains("insp-1"), "{csv}");

    // The EIR of a closed gate-in inspection (its door photographed, a dent on it).
    given_closed_gate_in(&cwd.path().join("office-data")).await;
    let text = docs.run(
        "omni-office report ID --data-dir office-data --pdf eir.pdf",
        &[("ID", "gate-1")],
    );
    assert!(text.contains("missing F L R T I"), "{text}");
    assert!(cwd.path().join("eir.pdf").is_file());
    let eir: serde_json::Value = serde_json::from_str(&docs.run(
        "omni-office report ID --data-dir office-data --json",
        &[("ID", "gate-1")],
    ))
    .unwrap();
    assert_eq!(eir["lines"].as_array().map(Vec::len), Some(1), "{eir}");
    assert_eq!(eir["lines"][0]["location"], "D???");

    docs.finish();
}
