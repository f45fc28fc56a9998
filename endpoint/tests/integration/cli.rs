//! `omni-endpoint` on bad input: one clear line, exit 1, nothing served.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::process::Command;

fn one_line_error(args: &[&str], env_creds: bool, needle: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_omni-endpoint"));
    cmd.args(["--listen", "127.0.0.1:0"]).args(args);
    if env_creds {
        cmd.env("AWS_ACCESS_KEY_ID", "a")
            .env("AWS_SECRET_ACCESS_KEY", "b");
    } else {
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
    }
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("omni-endpoint: error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{stderr}");
}

#[test]
fn garbage_flags_and_missing_credentials_are_refused() {
    one_line_error(&[], false, "no AWS credentials");
    one_line_error(
        &["--error-rate", "2"],
        true,
        "--error-rate must be between 0 and 1",
    );
    one_line_error(
        &["--drop-rate=-0.1"],
        true,
        "--drop-rate must be between 0 and 1",
    );
    one_line_error(
        &["--max-concurrency", "0"],
        true,
        "--max-concurrency must be at least 1",
    );
    one_line_error(
        &["--idle-scale-down-s", "60"],
        true,
        "--idle-scale-down-s needs --cold-start-ms",
    );
    one_line_error(
        &["--no-auth", "--model", "/nonexistent/model.onnx"],
        false,
        "model:",
    );
}
