//! The `omni` binary end to end: exit codes, one-line errors, JSON output.

use std::path::Path;
use std::process::{Command, Output};

use crate::success_json as json;

fn omni(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(crate::omni_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run omni")
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
            "--no-detect",
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
    for command in ["inspect", "detect", "list", "show", "stats"] {
        assert!(help.contains(command), "{command} in --help");
    }
}

#[test]
fn inspect_runs_the_bundled_edge_model_and_detect_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let annotated = dir.path().join("annotated");
    let detail = json(&omni(
        dir.path(),
        &[
            "inspect",
            "--container",
            "MSCU6639870",
            "--json",
            "--annotate",
            annotated.to_str().expect("utf-8"),
            "samples/container-03.jpg",
        ],
    ));
    let results = detail["photos"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "one edge result");
    assert_eq!(results[0]["source"], "edge");
    assert_eq!(results[0]["image_width"], 1600);
    let photo_id = detail["photos"][0]["id"].as_str().expect("id");
    assert!(
        annotated.join(format!("{photo_id}.jpg")).exists(),
        "annotated JPEG written"
    );

    // Nothing is pending for the same model; running it again by id is a no-op.
    let pending = json(&omni(dir.path(), &["detect", "--pending", "--json"]));
    assert_eq!(pending.as_array().map(Vec::len), Some(0));
    let again = json(&omni(dir.path(), &["detect", photo_id, "--json"]));
    assert_eq!(again[0]["outcome"], "already_done");

    // A photo stored without detection is pending until `detect --pending` runs.
    json(&omni(
        dir.path(),
        &[
            "inspect",
            "--container",
            "MSCU6639870",
            "--no-detect",
            "--json",
            "samples/container-04.jpg",
        ],
    ));
    let ran = json(&omni(dir.path(), &["detect", "--pending", "--json"]));
    assert_eq!(ran.as_array().map(Vec::len), Some(1));
    assert_eq!(ran[0]["outcome"], "detected");
}

#[test]
fn a_bad_model_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = omni(
        dir.path(),
        &[
            "inspect",
            "--container",
            "CSQU3054383",
            "--model",
            "core/tests/fixtures/models/not-detect-classify.onnx",
            "samples/container-01.jpg",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("classify"), "{stderr}");
}

#[test]
fn bad_eval_data_and_unknown_photos_are_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let split = dir.path().join("val");
    std::fs::create_dir_all(split.join("images")).expect("mkdir");
    std::fs::create_dir_all(split.join("labels")).expect("mkdir");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/container-01.jpg"),
        split.join("images/a.jpg"),
    )
    .expect("copy");
    std::fs::write(
        split.join("labels/a.txt"),
        "0 0.5 0.5 0.2 0.2\n9 0.5 0.5 0.1 0.1\n",
    )
    .expect("label");
    let missing = dir.path().join("no-such-dataset");
    for (args, expect) in [
        (
            vec!["eval", "--data", missing.to_str().expect("utf-8")],
            "no images directory",
        ),
        (
            vec!["eval", "--data", dir.path().to_str().expect("utf-8")],
            "a.txt:2: class 9 out of range",
        ),
        (
            vec!["detect", "01a22124-6fb0-746a-97e7-86138413a339"],
            "not found",
        ),
    ] {
        let output = omni(&dir.path().join("data"), &args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
}

#[test]
fn a_moved_database_loses_no_photo_and_recover_brings_them_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let detail = json(&omni(
        dir.path(),
        &[
            "inspect",
            "--container",
            "CSQU3054383",
            "--json",
            "--no-detect",
            "samples/container-01.jpg",
            "samples/container-02.jpg",
        ],
    ));
    let originals: Vec<(String, String)> = detail["photos"]
        .as_array()
        .expect("photos")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["sha256"].as_str().expect("sha").to_owned(),
            )
        })
        .collect();
    // The database is moved aside (e.g. after a Corrupt report).
    let aside = tempfile::tempdir().expect("aside");
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("inspections.sqlite3{suffix}");
        if dir.path().join(&name).exists() {
            std::fs::rename(dir.path().join(&name), aside.path().join(&name)).expect("move");
        }
    }
    let stats = omni(dir.path(), &["stats", "--json"]);
    let stderr = String::from_utf8_lossy(&stats.stderr);
    assert!(
        stderr.contains("2 photo file(s) without a database row moved to photos/orphans/"),
        "{stderr}"
    );
    assert!(stderr.contains("omni recover"), "{stderr}");
    assert_eq!(json(&stats)["photos"]["queued"], 0);

    let listed = json(&omni(dir.path(), &["recover", "--json"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    let refused = omni(dir.path(), &["recover", "--container", "CSQU3054384"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("invalid container number"));

    let report = json(&omni(
        dir.path(),
        &["recover", "--container", "CSQU3054383", "--json"],
    ));
    assert_eq!(report["adopted"].as_array().map(Vec::len), Some(2));
    assert!(report["inspection"]["recovered_at"].is_string(), "{report}");
    let id = report["inspection"]["id"].as_str().expect("inspection id");
    let shown = json(&omni(dir.path(), &["show", id, "--json"]));
    for (photo_id, sha) in &originals {
        let photo = shown["photos"]
            .as_array()
            .expect("photos")
            .iter()
            .find(|p| p["id"] == photo_id.as_str())
            .unwrap_or_else(|| panic!("photo {photo_id} recovered: {shown}"));
        assert_eq!(photo["sha256"], sha.as_str());
        assert_eq!(photo["state"], "queued");
    }
}

#[test]
fn inspect_with_a_kind_and_faces_reports_the_faces_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "inspect",
        "--container",
        "CSQU3054383",
        "--kind",
        "gate-out",
        "--face",
        "D",
        "--face",
        "x",
        "--no-detect",
    ];
    let mut with_json = args.to_vec();
    with_json.extend([
        "--json",
        "samples/container-01.jpg",
        "samples/container-02.jpg",
    ]);
    let detail = json(&omni(dir.path(), &with_json));
    assert_eq!(detail["kind"], "gate-out");
    assert_eq!(detail["photos"][0]["face"], "D");
    assert_eq!(detail["photos"][1]["face"], "X");
    assert_eq!(
        detail["faces"]["missing"],
        serde_json::json!(["F", "L", "R", "T"])
    );

    let mut text = args.to_vec();
    text.extend(["samples/container-03.jpg", "samples/container-04.jpg"]);
    let out = omni(dir.path(), &text);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("photographed D X; missing F L R T"),
        "{stdout}"
    );
}

#[test]
fn an_unknown_face_kind_or_face_count_is_one_clear_error_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (extra, says) in [
        (
            &["--face", "Q"][..],
            "expected one of F, D, L, R, T, U, I, X",
        ),
        (&["--kind", "gate-sideways"][..], "unknown inspection kind"),
        (
            &["--face", "F", "--face", "D", "--face", "L"][..],
            "--face was given 3 times",
        ),
    ] {
        let mut args = vec!["inspect", "--container", "CSQU3054383", "--no-detect"];
        args.extend_from_slice(extra);
        args.extend(["samples/container-01.jpg", "samples/container-02.jpg"]);
        let out = omni(dir.path(), &args);
        assert!(!out.status.success(), "{extra:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    let stats = json(&omni(dir.path(), &["stats", "--json"]));
    assert_eq!(stats["inspections"], 0);
}
