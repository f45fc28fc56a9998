//! `omni model status|check|update|rollback`: the on-device model refresh from the desktop,
//! through the core's front door. The network policy does not apply here (the CLI downloads
//! on any network).

use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use omni_core::cloud::runtime_client::RuntimeConfig;
use omni_core::cloud::{EnvCredentialsProvider, ServiceUrl};
use omni_core::detect::EdgeDetectorConfig;
use omni_core::model_manifest::TrustedKey;
use omni_core::model_refresh::{
    CheckOutcome, ManifestSource, ModelEvent, ModelRefreshListener, ModelStatus, Network,
    RefreshConfig, RefreshPolicy, RolledBack, UpdateOutcome,
};
use omni_core::{ApiError, CloudConfig, CloudTarget, OmniConfig, OmniCore};
use serde::Serialize;

use crate::error::CliResult;
use crate::render::print_json;
use crate::sync_cmd::{DEFAULT_ENDPOINT_NAME, DEFAULT_REGION};

/// `omni model …`.
#[derive(clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(clap::Subcommand)]
enum ModelCommand {
    /// Show the model in use, the installed active and previous models, and any fallback.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fetch and verify the manifest; report whether a newer model is available.
    Check {
        #[command(flatten)]
        source: SourceArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download, verify, test-run and install the newer model the manifest offers.
    Update {
        #[command(flatten)]
        source: SourceArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make the previous model active again (or the bundled one when none is kept).
    Rollback {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Where the manifest is and whom to trust.
#[derive(clap::Args)]
struct SourceArgs {
    /// URL of the signed manifest: https://…, http:// on loopback, or s3://bucket/key
    /// (signed with AWS credentials from the environment).
    #[arg(long, env = "OMNI_MODEL_MANIFEST_URL")]
    manifest_url: String,
    /// Pinned Ed25519 public key (standard base64 of 32 bytes); repeat for key rotation.
    #[arg(
        long = "public-key",
        env = "OMNI_MODEL_PUBLIC_KEYS",
        value_delimiter = ',',
        required = true
    )]
    public_keys: Vec<String>,
    /// Accept a version that is not newer than the active one.
    #[arg(long)]
    allow_downgrade: bool,
    /// AWS region for s3:// URLs.
    #[arg(long, env = "AWS_REGION", default_value = DEFAULT_REGION)]
    region: String,
    /// S3 endpoint for s3:// URLs (path-style), e.g. a loopback S3 emulator.
    #[arg(long, env = "OMNI_S3_ENDPOINT_URL")]
    s3_endpoint: Option<String>,
    /// Threads used to test-run the downloaded model.
    #[arg(long, default_value_t = EdgeDetectorConfig::default().threads)]
    threads: usize,
}

impl SourceArgs {
    /// Opens the core on `data_dir` with this manifest source, on any network.
    fn open(&self, data_dir: PathBuf) -> CliResult<OmniCore> {
        let source = ManifestSource::parse(
            &self.manifest_url,
            &self.region,
            self.s3_endpoint.as_deref(),
        )
        .map_err(ApiError::from)?;
        let keys = self
            .public_keys
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| k.parse::<TrustedKey>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::from)?;
        let mut refresh = RefreshConfig::new(source, keys).map_err(ApiError::from)?;
        refresh.allow_downgrade = self.allow_downgrade;
        refresh.policy = RefreshPolicy::any_network();
        let mut config = OmniConfig::new(data_dir);
        // Also the threads that test-run a downloaded model.
        config.threads = self.threads.max(1);
        if let Some(region) = refresh.source.signing_region() {
            // An s3:// manifest is signed with the cloud credentials: the environment's.
            // The endpoint named here is never called by these commands.
            config.cloud = Some(CloudConfig {
                target: CloudTarget::SageMaker(RuntimeConfig::new(
                    ServiceUrl::sagemaker_runtime(region).map_err(ApiError::from)?,
                    DEFAULT_ENDPOINT_NAME,
                    region,
                )),
                credentials: Arc::new(EnvCredentialsProvider),
            });
        }
        config.model_refresh = Some(refresh);
        let core = crate::open_core(config, true)?;
        core.set_network(Network::Unmetered);
        Ok(core)
    }
}

/// Shows download progress as a byte bar.
struct ProgressListener(ProgressBar);

impl ModelRefreshListener for ProgressListener {
    fn on_event(&self, event: ModelEvent) {
        match event {
            ModelEvent::Downloading {
                version,
                received,
                total,
            } => {
                if self.0.length() != Some(total) {
                    self.0.set_length(total);
                    self.0.set_message(format!("model {version}"));
                }
                self.0.set_position(received);
            }
            ModelEvent::Installed { .. } | ModelEvent::Rejected { .. } => self.0.finish_and_clear(),
            // Offers, rollbacks and event kinds added to the core later: nothing to draw.
            _ => {}
        }
    }
}

#[derive(Serialize)]
struct RollbackOutput {
    #[serde(flatten)]
    rolled_back: RolledBack,
    status: ModelStatus,
}

/// Runs `omni model …` on the data directory.
pub fn model(data_dir: PathBuf, args: ModelArgs) -> CliResult {
    match args.command {
        ModelCommand::Status { json } => status(data_dir, json),
        ModelCommand::Check { source, json } => check(data_dir, &source, json),
        ModelCommand::Update { source, json } => update(data_dir, &source, json),
        ModelCommand::Rollback { json } => rollback(data_dir, json),
    }
}

/// `omni model status`.
fn status(data_dir: PathBuf, json: bool) -> CliResult {
    let core = crate::open_core(OmniConfig::new(data_dir), true)?;
    let status = core.model_status()?;
    if json {
        return print_json(&status);
    }
    for fallback in &status.fallbacks {
        println!(
            "skipped {} model: {}",
            fallback.slot.as_str(),
            fallback.reason
        );
    }
    println!(
        "in use: {} model {} {} (sha256 {})",
        status.in_use.as_str(),
        status.identity.name,
        status.identity.version,
        status.identity.sha256
    );
    for (slot, manifest) in [("active", &status.active), ("previous", &status.previous)] {
        match manifest {
            Some(m) => println!("{slot}: {} {} ({} bytes)", m.name, m.version, m.size),
            None => println!("{slot}: none"),
        }
    }
    Ok(())
}

/// `omni model check`.
fn check(data_dir: PathBuf, source: &SourceArgs, json: bool) -> CliResult {
    let core = source.open(data_dir)?;
    let outcome = crate::async_runtime()?.block_on(core.check_for_model_update())?;
    if json {
        return print_json(&outcome);
    }
    match outcome {
        CheckOutcome::NotModified => println!("manifest unchanged since the last check"),
        CheckOutcome::UpToDate { version } => println!("up to date: {version}"),
        CheckOutcome::Available { manifest } => println!(
            "update available: {} {} ({} bytes)",
            manifest.name, manifest.version, manifest.size
        ),
    }
    Ok(())
}

/// `omni model update`.
fn update(data_dir: PathBuf, source: &SourceArgs, json: bool) -> CliResult {
    let core = source.open(data_dir)?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}",
        ) {
            bar.set_style(style);
        }
        bar
    };
    core.set_model_listener(Arc::new(ProgressListener(bar.clone())));
    let outcome = crate::async_runtime()?.block_on(core.update_model());
    bar.finish_and_clear();
    let outcome = outcome?;
    if json {
        return print_json(&outcome);
    }
    match outcome {
        UpdateOutcome::UpToDate { not_modified } => println!(
            "up to date{}",
            if not_modified {
                " (manifest unchanged)"
            } else {
                ""
            }
        ),
        UpdateOutcome::Installed {
            manifest, replaced, ..
        } => println!(
            "installed {} {} (replaced {})",
            manifest.name,
            manifest.version,
            replaced.as_deref().unwrap_or("nothing")
        ),
        UpdateOutcome::Deferred { version, .. } => {
            println!("update {version} deferred: metered network")
        }
    }
    Ok(())
}

/// `omni model rollback`: needs no manifest source.
fn rollback(data_dir: PathBuf, json: bool) -> CliResult {
    let core = crate::open_core(OmniConfig::new(data_dir), true)?;
    let done = core.rollback_model()?;
    let status = core.model_status()?;
    if json {
        return print_json(&RollbackOutput {
            rolled_back: done,
            status,
        });
    }
    println!(
        "rolled back from {}: now using {} model {} {}",
        done.from,
        status.in_use.as_str(),
        status.identity.name,
        status.identity.version
    );
    Ok(())
}
