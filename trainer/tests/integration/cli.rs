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
fn cost_tells_the_plan_from_the_product() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, _) = common::cli(&["--json", "cost"], &[], dir.path());
    assert!(ok);
    let c: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!((c["training_spot"].as_f64().unwrap() - 0.8832).abs() < 1e-9);
    assert!((c["plan_monthly_total"].as_f64().unwrap() - 4.28).abs() < 1e-9);
    assert!((c["product_monthly_total"].as_f64().unwrap() - 0.52).abs() < 0.01);
    let bedrock = c["monthly"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["service"] == "Bedrock (Nova)")
        .unwrap();
    assert_eq!(bedrock["plan"], 2.0);
    assert_eq!(bedrock["product"], 0.0);
    assert_eq!(bedrock["basis"], "not-used");
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
    assert!((c["plan_monthly_total"].as_f64().unwrap() - 21.4).abs() < 1e-9);
    // The text says which column is whose.
    let (ok, stdout, _) = common::cli(&["cost"], &[], dir.path());
    assert!(ok);
    let bedrock = stdout.lines().find(|l| l.contains("Bedrock")).unwrap();
    assert!(
        bedrock.contains("$2.00") && bedrock.contains("not used"),
        "{stdout}"
    );
    assert!(stdout.contains("the seed plan's own estimate"), "{stdout}");
    for bad in [
        vec!["cost", "--spot-discount", "1.5"],
        vec!["cost", "--photos=-1"],
        vec!["cost", "--inspections", "NaN"],
    ] {
        let (ok, _, stderr) = common::cli(&bad, &[], dir.path());
        assert!(
            !ok && stderr.starts_with("omni-trainer: error:"),
            "{bad:?}: {stderr}"
        );
    }
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let others: [&[&str]; 15] = [
        &["--help"],
        &["dataset", "--help"],
        &["dataset", "validate", "--help"],
        &["dataset", "split", "--help"],
        &["dataset", "import-roboflow", "--help"],
        &["dataset", "import-groundtruth", "--help"],
        &["dataset", "upload", "--help"],
        &["train", "--help"],
        &["wait", "--help"],
        &["deploy", "--help"],
        &["publish", "--help"],
        &["device-model", "--help"],
        &["keygen", "--help"],
        &["cost", "--help"],
        &["config", "--help"],
    ];
    for args in others.into_iter().chain(crate::labeling::LABELING_HELP) {
        let (ok, stdout, stderr) = common::cli(args, &[], dir.path());
        assert!(ok && stdout.contains("Usage:"), "{args:?}: {stderr}");
    }
}

/// Each command's help lists the settings it reads, and no others: selection shows no
/// SageMaker flags, training shows its hyperparameters under their own heading.
#[test]
fn help_shows_only_the_settings_a_command_reads() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let (ok, stdout, stderr) = common::cli(args, &[], dir.path());
        assert!(ok, "{args:?}: {stderr}");
        stdout
    };
    let select = help(&["labeling", "select", "--help"]);
    for flag in [
        "--instance-type",
        "--epochs",
        "--batch",
        "--role-arn",
        "--bucket",
        "--training-image",
    ] {
        assert!(
            !select.contains(flag),
            "labeling select shows {flag}:\n{select}"
        );
    }
    assert!(
        select.contains("--phone") && select.contains("--max"),
        "{select}"
    );
    let train = help(&["train", "--help"]);
    for needed in [
        "Training:",
        "--epochs",
        "--batch",
        "Managed spot:",
        "--max-wait-s",
        "AWS:",
        "--bucket",
    ] {
        assert!(train.contains(needed), "train lacks {needed}:\n{train}");
    }
    assert!(!train.contains("--serverless-memory-mb"), "{train}");
    let deploy = help(&["deploy", "--help"]);
    assert!(
        deploy.contains("--serverless-memory-mb") && !deploy.contains("--epochs"),
        "{deploy}"
    );
    let cost = help(&["cost", "--help"]);
    assert!(
        cost.contains("--instance-type") && !cost.contains("--bucket"),
        "{cost}"
    );
    let top = help(&["--help"]);
    assert!(
        !top.contains("--epochs") && !top.contains("--bucket"),
        "{top}"
    );
}

/// The positional BATCH of the exports is not the training batch size (the two once shared
/// one clap id and every export panicked before doing anything).
#[test]
fn exports_take_their_batch_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = common::cli(
        &[
            "labeling",
            "export-labelstudio",
            "no-such-batch",
            "--out",
            "ls",
        ],
        &[],
        dir.path(),
    );
    assert!(!ok, "a missing batch is an error");
    assert!(
        stderr.starts_with("omni-trainer: error:") && stderr.contains("no-such-batch"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (ok, _, stderr) = common::cli(&["train", "--batch", "sixteen"], &[], dir.path());
    assert!(!ok && stderr.contains("--batch"), "{stderr}");
}
