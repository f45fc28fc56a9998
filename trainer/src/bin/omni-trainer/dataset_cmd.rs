//! `dataset …`: validate, split, import (Roboflow, Ground Truth), merge, upload.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use omni_trainer::config::{AwsArgs, DatasetArgs};
use omni_trainer::dataset::{class_map, groundtruth, roboflow, split, validate};
use omni_trainer::s3uri::S3Uri;
use omni_trainer::{TrainerError, aws, upload};

use crate::Global;
use crate::labeling_cmd::{self, MergeArgs};
use crate::output::{bar, draw, print_json, runtime, settings};

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// Check a YOLO data set; exits non-zero when it has problems.
    Validate {
        /// The data set (with train/ and val/).
        dir: PathBuf,
    },
    /// Split images into train/ and val/ by content hash, and write data.yaml.
    Split {
        /// The data set (images/ + labels/, and/or split directories).
        dir: PathBuf,
        /// Fraction of images for val.
        #[arg(long, default_value_t = 0.2)]
        val: f64,
        /// Write the split data set here (copies) instead of moving files in place.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import a Roboflow YOLOv11 export (zip or directory).
    ImportRoboflow {
        /// The export.
        src: PathBuf,
        /// Output data set.
        #[arg(long)]
        out: PathBuf,
        /// Rename a class FROM=TO (TO one of ours; repeatable).
        #[arg(long = "map", value_name = "FROM=TO")]
        renames: Vec<String>,
    },
    /// Import a SageMaker Ground Truth bounding-box output manifest.
    ImportGroundtruth {
        /// The output manifest (JSON Lines).
        manifest: PathBuf,
        /// Output pool (images/ + labels/; then `dataset split`).
        #[arg(long)]
        out: PathBuf,
        /// Where the images are, laid out as the bucket (`aws s3 sync`) or flat: looked up by
        /// object key, then file name (default: the manifest's directory).
        #[arg(long)]
        images: Option<PathBuf>,
        /// The label attribute (default: the one whose metadata is object detection).
        #[arg(long)]
        label_attribute: Option<String>,
        /// Rename a class FROM=TO (TO one of ours; repeatable).
        #[arg(long = "map", value_name = "FROM=TO")]
        renames: Vec<String>,
    },
    /// Merge a labelled pool into the data set (content-hash split) and version it (dataset.json).
    Merge(MergeArgs),
    /// Upload a data set to S3 incrementally (unchanged files are not sent).
    Upload(Box<UploadArgs>),
}

/// `dataset upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The local directory.
    dir: PathBuf,
    /// Destination (default: s3://<bucket>/<dataset_prefix>).
    dest: Option<String>,
    /// Delete remote objects under the prefix that have no local file.
    #[arg(long)]
    delete: bool,
    /// Only report what would change.
    #[arg(long)]
    dry_run: bool,
    /// Uploads in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    dataset: DatasetArgs,
}

/// Runs a `dataset` command.
pub fn run(command: DatasetCommand, global: &Global) -> Result<(), TrainerError> {
    let json = global.json;
    match command {
        DatasetCommand::Validate { dir } => validate_cmd(&dir, json),
        DatasetCommand::Merge(args) => labeling_cmd::merge(&args, json),
        DatasetCommand::Split { dir, val, out } => {
            let summary = split::split(&dir, out.as_deref(), val)?;
            if json {
                return print_json(&summary);
            }
            println!(
                "{}: {} train, {} val{} (data.yaml written)",
                summary.out.display(),
                summary.train,
                summary.val,
                if summary.unlabeled > 0 {
                    format!(", {} without labels", summary.unlabeled)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        DatasetCommand::ImportRoboflow { src, out, renames } => {
            let renames = class_map::parse_renames(&renames)?;
            let summary = roboflow::import(&src, &out, &renames)?;
            if json {
                return print_json(&summary);
            }
            let images: Vec<String> = summary
                .images
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect();
            println!(
                "{}: {} images, {} boxes",
                summary.out.display(),
                images.join(", "),
                summary.boxes
            );
            for (theirs, ours) in &summary.classes {
                println!("  {theirs} -> {ours}");
            }
            Ok(())
        }
        DatasetCommand::ImportGroundtruth {
            manifest,
            out,
            images,
            label_attribute,
            renames,
        } => {
            let renames = class_map::parse_renames(&renames)?;
            let summary = groundtruth::import(
                &manifest,
                images.as_deref(),
                &out,
                label_attribute.as_deref(),
                &renames,
            )?;
            if json {
                return print_json(&summary);
            }
            println!(
                "{}: {} images ({} without damage), {} boxes; next: omni-trainer dataset split {}",
                summary.out.display(),
                summary.images,
                summary.negatives,
                summary.boxes,
                summary.out.display()
            );
            Ok(())
        }
        DatasetCommand::Upload(args) => upload_cmd(*args, global),
    }
}

fn validate_cmd(dir: &std::path::Path, json: bool) -> Result<(), TrainerError> {
    let progress = bar(json, false);
    let report = validate::validate(dir, &draw(&progress));
    progress.finish_and_clear();
    let report = report?;
    if json {
        print_json(&report)?;
    } else {
        print_validation(&report);
    }
    if report.ok() {
        Ok(())
    } else {
        Err(TrainerError::InvalidDataset {
            errors: report.problems.len(),
        })
    }
}

fn upload_cmd(args: UploadArgs, global: &Global) -> Result<(), TrainerError> {
    let json = global.json;
    let settings = settings(global, [args.aws.into(), args.dataset.into()])?;
    let dest = S3Uri::parse(&args.dest.unwrap_or_else(|| settings.dataset_uri()))?;
    let options = upload::UploadOptions {
        concurrency: args.concurrency,
        delete: args.delete,
        dry_run: args.dry_run,
        ..upload::UploadOptions::default()
    };
    let progress = bar(json, true);
    let summary = runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        upload::upload(&clients, &args.dir, &dest, &options, &draw(&progress)).await
    });
    progress.finish_and_clear();
    let summary = summary?;
    if json {
        return print_json(&summary);
    }
    let verb = if args.dry_run {
        "would upload"
    } else {
        "uploaded"
    };
    println!(
        "{}: {verb} {} of {} files ({} bytes, {} multipart), {} unchanged, {} deleted, {} remote-only kept; {:.1} s; requests {:?}",
        summary.destination,
        summary.uploaded,
        summary.local_files,
        summary.bytes_uploaded,
        summary.multipart,
        summary.unchanged,
        summary.deleted,
        summary.remote_only,
        summary.seconds,
        summary.requests
    );
    Ok(())
}

fn print_validation(report: &validate::Report) {
    println!("{}", report.root.display());
    for (split, counts) in &report.splits {
        let instances: Vec<String> = counts
            .instances
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!(
            "  {split:<6} {} images ({} negatives): {}",
            counts.images,
            counts.negatives,
            instances.join(", ")
        );
    }
    for p in &report.problems {
        println!("  {:?}: {p}", p.rule);
    }
    if report.ok() {
        println!("  ok");
    }
}
