//! `omni sync` on bad input: one clear line on stderr, exit 1, nothing changed.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use omni_core::{OmniConfig, OmniCore};
use omni_e2e::{TestEndpoint, fill_store, json_output, test_credentials};

use crate::omni_with_credentials as omni;
use omni_endpoint::ModelChoice;

fn one_line_error(output: &std::process::Output, needle: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("omni: error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{stderr}");
}

#[test]
fn bad_configuration_is_one_clear_line_and_the_queue_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(fill_store(dir.path(), 2, 64, 48));
    let creds = test_credentials(None);

    let mut no_creds = omni(dir.path(), &creds);
    no_creds
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["sync", "--endpoint", "http://127.0.0.1:9"]);
    one_line_error(&no_creds.output().unwrap(), "no AWS credentials");

    let insecure = omni(dir.path(), &creds)
        .args(["sync", "--endpoint", "http://example.com"])
        .output()
        .unwrap();
    one_line_error(&insecure, "refusing plain http://");

    // A zero pause or retry delay would hammer a throttling endpoint: refused before any
    // request (clap's usage error, exit 2).
    for flag in ["--throttle-base-ms", "--backoff-base-ms"] {
        let zero = omni(dir.path(), &creds)
            .args(["sync", "--endpoint", "http://127.0.0.1:9", flag, "0"])
            .output()
            .unwrap();
        assert_eq!(zero.status.code(), Some(2), "{flag} 0: {zero:?}");
        let stderr = String::from_utf8_lossy(&zero.stderr);
        assert!(stderr.contains(flag) && stderr.contains("'0'"), "{stderr}");
    }

    let unreachable = omni(dir.path(), &creds)
        .args([
            "sync",
            "--endpoint",
            "http://127.0.0.1:9",
            "--give-up-after",
            "2",
        ])
        .output()
        .unwrap();
    one_line_error(
        &unreachable,
        "endpoint unreachable, 2 photo(s) still queued",
    );

    let endpoint = TestEndpoint::accepting(ModelChoice::Null, &creds);
    let missing = omni(dir.path(), &creds)
        .args(["sync", "--endpoint", &endpoint.url()])
        .args(["--name", "omni-inspector-deleted", "--give-up-after", "2"])
        .output()
        .unwrap();
    one_line_error(
        &missing,
        "endpoint refused the requests, 2 photo(s) still queued: 400 ValidationError: Endpoint omni-inspector-deleted not found",
    );

    let core = OmniCore::open(OmniConfig::new(dir.path())).unwrap();
    let stats = core.stats().unwrap().photos;
    assert_eq!((stats.queued, stats.failed), (2, 0));
}

#[test]
fn sync_then_show_lists_edge_and_cloud_results_with_the_cloud_one_current() {
    let dir = tempfile::tempdir().unwrap();
    let creds = test_credentials(None);
    let photo = dir.path().join("p.jpg");
    std::fs::write(&photo, omni_e2e::jpeg(320, 240, 3)).unwrap();
    let data = dir.path().join("data");
    let inspect = omni(&data, &creds)
        .args(["inspect", "--container", "CSQU3054383", "--json"])
        .arg(&photo)
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{inspect:?}");
    let inspection_id = json_output(&inspect)["id"].as_str().unwrap().to_owned();

    let endpoint = TestEndpoint::accepting(ModelChoice::Bundled, &creds);
    let sync = omni(&data, &creds)
        .args(["sync", "--endpoint", &endpoint.url(), "--json"])
        .output()
        .unwrap();
    assert!(sync.status.success(), "{sync:?}");
    assert_eq!(json_output(&sync)["synced"], 1);

    let show = omni(&data, &creds)
        .args(["show", &inspection_id, "--json"])
        .output()
        .unwrap();
    let detail = json_output(&show);
    let photo = &detail["photos"][0];
    assert_eq!(photo["state"], "synced");
    assert_eq!(photo["current"], "cloud");
    let sources: Vec<&str> = photo["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["edge", "cloud"]);
    let text = omni(&data, &creds)
        .args(["show", &inspection_id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("cloud [current]"), "{text}");
}
