//! `omni sync`: drain the queue to the SageMaker endpoint, or to the yard office with
//! detection on upload (`--office`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use omni_core::cloud::office_client::OfficeConfig;
use omni_core::cloud::runtime_client::RuntimeConfig;
use omni_core::cloud::{EnvCredentialsProvider, ServiceUrl};
use omni_core::sync::{Backoff, StopReason, SyncConfig, SyncEvent, SyncListener, SyncReport};
use omni_core::{ApiError, CloudConfig, CloudTarget, OfficeCounts, OmniConfig, StateCounts};
use serde::Serialize;

use crate::error::{CliError, CliResult};

/// The SageMaker endpoint the trainer deploys.
pub const DEFAULT_ENDPOINT_NAME: &str = "omni-inspector-yolo";

/// The AWS region used when neither `--region` nor `AWS_REGION` says.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where and how to sync.
#[derive(clap::Args)]
pub struct SyncArgs {
    /// Runtime base URL (default: https://runtime.sagemaker.<region>.amazonaws.com). Plain
    /// http:// only to loopback.
    #[arg(long, env = "OMNI_ENDPOINT_URL", conflicts_with = "office")]
    endpoint: Option<String>,
    /// Sync with the yard office at this base URL instead (detection on upload: each photo
    /// is uploaded once and its cloud verdict comes back; inspections and edge verdicts are
    /// pushed too). Plain http:// only to loopback.
    #[arg(long, env = "OMNI_OFFICE_URL")]
    office: Option<String>,
    /// SageMaker endpoint name.
    #[arg(long, env = "OMNI_ENDPOINT_NAME", default_value = DEFAULT_ENDPOINT_NAME)]
    name: String,
    /// AWS region (signing and the default URL).
    #[arg(long, env = "AWS_REGION", default_value = DEFAULT_REGION)]
    region: String,
    /// Requests in flight at once.
    #[arg(
        long,
        default_value_t = u16::try_from(SyncConfig::default().concurrency).unwrap_or(1),
        value_parser = clap::value_parser!(u16).range(1..=64)
    )]
    concurrency: u16,
    /// Put failed photos back in the queue first.
    #[arg(long)]
    retry_failed: bool,
    /// Attempts before a photo with transient errors is failed.
    #[arg(long, default_value_t = SyncConfig::default().max_attempts)]
    max_attempts: u32,
    /// First retry delay scale, in milliseconds (exponential, full jitter).
    #[arg(
        long,
        default_value_t = millis(SyncConfig::default().backoff.base),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    backoff_base_ms: u64,
    /// Largest retry delay, in milliseconds.
    #[arg(long, default_value_t = millis(SyncConfig::default().backoff.cap))]
    backoff_cap_ms: u64,
    /// First whole-queue pause after a throttle, in milliseconds (grows with each throttle
    /// in a row, up to 60 s); at least 1, as a zero pause would answer every throttle at once.
    #[arg(
        long,
        default_value_t = millis(SyncConfig::default().throttle.base),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    throttle_base_ms: u64,
    /// Stop with an error after this many consecutive whole-queue pauses (network,
    /// credentials, a missing endpoint, storage full). A phone never gives up; a command
    /// has to end.
    #[arg(long, default_value_t = 6)]
    give_up_after: u32,
    /// Request timeout in seconds (default: the core's, above the 60 s a serverless
    /// invocation may run).
    #[arg(long)]
    timeout: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl SyncArgs {
    /// The core's settings for these flags on `data_dir`: cloud endpoint, credentials from
    /// the environment, retry policy.
    fn config(&self, data_dir: PathBuf) -> CliResult<OmniConfig> {
        let target = match &self.office {
            Some(url) => {
                let mut office = OfficeConfig::new(
                    ServiceUrl::parse(url).map_err(ApiError::from)?,
                    &self.region,
                );
                if let Some(seconds) = self.timeout {
                    office.timeout = Duration::from_secs(seconds);
                }
                CloudTarget::Office(office)
            }
            None => {
                let base_url = match &self.endpoint {
                    Some(url) => ServiceUrl::parse(url),
                    None => ServiceUrl::sagemaker_runtime(&self.region),
                }
                .map_err(ApiError::from)?;
                let mut runtime = RuntimeConfig::new(base_url, &self.name, &self.region);
                if let Some(seconds) = self.timeout {
                    runtime.timeout = Duration::from_secs(seconds);
                }
                CloudTarget::SageMaker(runtime)
            }
        };
        // Missing credentials are a clear error before anything is sent.
        EnvCredentialsProvider::read().map_err(ApiError::from)?;
        let mut config = OmniConfig::new(data_dir);
        config.cloud = Some(CloudConfig {
            target,
            credentials: Arc::new(EnvCredentialsProvider),
        });
        let defaults = SyncConfig::default();
        config.sync = SyncConfig {
            concurrency: usize::from(self.concurrency),
            backoff: Backoff {
                base: Duration::from_millis(self.backoff_base_ms),
                cap: Duration::from_millis(self.backoff_cap_ms.max(self.backoff_base_ms)),
            },
            throttle: Backoff {
                base: Duration::from_millis(self.throttle_base_ms),
                cap: defaults
                    .throttle
                    .cap
                    .max(Duration::from_millis(self.throttle_base_ms)),
            },
            max_attempts: self.max_attempts.max(1),
            give_up_after_pauses: Some(self.give_up_after.max(1)),
            ..defaults
        };
        Ok(config)
    }
}

#[derive(Serialize)]
struct SyncOutput {
    #[serde(flatten)]
    report: SyncReport,
    requeued: u64,
    queue: StateCounts,
    office: OfficeCounts,
}

struct ProgressListener(ProgressBar);

impl SyncListener for ProgressListener {
    fn on_event(&self, event: SyncEvent) {
        match event {
            SyncEvent::PhotoSynced { .. } | SyncEvent::PhotoFailed { .. } => self.0.inc(1),
            SyncEvent::Paused {
                reason, resume_in, ..
            } => self.0.set_message(format!(
                "paused {:.1}s: {}",
                resume_in.as_secs_f64(),
                reason.chars().take(60).collect::<String>()
            )),
            // Retries, counts and event kinds added to the core later: nothing to draw.
            _ => {}
        }
    }
}

/// Runs `omni sync`.
pub fn sync(data_dir: PathBuf, args: SyncArgs) -> CliResult {
    let core = crate::open_core(args.config(data_dir)?, true)?;
    let requeued = if args.retry_failed {
        core.retry_failed(None)?
    } else {
        0
    };
    let queued = core.stats()?.photos.queued;
    let progress = crate::progress_bar(queued, args.json);
    core.set_sync_listener(Arc::new(ProgressListener(progress.clone())))?;
    let report = crate::async_runtime()?.block_on(core.sync_until_idle())?;
    progress.finish_and_clear();
    let stats = core.stats()?;
    let queue = stats.photos;
    let office = args.office.is_some();
    let stopped = match &report.stopped {
        StopReason::Unreachable(reason) if office => Some(("office unreachable", reason)),
        StopReason::EndpointRefused(reason) if office => {
            Some(("office refused the requests", reason))
        }
        StopReason::Unreachable(reason) => Some(("endpoint unreachable", reason)),
        StopReason::EndpointRefused(reason) => Some(("endpoint refused the requests", reason)),
        StopReason::StorageFailing(reason) => Some(("results cannot be stored", reason)),
        StopReason::Idle | StopReason::Offline => None,
    };
    if let Some((what, reason)) = stopped {
        return Err(CliError::SyncStopped {
            what,
            queued: queue.queued,
            reason: reason.clone(),
        });
    }
    let output = SyncOutput {
        report,
        requeued,
        queue,
        office: stats.office,
    };
    if args.json {
        crate::render::print_json(&output)
    } else {
        println!(
            "synced {} photo(s), {} archived without a cloud verdict, {} failed, {} retried attempt(s), {} request(s); queue: {} queued, {} synced, {} failed",
            output.report.synced,
            output.report.archived,
            output.report.failed,
            output.report.retried,
            output.report.requests,
            queue.queued,
            queue.synced,
            queue.failed
        );
        if office {
            let office = output.office;
            println!(
                "office: {} record(s) acknowledged; {} inspection(s), {} photo(s), {} verdict(s) pending, {} wedged",
                output.report.office_records,
                office.inspections_pending,
                office.photos_pending,
                office.verdicts_pending,
                office.wedged
            );
        }
        Ok(())
    }
}
