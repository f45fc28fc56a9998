//! The CLI's integration tests in one binary: each file is a module (one link of tract and
//! the test helpers). They run the `omni` binary of this build, which cargo provides as
//! `CARGO_BIN_EXE_omni` to the tests of the package that owns it; no test runs cargo.

mod commands;
mod doc_commands;
mod logs;
mod model;
mod office;
mod sync;
mod sync_chaos;

/// The `omni` binary of this build.
fn omni_bin() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_omni"))
}

/// An `omni` command of this build on `data_dir`, signing with `credentials`.
fn omni_with_credentials(
    data_dir: &std::path::Path,
    credentials: &omni_core::cloud::Credentials,
) -> std::process::Command {
    omni_e2e::omni_command(omni_bin(), data_dir, credentials)
}

/// Spawns `sync` (its output discarded), waits until `reached()` holds, checking every
/// `every` for at most `timeout` (the run must not end before), then kills it with SIGKILL
/// mid-run.
fn kill_mid_run(
    mut sync: std::process::Command,
    what: &str,
    timeout: std::time::Duration,
    every: std::time::Duration,
    mut reached: impl FnMut() -> bool,
) {
    use std::process::Stdio;
    let mut child = sync
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn omni sync");
    omni_e2e::wait_until(what, timeout, every, || {
        reached() || {
            let running = child.try_wait().expect("try_wait").is_none();
            assert!(running, "sync ended before the kill");
            false
        }
    });
    child.kill().expect("kill"); // SIGKILL on Unix
    child.wait().expect("wait");
}

/// The JSON a command printed on stdout, once it has succeeded (its stderr is the failure
/// message).
fn success_json(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    omni_e2e::json_output(output)
}

/// The JSON report of an `omni sync … --json` run that succeeded and stopped idle.
fn idle_sync_report(output: &std::process::Output) -> serde_json::Value {
    let report = success_json(output);
    assert_eq!(report["stopped"]["reason"], "idle", "{report}");
    report
}
