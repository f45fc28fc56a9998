//! Logs a host can read: `omni -vvv` through endpoint faults logs every capture, every failed
//! invocation with its class, every retry and every synced photo to stderr, keeps stdout pure
//! JSON, and no line at the most verbose level holds a secret (secret key, session token,
//! Authorization header, signature).

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use omni_e2e::{TestEndpoint, json_output, test_credentials};
use omni_endpoint::{FaultConfig, ModelChoice};

use crate::omni_with_credentials as omni;

#[test]
fn a_verbose_sync_through_faults_logs_each_attempt_and_no_secret() {
    const TOKEN: &str = "session-token-never-logged";
    let creds = test_credentials(Some(TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let photos: Vec<_> = (0..8)
        .map(|i| {
            let path = dir.path().join(format!("p{i}.jpg"));
            std::fs::write(&path, omni_e2e::jpeg(320, 240, i)).unwrap();
            path
        })
        .collect();
    let inspect = omni(&data, &creds)
        .args([
            "-vvv",
            "inspect",
            "--no-detect",
            "-c",
            "CSQU3054383",
            "--json",
        ])
        .args(&photos)
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{inspect:?}");
    let inspection = json_output(&inspect)["id"].as_str().unwrap().to_owned();
    let show = omni(&data, &creds)
        .args(["-q", "show", &inspection, "--json"])
        .output()
        .unwrap();
    assert!(show.stderr.is_empty(), "-q logs nothing: {show:?}");
    let ids: Vec<String> = json_output(&show)["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 8);

    let endpoint = TestEndpoint::start(
        ModelChoice::Null,
        FaultConfig {
            error_rate: 0.4,
            seed: 11,
            ..FaultConfig::default()
        },
        Some(creds.clone()),
    );
    let sync = omni(&data, &creds)
        .args(["-vvv", "sync", "--endpoint", &endpoint.url(), "--json"])
        .args([
            "--backoff-base-ms",
            "10",
            "--backoff-cap-ms",
            "50",
            "--throttle-base-ms",
            "10",
            "--give-up-after",
            "30",
        ])
        .output()
        .unwrap();
    assert!(sync.status.success(), "{sync:?}");
    let report = json_output(&sync); // logs never reach stdout
    assert_eq!(report["synced"], 8, "{report}");

    let stderr = [inspect.stderr, sync.stderr].concat();
    let text = String::from_utf8_lossy(&stderr);
    let lines: Vec<&str> = text.lines().collect();
    for id in &ids {
        for what in ["photo stored", "photo synced"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(what) && l.contains(id.as_str())),
                "{what} logged for {id}"
            );
        }
    }
    // Every failed invocation is logged with its class: retried ones (5xx) and throttled ones
    // (429, which pause the queue instead) alike; every retry with its delay.
    let failed = lines
        .iter()
        .filter(|l| l.contains("invocation failed") && l.contains("class="))
        .count() as u64;
    let retried = report["retried"].as_u64().unwrap();
    assert!(
        failed > 0 && failed >= retried,
        "{failed} failures logged, {retried} retried"
    );
    let retries = lines
        .iter()
        .filter(|l| l.contains("attempt failed, will retry") && l.contains("retry_in_ms="))
        .count() as u64;
    assert_eq!(retries, retried, "each retry logged with its delay");
    for secret in [
        creds.secret_access_key.as_str(),
        TOKEN,
        "Authorization",
        "authorization",
        "Signature=",
        "Credential=",
        "x-amz-security-token",
    ] {
        assert!(
            !text.contains(secret),
            "a log line holds {secret:?}: {}",
            lines.iter().find(|l| l.contains(secret)).unwrap_or(&"")
        );
    }
}
