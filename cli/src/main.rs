//! `omni`: the desktop command-line front of Omni-Inspector.
//!
//! A client of the core's front door: every command on a data directory opens an
//! [`OmniCore`] with the [`OmniConfig`] its flags make, and does its work through it. Only
//! `eval`, which scores a model on a data set and has no data directory, runs a detector
//! itself. `main` parses, [`run`] dispatches to one function per subcommand, and a failure
//! is one line on stderr (`omni: error: …`) with exit status 1.

mod annotate;
mod detect_cmd;
mod error;
mod eval_cmd;
mod model_cmd;
mod render;
mod store_cmd;
mod sync_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use omni_core::{ApiError, OmniConfig, OmniCore};

use crate::error::{CliError, CliResult};

/// Omni-Inspector: capture container photos, queue them durably, inspect the results.
#[derive(Parser)]
#[command(name = "omni", version)]
struct Cli {
    /// Data directory (database and photos). Defaults to the platform's data directory.
    #[arg(long, global = true, env = "OMNI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log to stderr: -v info, -vv debug, -vvv trace (RUST_LOG, e.g. `omni_core=debug`,
    /// overrides). Logs never go to stdout, so `--json` output stays clean.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No log lines at all (a failure still prints its one error line).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an inspection of one container and add photos to it.
    Inspect(detect_cmd::InspectArgs),
    /// Run edge detection on stored photos (by photo id, or all still pending).
    Detect(detect_cmd::DetectArgs),
    /// Score a model on a YOLO-format validation set: mAP50 and mAP50-95 per class.
    Eval(eval_cmd::EvalArgs),
    /// List inspections, newest first.
    List(store_cmd::ListArgs),
    /// Show one inspection with its photos and detections.
    Show(store_cmd::ShowArgs),
    /// Send queued photos to the SageMaker endpoint and store the cloud results.
    Sync(sync_cmd::SyncArgs),
    /// Refresh the on-device model from a signed manifest: status, check, update, rollback.
    Model(model_cmd::ModelArgs),
    /// List or re-adopt photo files quarantined in photos/orphans/ (files whose database
    /// row was lost): adopted photos form one new inspection marked as recovered.
    Recover(store_cmd::RecoverArgs),
    /// Count inspections and photos per state.
    Stats(store_cmd::StatsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("omni: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Sends the core's `tracing` events to stderr, filtered by `-v`/`-q` or `RUST_LOG`.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = if quiet {
        EnvFilter::new("off")
    } else {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a pipe gets plain `name=value` fields.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Runs one subcommand.
fn run(cli: Cli) -> CliResult {
    let Cli {
        data_dir, command, ..
    } = cli;
    // Evaluation reads a data set, not a data directory.
    if let Command::Eval(args) = command {
        return eval_cmd::eval(args);
    }
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => dirs::data_dir()
            .ok_or(CliError::NoDataDir)?
            .join("omni-inspector"),
    };
    match command {
        Command::Inspect(args) => detect_cmd::inspect(data_dir, args),
        Command::Detect(args) => detect_cmd::detect(data_dir, args),
        Command::List(args) => store_cmd::list(data_dir, args),
        Command::Show(args) => store_cmd::show(data_dir, args),
        Command::Stats(args) => store_cmd::stats(data_dir, args),
        Command::Recover(args) => store_cmd::recover(data_dir, args),
        Command::Sync(args) => sync_cmd::sync(data_dir, args),
        Command::Model(args) => model_cmd::model(data_dir, args),
        Command::Eval(_) => unreachable!("handled before the data directory is resolved"),
    }
}

/// Opens the core on `config`, saying in one line what opening repaired and, with
/// `quarantine_hint`, how to re-adopt quarantined photo files.
fn open_core(config: OmniConfig, quarantine_hint: bool) -> CliResult<OmniCore> {
    let pinned = config.pinned_model.clone();
    let core = OmniCore::open(config).map_err(|err| match (pinned, err) {
        // A `--model` that does not load: name the file.
        (Some(path), source @ ApiError::ModelRejected { .. }) => CliError::ApiOn {
            what: path.display().to_string(),
            source,
        },
        (_, err) => err.into(),
    })?;
    let report = core.open_report();
    if !report.orphans_quarantined.is_empty()
        || !report.files_restored.is_empty()
        || !report.missing_files.is_empty()
    {
        eprintln!(
            "omni: repaired data directory: {} photo file(s) without a database row moved to photos/orphans/, {} put back beside their row, {} photo(s) missing their file marked failed",
            report.orphans_quarantined.len(),
            report.files_restored.len(),
            report.missing_files.len()
        );
    }
    if quarantine_hint && report.quarantined > 0 {
        eprintln!(
            "omni: {} file(s) wait in photos/orphans/; `omni recover --container NUMBER` re-adopts them",
            report.quarantined
        );
    }
    Ok(core)
}

/// A progress bar on stderr, hidden for single items and JSON output (`len` 0: set later).
fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || len == 1 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

/// The runtime the network commands (`sync`, `model check|update`) block on.
fn async_runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

#[cfg(test)]
mod cli_tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand (ids, conflicts, defaults).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
