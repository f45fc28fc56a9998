//! Every `omni` command the README and `docs/` show, run as a reader would type it, through
//! the real binary, against servers on 127.0.0.1: the main job on the sample photos, the
//! model refresh commands against a signed manifest, `sync` to the SageMaker-compatible
//! endpoint and to the yard office. A page showing a command this test does not run (or
//! the reverse) fails it.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use omni_e2e::doc_commands::DocRun;
use omni_e2e::model_publish::{MANIFEST_PATH, model_with_version, public_key_b64, publish};
use omni_e2e::model_server::StaticServer;
use omni_e2e::office_server::Office;
use omni_e2e::{TestEndpoint, repo_path};
use omni_endpoint::{FaultConfig, ModelChoice};
use omni_office::store::ListQuery;

/// The credentials the pages write (`AWS_ACCESS_KEY_ID=dev AWS_SECRET_ACCESS_KEY=dev`).
fn dev() -> omni_core::cloud::Credentials {
    omni_core::cloud::Credentials {
        access_key_id: "dev".into(),
        secret_access_key: "dev".into(),
        session_token: None,
        expires_at: None,
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn every_documented_omni_command_runs() {
    let cwd = tempfile::tempdir().unwrap();
    let samples = cwd.path().join("samples");
    std::fs::create_dir(&samples).unwrap();
    for entry in std::fs::read_dir(repo_path("samples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg") {
            std::fs::copy(&path, samples.join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut docs = DocRun::new("omni", crate::omni_bin(), cwd.path());
    docs.env("AWS_REGION", "us-east-1")
        .env_remove("OMNI_ENDPOINT_URL")
        .env_remove("OMNI_OFFICE_URL")
        .env_remove("OMNI_MODEL_MANIFEST_URL")
        .env_remove("OMNI_MODEL_PUBLIC_KEYS");

    // README: the main job.
    let table = docs.run(
        "omni --data-dir omni-data inspect --container CSQU3054383 samples/*.jpg",
        &[],
    );
    assert!(table.contains("CSQU3054383"), "{table}");
    let photos = std::fs::read_dir(&samples).unwrap().count();
    let stats = std::process::Command::new(crate::omni_bin())
        .args(["--data-dir", "omni-data", "stats", "--json"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let stats = omni_e2e::json_output(&stats);
    assert_eq!(stats["photos"]["queued"], photos, "{stats}");

    // docs/model-refresh.md, against a signed manifest on 127.0.0.1.
    let status = json(&docs.run("omni --data-dir omni-data model status --json", &[]));
    assert_eq!(status["in_use"], "bundled", "{status}");
    let server = StaticServer::start();
    publish(&server, "0.2.0", &model_with_version("0.2.0"), 1);
    let manifest_url = server.url(MANIFEST_PATH);
    let key = public_key_b64(1);
    let vars = [
        (
            "https://models.example.com/edge/latest.json",
            manifest_url.as_str(),
        ),
        ("KEY", key.as_str()),
    ];
    let check = docs.run(
        "omni --data-dir omni-data model check --manifest-url https://models.example.com/edge/latest.json --public-key KEY",
        &vars,
    );
    assert!(check.contains("0.2.0"), "{check}");
    let update = json(&docs.run(
        "omni --data-dir omni-data model update --manifest-url https://models.example.com/edge/latest.json --public-key KEY --json",
        &vars,
    ));
    assert_eq!(update["outcome"], "installed", "{update}");
    let rollback = docs.run("omni --data-dir omni-data model rollback", &[]);
    assert!(rollback.contains("rolled back"), "{rollback}");

    // docs/sync.md: the queue to the SageMaker-compatible endpoint.
    let endpoint = TestEndpoint::start(ModelChoice::Bundled, FaultConfig::default(), Some(dev()));
    let endpoint_url = endpoint.url();
    let synced = docs.run(
        "omni --data-dir omni-data sync --endpoint http://127.0.0.1:8080",
        &[("http://127.0.0.1:8080", endpoint_url.as_str())],
    );
    assert!(
        synced.starts_with(&format!("synced {photos} photo(s)")),
        "{synced}"
    );

    // docs/office.md: the same store to the yard office.
    let office_dir = tempfile::tempdir().unwrap();
    let office = Office::start_without_detection(office_dir.path(), &dev());
    let office_url = office.url();
    let sent = docs.run(
        "omni --data-dir omni-data sync --office http://127.0.0.1:8090",
        &[("http://127.0.0.1:8090", office_url.as_str())],
    );
    assert!(sent.contains("office:"), "{sent}");
    let listed = office
        .block_on(office.store.list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        }))
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].photo_count, photos as u64);

    docs.finish();
}
