//! What a test needs from outside cargo (the Python test venv, moto in it, pdftotext, a tmpfs
//! it may mount): the one rule every crate's tests follow.
//!
//! A test whose tool is missing **fails**, with one message that names the tool, why it is
//! missing and how to get it (`bash scripts/test.sh` installs all of them). It is skipped only
//! where a variable named for that tool says so (`OMNI_SKIP_PYTHON_TESTS=1`, …, see
//! `docs/testing.md`); a skip prints `skipped <test>: <why>` to stderr, so that a green run
//! says what it did not run.
//!
//! Standard library only: `omni-report`'s tests include this file by path (they do not link
//! `omni-e2e`, which would bring the phone core and the servers into their build).

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Skips every test that needs the Python test venv (or a tool in it: moto, botocore,
/// onnxruntime, cfn-lint, the SageMaker SDK, Label Studio's converter).
pub const SKIP_PYTHON: &str = "OMNI_SKIP_PYTHON_TESTS";
/// Skips the tests that read a PDF back with poppler's `pdftotext`.
pub const SKIP_PDFTOTEXT: &str = "OMNI_SKIP_PDFTOTEXT_TESTS";
/// Skips the tests that mount a small tmpfs (they need root, or the right to mount).
pub const SKIP_MOUNT: &str = "OMNI_SKIP_MOUNT_TESTS";
/// Where the test venv's Python is; `<workspace>/.venv/bin/python` when unset.
pub const TEST_PYTHON: &str = "OMNI_TEST_PYTHON";

/// How to get everything the tests need.
pub const HOW_TO_GET: &str =
    "`bash scripts/test.sh` installs it (the venv: .venv from tools/requirements-test.txt)";

/// The running test's name (libtest names each test's thread after it).
pub fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "this test".to_owned(),
    }
}

/// The rule: `found`, or else — `what` being missing for the reason in the error — the test
/// fails with a message saying `how` to get it, unless one of `skip_vars` is set (non-empty
/// and not `0`): then it prints `skipped <test>: …` to stderr and returns `None`, and the
/// test returns.
pub fn require<T>(
    found: Result<T, String>,
    what: &str,
    how: &str,
    skip_vars: &[&str],
) -> Option<T> {
    let why = match found {
        Ok(found) => return Some(found),
        Err(why) => why,
    };
    let test = test_name();
    if let Some(var) = skip_vars.iter().find(|v| is_set(v)) {
        // Straight to the process's stderr: libtest captures `eprintln!` of passing tests,
        // and a skip must show in a green run.
        let _ = writeln!(
            std::io::stderr(),
            "skipped {test}: it needs {what}, which is missing ({why}); {var} is set"
        );
        return None;
    }
    let skip = skip_vars
        .iter()
        .map(|v| format!("{v}=1"))
        .collect::<Vec<_>>()
        .join(" or ");
    panic!("{test} needs {what}, which is missing: {why}. {how}; or set {skip} to skip it");
}

/// Whether `var` is set to something other than empty or `0`.
pub fn is_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The workspace root: the nearest directory above the calling crate with a `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Where the test venv's Python is: `OMNI_TEST_PYTHON`, or `<workspace>/.venv/bin/python`
/// (what `bash scripts/test.sh` makes), or why neither is there.
pub fn find_test_python() -> Result<PathBuf, String> {
    match std::env::var_os(TEST_PYTHON) {
        Some(set) if !set.is_empty() => {
            let python = PathBuf::from(set);
            if python.exists() {
                Ok(python)
            } else {
                Err(format!("{TEST_PYTHON}={} does not exist", python.display()))
            }
        }
        _ => {
            let python = workspace_root().join(".venv/bin/python");
            if python.exists() {
                Ok(python)
            } else {
                Err(format!(
                    "{TEST_PYTHON} is not set and there is no {}",
                    python.display()
                ))
            }
        }
    }
}

/// The Python of the test venv (onnxruntime, numpy, moto, botocore, Pillow, cfn-lint, …), or
/// `None` when the test is to be skipped ([`SKIP_PYTHON`] or one of `more_skip_vars` set);
/// a missing venv otherwise fails the test.
pub fn test_python_or_skip(more_skip_vars: &[&str]) -> Option<PathBuf> {
    let mut skip_vars = vec![SKIP_PYTHON];
    skip_vars.extend_from_slice(more_skip_vars);
    require(
        find_test_python(),
        "the Python test venv",
        HOW_TO_GET,
        &skip_vars,
    )
}

/// Whether `python` can import every module of `modules`: `Err` names those it cannot.
pub fn python_imports(python: &Path, modules: &[&str]) -> Result<(), String> {
    let script = format!("import {}", modules.join(", "));
    match std::process::Command::new(python)
        .args(["-c", &script])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{} cannot `{script}`: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        Err(e) => Err(format!("cannot run {}: {e}", python.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_is_returned() {
        assert_eq!(
            require(Ok(3), "x", "get x", &["OMNI_TEST_NEVER_SET"]),
            Some(3)
        );
    }

    #[test]
    fn missing_fails_with_what_why_how_and_the_skip_variable() {
        let panic = std::panic::catch_unwind(|| {
            require::<()>(
                Err("not on PATH".into()),
                "the frobnicator",
                "apt-get install frob",
                &["OMNI_TEST_NEVER_SET"],
            )
        })
        .expect_err("a missing tool fails");
        let message = panic.downcast_ref::<String>().expect("a message");
        for part in [
            "missing_fails_with_what_why_how_and_the_skip_variable",
            "the frobnicator",
            "not on PATH",
            "apt-get install frob",
            "OMNI_TEST_NEVER_SET=1",
        ] {
            assert!(message.contains(part), "{part:?} not in {message:?}");
        }
    }

    #[test]
    fn a_set_skip_variable_skips() {
        // PATH is always set: standing in for a skip variable.
        assert_eq!(require::<()>(Err("gone".into()), "x", "y", &["PATH"]), None);
    }

    #[test]
    fn the_workspace_root_holds_the_lock_file() {
        assert!(workspace_root().join("Cargo.lock").is_file());
        assert!(workspace_root().join("scripts/test.sh").is_file());
    }
}
