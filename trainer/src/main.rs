//! `omni-trainer`: the command-line front of the trainer library.

mod labeling_cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use omni_trainer::config::{self, Settings, SettingsLayer};
use omni_trainer::dataset::{class_map, groundtruth, roboflow, split, validate};
use omni_trainer::s3uri::S3Uri;
use omni_trainer::wait::Backoff;
use omni_trainer::{TrainerError, aws, cost, deploy, keys, publish, train, upload, wait};
use serde::Serialize;

/// Omni-Inspector ops tool: data sets, S3 uploads, spot training on SageMaker, serverless
/// deployment and signed edge-model publishing.
///
/// Settings come from flags, then environment variables (shown in each flag's help), then the
/// config file (--config, else ./omni-trainer.toml), then the defaults of the plan.
#[derive(Parser, Debug)]
#[command(name = "omni-trainer", version, max_term_width = 100)]
struct Cli {
    /// TOML config file (keys = the flag names with underscores).
    #[arg(long, env = "OMNI_TRAINER_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Print the result as JSON on stdout (no progress bars).
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    settings: SettingsLayer,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Data set commands: validate, split, import, upload.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// The labeling loop: select photos from a phone or the office, export them with the
    /// model's boxes to Label Studio, Roboflow or Ground Truth, import the labels.
    #[command(subcommand)]
    Labeling(labeling_cli::LabelingCommand),
    /// Package the entry scripts and start a managed-spot training job.
    Train {
        /// Wait for the job to end (as `wait`).
        #[arg(long)]
        wait: bool,
        /// Package this directory instead of the built-in trainer/sagemaker scripts.
        #[arg(long)]
        source_dir: Option<PathBuf>,
        /// Extra or overriding hyperparameter NAME=VALUE (repeatable).
        #[arg(long = "hp", value_name = "NAME=VALUE")]
        hyperparameters: Vec<String>,
        /// Version written into the exported models' metadata.
        #[arg(long)]
        model_version: Option<String>,
        #[command(flatten)]
        poll: PollArgs,
    },
    /// Wait for a training job: status transitions, then metrics and the spot saving.
    Wait {
        /// Training job name.
        job: String,
        #[command(flatten)]
        poll: PollArgs,
    },
    /// Deploy a training job's model to the serverless endpoint (gated on mAP50-95).
    Deploy {
        /// Training job name.
        job: String,
        /// Deploy even if the new model scores below the deployed one.
        #[arg(long)]
        force: bool,
        /// Photo for the smoke InvokeEndpoint (default: a built-in yard photo).
        #[arg(long)]
        sample: Option<PathBuf>,
        /// Skip the smoke InvokeEndpoint.
        #[arg(long)]
        skip_smoke: bool,
        #[command(flatten)]
        poll: PollArgs,
    },
    /// Publish a training job's edge model with a signed manifest (edge/latest.json last).
    Publish {
        /// Training job name.
        job: String,
        /// What devices download: the device format (NNEF) with f16 or f32 weights, made from
        /// model.onnx, or train.py's int8 ONNX.
        #[arg(long, value_enum, default_value_t = publish::EdgePrecision::Float16)]
        precision: publish::EdgePrecision,
        /// Local data set whose val split the device gate runs on.
        #[arg(long)]
        data: PathBuf,
        /// Expected version: must equal the one in the model's metadata (which is what is published).
        #[arg(long)]
        version: Option<semver::Version>,
        /// File holding the Ed25519 signing key (else OMNI_SIGNING_KEY).
        #[arg(long, env = "OMNI_SIGNING_KEY_FILE")]
        signing_key_file: Option<PathBuf>,
        /// Threads for the edge pipeline.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Create an Ed25519 signing key (FILE, mode 0600) and its public key (FILE.pub).
    Keygen {
        /// Where to write the secret key; never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert an ONNX export to the edge device format (gzipped NNEF, what `publish` ships),
    /// checked against the ONNX model on a probe input.
    DeviceModel {
        /// The ONNX model (train.py's model.onnx).
        #[arg(long)]
        model: PathBuf,
        /// Weight precision: float16 or float32 (int8 is train.py's own ONNX export).
        #[arg(long, value_enum, default_value_t = publish::EdgePrecision::Float16)]
        precision: publish::EdgePrecision,
        /// Where to write the device model (replaced atomically).
        #[arg(long)]
        out: PathBuf,
    },
    /// Estimate the cost of a training run and of a month of operation.
    Cost {
        /// Hours of training.
        #[arg(long, default_value_t = 4.0)]
        hours: f64,
        /// On-demand price of the training instance, USD/hour.
        #[arg(long, default_value_t = 0.736)]
        instance_price: f64,
        /// Spot discount, 0..1.
        #[arg(long, default_value_t = 0.70)]
        spot_discount: f64,
        /// Inspections per month.
        #[arg(long, default_value_t = 1000.0)]
        inspections: f64,
    },
    /// Print the resolved settings.
    Config,
}

#[derive(Subcommand, Debug)]
enum DatasetCommand {
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
    Merge(labeling_cli::MergeArgs),
    /// Upload a data set to S3 incrementally (unchanged files are not sent).
    Upload {
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
    },
}

/// Polling of SageMaker status.
#[derive(Args, Debug, Clone)]
struct PollArgs {
    /// First poll interval (and after a change), e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    poll_initial: Duration,
    /// Longest poll interval.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    poll_max: Duration,
    /// Give up after (default: max_wait_s + 1h for jobs, 30m for endpoints).
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
}

impl PollArgs {
    fn backoff(&self, default_timeout: Duration) -> Backoff {
        Backoff {
            initial: self.poll_initial,
            max: self.poll_max.max(self.poll_initial),
            factor: 1.5,
            timeout: self.timeout.unwrap_or(default_timeout),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omni-trainer: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A data set version for people: the number, or why there is none.
fn dataset_version_text(version: Option<&String>) -> String {
    version.map_or_else(
        || "unknown (no dataset.json; version it with `dataset merge`)".to_owned(),
        Clone::clone,
    )
}

fn print_json<T: Serialize>(value: &T) -> Result<(), TrainerError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| TrainerError::Input(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// The terminal bar the library's progress reports are drawn on (hidden with `--json`).
fn bar(json: bool, bytes: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let template = if bytes {
        "{spinner} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {wide_bar}"
    } else {
        "{spinner} {pos}/{len} eta {eta} {wide_bar}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// The library's [`omni_trainer::Progress`] callback drawing on `bar`.
fn draw(bar: &ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, TrainerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| TrainerError::Input(format!("tokio runtime: {e}")))
}

fn settings(cli: &Cli) -> Result<Settings, TrainerError> {
    let cwd = std::env::current_dir().map_err(TrainerError::io("."))?;
    config::resolve(cli.settings.clone(), cli.config.as_deref(), &cwd)
}

fn run(cli: Cli) -> Result<(), TrainerError> {
    let json = cli.json;
    match &cli.command {
        Command::Dataset(DatasetCommand::Validate { dir }) => {
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
        Command::Labeling(command) => labeling_cli::run(command, json),
        Command::Dataset(DatasetCommand::Merge(args)) => labeling_cli::merge(args, json),
        Command::Dataset(DatasetCommand::Split { dir, val, out }) => {
            let summary = split::split(dir, out.as_deref(), *val)?;
            if json {
                print_json(&summary)
            } else {
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
        }
        Command::Dataset(DatasetCommand::ImportRoboflow { src, out, renames }) => {
            let renames = class_map::parse_renames(renames)?;
            let summary = roboflow::import(src, out, &renames)?;
            if json {
                print_json(&summary)
            } else {
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
        }
        Command::Dataset(DatasetCommand::ImportGroundtruth {
            manifest,
            out,
            images,
            label_attribute,
            renames,
        }) => {
            let renames = class_map::parse_renames(renames)?;
            let summary = groundtruth::import(
                manifest,
                images.as_deref(),
                out,
                label_attribute.as_deref(),
                &renames,
            )?;
            if json {
                print_json(&summary)
            } else {
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
        }
        Command::Dataset(DatasetCommand::Upload {
            dir,
            dest,
            delete,
            dry_run,
            concurrency,
        }) => {
            let settings = settings(&cli)?;
            let dest = S3Uri::parse(&dest.clone().unwrap_or_else(|| settings.dataset_uri()))?;
            let options = upload::UploadOptions {
                concurrency: *concurrency,
                delete: *delete,
                dry_run: *dry_run,
                ..upload::UploadOptions::default()
            };
            let progress = bar(json, true);
            let summary = runtime()?.block_on(async {
                let clients = aws::connect(&settings).await?;
                upload::upload(&clients, dir, &dest, &options, &draw(&progress)).await
            });
            progress.finish_and_clear();
            let summary = summary?;
            if json {
                print_json(&summary)
            } else {
                let verb = if *dry_run { "would upload" } else { "uploaded" };
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
        }
        Command::Train {
            wait,
            source_dir,
            hyperparameters,
            model_version,
            poll,
        } => {
            let settings = settings(&cli)?;
            let options = train::TrainOptions {
                source_dir: source_dir.clone(),
                hyperparameters: hyperparameters.clone(),
                model_version: model_version.clone(),
                dataset_version: None,
            };
            let backoff = poll.backoff(Duration::from_secs(
                settings.max_wait_s.max(0) as u64 + 3600,
            ));
            runtime()?.block_on(async {
                let clients = aws::connect(&settings).await?;
                let started = train::start(&clients, &settings, &options).await?;
                if json && !wait {
                    return print_json(&started);
                }
                if !json {
                    println!("started training job {} ({})", started.job, started.arn);
                    println!(
                        "  data {} (version {})  output {}  checkpoints {}",
                        started.training_data,
                        dataset_version_text(
                            started.dataset_version.map(|v| v.to_string()).as_ref()
                        ),
                        started.output_path,
                        started.checkpoints
                    );
                }
                if *wait {
                    run_wait(&clients, &started.job, &backoff, json).await
                } else {
                    Ok(())
                }
            })
        }
        Command::Wait { job, poll } => {
            let settings = settings(&cli)?;
            let backoff = poll.backoff(Duration::from_secs(
                settings.max_wait_s.max(0) as u64 + 3600,
            ));
            runtime()?.block_on(async {
                let clients = aws::connect(&settings).await?;
                run_wait(&clients, job, &backoff, json).await
            })
        }
        Command::Deploy {
            job,
            force,
            sample,
            skip_smoke,
            poll,
        } => {
            let settings = settings(&cli)?;
            let sample = match sample {
                Some(path) => Some(std::fs::read(path).map_err(TrainerError::io(path))?),
                None => None,
            };
            let options = deploy::DeployOptions {
                force: *force,
                sample,
                skip_smoke: *skip_smoke,
                backoff: poll.backoff(Duration::from_secs(1800)),
            };
            let summary = runtime()?.block_on(async {
                let clients = aws::connect(&settings).await?;
                deploy::deploy(&clients, &settings, job, &options).await
            })?;
            if json {
                print_json(&summary)
            } else {
                println!(
                    "endpoint {} {} with {} (model {}, mAP50-95 {:.4}{}), InService after {:.0} s",
                    summary.endpoint,
                    summary.action,
                    summary.job,
                    summary.model,
                    summary.map50_95,
                    summary
                        .previous_map50_95
                        .map(|p| format!(", was {p:.4}"))
                        .unwrap_or_default(),
                    summary.wait_seconds
                );
                println!(
                    "  trained on data set version {}",
                    dataset_version_text(summary.dataset_version.as_ref())
                );
                if let Some(smoke) = &summary.smoke {
                    println!(
                        "smoke test: {} detection(s) on a {}x{} photo in {:.1} ms by {} {}",
                        smoke.detections.len(),
                        smoke.image_width,
                        smoke.image_height,
                        smoke.inference_ms,
                        smoke.model.name,
                        smoke.model.version
                    );
                }
                Ok(())
            }
        }
        Command::Publish {
            job,
            precision,
            data,
            version,
            signing_key_file,
            threads,
        } => {
            let settings = settings(&cli)?;
            let env_key = std::env::var(keys::SIGNING_KEY_ENV).ok();
            let key = keys::load_signing_key(signing_key_file.as_deref(), env_key.as_deref())?;
            let options = publish::PublishOptions {
                precision: *precision,
                data: data.clone(),
                version: version.clone(),
                threads: *threads,
            };
            let summary = runtime()?.block_on(async {
                let clients = aws::connect(&settings).await?;
                publish::publish(&clients, &settings, job, &key, &options).await
            })?;
            if json {
                print_json(&summary)
            } else {
                println!(
                    "published {} {} ({} bytes, sha256 {}) signed by key {}: {}",
                    summary.manifest.name,
                    summary.manifest.version,
                    summary.manifest.size,
                    summary.manifest.sha256,
                    summary.key_id,
                    summary.latest_uri
                );
                println!(
                    "  val: float mAP50-95 {:.4}, {} {:.4} on {} images (gate passed){}",
                    summary.float.map50_95,
                    summary.manifest.precision,
                    summary.device.map50_95,
                    summary.device.images,
                    summary
                        .previous_version
                        .as_ref()
                        .map(|v| format!("; replaces {v}"))
                        .unwrap_or_default()
                );
                println!(
                    "  trained on data set version {}",
                    dataset_version_text(summary.dataset_version.as_ref())
                );
                Ok(())
            }
        }
        Command::DeviceModel {
            model,
            precision,
            out,
        } => {
            let summary = publish::write_device_model(model, *precision, out)?;
            if json {
                print_json(&summary)
            } else {
                println!(
                    "{}: {} bytes ({}), largest difference from the ONNX model: {:.3e} px, {:.3e} score",
                    summary.out,
                    summary.bytes,
                    summary.precision,
                    summary.max_box_diff_px,
                    summary.max_score_diff
                );
                Ok(())
            }
        }
        Command::Keygen { out } => {
            let pair = keys::keygen(out)?;
            if json {
                print_json(&pair)
            } else {
                println!(
                    "secret key: {} (keep it secret; CI: the OMNI_SIGNING_KEY secret)",
                    pair.secret_file
                );
                println!(
                    "public key: {} (key id {}); devices pin:\n{}",
                    pair.public_file, pair.key_id, pair.public_key
                );
                Ok(())
            }
        }
        Command::Cost {
            hours,
            instance_price,
            spot_discount,
            inspections,
        } => {
            let settings = settings(&cli)?;
            if !(0.0..1.0).contains(spot_discount)
                || *hours < 0.0
                || *instance_price < 0.0
                || *inspections < 0.0
            {
                return Err(TrainerError::Input(
                    "prices, hours and inspections must be >= 0, spot discount in [0, 1)".into(),
                ));
            }
            let estimate = cost::estimate(cost::CostInputs {
                instance_type: settings.instance_type.clone(),
                instance_price_per_hour: *instance_price,
                spot_discount: *spot_discount,
                training_hours: *hours,
                inspections_per_month: *inspections,
                ..cost::CostInputs::default()
            });
            if json {
                return print_json(&estimate);
            }
            let i = &estimate.inputs;
            println!("Training ({}, {} h):", i.instance_type, i.training_hours);
            println!(
                "  on demand  ${:>8.2}  (${:.3}/h)",
                estimate.training_on_demand, i.instance_price_per_hour
            );
            println!(
                "  spot       ${:>8.2}  (${:.3}/h, {:.0}% off)",
                estimate.training_spot,
                estimate.spot_price_per_hour,
                i.spot_discount * 100.0
            );
            println!("  saving     ${:>8.2}", estimate.training_saving);
            println!(
                "Monthly operation ({} inspections):",
                i.inspections_per_month
            );
            for (name, usd) in &estimate.monthly {
                println!("  {name:<32} ${usd:>8.2}");
            }
            println!("  {:<32} ${:>8.2}", "total", estimate.monthly_total);
            Ok(())
        }
        Command::Config => {
            let settings = settings(&cli)?;
            print_json(&settings)
        }
    }
}

async fn run_wait(
    clients: &aws::Clients,
    job: &str,
    backoff: &Backoff,
    json: bool,
) -> Result<(), TrainerError> {
    let summary = wait::wait(clients, job, backoff, |t| {
        if !json {
            let message = if t.message.is_empty() {
                String::new()
            } else {
                format!(": {}", t.message)
            };
            eprintln!("[{:>6.0}s] {} / {}{message}", t.at_s, t.status, t.secondary);
        }
    })
    .await?;
    if json {
        return print_json(&summary);
    }
    println!("training job {} {}", summary.job, summary.status);
    if let (Some(t), Some(b)) = (summary.training_seconds, summary.billable_seconds) {
        println!(
            "  training {t} s, billable {b} s, spot saving {:.0}%",
            summary.spot_saving_percent.unwrap_or(0.0)
        );
    }
    if let Some(m) = &summary.metrics {
        for (label, path) in [("float", ["onnx", "float"]), ("int8", ["onnx", "int8"])] {
            let get = |k: &str| omni_trainer::artifacts::metric(m, &[path[0], path[1], k]);
            if let (Some(a), Some(b)) = (get("mAP50"), get("mAP50-95")) {
                println!("  {label:<5} mAP50 {a:.4}  mAP50-95 {b:.4}");
            }
        }
    }
    if let Some(uri) = &summary.model_artifacts {
        println!("  artifacts {uri}");
    }
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
