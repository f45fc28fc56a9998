//! `omni-endpoint`: serve the SageMaker contract on loopback with our edge pipeline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use omni_cloud::EnvCredentialsProvider;
use omni_endpoint::{EndpointConfig, FaultConfig, Malformed, ModelChoice, ServerlessConfig};

/// A SageMaker-compatible detection endpoint for development and tests.
///
/// Serves `POST /endpoints/{name}/invocations` and `POST /invocations` (both SigV4-checked
/// against AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN unless --no-auth),
/// `GET /ping`, and `GET /_omni/stats`.
#[derive(Parser)]
#[command(name = "omni-endpoint", version, about)]
struct Args {
    /// Address to listen on (SageMaker containers use port 8080).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Endpoint name served by the runtime front.
    #[arg(long, default_value = "omni-inspector-yolo")]
    name: String,
    /// Region the SigV4 scope must name.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Serve both invocation routes without checking signatures.
    #[arg(long)]
    no_auth: bool,
    /// ONNX model to run (default: the bundled demo model); `null` answers without a model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Milliseconds added to every invocation.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of invocations answered 429/500/503.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of invocations whose connection is dropped.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Milliseconds after start during which invocations get ModelNotReadyException.
    #[arg(long, default_value_t = 0)]
    not_ready_ms: u64,
    /// Restart once after this many invocations.
    #[arg(long)]
    restart_after: Option<u64>,
    /// Milliseconds the server stays down during that restart.
    #[arg(long, default_value_t = 500)]
    restart_downtime_ms: u64,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Answer every invocation 200 with a broken body: not-json, wrong-schema,
    /// unknown-class, nan-score, box-outside-image, truncated.
    #[arg(long)]
    malformed: Option<Malformed>,
    /// Serverless MaxConcurrency: invocations beyond this many in flight get
    /// 400 ThrottlingException (default: no limit).
    #[arg(long)]
    max_concurrency: Option<u32>,
    /// Milliseconds a cold endpoint takes to warm up: the first invocation waits that long,
    /// and so do those arriving during the warm-up.
    #[arg(long, default_value_t = 0)]
    cold_start_ms: u64,
    /// Seconds without invocations after which the endpoint is cold again (default: never;
    /// only the first invocation is cold). Needs --cold-start-ms.
    #[arg(long)]
    idle_scale_down_s: Option<u64>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("omni-endpoint: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let rate = |name: &str, value: f64| {
        if (0.0..=1.0).contains(&value) {
            Ok(value)
        } else {
            Err(format!("--{name} must be between 0 and 1, got {value}"))
        }
    };
    if args.max_concurrency == Some(0) {
        return Err("--max-concurrency must be at least 1".into());
    }
    if args.idle_scale_down_s.is_some() && args.cold_start_ms == 0 {
        return Err("--idle-scale-down-s needs --cold-start-ms".into());
    }
    let credentials = if args.no_auth {
        None
    } else {
        Some(EnvCredentialsProvider::read().map_err(|e| format!("{e} (or pass --no-auth)"))?)
    };
    let model = match &args.model {
        None => ModelChoice::Bundled,
        Some(path) if path.as_os_str() == "null" => ModelChoice::Null,
        Some(path) => ModelChoice::Path(path.clone()),
    };
    let config = EndpointConfig {
        listen: args.listen,
        endpoint_name: args.name,
        region: args.region,
        credentials,
        model,
        faults: FaultConfig {
            latency: Duration::from_millis(args.latency_ms),
            error_rate: rate("error-rate", args.error_rate)?,
            drop_rate: rate("drop-rate", args.drop_rate)?,
            not_ready_for: Duration::from_millis(args.not_ready_ms),
            restart_after: args.restart_after,
            restart_downtime: Duration::from_millis(args.restart_downtime_ms),
            seed: args.seed,
            malformed: args.malformed,
            serverless: ServerlessConfig {
                max_concurrency: args.max_concurrency,
                cold_start: Duration::from_millis(args.cold_start_ms),
                idle_scale_down: args.idle_scale_down_s.map(Duration::from_secs),
            },
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let endpoint = omni_endpoint::start(config)
            .await
            .map_err(|e| e.to_string())?;
        // The one line a parent process waits for.
        println!("listening on {}", endpoint.url());
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        Ok(())
    })
}

#[cfg(test)]
mod cli_tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand (ids, conflicts, defaults).
    #[test]
    fn the_command_line_is_consistent() {
        super::Args::command().debug_assert();
    }
}
