//! The `omni` binary end to end: exit codes, one-line errors, JSON output.

use std::path::Path;
use std::process::{Command, Output};

fn omni(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omni"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run omni")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON on stdout")
}

#[test]
fn inspect_samples_then_list_show_stats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let detail = json(&omni(
        dir.path(),
        &[
            "inspect",
            "--container",
            "csqu 305438-3",
            "--json",
            "samples/container-01.jpg",
            "samples/container-02.jpg",
        ],
    ));
    assert_eq!(detail["container_number"], "CSQU3054383");
    assert_eq!(detail["photos"].as_array().map(Vec::len), Some(2));
    assert_eq!(detail["photos"][0]["state"], "queued");
    let id = detail["id"].as_str().expect("id");

    let list = json(&omni(dir.path(), &["list", "--json", "--state", "queued"]));
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["photos"]["queued"], 2);

    let shown = json(&omni(dir.path(), &["show", id, "--json"]));
    assert_eq!(shown["id"], id);

    let stats = json(&omni(dir.path(), &["stats", "--json"]));
    assert_eq!(stats["inspections"], 1);
    assert_eq!(stats["photos"]["queued"], 2);

    let text = omni(dir.path(), &["show", id]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("CSQU3054383"));
}

#[test]
fn failures_exit_non_zero_with_one_line_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &[
            "inspect",
            "--container",
            "CSQU3054384",
            "samples/container-01.jpg",
        ][..],
        &[
            "inspect",
            "--container",
            "CSQU3054383",
            "samples/container-01.jpg",
            "README.md",
        ],
        &["inspect", "--container", "CSQU3054383", "no/such/file.jpg"],
        &["show", "01a22124-6fb0-746a-97e7-86138413a339"],
    ] {
        let output = omni(dir.path(), args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: one line, got {stderr:?}"
        );
        assert!(stderr.starts_with("omni: error: "), "{stderr}");
    }
    let stats = json(&omni(dir.path(), &["stats", "--json"]));
    assert_eq!(stats["inspections"], 0, "nothing half-stored");
}

#[test]
fn help_is_available() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = omni(dir.path(), &["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["inspect", "list", "show", "stats"] {
        assert!(help.contains(command), "{command} in --help");
    }
}
