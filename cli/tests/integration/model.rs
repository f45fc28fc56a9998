//! `omni model status|check|update|rollback` against a real HTTP server on loopback: one-line
//! refusals, the active model's identity on new results, rollback, a broken active model, and
//! SIGKILL during `omni model update`. (The updater itself is tested in the core's crate.)

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use omni_e2e::model_publish as publish;
use omni_e2e::model_server::StaticServer;
use publish::{
    MANIFEST_PATH, model_with_version, public_key_b64, publish, put_envelope, tampered_envelope,
};

use crate::success_json;

fn omni(dir: &Path) -> Command {
    let mut command = Command::new(crate::omni_bin());
    command
        .arg("--data-dir")
        .arg(dir)
        .env_remove("OMNI_MODEL_MANIFEST_URL")
        .env_remove("OMNI_MODEL_PUBLIC_KEYS");
    command
}

fn status_json(dir: &Path) -> serde_json::Value {
    success_json(
        &omni(dir)
            .args(["model", "status", "--json"])
            .output()
            .unwrap(),
    )
}

#[test]
fn cli_model_commands_update_report_and_refuse_in_one_line() {
    let server = StaticServer::start();
    let dir = tempfile::tempdir().unwrap();
    let status = status_json(dir.path());
    assert_eq!(status["in_use"], "bundled");
    let bytes = model_with_version("0.2.0");
    publish(&server, "0.2.0", &bytes, 1);
    let url = server.url(MANIFEST_PATH);
    let check = omni(dir.path())
        .args([
            "model",
            "check",
            "--json",
            "--manifest-url",
            &url,
            "--public-key",
        ])
        .arg(public_key_b64(1))
        .output()
        .unwrap();
    let check = success_json(&check);
    assert_eq!(check["outcome"], "available");
    assert_eq!(check["manifest"]["version"], "0.2.0");

    // Keys from the environment, comma-separated (an unknown one first).
    let update = omni(dir.path())
        .args(["model", "update", "--json"])
        .env("OMNI_MODEL_MANIFEST_URL", &url)
        .env(
            "OMNI_MODEL_PUBLIC_KEYS",
            format!("{},{}", public_key_b64(9), public_key_b64(1)),
        )
        .output()
        .unwrap();
    let update = success_json(&update);
    assert_eq!(update["outcome"], "installed");
    let status = status_json(dir.path());
    assert_eq!(status["in_use"], "active");
    assert_eq!(status["identity"]["version"], "0.2.0");
    assert_eq!(status["identity"]["sha256"], omni_e2e::sha256_hex(&bytes));

    // A bad signature: one error line, exit 1, nothing changed.
    let signed = publish::manifest_for("0.3.0", &bytes);
    let mut shown = signed.clone();
    shown.version = "0.3.1".parse().unwrap();
    put_envelope(&server, &tampered_envelope(&signed, &shown, 1));
    let refused = omni(dir.path())
        .args(["model", "update", "--manifest-url", &url, "--public-key"])
        .arg(public_key_b64(1))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("omni: error: update rejected: manifest signature"),
        "{stderr}"
    );

    // `omni detect`/`inspect` run the active model: the stored result carries its identity.
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, omni_e2e::jpeg(320, 240, 1)).unwrap();
    let inspect = omni(dir.path())
        .args(["inspect", "--container", "CSQU3054383", "--json"])
        .arg(&photo)
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains(&omni_e2e::sha256_hex(&bytes)), "{text}");

    // Rollback returns to the bundled model.
    let rollback = omni(dir.path())
        .args(["model", "rollback", "--json"])
        .output()
        .unwrap();
    let rollback = success_json(&rollback);
    assert_eq!(rollback["in_use"], "bundled");
    assert_eq!(rollback["from"], "0.2.0");
    // A broken active model makes inspect say so in one line and use the bundled model.
    std::fs::create_dir_all(dir.path().join("models/active")).unwrap();
    std::fs::write(dir.path().join("models/active/manifest.json"), b"{").unwrap();
    let inspect = omni(dir.path())
        .args(["inspect", "--container", "CSQU3054383", "--json"])
        .arg(&photo)
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let stderr = String::from_utf8_lossy(&inspect.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("active model unusable") && stderr.contains("bundled"),
        "{stderr}"
    );
}

/// SIGKILL `omni model update` at random moments, many times: after each kill the data
/// directory always yields a loadable model, and a slot's file is only ever used when it
/// matches its manifest.
#[test]
fn sigkill_during_update_never_leaves_an_unloadable_model() {
    let kills: usize = std::env::var("OMNI_REFRESH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let server = StaticServer::start();
    // Slow the body a little so kills also land mid-download.
    server.set_chunk_delay(Some(Duration::from_millis(3)));
    let dir = tempfile::tempdir().unwrap();
    let url = server.url(MANIFEST_PATH);
    let key = public_key_b64(1);
    let run_update = |dir: &Path| {
        omni(dir)
            .args([
                "model",
                "update",
                "--json",
                "--manifest-url",
                &url,
                "--public-key",
                &key,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };

    // Time one whole update to spread the kills over it.
    let mut version = (0u32, 2u32, 0u32);
    let next = |v: &mut (u32, u32, u32)| {
        v.2 += 1;
        if v.2 == 10 {
            v.2 = 0;
            v.1 += 1;
        }
        format!("{}.{}.{}", v.0, v.1, v.2)
    };
    let first = next(&mut version);
    publish(&server, &first, &model_with_version(&first), 1);
    let started = Instant::now();
    let output = run_update(dir.path()).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let full = started.elapsed();
    eprintln!("one full `omni model update`: {full:?}");

    let mut seen_states = std::collections::BTreeMap::<String, usize>::new();
    let mut in_use_counts = std::collections::BTreeMap::<String, usize>::new();
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..kills {
        // Every few rounds publish a new version, so kills hit downloads, checks and swaps.
        if i % 2 == 0 {
            let v = next(&mut version);
            publish(&server, &v, &model_with_version(&v), 1);
        }
        let delay = full.mul_f64(rng.f64() * 1.1);
        let mut child = run_update(dir.path());
        std::thread::sleep(delay);
        let killed = child.kill().is_ok();
        let exit = child.wait().unwrap();
        let state = format!(
            "{}{}{}{}",
            if dir.path().join("models/active").exists() {
                "A"
            } else {
                "-"
            },
            if dir.path().join("models/previous").exists() {
                "P"
            } else {
                "-"
            },
            if dir.path().join("models/staging/download.part").exists() {
                "d"
            } else {
                "-"
            },
            if dir.path().join("models/staging/next").exists() {
                "n"
            } else {
                "-"
            },
        );
        *seen_states.entry(state.clone()).or_default() += 1;

        // After the kill: a model loads, nothing was skipped (no slot is ever half-written;
        // a kill between the two renames of a swap leaves no active/, and previous/, the
        // model that was active, is used), and the file in use matches its manifest.
        let status = status_json(dir.path());
        let context =
            format!("round {i} (state {state}, killed {killed}, exit {exit:?}): {status}");
        assert_eq!(status["fallbacks"], serde_json::json!([]), "{context}");
        let in_use = status["in_use"].as_str().unwrap().to_owned();
        if in_use != "bundled" {
            let manifest = &status[in_use.as_str()];
            assert_eq!(
                status["identity"]["sha256"], manifest["sha256"],
                "{context}"
            );
            assert_eq!(
                status["identity"]["version"], manifest["version"],
                "{context}"
            );
            let file =
                std::fs::read(dir.path().join("models").join(&in_use).join("model.onnx")).unwrap();
            assert_eq!(
                serde_json::Value::from(omni_e2e::sha256_hex(&file)),
                manifest["sha256"],
                "{context}"
            );
        }
        *in_use_counts.entry(in_use).or_default() += 1;
    }
    eprintln!(
        "{kills} kills; states after them (A active, P previous, d partial download, n staged): \
         {seen_states:?}; model in use: {in_use_counts:?}"
    );

    // A final uninterrupted update completes from whatever was left.
    let output = run_update(dir.path()).wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let latest = format!("{}.{}.{}", version.0, version.1, version.2);
    assert_eq!(active_version(dir.path()).as_deref(), Some(latest.as_str()));
    assert!(!dir.path().join("models/staging/next").exists());
}

/// The version of the active model, as `omni model status` reports it.
fn active_version(dir: &Path) -> Option<String> {
    status_json(dir)["active"]["version"]
        .as_str()
        .map(str::to_owned)
}
