//! `omni-office inspections list|show|export` on an embedded store; errors are one line
//! and a non-zero exit.

use std::process::Command;

use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::DetectStatus;

use crate::common::{CONTAINER, OTHER_CONTAINER, inspection, jpeg, photo_record};

fn office(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_omni-office"))
        .args(args)
        .env_remove("OMNI_OFFICE_TABLE")
        .env_remove("OMNI_OFFICE_BUCKET")
        .env_remove("OMNI_OFFICE_DATA")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_and_export_read_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    for (id, container, at) in [
        ("old", CONTAINER, 1_600_000_000_000),
        ("new", CONTAINER, 1_700_000_000_000),
        ("other", OTHER_CONTAINER, 1_700_000_100_000),
    ] {
        let i = omni_office::validate::inspection(id, inspection(container, at, 1), at).unwrap();
        store.put_inspection(&i).await.unwrap();
    }
    let bytes = jpeg(1);
    let photo = photo_record("new", "p1", &bytes, 1_700_000_000_500);
    store
        .put_photo(&photo, &bytes, DetectStatus::None)
        .await
        .unwrap();
    store
        .mark_reviewed("old", "ana", 1_700_000_200_000)
        .await
        .unwrap();
    drop(store);
    let data = dir.path().to_str().unwrap();

    let (ok, out, err) = office(&["inspections", "list", "--data-dir", data]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("other") && lines[2].starts_with("old"),
        "{out}"
    );

    let (ok, out, err) = office(&[
        "inspections",
        "list",
        "--data-dir",
        data,
        "--json",
        "--container",
        "csqu3054383",
        "--since",
        "2023-01-01",
    ]);
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(list[0]["id"], "new");
    assert_eq!(list[0]["photo_count"], 1);

    // Reviewed or not, and whose.
    let ids = |args: &[&str]| {
        let mut all = vec!["inspections", "list", "--data-dir", data];
        all.extend_from_slice(args);
        let (ok, out, err) = office(&all);
        assert!(ok, "{args:?}: {err}");
        let words: Vec<String> = out
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect();
        (words, out)
    };
    let (reviewed, out) = ids(&["--reviewed", "true"]);
    assert_eq!(reviewed, ["old"]);
    assert!(out.trim_end().ends_with("REVIEWED"), "{out}");
    let (open, _) = ids(&["--reviewed", "false", "--inspector", "inspector-7"]);
    assert_eq!(open, ["other", "new"]);
    assert!(ids(&["--inspector", "inspector-9"]).0.is_empty());
    let (ok, _, err) = office(&[
        "inspections",
        "list",
        "--data-dir",
        data,
        "--inspector",
        " ",
    ]);
    assert!(!ok && err.contains("--inspector"), "{err}");
    let (ok, out, err) = office(&["inspections", "show", "old", "--data-dir", data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("reviewed by ana at 2023-11-14T22:16:40.000Z"),
        "{out}"
    );

    let (ok, out, err) = office(&["inspections", "show", "new", "--data-dir", data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("container CSQU3054383") && out.contains("photo p1"),
        "{out}"
    );
    let (ok, out, _) = office(&["inspections", "show", "new", "--data-dir", data, "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["photos"][0]["photo"]["sha256"], photo.sha256);

    let csv = dir.path().join("export.csv");
    let (ok, _, err) = office(&[
        "inspections",
        "export",
        "--data-dir",
        data,
        "--since",
        "2023-11-01",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].starts_with("id,container_number,"));
    assert!(
        rows[1].starts_with("other,MSCU1234566,") && rows[2].starts_with("new,CSQU3054383,"),
        "{text}"
    );
    let (ok, out, _) = office(&["inspections", "export", "--data-dir", data, "--json"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn errors_are_one_line_and_a_failure_exit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    for args in [
        vec![
            "inspections",
            "list",
            "--data-dir",
            missing.to_str().unwrap(),
        ],
        vec![
            "inspections",
            "show",
            "nope",
            "--data-dir",
            missing.to_str().unwrap(),
        ],
    ] {
        let (ok, _, err) = office(&args);
        assert!(!ok);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("omni-office: error: no office store in"),
            "{err}"
        );
    }
    // A bad --since on an existing store.
    EmbeddedStore::open(dir.path()).unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, _, err) = office(&[
        "inspections",
        "list",
        "--data-dir",
        data,
        "--since",
        "yesterday",
    ]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--since") || err.contains("not a date"),
        "{err}"
    );
    let (ok, _, err) = office(&["inspections", "show", "nope", "--data-dir", data]);
    assert!(!ok);
    assert_eq!(err.trim(), "omni-office: error: no inspection nope");
    // serve without credentials.
    let out = Command::new(env!("CARGO_BIN_EXE_omni-office"))
        .args(["serve", "--data-dir", data, "--listen", "127.0.0.1:0"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("credentials"), "{err}");
    let (ok, out, _) = office(&["--help"]);
    assert!(ok && out.contains("inspections") && out.contains("serve"));
}
