//! The device format of an edge model: the ONNX export decluttered once by tract at publish
//! time and written as a gzipped NNEF tar, read on the phone with `tract-nnef` alone, which
//! then runs codegen only. Weights may be stored as f16 (half the download), widened back to
//! f32 when the model is read. The ONNX file stays the source of truth (training, the cloud);
//! the Ultralytics metadata travels inside the tar as one property. Findings and numbers:
//! `docs/edge-detection.md`.

use std::collections::HashMap;
use std::io::{Cursor, Read as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tract_nnef::prelude::*;
use tract_nnef::tract_core::transform::get_transform;

use super::edge_model::ModelError;
use super::model_metadata::MetadataError;

/// The tar property holding the ONNX model's `metadata_props` (JSON object, base64: NNEF
/// string literals do not carry the quotes Ultralytics' values contain).
pub const METADATA_PROPERTY: &str = "omni_onnx_metadata_b64";

/// The most a device model may inflate to (YOLO11n's f32 tar is ~10.7 MB).
const MAX_TAR_BYTES: u64 = 512 * 1024 * 1024;

/// Weight precision of a device model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePrecision {
    /// f32, as exported.
    Float32,
    /// f16 weights and activations in the file; read back as f32 (rounded weights).
    Float16,
}

impl DevicePrecision {
    /// The manifest's `precision` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Float32 => "float32",
            Self::Float16 => "float16",
        }
    }
}

/// A device model made from an ONNX export, checked against it.
#[derive(Clone, Debug)]
pub struct DeviceExport {
    /// The gzipped NNEF tar.
    pub bytes: Vec<u8>,
    /// Largest difference of the raw box rows (input pixels) between the ONNX model and the
    /// device model read back, on one probe input.
    pub max_box_diff_px: f32,
    /// Largest difference of the raw class-score rows on the same input.
    pub max_score_diff: f32,
}

/// Whether `bytes` are a device model (gzip, or a bare tar) rather than ONNX (protobuf).
pub fn is_device_model(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || bytes.get(257..262) == Some(b"ustar".as_slice())
}

/// Converts an ONNX detection model to the device format, then reads the result back the way a
/// device does and compares both models' outputs on a probe input.
#[cfg(feature = "onnx")]
pub fn export(onnx: &[u8], precision: DevicePrecision) -> Result<DeviceExport, ModelError> {
    use super::edge_model::{EdgeModel, read_onnx};
    use std::io::Write as _;
    use tract_onnx::prelude::InferenceModelExt as _;
    let prepare = |e: TractError| ModelError::Prepare(format!("{e:#}"));
    let (model, props, meta) = read_onnx(onnx)?;
    let size = meta.imgsz.0 as usize;
    let mut typed = model
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .map_err(prepare)?;
    if precision == DevicePrecision::Float16 {
        translate(&mut typed, "f32_to_f16")?;
    }
    // tract-nnef makes NNEF identifiers of node names by replacing punctuation with `_`, so
    // `attn/Reshape.1.1` and `attn/Reshape_1.1` collide and the second shadows the first; and
    // the declutter's suffixes vary from run to run, so the tar was unreadable in some runs and
    // its bytes differed in all. Naming each node by its id makes identifiers unique and the
    // file the same for the same model.
    for node in &mut typed.nodes {
        node.name = format!("n{}", node.id);
    }
    // Sorted keys: the same model gives the same bytes.
    let sorted: std::collections::BTreeMap<_, _> = props.iter().collect();
    let encoded =
        serde_json::to_vec(&sorted).map_err(|e| ModelError::Prepare(format!("metadata: {e}")))?;
    typed.properties.clear();
    typed.properties.insert(
        METADATA_PROPERTY.to_owned(),
        rctensor0(BASE64.encode(encoded)),
    );
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut gz = tract_nnef::nnef()
        .write_to_tar_with_config(&typed, gz, false, true)
        .map_err(prepare)?;
    gz.flush()
        .map_err(|e| ModelError::Prepare(format!("gzip: {e}")))?;
    let bytes = gz
        .finish()
        .map_err(|e| ModelError::Prepare(format!("gzip: {e}")))?;

    let reference = EdgeModel::from_bytes(onnx, None, 1)?;
    let device = EdgeModel::from_bytes(&bytes, None, 1)?;
    let probe = probe_input(size);
    let run = |m: &EdgeModel| m.run(probe.clone()).map_err(ModelError::Prepare);
    let (expected, found) = (run(&reference)?, run(&device)?);
    let box_values = 4 * reference.anchors();
    let max_diff = |range: std::ops::Range<usize>| {
        expected[range.clone()]
            .iter()
            .zip(&found[range])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    };
    Ok(DeviceExport {
        max_box_diff_px: max_diff(0..box_values),
        max_score_diff: max_diff(box_values..expected.len().min(found.len())),
        bytes,
    })
}

/// The deterministic `1×3×S×S` input the export check (and `examples/model_load.rs`) runs:
/// `(i % 251) / 251`, every value in 0..1.
pub fn probe_input(size: usize) -> Vec<f32> {
    (0..3 * size * size)
        .map(|i| (i % 251) as f32 / 251.0)
        .collect()
}

/// Reads a device model: the decluttered graph (f32) and the ONNX metadata it carries.
pub(super) fn read(bytes: &[u8]) -> Result<(TypedModel, HashMap<String, String>), ModelError> {
    let invalid = |e: TractError| ModelError::InvalidDeviceModel(format!("{e:#}"));
    // Inflated whole first: gzip's CRC is checked only at the end of the stream, which the
    // tar reader does not reach, so a damaged file would otherwise load with wrong weights.
    let mut tar = Vec::new();
    let tar = if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_TAR_BYTES + 1)
            .read_to_end(&mut tar)
            .map_err(|e| ModelError::InvalidDeviceModel(format!("gzip: {e}")))?;
        if tar.len() as u64 > MAX_TAR_BYTES {
            return Err(ModelError::InvalidDeviceModel(format!(
                "inflates to more than {MAX_TAR_BYTES} bytes"
            )));
        }
        tar.as_slice()
    } else {
        bytes
    };
    let mut model = tract_nnef::nnef()
        .model_for_read(&mut Cursor::new(tar))
        .map_err(invalid)?;
    let encoded = model
        .properties
        .get(METADATA_PROPERTY)
        .and_then(|t| {
            t.try_as_plain_ram()
                .ok()?
                .to_scalar::<String>()
                .ok()
                .cloned()
        })
        .ok_or(MetadataError::Missing(METADATA_PROPERTY))?;
    let malformed = || MetadataError::Malformed {
        key: METADATA_PROPERTY,
        value: encoded.clone(),
    };
    let json = BASE64.decode(&encoded).map_err(|_| malformed())?;
    let props: HashMap<String, String> = serde_json::from_slice(&json).map_err(|_| malformed())?;
    let half = model.input_fact(0).map_err(invalid)?.datum_type == f16::datum_type();
    if half {
        translate(&mut model, "f16_to_f32")?;
    }
    Ok((model, props))
}

/// Applies one of tract's named model transforms.
fn translate(model: &mut TypedModel, name: &str) -> Result<(), ModelError> {
    let transform = get_transform(name)
        .map_err(|e| ModelError::Prepare(format!("{e:#}")))?
        .ok_or_else(|| ModelError::Prepare(format!("tract has no {name} transform")))?;
    transform
        .transform(model)
        .map_err(|e| ModelError::Prepare(format!("{name}: {e:#}")))
}
