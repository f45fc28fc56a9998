//! `office/template.yaml` passes cfn-lint (from the test venv, tools/requirements-test.txt);
//! a template with a fault does not, so the check can fail.

use std::path::{Path, PathBuf};
use std::process::Command;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("template.yaml")
}

/// Runs cfn-lint on `path`; its success and its report.
fn cfn_lint(python: &Path, path: &Path) -> (bool, String) {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
        ])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_deploy_template_passes_cfn_lint() {
    // A missing venv fails the test unless OMNI_SKIP_PYTHON_TESTS is set.
    let Some(python) = omni_e2e::test_python() else {
        return;
    };
    let (ok, report) = cfn_lint(&python, &template());
    assert!(ok, "cfn-lint office/template.yaml:\n{report}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(template()).unwrap();
    std::fs::write(
        &broken,
        text.replace("BillingMode: PAY_PER_REQUEST", "BillingMode: PAY_PER_WISH"),
    )
    .unwrap();
    let (ok, report) = cfn_lint(&python, &broken);
    assert!(!ok, "a broken template passed cfn-lint:\n{report}");
}
