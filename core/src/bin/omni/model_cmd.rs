//! `omni model status|check|update|rollback`: the on-device model refresh from the desktop.
//! The network policy does not apply here (the CLI downloads on any network).

use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use omni_core::cloud::{CachedCredentials, EnvCredentialsProvider};
use omni_core::model_manifest::TrustedKey;
use omni_core::model_refresh::{
    CheckOutcome, ManifestSource, ModelEvent, ModelRefreshListener, ModelStore, ModelUpdater,
    Network, RefreshConfig, RefreshPolicy, RolledBack, UpdateOutcome, model_status, rollback,
};
use serde::Serialize;

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
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// S3 endpoint for s3:// URLs (path-style), e.g. a loopback S3 emulator.
    #[arg(long, env = "OMNI_S3_ENDPOINT_URL")]
    s3_endpoint: Option<String>,
    /// Threads used to test-run the downloaded model.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

impl SourceArgs {
    fn updater(&self, data_dir: &Path) -> Result<ModelUpdater, String> {
        let source = ManifestSource::parse(
            &self.manifest_url,
            &self.region,
            self.s3_endpoint.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        let keys = self
            .public_keys
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| k.parse::<TrustedKey>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let mut config = RefreshConfig::new(source, keys).map_err(|e| e.to_string())?;
        config.allow_downgrade = self.allow_downgrade;
        config.policy = RefreshPolicy::any_network();
        config.threads = self.threads.max(1);
        let credentials = config
            .source
            .signing_region()
            .map(|_| Arc::new(CachedCredentials::new(Arc::new(EnvCredentialsProvider))));
        let updater =
            ModelUpdater::new(data_dir, config, credentials).map_err(|e| e.to_string())?;
        updater.set_network(Network::Unmetered);
        Ok(updater)
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
            ModelEvent::UpdateAvailable { .. } | ModelEvent::RolledBack { .. } => {}
        }
    }
}

#[derive(Serialize)]
struct RollbackOutput {
    #[serde(flatten)]
    rolled_back: RolledBack,
    status: omni_core::model_refresh::ModelStatus,
}

/// Runs `omni model …` on the data directory.
pub fn run(data_dir: &Path, args: ModelArgs) -> Result<(), String> {
    match args.command {
        ModelCommand::Status { json } => {
            let store = ModelStore::new(data_dir);
            let status = model_status(&store, &Default::default()).map_err(|e| e.to_string())?;
            if json {
                return crate::render::print_json(&status);
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
        ModelCommand::Check { source, json } => {
            let updater = source.updater(data_dir)?;
            let outcome = runtime()?
                .block_on(updater.check_for_model_update())
                .map_err(|e| e.to_string())?;
            if json {
                return crate::render::print_json(&outcome);
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
        ModelCommand::Update { source, json } => {
            let updater = source.updater(data_dir)?;
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
            updater.set_listener(Arc::new(ProgressListener(bar.clone())));
            let outcome = runtime()?.block_on(updater.update());
            bar.finish_and_clear();
            let outcome = outcome.map_err(|e| e.to_string())?;
            if json {
                return crate::render::print_json(&outcome);
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
        ModelCommand::Rollback { json } => {
            // Rollback needs no manifest source.
            let store = ModelStore::new(data_dir);
            let done = rollback(&store).map_err(|e| e.to_string())?;
            let status = model_status(&store, &Default::default()).map_err(|e| e.to_string())?;
            if json {
                return crate::render::print_json(&RollbackOutput {
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
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}
