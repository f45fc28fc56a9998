//! `omni-trainer`: the command-line front of the trainer library, one module per command
//! (as `omni`'s own CLI). Each command flattens only the setting groups it reads
//! (`omni_trainer::config`), so its `--help` shows what it needs.

mod cost_cmd;
mod dataset_cmd;
mod deploy_cmd;
mod labeling_cmd;
mod output;
mod publish_cmd;
mod train_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use omni_trainer::TrainerError;

/// Omni-Inspector ops tool: data sets, the labeling loop, S3 uploads, spot training on
/// SageMaker, serverless deployment and signed edge-model publishing.
///
/// Settings come from flags, then environment variables (shown in each flag's help), then the
/// config file (--config, else ./omni-trainer.toml), then the defaults of the plan. Each
/// command shows only the settings it reads.
#[derive(Parser, Debug)]
#[command(name = "omni-trainer", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// The options every command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// TOML config file (keys = the flag names with underscores).
    #[arg(long, env = "OMNI_TRAINER_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Print the result as JSON on stdout (no progress bars).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Data set commands: validate, split, import, merge, upload.
    #[command(subcommand)]
    Dataset(dataset_cmd::DatasetCommand),
    /// The labeling loop: select photos from a phone or the office, export them with the
    /// model's boxes to Label Studio, Roboflow or Ground Truth, import the labels.
    #[command(subcommand)]
    Labeling(labeling_cmd::LabelingCommand),
    /// Package the entry scripts and start a managed-spot training job.
    Train(train_cmd::TrainArgs),
    /// Wait for a training job: status transitions, then metrics and the spot saving.
    Wait(train_cmd::WaitArgs),
    /// Deploy a training job's model to the serverless endpoint (gated on mAP50-95).
    Deploy(deploy_cmd::DeployArgs),
    /// Publish a training job's edge model with a signed manifest (edge/latest.json last).
    Publish(publish_cmd::PublishArgs),
    /// Create an Ed25519 signing key (FILE, mode 0600) and its public key (FILE.pub).
    Keygen(publish_cmd::KeygenArgs),
    /// Convert an ONNX export to the edge device format (gzipped NNEF, what `publish` ships),
    /// checked against the ONNX model on a probe input.
    DeviceModel(publish_cmd::DeviceModelArgs),
    /// Estimate the cost of a training run and of a month of operation.
    Cost(cost_cmd::CostArgs),
    /// Print the resolved settings (every group).
    Config(cost_cmd::ConfigArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omni-trainer: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), TrainerError> {
    let global = &cli.global;
    match cli.command {
        Command::Dataset(command) => dataset_cmd::run(command, global),
        Command::Labeling(command) => labeling_cmd::run(&command, global),
        Command::Train(args) => train_cmd::train(args, global),
        Command::Wait(args) => train_cmd::wait(args, global),
        Command::Deploy(args) => deploy_cmd::run(args, global),
        Command::Publish(args) => publish_cmd::publish(args, global),
        Command::Keygen(args) => publish_cmd::keygen(&args, global.json),
        Command::DeviceModel(args) => publish_cmd::device_model(&args, global.json),
        Command::Cost(args) => cost_cmd::cost(args, global),
        Command::Config(args) => cost_cmd::config(args, global),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand (ids, conflicts, defaults).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
