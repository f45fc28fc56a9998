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

/// Whether a full run (scripts/test.sh) asked for every external tool: then a missing one is a
/// failure, not a skip.
pub fn required() -> bool {
    std::env::var_os("OMNI_REQUIRE_PYTHON_TESTS").is_some()
}
