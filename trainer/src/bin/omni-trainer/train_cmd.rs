//! `train` and `wait`: start a managed-spot training job, follow it to its end.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use omni_trainer::config::{AwsArgs, DatasetArgs, InstanceArgs, JobArgs, SpotArgs, TrainingArgs};
use omni_trainer::wait::Backoff;
use omni_trainer::{TrainerError, aws, train, wait};

use crate::Global;
use crate::output::{dataset_version_text, print_json, runtime, settings};

/// Polling of SageMaker status.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Polling")]
pub struct PollArgs {
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
    /// The backoff these flags describe, giving up after `default_timeout` unless told.
    pub fn backoff(&self, default_timeout: Duration) -> Backoff {
        Backoff {
            initial: self.poll_initial,
            max: self.poll_max.max(self.poll_initial),
            factor: 1.5,
            timeout: self.timeout.unwrap_or(default_timeout),
        }
    }
}

/// `train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
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
    #[command(flatten)]
    training: TrainingArgs,
    #[command(flatten)]
    instance: InstanceArgs,
    #[command(flatten)]
    spot: SpotArgs,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    dataset: DatasetArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

/// `wait`.
#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Training job name.
    job: String,
    #[command(flatten)]
    poll: PollArgs,
    #[command(flatten)]
    spot: SpotArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

/// How long to follow a job: its longest spot wait plus an hour.
fn job_timeout(max_wait_s: i32) -> Duration {
    Duration::from_secs(max_wait_s.max(0) as u64 + 3600)
}

/// Runs `train`.
pub fn train(args: TrainArgs, global: &Global) -> Result<(), TrainerError> {
    let json = global.json;
    let settings = settings(
        global,
        [
            args.training.into(),
            args.instance.into(),
            args.spot.into(),
            args.job.into(),
            args.dataset.into(),
            args.aws.into(),
        ],
    )?;
    let options = train::TrainOptions {
        source_dir: args.source_dir,
        hyperparameters: args.hyperparameters,
        model_version: args.model_version,
        dataset_version: None,
    };
    let backoff = args.poll.backoff(job_timeout(settings.max_wait_s));
    runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        let started = train::start(&clients, &settings, &options).await?;
        if json && !args.wait {
            return print_json(&started);
        }
        if !json {
            println!("started training job {} ({})", started.job, started.arn);
            println!(
                "  data {} (version {})  output {}  checkpoints {}",
                started.training_data,
                dataset_version_text(started.dataset_version.map(|v| v.to_string()).as_ref()),
                started.output_path,
                started.checkpoints
            );
        }
        if args.wait {
            follow(&clients, &started.job, &backoff, json).await
        } else {
            Ok(())
        }
    })
}

/// Runs `wait`.
pub fn wait(args: WaitArgs, global: &Global) -> Result<(), TrainerError> {
    let settings = settings(global, [args.spot.into(), args.aws.into()])?;
    let backoff = args.poll.backoff(job_timeout(settings.max_wait_s));
    runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        follow(&clients, &args.job, &backoff, global.json).await
    })
}

/// Follows `job` to its end, printing each transition on stderr, then its summary.
async fn follow(
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
