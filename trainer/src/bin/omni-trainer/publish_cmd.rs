//! `publish`, `keygen`, `device-model`: the signed edge model and what it is made of.

use std::path::PathBuf;

use clap::Args;
use omni_trainer::config::{AwsArgs, ModelsArgs};
use omni_trainer::{TrainerError, aws, keys, publish};

use crate::Global;
use crate::output::{dataset_version_text, print_json, runtime, settings};

/// `publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
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
    #[command(flatten)]
    models: ModelsArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

/// `keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the secret key; never overwritten.
    #[arg(long)]
    out: PathBuf,
}

/// `device-model`.
#[derive(Args, Debug)]
pub struct DeviceModelArgs {
    /// The ONNX model (train.py's model.onnx).
    #[arg(long)]
    model: PathBuf,
    /// Weight precision: float16 or float32 (int8 is train.py's own ONNX export).
    #[arg(long, value_enum, default_value_t = publish::EdgePrecision::Float16)]
    precision: publish::EdgePrecision,
    /// Where to write the device model (replaced atomically).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `publish`.
pub fn publish(args: PublishArgs, global: &Global) -> Result<(), TrainerError> {
    let settings = settings(global, [args.models.into(), args.aws.into()])?;
    let env_key = std::env::var(keys::SIGNING_KEY_ENV).ok();
    let key = keys::load_signing_key(args.signing_key_file.as_deref(), env_key.as_deref())?;
    let options = publish::PublishOptions {
        precision: args.precision,
        data: args.data,
        version: args.version,
        threads: args.threads,
    };
    let summary = runtime()?.block_on(async {
        let clients = aws::connect(&settings).await?;
        publish::publish(&clients, &settings, &args.job, &key, &options).await
    })?;
    if global.json {
        return print_json(&summary);
    }
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

/// Runs `keygen`.
pub fn keygen(args: &KeygenArgs, json: bool) -> Result<(), TrainerError> {
    let pair = keys::keygen(&args.out)?;
    if json {
        return print_json(&pair);
    }
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

/// Runs `device-model`.
pub fn device_model(args: &DeviceModelArgs, json: bool) -> Result<(), TrainerError> {
    let summary = publish::write_device_model(&args.model, args.precision, &args.out)?;
    if json {
        return print_json(&summary);
    }
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
