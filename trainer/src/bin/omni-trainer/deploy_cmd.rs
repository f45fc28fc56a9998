//! `deploy`: a training job's model to the serverless endpoint, gated on mAP50-95.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use omni_trainer::config::{AwsArgs, EndpointArgs, JobArgs, ModelsArgs};
use omni_trainer::{TrainerError, aws, deploy};

use crate::Global;
use crate::output::{dataset_version_text, print_json, runtime, settings};
use crate::train_cmd::PollArgs;

/// `deploy`.
#[derive(Args, Debug)]
pub struct DeployArgs {
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
    #[command(flatten)]
    endpoint: EndpointArgs,
    #[command(flatten)]
    models: ModelsArgs,
    #[command(flatten)]
    job_settings: JobArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

/// Runs `deploy`.
pub fn run(args: DeployArgs, global: &Global) -> Result<(), TrainerError> {
    let settings = settings(
        global,
        [
            args.endpoint.into(),
            args.models.into(),
            args.job_settings.into(),
            args.aws.into(),
        ],
    )?;
    let sample = match &args.sample {
        Some(path) => Some(std::fs::read(path).map_err(TrainerError::io(path))?),
        None => None,
    };
    let options = deploy::DeployOptions {
        force: args.force,
        sample,
        skip_smoke: args.skip_smoke,
        backoff: args.poll.backoff(Duration::from_secs(1800)),
    };
    let summary = runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        deploy::deploy(&clients, &settings, &args.job, &options).await
    })?;
    if global.json {
        return print_json(&summary);
    }
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
