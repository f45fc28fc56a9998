//! Helpers shared by the core's integration tests.

#![allow(dead_code, missing_docs, unused_imports)]

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

/// A real JPEG of `width`×`height` with content that depends on `seed`.
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Jpeg)
}

/// A real PNG of `width`×`height`.
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Png)
}

fn encode(width: u32, height: u32, seed: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(7) ^ y.wrapping_mul(13) ^ seed.wrapping_mul(2_654_435_761);
        Rgb([
            (v & 0xff) as u8,
            ((v >> 8) & 0xff) as u8,
            (x + y + seed) as u8,
        ])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encode test image");
    bytes
}

/// Lowercase hex SHA-256, computed independently of the core.
pub use omni_e2e::sha256_hex;

/// `core/tests/fixtures/<rel>`.
pub use omni_e2e::core_fixture as fixture;

/// The Python of the test venv (onnxruntime, numpy), or `None` when it is not set up.
/// Under `scripts/test.sh` (`OMNI_REQUIRE_PYTHON_TESTS=1`) a missing venv is a failure.
pub fn test_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("OMNI_TEST_PYTHON").map(std::path::PathBuf::from);
    match python {
        Some(p) if p.exists() => Some(p),
        _ if std::env::var_os("OMNI_REQUIRE_PYTHON_TESTS").is_some() => {
            panic!("OMNI_TEST_PYTHON must point at the test venv's python (scripts/test.sh)")
        }
        _ => {
            eprintln!("skipping: OMNI_TEST_PYTHON not set (run scripts/test.sh)");
            None
        }
    }
}

/// Runs a script under `tools/` with the test venv's Python; returns its stdout.
pub fn run_python(python: &std::path::Path, script: &str, args: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::process::Command::new(python)
        .arg(root.join(script))
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
