//! `omni sync`: drain the queue to the SageMaker endpoint.

use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use omni_core::Inspector;
use omni_core::cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_core::cloud::{CachedCredentials, EnvCredentialsProvider, ServiceUrl};
use omni_core::sync::{Backoff, StopReason, SyncConfig, SyncEngine, SyncEvent, SyncListener};
use serde::Serialize;

/// Where and how to sync.
#[derive(clap::Args)]
pub struct SyncArgs {
    /// Runtime base URL (default: https://runtime.sagemaker.<region>.amazonaws.com). Plain
    /// http:// only to loopback.
    #[arg(long, env = "OMNI_ENDPOINT_URL")]
    endpoint: Option<String>,
    /// SageMaker endpoint name.
    #[arg(
        long,
        env = "OMNI_ENDPOINT_NAME",
        default_value = "omni-inspector-yolo"
    )]
    name: String,
    /// AWS region (signing and the default URL).
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Put failed photos back in the queue first.
    #[arg(long)]
    retry_failed: bool,
    /// Attempts before a photo with transient errors is failed.
    #[arg(long, default_value_t = 12)]
    max_attempts: u32,
    /// First retry delay scale, in milliseconds (exponential, full jitter).
    #[arg(long, default_value_t = 2000)]
    backoff_base_ms: u64,
    /// Largest retry delay, in milliseconds.
    #[arg(long, default_value_t = 300_000)]
    backoff_cap_ms: u64,
    /// Stop with an error after this many consecutive whole-queue pauses (network,
    /// credentials, a missing endpoint, storage full).
    #[arg(long, default_value_t = 6)]
    give_up_after: u32,
    /// Request timeout in seconds (serverless invocations run at most 60 s).
    #[arg(long, default_value_t = 70)]
    timeout: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SyncOutput {
    #[serde(flatten)]
    report: omni_core::sync::SyncReport,
    requeued: u64,
    queue: omni_core::StateCounts,
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
            SyncEvent::AttemptFailed { .. } | SyncEvent::QueueCounts { .. } => {}
        }
    }
}

/// Runs `omni sync`.
pub fn run(inspector: Inspector, args: SyncArgs) -> Result<(), String> {
    let base_url = match &args.endpoint {
        Some(url) => ServiceUrl::parse(url),
        None => ServiceUrl::sagemaker_runtime(&args.region),
    }
    .map_err(|e| e.to_string())?;
    let credentials = Arc::new(CachedCredentials::new(Arc::new(EnvCredentialsProvider)));
    // Missing credentials are a clear error before anything is sent.
    EnvCredentialsProvider::read().map_err(|e| e.to_string())?;
    let mut runtime_config = RuntimeConfig::new(base_url, &args.name, &args.region);
    runtime_config.timeout = Duration::from_secs(args.timeout);
    let client = RuntimeClient::new(runtime_config, credentials).map_err(|e| e.to_string())?;
    let inspector = Arc::new(inspector);
    let requeued = if args.retry_failed {
        inspector.retry_failed(None).map_err(|e| e.to_string())?
    } else {
        0
    };
    let queued = inspector.stats().map_err(|e| e.to_string())?.photos.queued;
    let config = SyncConfig {
        concurrency: usize::from(args.concurrency),
        backoff: Backoff {
            base: Duration::from_millis(args.backoff_base_ms),
            cap: Duration::from_millis(args.backoff_cap_ms.max(args.backoff_base_ms)),
        },
        max_attempts: args.max_attempts.max(1),
        give_up_after_pauses: Some(args.give_up_after.max(1)),
        ..SyncConfig::default()
    };
    let engine = SyncEngine::new(inspector.clone(), client, config);
    let progress = crate::progress_bar(queued, args.json);
    engine.set_listener(Arc::new(ProgressListener(progress.clone())));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let report = runtime
        .block_on(engine.run_until_idle())
        .map_err(|e| e.to_string())?;
    progress.finish_and_clear();
    let queue = inspector.stats().map_err(|e| e.to_string())?.photos;
    let stopped = match &report.stopped {
        StopReason::Unreachable(reason) => Some(("endpoint unreachable", reason)),
        StopReason::EndpointRefused(reason) => Some(("endpoint refused the requests", reason)),
        StopReason::StorageFailing(reason) => Some(("results cannot be stored", reason)),
        StopReason::Idle | StopReason::Offline => None,
    };
    if let Some((what, reason)) = stopped {
        return Err(format!(
            "{what}, {} photo(s) still queued: {reason}",
            queue.queued
        ));
    }
    let output = SyncOutput {
        report,
        requeued,
        queue,
    };
    if args.json {
        crate::render::print_json(&output)
    } else {
        println!(
            "synced {} photo(s), {} failed, {} retried attempt(s), {} request(s); queue: {} queued, {} synced, {} failed",
            output.report.synced,
            output.report.failed,
            output.report.retried,
            output.report.requests,
            queue.queued,
            queue.synced,
            queue.failed
        );
        Ok(())
    }
}
