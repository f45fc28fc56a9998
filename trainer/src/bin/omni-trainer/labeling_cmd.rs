//! The `labeling` commands and `dataset merge` of the command line (`docs/labeling.md`).

// Ground Truth labeling jobs (start-groundtruth, wait-groundtruth), beside this file.
#[path = "groundtruth_cmd.rs"]
mod groundtruth_cmd;

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use omni_trainer::TrainerError;
use omni_trainer::dataset::merge::{self, DatasetManifest};
use omni_trainer::labeling::reviewed::{self, ReviewedOptions};
use omni_trainer::labeling::select::{self, Known, SelectOptions, Strategy};
use omni_trainer::labeling::source::{OfficeSource, PhoneSource, PhotoSource};
use omni_trainer::labeling::{batch, export, labelstudio};
use omni_trainer::s3uri::S3Uri;
use serde_json::json;

use crate::output::{bar, draw, print_json};

/// The labeling loop: select photos, export them with pre-annotations, import the labels.
#[derive(Subcommand, Debug)]
pub enum LabelingCommand {
    /// Choose the photos worth labelling next and write them as a batch folder with batch.json.
    Select(Box<SelectArgs>),
    /// Label Studio tasks (with the model's boxes as predictions) and labeling config.
    ExportLabelstudio {
        /// The batch folder.
        batch: PathBuf,
        /// Prefix of the image URLs (the batch's images/ as Label Studio serves them).
        #[arg(long, default_value = "/data/local-files/?d=images/")]
        url_prefix: String,
        /// Output folder (tasks.json, labeling-config.xml).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import Label Studio's JSON export into a labelled pool (images/ + labels/).
    ImportLabelstudio {
        /// The export (JSON).
        export: PathBuf,
        /// Where the images are (the batch's images/).
        #[arg(long)]
        images: PathBuf,
        /// Output pool (then `dataset merge`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import the photos reviewed in the office (inspections marked reviewed) into a
    /// labelled pool: each photo's latest review's boxes are its labels.
    ImportReviewed(Box<ImportReviewedArgs>),
    /// A Roboflow upload folder: images and the model's boxes as YOLO labels.
    ExportRoboflow {
        /// The batch folder.
        batch: PathBuf,
        /// Output folder (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Boxes under this score are left out.
        #[arg(long, default_value_t = 0.25)]
        min_score: f32,
    },
    /// A SageMaker Ground Truth input manifest (source-ref per photo, boxes as pre-annotations).
    ExportGroundtruth {
        /// The batch folder.
        batch: PathBuf,
        /// Where the batch's images are uploaded, s3://bucket/prefix/.
        #[arg(long)]
        s3_prefix: String,
        /// The manifest to write (JSON Lines).
        #[arg(long)]
        out: PathBuf,
        /// Label attribute of the pre-annotations.
        #[arg(long, default_value = export::GT_LABEL_ATTRIBUTE)]
        label_attribute: String,
        /// Boxes under this score are left out.
        #[arg(long, default_value_t = 0.25)]
        min_score: f32,
    },
    /// Start a SageMaker Ground Truth bounding-box labeling job on a batch (the plan's option
    /// B): prints what goes where and the cost; --yes uploads and starts it.
    StartGroundtruth(Box<groundtruth_cmd::StartArgs>),
    /// Follow a Ground Truth labeling job to its end, then import its labels into a pool
    /// (--merge-into: and merge them into the data set).
    WaitGroundtruth(Box<groundtruth_cmd::WaitArgs>),
}

/// The yard office read: its embedded store, or its DynamoDB table and S3 bucket.
#[derive(Args, Debug)]
pub struct OfficeArgs {
    /// The yard office's embedded store (omni-office --data-dir).
    #[arg(long, conflicts_with = "office_table")]
    office: Option<PathBuf>,
    /// The office on AWS: its DynamoDB table (with --office-bucket).
    #[arg(long, requires = "office_bucket")]
    office_table: Option<String>,
    /// The office on AWS: its photo bucket.
    #[arg(long, requires = "office_table")]
    office_bucket: Option<String>,
    /// The office's region.
    #[arg(long, default_value = "us-east-1")]
    office_region: String,
    /// An emulator for DynamoDB and S3.
    #[arg(long)]
    office_endpoint_url: Option<String>,
}

impl OfficeArgs {
    /// The office these flags name, `None` when they name none.
    fn open(&self) -> Result<Option<OfficeSource>, TrainerError> {
        match (&self.office, &self.office_table, &self.office_bucket) {
            (Some(dir), ..) => OfficeSource::embedded(dir).map(Some),
            (_, Some(table), Some(bucket)) => OfficeSource::aws(
                &self.office_region,
                self.office_endpoint_url.as_deref(),
                table,
                bucket,
            )
            .map(Some),
            _ => Ok(None),
        }
    }
}

/// `labeling import-reviewed`.
#[derive(Args, Debug)]
pub struct ImportReviewedArgs {
    #[command(flatten)]
    office: OfficeArgs,
    /// Only inspections created at or after this time (YYYY-MM-DD or RFC 3339, UTC).
    #[arg(long)]
    since: Option<String>,
    /// Only inspections created before this time (YYYY-MM-DD or RFC 3339, UTC).
    #[arg(long)]
    until: Option<String>,
    /// Output pool (must not exist; then `dataset merge POOL --into DATASET --from-batch POOL`).
    #[arg(long)]
    out: PathBuf,
}

/// `labeling select`.
#[derive(Args, Debug)]
pub struct SelectArgs {
    /// A phone data directory (omni --data-dir).
    #[arg(long, conflicts_with_all = ["office", "office_table"])]
    phone: Option<PathBuf>,
    #[command(flatten)]
    office: OfficeArgs,
    /// Folder of batches: the batch is written to OUT/NAME; photos of earlier batches there are skipped.
    #[arg(long)]
    out: PathBuf,
    /// The batch's name (default: batch-<UTC time>).
    #[arg(long)]
    name: Option<String>,
    /// The current data set: its photos are skipped, its class counts drive rare-class.
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Strategies (comma-separated or repeated; default: all that apply).
    #[arg(long = "strategy", value_delimiter = ',')]
    strategies: Vec<Strategy>,
    /// Low-confidence band LOW..HIGH of a verdict's highest score.
    #[arg(long, default_value = "0.25..0.5")]
    band: String,
    /// IoU at which edge and cloud boxes of a class agree.
    #[arg(long, default_value_t = 0.5)]
    iou: f32,
    /// Boxes under this score are ignored by disagreement, many-boxes and rare-class.
    #[arg(long, default_value_t = 0.25)]
    min_score: f32,
    /// Boxes that make "many".
    #[arg(long, default_value_t = 5)]
    many_boxes: usize,
    /// A class is rare under this share of the training set's boxes.
    #[arg(long, default_value_t = 0.05)]
    rare_share: f64,
    /// Share of the budget for the random control sample.
    #[arg(long, default_value_t = 0.1)]
    random_share: f64,
    /// The budget: at most this many photos.
    #[arg(long, default_value_t = 50)]
    max: usize,
    /// Seed of the ranking and the random sample.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Photos of a container whose hashes differ in at most this many bits are near duplicates.
    #[arg(long, default_value_t = 6)]
    near_duplicate_bits: u32,
}

/// `dataset merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The labelled pool (images/ + labels/).
    pool: PathBuf,
    /// The data set to merge into (created when missing).
    #[arg(long)]
    into: PathBuf,
    /// The labeling batch folder the pool was labelled from (records each image's source).
    #[arg(long)]
    from_batch: Option<PathBuf>,
    /// Val fraction of a new data set (an existing one keeps its own).
    #[arg(long, default_value_t = 0.2)]
    val: f64,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn parse_band(band: &str) -> Result<(f32, f32), TrainerError> {
    let bad = || {
        TrainerError::Input(format!(
            "--band {band:?}: expected LOW..HIGH, e.g. 0.25..0.5"
        ))
    };
    let (low, high) = band.split_once("..").ok_or_else(bad)?;
    Ok((
        low.trim().parse().map_err(|_| bad())?,
        high.trim().parse().map_err(|_| bad())?,
    ))
}

fn open_source(args: &SelectArgs) -> Result<Box<dyn PhotoSource>, TrainerError> {
    if let Some(dir) = &args.phone {
        return Ok(Box::new(PhoneSource::open(dir)?));
    }
    match args.office.open()? {
        Some(office) => Ok(Box::new(office)),
        None => Err(TrainerError::Input(
            "give a source: --phone DIR, --office DIR, or --office-table T --office-bucket B"
                .into(),
        )),
    }
}

/// A `--since`/`--until` time, ms since the epoch (the office's own date parser).
fn time_flag(flag: &str, value: Option<&str>) -> Result<Option<i64>, TrainerError> {
    value
        .map(|v| {
            omni_office::validate::time_ms(v)
                .map_err(|e| TrainerError::Input(format!("{flag}: {e}")))
        })
        .transpose()
}

fn import_reviewed(args: &ImportReviewedArgs, json: bool) -> Result<(), TrainerError> {
    let since_ms = time_flag("--since", args.since.as_deref())?;
    let until_ms = time_flag("--until", args.until.as_deref())?;
    let source = args.office.open()?.ok_or_else(|| {
        TrainerError::Input(
            "give the office: --office DIR, or --office-table T --office-bucket B".into(),
        )
    })?;
    let bar = bar(json, false);
    let at = now();
    let options = ReviewedOptions {
        since_ms,
        until_ms,
        out: &args.out,
        created_at: &at,
    };
    let summary = reviewed::import(&source, options, &draw(&bar))?;
    bar.finish_and_clear();
    for s in &summary.skipped {
        eprintln!(
            "omni-trainer: left out photo {} of inspection {} (review revision {}): {}",
            s.photo_id, s.inspection_id, s.revision, s.reason
        );
    }
    eprintln!(
        "omni-trainer: {} inspections marked reviewed read; left out: {} photos with reviews in inspections not marked reviewed, {} photos without a review, {} photos skipped",
        summary.inspections,
        summary.not_marked_reviewed,
        summary.without_review,
        summary.skipped.len()
    );
    if json {
        return print_json(&summary);
    }
    println!(
        "{}: {} reviewed photos ({} without damage), {} boxes; next: omni-trainer dataset merge {} --into DATASET --from-batch {}",
        summary.out.display(),
        summary.images,
        summary.negatives,
        summary.boxes.values().sum::<u64>(),
        summary.out.display(),
        summary.out.display()
    );
    Ok(())
}

fn select(args: &SelectArgs, json: bool) -> Result<(), TrainerError> {
    let mut known = Known::default();
    let mut class_counts = None;
    if let Some(dir) = &args.dataset {
        let manifest = DatasetManifest::load(dir)?.ok_or_else(|| {
            TrainerError::Input(format!(
                "{}: no dataset.json (version the data set with `dataset merge` first)",
                dir.display()
            ))
        })?;
        manifest.add_known(&mut known);
        class_counts = Some(manifest.train_class_counts());
    }
    let strategies = if !args.strategies.is_empty() {
        args.strategies.clone()
    } else {
        Strategy::ALL
            .into_iter()
            .filter(|s| *s != Strategy::RareClass || class_counts.is_some())
            .collect()
    };
    let options = SelectOptions {
        strategies,
        band: parse_band(&args.band)?,
        iou: args.iou,
        min_score: args.min_score,
        many_boxes: args.many_boxes,
        rare_share: args.rare_share,
        class_counts,
        random_share: args.random_share,
        max: args.max,
        seed: args.seed,
        near_duplicate_bits: args.near_duplicate_bits,
    };
    let name = args.name.clone().unwrap_or_else(|| {
        format!(
            "batch-{}",
            now()
                .replace(['-', ':'], "")
                .trim_end_matches('Z')
                .replace('T', "-")
        )
    });
    let out = args.out.join(&name);
    if out.exists() {
        return Err(TrainerError::Input(format!(
            "{}: already exists",
            out.display()
        )));
    }
    batch::add_earlier_batches(&args.out, &mut known)?;
    let mut source = open_source(args)?;
    let selection = select::select(source.as_mut(), &known, &options)?;
    let written = batch::write(&out, source.as_mut(), &selection, &options, &now())?;
    if json {
        return print_json(&written);
    }
    println!(
        "{}: {} photos chosen of {} scanned ({} already labelled or batched, {} near duplicates thinned)",
        out.display(),
        written.photos.len(),
        written.scanned,
        written.skipped_known,
        written.thinned.len()
    );
    for (strategy, n) in &written.candidates {
        let chosen = written
            .photos
            .iter()
            .filter(|p| {
                p.reasons
                    .iter()
                    .any(|r| serde_json::to_value(r.strategy()).ok() == Some(json!(strategy)))
            })
            .count();
        println!("  {strategy}: {n} candidates, {chosen} chosen");
    }
    Ok(())
}

/// Runs a `labeling` command.
pub fn run(command: &LabelingCommand, global: &crate::Global) -> Result<(), TrainerError> {
    let json = global.json;
    match command {
        LabelingCommand::Select(args) => select(args, json),
        LabelingCommand::ExportLabelstudio {
            batch,
            url_prefix,
            out,
        } => {
            let summary = labelstudio::export(batch, url_prefix, out)?;
            if json {
                return print_json(&summary);
            }
            println!(
                "{}: {} tasks ({} with predictions); labeling config {}",
                summary.tasks_file.display(),
                summary.tasks,
                summary.with_predictions,
                summary.config_file.display()
            );
            Ok(())
        }
        LabelingCommand::ImportLabelstudio {
            export,
            images,
            out,
        } => {
            let summary = labelstudio::import(export, images, out)?;
            if json {
                return print_json(&summary);
            }
            println!(
                "{}: {} images ({} background), {} boxes, {} tasks without annotation left out; next: omni-trainer dataset merge {} --into DATASET",
                summary.out.display(),
                summary.images,
                summary.background,
                summary.boxes.iter().sum::<u64>(),
                summary.unlabelled,
                summary.out.display()
            );
            Ok(())
        }
        LabelingCommand::ImportReviewed(args) => import_reviewed(args, json),
        LabelingCommand::ExportRoboflow {
            batch,
            out,
            min_score,
        } => print_export(&export::roboflow(batch, out, *min_score)?, json),
        LabelingCommand::ExportGroundtruth {
            batch,
            s3_prefix,
            out,
            label_attribute,
            min_score,
        } => {
            let prefix = S3Uri::parse(s3_prefix)?;
            print_export(
                &export::groundtruth(batch, &prefix, out, label_attribute, *min_score)?,
                json,
            )
        }
        LabelingCommand::StartGroundtruth(args) => groundtruth_cmd::start(args, global),
        LabelingCommand::WaitGroundtruth(args) => groundtruth_cmd::wait(args, global),
    }
}

fn print_export(summary: &export::ExportSummary, json: bool) -> Result<(), TrainerError> {
    if json {
        return print_json(summary);
    }
    println!(
        "{}: {} images, {} pre-annotated boxes",
        summary.out.display(),
        summary.images,
        summary.boxes
    );
    Ok(())
}

/// Runs `dataset merge`.
pub fn merge(args: &MergeArgs, json: bool) -> Result<(), TrainerError> {
    let summary = merge::merge(
        &args.pool,
        &args.into,
        args.from_batch.as_deref(),
        args.val,
        &now(),
    )?;
    if json {
        return print_json(&summary);
    }
    if summary.changed {
        println!(
            "{}: version {}: +{} train, +{} val ({} already in the data set)",
            summary.dataset.display(),
            summary.version,
            summary.train,
            summary.val,
            summary.already
        );
    } else {
        println!(
            "{}: unchanged at version {} (all {} images already in the data set)",
            summary.dataset.display(),
            summary.version,
            summary.already
        );
    }
    Ok(())
}
