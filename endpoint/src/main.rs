//! `omni-endpoint`: serve the SageMaker contract on loopback with our edge pipeline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use omni_core::cloud::{CredentialsProvider, EnvCredentialsProvider};
use omni_endpoint::{EndpointConfig, FaultConfig, Malformed, ModelChoice};

/// A SageMaker-compatible detection endpoint for development and tests.
///
/// Serves `POST /endpoints/{name}/invocations` (SigV4-checked against AWS_ACCESS_KEY_ID /
/// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN unless --no-auth), `GET /ping`,
/// `POST /invocations`, and `GET /_omni/stats`.
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
    /// Serve the runtime front without checking signatures.
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
    let credentials = if args.no_auth {
        None
    } else {
        Some(
            EnvCredentialsProvider
                .credentials()
                .map_err(|e| format!("{e} (or pass --no-auth)"))?,
        )
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
