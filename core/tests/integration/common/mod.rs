//! Helpers of the core's integration tests; the ones the crates share come from `omni_e2e`.

/// Generated test photos, the test venv's Python, the shared fixtures.
pub use omni_e2e::{core_fixture as fixture, jpeg, png, sha256_hex, test_python};

/// Runs a script under `tools/` with the test venv's Python; returns its stdout.
pub fn run_python(python: &std::path::Path, script: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(python)
        .arg(omni_e2e::repo_path(script))
        .args(args)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Writes f32 values as raw little-endian bytes.
pub fn write_f32(path: &std::path::Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write f32");
}

/// Reads raw little-endian f32 values.
pub fn read_f32(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("read f32")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
