//! `omni inspect` and `omni detect`: store photos durably and run the edge model on them.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use omni_core::detect::{EdgeDetectorConfig, PostprocessConfig};
use omni_core::{
    ContainerNumber, DetectOutcome, Face, Location, NewInspection, OmniConfig, OmniCore, PhotoId,
    Timestamp, photo_probe,
};

use crate::error::{ApiContext as _, CliError, CliResult};
use crate::{annotate, render};

/// How edge detection runs.
#[derive(clap::Args)]
pub struct EdgeArgs {
    /// ONNX model to run instead of the installed or bundled one.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Threads for inference.
    #[arg(long, default_value_t = EdgeDetectorConfig::default().threads)]
    threads: usize,
    /// Minimum class score.
    #[arg(long, default_value_t = PostprocessConfig::default().confidence)]
    conf: f32,
    /// NMS IoU threshold.
    #[arg(long, default_value_t = PostprocessConfig::default().iou)]
    iou: f32,
    /// Most detections per photo.
    #[arg(long, default_value_t = PostprocessConfig::default().max_detections)]
    max_det: usize,
    /// Write a JPEG per photo with labelled boxes into this directory.
    #[arg(long)]
    annotate: Option<PathBuf>,
}

impl EdgeArgs {
    /// The core's settings for these flags on `data_dir`.
    fn config(&self, data_dir: PathBuf) -> OmniConfig {
        let mut config = OmniConfig::new(data_dir);
        config.pinned_model = self.model.clone();
        config.threads = self.threads.max(1);
        config.postprocess = PostprocessConfig {
            confidence: self.conf,
            iou: self.iou,
            max_detections: self.max_det,
            ..PostprocessConfig::default()
        };
        config
    }
}

/// `omni inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
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
    /// The inspection kind (gate-in, gate-out, damage-survey, off-hire): it names the faces
    /// to photograph; the faces missing are reported when the inspection closes.
    #[arg(long)]
    kind: Option<String>,
    /// The container face each photo shows, a CEDEX letter: F front, D door, L left,
    /// R right, T roof, U understructure, I interior, X whole container. Once for every
    /// photo, or once per photo in order (default X).
    #[arg(long, value_parser = parse_face)]
    face: Vec<Face>,
    #[command(flatten)]
    edge: EdgeArgs,
    /// Photo files (JPEG or PNG).
    #[arg(required = true)]
    photos: Vec<PathBuf>,
}

/// `omni detect`.
#[derive(clap::Args)]
pub struct DetectArgs {
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
}

/// Parses a face letter (upper or lower case), or says which letters exist.
fn parse_face(input: &str) -> Result<Face, String> {
    Face::parse(&input.to_ascii_uppercase()).map_err(|e| e.to_string())
}

/// The face of photo `index` of `count` for the `--face` flags given.
fn face_of(faces: &[Face], index: usize, count: usize) -> CliResult<Face> {
    match faces.len() {
        0 => Ok(Face::Whole),
        1 => Ok(faces[0]),
        n if n == count => Ok(faces[index]),
        n => Err(CliError::Usage(format!(
            "--face was given {n} times for {count} photo(s): give it once for every photo, or once per photo"
        ))),
    }
}

/// Parses a container number as typed (spaces, dashes and lower case are fine).
pub fn parse_container(input: &str) -> CliResult<ContainerNumber> {
    ContainerNumber::parse(input).map_err(|source| CliError::ContainerNumber {
        input: input.to_owned(),
        source,
    })
}

/// Runs `omni inspect`: one inspection, its photos stored and queued, then (unless
/// `--no-detect`) the edge model on each.
pub fn inspect(data_dir: PathBuf, args: InspectArgs) -> CliResult {
    let container_number = parse_container(&args.container)?;
    face_of(&args.face, 0, args.photos.len())?;
    let config = args.edge.config(data_dir);
    // Read and check every file first: a bad last path must not leave half an inspection
    // behind.
    let limits = config.inspector.photo_limits;
    let mut contents = Vec::with_capacity(args.photos.len());
    for path in &args.photos {
        let bytes = std::fs::read(path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        photo_probe::probe(&bytes, limits).map_err(|source| CliError::PhotoRefused {
            path: path.clone(),
            source,
        })?;
        let captured_at = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        contents.push((path, bytes, Timestamp::from(captured_at)));
    }
    let core = crate::open_core(config, true)?;
    let inspection = core.create_inspection(NewInspection {
        container_number,
        inspector_id: args.inspector,
        location: args
            .lat
            .zip(args.lon)
            .map(|(latitude, longitude)| Location {
                latitude,
                longitude,
                accuracy_m: args.accuracy,
            }),
        notes: args.notes,
        kind: args.kind,
    })?;
    let progress = crate::progress_bar(contents.len() as u64, args.json);
    let count = contents.len();
    for (index, (path, bytes, captured_at)) in contents.into_iter().enumerate() {
        progress.set_message(path.display().to_string());
        let face = face_of(&args.face, index, count)?;
        core.add_photo(inspection.id, &bytes, captured_at, face)
            .on(|| path.display().to_string())?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let closed = core.close_inspection(inspection.id)?;
    if !args.no_detect {
        warn_skipped_models(&core);
        let ids: Vec<PhotoId> = core
            .inspection(inspection.id)?
            .photos
            .iter()
            .map(|p| p.photo.id)
            .collect();
        let reports = detect_photos(&core, &ids, args.edge.annotate.as_deref(), args.json)?;
        if !args.json {
            println!(
                "Inspection {} of {}: {} photo(s) stored, queued for the cloud",
                inspection.id,
                inspection.container_number,
                ids.len()
            );
            render::print_missing_faces(&closed);
            render::print_detect_reports(&reports);
            return Ok(());
        }
    }
    let detail = core.inspection(inspection.id)?;
    if args.json {
        render::print_json(&detail)
    } else {
        render::print_detail(&detail);
        Ok(())
    }
}

/// Runs `omni detect`.
pub fn detect(data_dir: PathBuf, args: DetectArgs) -> CliResult {
    let core = crate::open_core(args.edge.config(data_dir), true)?;
    warn_skipped_models(&core);
    let ids = if args.pending {
        core.pending_detection(u32::MAX)?
            .into_iter()
            .map(|p| p.id)
            .collect()
    } else {
        args.ids
    };
    let reports = detect_photos(&core, &ids, args.edge.annotate.as_deref(), args.json)?;
    if args.json {
        render::print_json(&reports)
    } else {
        render::print_detect_reports(&reports);
        Ok(())
    }
}

/// One line when an installed model was skipped for the one in use.
fn warn_skipped_models(core: &OmniCore) {
    if let Some(first) = core.model_fallbacks().first() {
        let in_use = core.current_slot().map_or("pinned", |slot| slot.as_str());
        eprintln!(
            "omni: {} model unusable ({}); using the {in_use} model",
            first.slot.as_str(),
            first.reason,
        );
    }
}

/// Runs the model in use on `ids`, with a progress bar, writing annotated copies into
/// `annotate` if given.
fn detect_photos(
    core: &OmniCore,
    ids: &[PhotoId],
    annotate: Option<&Path>,
    quiet: bool,
) -> CliResult<Vec<render::DetectReport>> {
    if let Some(dir) = annotate {
        std::fs::create_dir_all(dir).map_err(|source| CliError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let model_sha256 = core.current_model().sha256;
    let progress = crate::progress_bar(ids.len() as u64, quiet);
    let mut reports = Vec::with_capacity(ids.len());
    for &id in ids {
        progress.set_message(id.to_string());
        let outcome = core.detect_photo(id).on(|| format!("photo {id}"))?;
        let detections = match &outcome {
            DetectOutcome::Detected(result) => Some(result.detections.clone()),
            DetectOutcome::AlreadyDone => core
                .photo(id)
                .on(|| format!("photo {id}"))?
                .results
                .into_iter()
                .find(|r| r.detections.model.sha256 == model_sha256)
                .map(|r| r.detections),
            DetectOutcome::Unreadable { .. } => None,
        };
        if let (Some(dir), Some(detections)) = (annotate, &detections) {
            let bytes = core.photo_bytes(id).on(|| format!("photo {id}"))?;
            annotate::write_annotated(&bytes, detections, &dir.join(format!("{id}.jpg")))
                .map_err(|source| CliError::Annotate { photo: id, source })?;
        }
        reports.push(render::DetectReport {
            photo_id: id,
            outcome,
            detections,
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(reports)
}
