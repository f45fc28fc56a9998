//! The `omni-trainer` binary: settings precedence end to end, `cost`, `--help` everywhere.

#![allow(clippy::unwrap_used)]

use crate::common;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn flags_beat_env_beat_config_file_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("omni-trainer.toml"),
        "bucket = \"file-bucket\"\nendpoint_name = \"file-endpoint\"\ninstance_type = \"ml.g5.xlarge\"\n",
    )
    .unwrap();
    let e = env(&[
        ("OMNI_ENDPOINT_NAME", "env-endpoint"),
        ("OMNI_INSTANCE_TYPE", "ml.g4dn.2xlarge"),
    ]);
    let (ok, stdout, stderr) = common::cli(
        &["config", "--instance-type", "ml.p3.2xlarge"],
        &e,
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["instance_type"], "ml.p3.2xlarge"); // flag
    assert_eq!(s["endpoint_name"], "env-endpoint"); // env over file
    assert_eq!(s["bucket"], "file-bucket"); // file over default
    assert_eq!(s["dataset_prefix"], "datasets/talos-v1/"); // default
    assert_eq!(s["serverless_memory_mb"], 2048);

    std::fs::write(dir.path().join("bad.toml"), "serverless_memory_mb = 3000\n").unwrap();
    let (ok, _, stderr) = common::cli(&["--config", "bad.toml", "config"], &[], dir.path());
    assert!(!ok);
    assert!(
        stderr.starts_with("omni-trainer: error: configuration: serverless_memory_mb 3000"),
        "{stderr}"
    );
}

#[test]
fn cost_uses_the_plan_prices_and_takes_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, _) = common::cli(&["--json", "cost"], &[], dir.path());
    assert!(ok);
    let c: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!((c["training_spot"].as_f64().unwrap() - 0.8832).abs() < 1e-9);
    assert!((c["monthly_total"].as_f64().unwrap() - 4.28).abs() < 1e-9);
    let (ok, stdout, _) = common::cli(
        &[
            "--json",
            "cost",
            "--hours",
            "2",
            "--instance-price",
            "1.0",
            "--inspections",
            "5000",
        ],
        &[],
        dir.path(),
    );
    assert!(ok);
    let c: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!((c["training_spot"].as_f64().unwrap() - 0.6).abs() < 1e-9);
    assert!((c["monthly_total"].as_f64().unwrap() - 21.4).abs() < 1e-9);
    let (ok, _, stderr) = common::cli(&["cost", "--spot-discount", "1.5"], &[], dir.path());
    assert!(
        !ok && stderr.starts_with("omni-trainer: error:"),
        "{stderr}"
    );
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["dataset", "--help"],
        vec!["dataset", "validate", "--help"],
        vec!["dataset", "split", "--help"],
        vec!["dataset", "import-roboflow", "--help"],
        vec!["dataset", "import-groundtruth", "--help"],
        vec!["dataset", "upload", "--help"],
        vec!["train", "--help"],
        vec!["wait", "--help"],
        vec!["deploy", "--help"],
        vec!["publish", "--help"],
        vec!["device-model", "--help"],
        vec!["keygen", "--help"],
        vec!["cost", "--help"],
    ] {
        let (ok, stdout, stderr) = common::cli(&args, &[], dir.path());
        assert!(ok && stdout.contains("Usage:"), "{args:?}: {stderr}");
    }
}
