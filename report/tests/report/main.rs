//! omni-report's tests: the deterministic report, Nova against a local Bedrock Runtime
//! stand-in (its wire format checked with botocore), the PDF read back with pdftotext, and bad
//! input.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;
mod standin;

mod bad_input;
mod botocore;
mod nova;
mod pdf;
mod rules;

/// The workspace's one rule for what a test needs from outside cargo (here the test venv's
/// botocore and poppler's pdftotext): missing is a failure unless a named variable says to
/// skip. Included by path: linking `omni-e2e` would bring the phone core into this build.
#[path = "../../../tests/src/needs.rs"]
#[allow(dead_code)]
mod needs;

/// The workspace's one copy of running a child process with input on its stdin (botocore's
/// script reads its spec there); included by path for the same reason.
#[path = "../../../tests/src/process.rs"]
#[allow(dead_code)]
mod process;
