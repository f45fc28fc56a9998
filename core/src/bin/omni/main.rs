//! `omni`: the desktop command-line front of the Omni-Inspector core.

mod annotate;
mod model_cmd;
mod render;
mod sync_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use omni_core::detect::{Detector, EdgeDetector, EdgeDetectorConfig, PostprocessConfig};
use omni_core::model_refresh::ModelStore;
use omni_core::{
    ContainerNumber, DetectOutcome, InspectionFilter, InspectionId, Inspector, InspectorConfig,
    Location, NewInspection, PhotoId, PhotoState, Recovery, bundled_model, evaluation, photo_probe,
};

/// Omni-Inspector: capture container photos, queue them durably, inspect the results.
#[derive(Parser)]
#[command(name = "omni", version, about)]
struct Cli {
    /// Data directory (database and photos). Defaults to the platform's data directory.
    #[arg(long, global = true, env = "OMNI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// How edge detection runs.
#[derive(clap::Args)]
struct EdgeArgs {
    /// ONNX model to run instead of the bundled demo model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Threads for inference.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Minimum class score.
    #[arg(long, default_value_t = 0.25)]
    conf: f32,
    /// NMS IoU threshold.
    #[arg(long, default_value_t = 0.7)]
    iou: f32,
    /// Most detections per photo.
    #[arg(long, default_value_t = 300)]
    max_det: usize,
    /// Write a JPEG per photo with labelled boxes into this directory.
    #[arg(long)]
    annotate: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Create an inspection of one container and add photos to it.
    Inspect {
        /// ISO 6346 container number, e.g. CSQU3054383.
        #[arg(long, short)]
        container: String,
        /// Who inspects.
        #[arg(long)]
        inspector: Option<String>,
        /// Free-text notes.
        #[arg(long)]
        notes: Option<String>,
        /// Latitude in degrees (with --lon).
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        /// Longitude in degrees (with --lat).
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Location accuracy in metres.
        #[arg(long, requires = "lat")]
        accuracy: Option<f64>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Store the photos without running edge detection.
        #[arg(long)]
        no_detect: bool,
        #[command(flatten)]
        edge: EdgeArgs,
        /// Photo files (JPEG or PNG).
        #[arg(required = true)]
        photos: Vec<PathBuf>,
    },
    /// Run edge detection on stored photos (by photo id, or all still pending).
    Detect {
        /// Every photo without a result from this model (unreadable ones excluded).
        #[arg(long, conflicts_with = "ids")]
        pending: bool,
        /// Photo ids.
        #[arg(required_unless_present = "pending")]
        ids: Vec<PhotoId>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        edge: EdgeArgs,
    },
    /// Score a model on a YOLO-format validation set: mAP50 and mAP50-95 per class.
    Eval {
        /// ONNX model to evaluate (default: the bundled demo model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Data set root (with val/images, val/labels) or a split directory.
        #[arg(long)]
        data: PathBuf,
        /// Minimum class score kept (Ultralytics val uses 0.001).
        #[arg(long, default_value_t = 0.001)]
        conf: f32,
        /// NMS IoU threshold.
        #[arg(long, default_value_t = 0.7)]
        iou: f32,
        /// Threads for inference.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List inspections, newest first.
    List {
        /// Only inspections with a photo in this state (queued, synced, failed).
        #[arg(long)]
        state: Option<PhotoState>,
        /// Only inspections of this container.
        #[arg(long)]
        container: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one inspection with its photos and detections.
    Show {
        /// Inspection id.
        id: InspectionId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send queued photos to the SageMaker endpoint and store the cloud results.
    Sync(sync_cmd::SyncArgs),
    /// Refresh the on-device model from a signed manifest: status, check, update, rollback.
    Model(model_cmd::ModelArgs),
    /// List or re-adopt photo files quarantined in photos/orphans/ (files whose database
    /// row was lost): adopted photos form one new inspection marked as recovered.
    Recover {
        /// The container the quarantined photos show (a photo file does not record it).
        /// Without it, only lists what is in quarantine.
        #[arg(long, short)]
        container: Option<String>,
        /// Who recovers (or took) them.
        #[arg(long)]
        inspector: Option<String>,
        /// Only these photo ids (default: every quarantined photo).
        ids: Vec<PhotoId>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Count inspections and photos per state.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("omni: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command; an error comes back as the one line to print.
fn run(cli: Cli) -> Result<(), String> {
    if let Command::Eval {
        model,
        data,
        conf,
        iou,
        threads,
        json,
    } = &cli.command
    {
        // Evaluation reads a data set, not the inspections store.
        let edge = EdgeArgs {
            model: model.clone(),
            threads: *threads,
            conf: *conf,
            iou: *iou,
            max_det: 300,
            annotate: None,
        };
        let mut detector = load_detector(&edge, None)?;
        // As Ultralytics' val does (multi-label), so the numbers are comparable.
        detector.set_postprocess(PostprocessConfig {
            confidence: *conf,
            iou: *iou,
            ..PostprocessConfig::ultralytics_val()
        });
        let classes = detector.model().classes().to_vec();
        let progress = progress_bar(0, *json);
        let metrics = evaluation::evaluate(&detector, data, &classes, |done, total| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
        })
        .map_err(|e| e.to_string())?;
        progress.finish_and_clear();
        return if *json {
            render::print_json(&metrics)
        } else {
            render::print_metrics(detector.identity(), &metrics);
            Ok(())
        };
    }
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => dirs::data_dir()
            .ok_or("no platform data directory; pass --data-dir or set OMNI_DATA_DIR")?
            .join("omni-inspector"),
    };
    let command = match cli.command {
        // The model commands touch only <data_dir>/models (with their own lock).
        Command::Model(args) => return model_cmd::run(&data_dir, args),
        command => command,
    };
    let config = InspectorConfig::default();
    let photo_limits = config.photo_limits;
    let inspector = Inspector::open(&data_dir, config).map_err(|e| e.to_string())?;
    let report = inspector.open_report();
    if !report.orphans_quarantined.is_empty()
        || !report.files_restored.is_empty()
        || !report.missing_files.is_empty()
    {
        eprintln!(
            "omni: repaired data directory: {} photo file(s) without a database row moved to photos/orphans/, {} put back beside their row, {} photo(s) missing their file marked failed",
            report.orphans_quarantined.len(),
            report.files_restored.len(),
            report.missing_files.len()
        );
    }
    if report.quarantined > 0 && !matches!(command, Command::Recover { .. }) {
        eprintln!(
            "omni: {} file(s) wait in photos/orphans/; `omni recover --container NUMBER` re-adopts them",
            report.quarantined
        );
    }
    match command {
        Command::Inspect {
            container,
            inspector: inspector_id,
            notes,
            lat,
            lon,
            accuracy,
            json,
            no_detect,
            edge,
            photos,
        } => {
            let container_number = ContainerNumber::parse(&container)
                .map_err(|e| format!("invalid container number {container:?}: {e}"))?;
            // Read and check every file first: a bad last path must not leave half an
            // inspection behind.
            let mut contents = Vec::with_capacity(photos.len());
            for path in &photos {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                photo_probe::probe(&bytes, photo_limits)
                    .map_err(|e| format!("{}: photo refused: {e}", path.display()))?;
                let captured_at = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .unwrap_or_else(|_| SystemTime::now());
                contents.push((path, bytes, captured_at));
            }
            let inspection = inspector
                .create_inspection(NewInspection {
                    container_number,
                    inspector_id,
                    location: lat.zip(lon).map(|(latitude, longitude)| Location {
                        latitude,
                        longitude,
                        accuracy_m: accuracy,
                    }),
                    notes,
                })
                .map_err(|e| e.to_string())?;
            let progress = progress_bar(contents.len() as u64, json);
            for (path, bytes, captured_at) in contents {
                progress.set_message(path.display().to_string());
                inspector
                    .add_photo(inspection.id, &bytes, captured_at)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                progress.inc(1);
            }
            progress.finish_and_clear();
            inspector
                .close_inspection(inspection.id)
                .map_err(|e| e.to_string())?;
            if !no_detect {
                let detector = load_detector(&edge, Some(&data_dir))?;
                let ids: Vec<PhotoId> = inspector
                    .inspection(inspection.id)
                    .map_err(|e| e.to_string())?
                    .photos
                    .iter()
                    .map(|p| p.photo.id)
                    .collect();
                let reports = detect_photos(&inspector, &detector, &ids, &edge, json)?;
                if !json {
                    println!(
                        "Inspection {} of {}: {} photo(s) stored, queued for the cloud",
                        inspection.id,
                        inspection.container_number,
                        ids.len()
                    );
                    render::print_detect_reports(&reports);
                    return Ok(());
                }
            }
            let detail = inspector
                .inspection(inspection.id)
                .map_err(|e| e.to_string())?;
            if json {
                render::print_json(&detail)
            } else {
                render::print_detail(&detail);
                Ok(())
            }
        }
        Command::Detect {
            pending,
            ids,
            json,
            edge,
        } => {
            let detector = load_detector(&edge, Some(&data_dir))?;
            let ids = if pending {
                inspector
                    .pending_detection(&detector.identity().sha256, u32::MAX)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|p| p.id)
                    .collect()
            } else {
                ids
            };
            let reports = detect_photos(&inspector, &detector, &ids, &edge, json)?;
            if json {
                render::print_json(&reports)
            } else {
                render::print_detect_reports(&reports);
                Ok(())
            }
        }
        Command::Eval { .. } => unreachable!("handled before the store is opened"),
        Command::List {
            state,
            container,
            limit,
            offset,
            json,
        } => {
            let container_number = container
                .map(|c| {
                    ContainerNumber::parse(&c)
                        .map_err(|e| format!("invalid container number {c:?}: {e}"))
                })
                .transpose()?;
            let summaries = inspector
                .list_inspections(&InspectionFilter {
                    photo_state: state,
                    container_number,
                    limit: Some(limit),
                    offset,
                })
                .map_err(|e| e.to_string())?;
            if json {
                render::print_json(&summaries)
            } else {
                render::print_summaries(&summaries);
                Ok(())
            }
        }
        Command::Show { id, json } => {
            let detail = inspector.inspection(id).map_err(|e| e.to_string())?;
            if json {
                render::print_json(&detail)
            } else {
                render::print_detail(&detail);
                Ok(())
            }
        }
        Command::Stats { json } => {
            let stats = inspector.stats().map_err(|e| e.to_string())?;
            if json {
                render::print_json(&stats)
            } else {
                render::print_stats(&stats);
                Ok(())
            }
        }
        Command::Sync(args) => sync_cmd::run(inspector, args),
        Command::Recover {
            container,
            inspector: inspector_id,
            ids,
            json,
        } => {
            let Some(container) = container else {
                let files = inspector.quarantined_files().map_err(|e| e.to_string())?;
                return if json {
                    render::print_json(&files)
                } else {
                    render::print_quarantined(&files);
                    Ok(())
                };
            };
            let container_number = ContainerNumber::parse(&container)
                .map_err(|e| format!("invalid container number {container:?}: {e}"))?;
            let report = inspector
                .recover_quarantined(Recovery {
                    container_number,
                    inspector_id,
                    only: (!ids.is_empty()).then_some(ids),
                })
                .map_err(|e| e.to_string())?;
            if json {
                render::print_json(&report)
            } else {
                render::print_recover_report(&report);
                Ok(())
            }
        }
        Command::Model(_) => unreachable!("handled before the store is opened"),
    }
}

/// Loads the model named by `--model`; else the refreshed model of `data_dir` (active, then
/// previous), else the bundled demo model. Prints one line when an installed model was skipped.
fn load_detector(edge: &EdgeArgs, data_dir: Option<&Path>) -> Result<EdgeDetector, String> {
    let config = EdgeDetectorConfig {
        postprocess: PostprocessConfig {
            confidence: edge.conf,
            iou: edge.iou,
            max_detections: edge.max_det,
            multi_label: false,
        },
        threads: edge.threads.max(1),
        ..EdgeDetectorConfig::default()
    };
    match (&edge.model, data_dir) {
        (Some(path), _) => {
            EdgeDetector::from_path(path, &config).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Some(dir)) => {
            let loaded = ModelStore::new(dir)
                .load(&config)
                .map_err(|e| e.to_string())?;
            if let Some(first) = loaded.fallbacks.first() {
                eprintln!(
                    "omni: {} model unusable ({}); using the {} model",
                    first.slot.as_str(),
                    first.reason,
                    loaded.slot.as_str()
                );
            }
            Ok(loaded.detector)
        }
        (None, None) => bundled_model::detector(&config).map_err(|e| format!("bundled model: {e}")),
    }
}

/// Runs edge detection on `ids`, with a progress bar, writing annotated copies if asked.
fn detect_photos(
    inspector: &Inspector,
    detector: &EdgeDetector,
    ids: &[PhotoId],
    edge: &EdgeArgs,
    quiet: bool,
) -> Result<Vec<render::DetectReport>, String> {
    if let Some(dir) = &edge.annotate {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let progress = progress_bar(ids.len() as u64, quiet);
    let mut reports = Vec::with_capacity(ids.len());
    for id in ids {
        progress.set_message(id.to_string());
        let outcome = inspector
            .detect_photo(detector, *id)
            .map_err(|e| format!("photo {id}: {e}"))?;
        let result = match &outcome {
            DetectOutcome::Detected(result) => Some(result.detections.clone()),
            DetectOutcome::AlreadyDone => inspector
                .stored_results(*id)
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|r| r.detections.model.sha256 == detector.identity().sha256)
                .map(|r| r.detections),
            DetectOutcome::Unreadable { .. } => None,
        };
        if let (Some(dir), Some(detections)) = (&edge.annotate, &result) {
            let photo = inspector.photo(*id).map_err(|e| e.to_string())?;
            let path = inspector.photo_path(&photo);
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            annotate::write_annotated(&bytes, detections, &dir.join(format!("{id}.jpg")))?;
        }
        reports.push(render::DetectReport {
            photo_id: *id,
            outcome,
            detections: result,
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(reports)
}

/// A progress bar on stderr, hidden for single items and JSON output (`len` 0: set later).
fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || len == 1 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}
