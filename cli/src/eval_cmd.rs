//! `omni eval`: score a model on a YOLO-format validation set. It reads a data set, not a
//! data directory, so it runs a detector itself instead of going through the core's front
//! door.

use std::path::PathBuf;

use omni_core::detect::{Detector as _, EdgeDetector, EdgeDetectorConfig, PostprocessConfig};
use omni_core::{bundled_model, evaluation};

use crate::error::{CliError, CliResult};
use crate::render;

/// `omni eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// ONNX model to evaluate (default: the bundled demo model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Data set root (with val/images, val/labels) or a split directory.
    #[arg(long)]
    data: PathBuf,
    /// Minimum class score kept (as Ultralytics val).
    #[arg(long, default_value_t = PostprocessConfig::ultralytics_val().confidence)]
    conf: f32,
    /// NMS IoU threshold.
    #[arg(long, default_value_t = PostprocessConfig::ultralytics_val().iou)]
    iou: f32,
    /// Threads for inference.
    #[arg(long, default_value_t = EdgeDetectorConfig::default().threads)]
    threads: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `omni eval`.
pub fn eval(args: EvalArgs) -> CliResult {
    let config = EdgeDetectorConfig {
        // As Ultralytics' val does (multi-label), so the numbers are comparable.
        postprocess: PostprocessConfig {
            confidence: args.conf,
            iou: args.iou,
            ..PostprocessConfig::ultralytics_val()
        },
        threads: args.threads.max(1),
        ..EdgeDetectorConfig::default()
    };
    let detector = match &args.model {
        Some(path) => EdgeDetector::from_path(path, &config).map_err(|source| CliError::Model {
            what: path.display().to_string(),
            source,
        })?,
        None => bundled_model::detector(&config).map_err(|source| CliError::Model {
            what: "bundled model".to_owned(),
            source,
        })?,
    };
    let classes = detector.model().classes().to_vec();
    let progress = crate::progress_bar(0, args.json);
    let metrics = evaluation::evaluate(&detector, &args.data, &classes, |done, total| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    })?;
    progress.finish_and_clear();
    if args.json {
        render::print_json(&metrics)
    } else {
        render::print_metrics(detector.identity(), &metrics);
        Ok(())
    }
}
