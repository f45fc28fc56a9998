//! Loading an Ultralytics YOLO11 detection model with tract — exported to ONNX (float32 or int8
//! QDQ), or the device format (an NNEF tar decluttered at publish time, see
//! [`super::device_model`]) — with metadata checks and a fixed `1×3×S×S` input, optimised once,
//! reused for every image.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tract_nnef::prelude::*;
use tract_nnef::tract_core::runtime::RunOptions;

use super::device_model;
use super::model_metadata::{MetadataError, ModelMetadata};
use crate::detections::ModelIdentity;
use omni_protocol::digest::sha256_hex;

/// Why a model was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file could not be read.
    #[error("cannot read model {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not a parseable ONNX model (truncated, corrupt, or another format).
    #[error("not a loadable ONNX model: {0}")]
    InvalidOnnx(String),
    /// Looks like a device model (gzip or tar) but is not a readable one.
    #[error("not a loadable device model (NNEF): {0}")]
    InvalidDeviceModel(String),
    /// The Ultralytics metadata is missing or malformed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The model is not a detection model.
    #[error("model task is {task:?}, expected \"detect\"")]
    NotDetect {
        /// The model's task.
        task: String,
    },
    /// The model's classes differ from the configured ones.
    #[error("model classes {found:?} differ from the configured classes {expected:?}")]
    ClassMismatch {
        /// Configured.
        expected: Vec<String>,
        /// In the model.
        found: Vec<String>,
    },
    /// The input size is not square or not a multiple of the stride.
    #[error("model input {height}x{width} must be square and a multiple of stride {stride}")]
    InputSize {
        /// Height.
        height: u32,
        /// Width.
        width: u32,
        /// Stride.
        stride: u32,
    },
    /// The output is not `[1, 4 + classes, anchors]`.
    #[error("model output shape {found} is not [1, {expected_rows}, anchors]")]
    OutputShape {
        /// The shape found.
        found: String,
        /// 4 + number of classes.
        expected_rows: usize,
    },
    /// tract could not type, optimise or plan the graph.
    #[error("model cannot be prepared: {0}")]
    Prepare(String),
}

/// A loaded, optimised YOLO11 detection model.
pub struct EdgeModel {
    plan: Arc<TypedRunnableModel>,
    identity: ModelIdentity,
    classes: Vec<String>,
    input_size: u32,
    stride: u32,
    anchors: usize,
    load_ms: f64,
}

impl std::fmt::Debug for EdgeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeModel")
            .field("identity", &self.identity)
            .field("classes", &self.classes)
            .field("input_size", &self.input_size)
            .field("anchors", &self.anchors)
            .finish_non_exhaustive()
    }
}

impl EdgeModel {
    /// Loads the model at `path`. `expected_classes` (if any) must equal the model's names;
    /// `threads` > 1 uses tract's multithreaded matrix products.
    pub fn from_path(
        path: &Path,
        expected_classes: Option<&[&str]>,
        threads: usize,
    ) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes, expected_classes, threads)
    }

    /// Loads a model from its bytes, ONNX or the device format (told apart by their first
    /// bytes); see [`EdgeModel::from_path`].
    pub fn from_bytes(
        bytes: &[u8],
        expected_classes: Option<&[&str]>,
        threads: usize,
    ) -> Result<Self, ModelError> {
        let started = Instant::now();
        let prepare = |e: TractError| ModelError::Prepare(format!("{e:#}"));
        let (meta, typed) = if device_model::is_device_model(bytes) {
            let (mut model, props) = device_model::read(bytes)?;
            let meta = checked_metadata(&props, expected_classes)?;
            let size = meta.imgsz.0 as usize;
            let input = model.input_fact(0).map_err(prepare)?;
            if input.datum_type != f32::datum_type()
                || input.shape.as_concrete() != Some(&[1, 3, size, size])
            {
                return Err(ModelError::Prepare(format!(
                    "device model input is {input:?}, expected f32 1x3x{size}x{size}"
                )));
            }
            // Decluttered at publish time: codegen only (`into_optimized` would declutter again).
            model.optimize().map_err(prepare)?;
            (meta, model)
        } else {
            optimized_onnx(bytes, expected_classes)?
        };
        let height = meta.imgsz.0;
        let expected_rows = 4 + meta.names.len();
        let output_shape = typed
            .output_fact(0)
            .map_err(prepare)?
            .shape
            .as_concrete()
            .map(<[usize]>::to_vec);
        let anchors = match output_shape.as_deref() {
            Some([1, rows, anchors]) if *rows == expected_rows && *anchors > 0 => *anchors,
            other => {
                return Err(ModelError::OutputShape {
                    found: format!("{other:?}"),
                    expected_rows,
                });
            }
        };
        let options = RunOptions {
            executor: (threads > 1).then(|| multithread::Executor::multithread(threads)),
            ..RunOptions::default()
        };
        let plan = typed
            .into_runnable_with_options(&options)
            .map_err(prepare)?;
        Ok(Self {
            plan,
            identity: ModelIdentity {
                name: meta.model_name,
                version: meta.model_version,
                sha256: sha256_hex(bytes),
            },
            classes: meta.names,
            input_size: height,
            stride: meta.stride,
            anchors,
            load_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Name, version and SHA-256 of the model file.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// Class names in id order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Input side S (the model takes `1×3×S×S`).
    pub fn input_size(&self) -> u32 {
        self.input_size
    }

    /// Largest feature stride.
    pub fn stride(&self) -> u32 {
        self.stride
    }

    /// Number of candidate boxes per image.
    pub fn anchors(&self) -> usize {
        self.anchors
    }

    /// Time spent loading and optimising, in milliseconds.
    pub fn load_ms(&self) -> f64 {
        self.load_ms
    }

    /// Runs the model on a `1×3×S×S` CHW tensor in 0..=1; returns the raw output
    /// `[4 + classes, anchors]`, row-major.
    pub fn run(&self, input: Vec<f32>) -> Result<Vec<f32>, String> {
        let size = self.input_size as usize;
        let tensor =
            Tensor::from_shape(&[1, 3, size, size], &input).map_err(|e| format!("{e:#}"))?;
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(|e| format!("{e:#}"))?;
        let output = outputs.first().ok_or("model produced no output")?;
        let view = output.try_as_plain_ram().map_err(|e| format!("{e:#}"))?;
        let values = view.as_slice::<f32>().map_err(|e| format!("{e:#}"))?;
        Ok(values.to_vec())
    }
}

/// The model's metadata, refused unless it describes a square `detect` model with the expected
/// classes.
fn checked_metadata(
    props: &HashMap<String, String>,
    expected_classes: Option<&[&str]>,
) -> Result<ModelMetadata, ModelError> {
    let meta = ModelMetadata::parse(props)?;
    if meta.task != "detect" {
        return Err(ModelError::NotDetect { task: meta.task });
    }
    if let Some(expected) = expected_classes
        && meta
            .names
            .iter()
            .map(String::as_str)
            .ne(expected.iter().copied())
    {
        return Err(ModelError::ClassMismatch {
            expected: expected.iter().map(|s| (*s).to_owned()).collect(),
            found: meta.names,
        });
    }
    let (height, width) = meta.imgsz;
    if height != width || height % meta.stride != 0 {
        return Err(ModelError::InputSize {
            height,
            width,
            stride: meta.stride,
        });
    }
    Ok(meta)
}

/// An ONNX model, its metadata checked, optimised for its `1×3×S×S` input.
#[cfg(feature = "onnx")]
fn optimized_onnx(
    bytes: &[u8],
    expected_classes: Option<&[&str]>,
) -> Result<(ModelMetadata, TypedModel), ModelError> {
    use tract_onnx::prelude::InferenceModelExt as _;
    let (model, props, _) = read_onnx(bytes)?;
    let meta = checked_metadata(&props, expected_classes)?;
    let typed = model
        .into_optimized()
        .map_err(|e| ModelError::Prepare(format!("{e:#}")))?;
    Ok((meta, typed))
}

/// This build reads the device format only.
#[cfg(not(feature = "onnx"))]
fn optimized_onnx(
    _bytes: &[u8],
    _expected_classes: Option<&[&str]>,
) -> Result<(ModelMetadata, TypedModel), ModelError> {
    Err(ModelError::InvalidOnnx(
        "this build reads the device format only (omni-core without its `onnx` feature)".into(),
    ))
}

/// Parses ONNX bytes: the model with its input fixed to `1×3×H×W` from the metadata, the
/// metadata as key/value pairs, and parsed (not yet checked against expectations).
#[cfg(feature = "onnx")]
pub(super) fn read_onnx(
    bytes: &[u8],
) -> Result<
    (
        tract_onnx::prelude::InferenceModel,
        HashMap<String, String>,
        ModelMetadata,
    ),
    ModelError,
> {
    use tract_onnx::prelude::Framework as _;
    let mut model = tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .map_err(|e| ModelError::InvalidOnnx(format!("{e:#}")))?;
    let props = metadata_props(&model.properties);
    let meta = ModelMetadata::parse(&props)?;
    let (height, width) = (meta.imgsz.0 as usize, meta.imgsz.1 as usize);
    model
        .set_input_fact(0, f32::fact([1, 3, height, width]).into())
        .map_err(|e| ModelError::Prepare(format!("{e:#}")))?;
    Ok((model, props, meta))
}

/// The ONNX `metadata_props`, as tract keeps them in the model properties.
#[cfg(feature = "onnx")]
fn metadata_props(properties: &HashMap<String, Arc<Tensor>>) -> HashMap<String, String> {
    properties
        .iter()
        .filter_map(|(key, value)| {
            let key = key.strip_prefix("onnx.metadata_props.")?;
            let value = value
                .try_as_plain_ram()
                .ok()?
                .to_scalar::<String>()
                .ok()?
                .clone();
            Some((key.to_owned(), value))
        })
        .collect()
}
