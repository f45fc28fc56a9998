//! The tests' child processes (the one copy of each): a command run with input on its
//! standard input (botocore scripts reading a JSON spec, `omni-office users add` reading a
//! password), and a command that must succeed, its stderr the failure's message.
//!
//! Also included by path where linking `omni-e2e` would bring the phone core into a build
//! (omni-report's tests), so it uses only the standard library.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

/// Runs `command` with `input` written to its standard input (then closed), its stdout and
/// stderr captured; its output, whatever its exit.
#[track_caller]
pub fn output_with_stdin(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(input)
        .unwrap_or_else(|e| panic!("write the input of {command:?}: {e}"));
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {command:?}: {e}"))
}

/// Asserts that `out` is a successful exit; its stderr is the failure's message.
#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `command` (stdout and stderr captured) and asserts that it succeeded
/// ([`assert_success`]); its output.
#[track_caller]
pub fn output_ok(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert_success(&out);
    out
}
