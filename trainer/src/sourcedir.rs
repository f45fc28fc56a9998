//! The SageMaker entry scripts, compiled into the binary so the tool is self-contained, and
//! their packaging as `sourcedir.tar.gz` (what SageMaker framework containers download from
//! `sagemaker_submit_directory` and run `sagemaker_program` from).

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{Result, TrainerError};

/// The training entry script.
pub const TRAIN_PY: &[u8] = include_bytes!("../sagemaker/train.py");
/// Its Softmax graph surgery helper.
pub const TRACT_SURGERY_PY: &[u8] = include_bytes!("../sagemaker/tract_surgery.py");
/// Packages the training container installs.
pub const REQUIREMENTS_TXT: &[u8] = include_bytes!("../sagemaker/requirements.txt");
/// The endpoint's inference handler (`code/inference.py` in the deployed `model.tar.gz`).
pub const INFERENCE_PY: &[u8] = include_bytes!("../sagemaker/inference.py");
/// Packages the inference container installs (`code/requirements.txt`).
pub const INFERENCE_REQUIREMENTS_TXT: &[u8] =
    include_bytes!("../sagemaker/inference-requirements.txt");

/// The entry script's name (`sagemaker_program`).
pub const PROGRAM: &str = "train.py";

/// Files of the source directory: the embedded scripts, or every regular, non-hidden file of
/// `dir` (no `__pycache__`) when given.
pub fn files(dir: Option<&Path>) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(dir) = dir else {
        return Ok(vec![
            (PROGRAM.into(), TRAIN_PY.to_vec()),
            ("tract_surgery.py".into(), TRACT_SURGERY_PY.to_vec()),
            ("requirements.txt".into(), REQUIREMENTS_TXT.to_vec()),
        ]);
    };
    let mut out = Vec::new();
    for path in crate::dataset::list_files(dir)? {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&path).map_err(TrainerError::io(&path))?;
        out.push((name, bytes));
    }
    if !out.iter().any(|(n, _)| n == PROGRAM) {
        return Err(TrainerError::Input(format!(
            "{}: no {PROGRAM}",
            dir.display()
        )));
    }
    Ok(out)
}

/// A reproducible `.tar.gz` of `files` (mode 0644, mtime 0), paths as given.
pub fn tar_gz(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| TrainerError::Input(format!("tar: {e}"));
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .map_err(io)?;
    }
    let mut gz = builder.into_inner().map_err(io)?;
    gz.flush().map_err(io)?;
    gz.finish().map_err(io)
}

/// The entries of a `.tar.gz` (regular files only), paths without a leading `./`.
pub fn untar_gz(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    use std::io::Read;
    let io = |e: std::io::Error| TrainerError::Input(format!("model.tar.gz: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = Vec::new();
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(io)?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(io)?;
        out.push((path, data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reproducible() {
        let files = files(None).expect("embedded");
        assert!(files.iter().any(|(n, _)| n == "train.py"));
        let a = tar_gz(&files).expect("tar");
        assert_eq!(a, tar_gz(&files).expect("tar"));
        assert_eq!(untar_gz(&a).expect("untar"), files);
    }
}
