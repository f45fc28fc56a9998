//! What every command shares: settings resolution, JSON output, progress bars, the runtime.

use indicatif::{ProgressBar, ProgressStyle};
use omni_trainer::TrainerError;
use omni_trainer::config::{self, Settings, SettingsLayer};
use serde::Serialize;

use crate::Global;

/// The command's setting groups (flags and environment) over the config file over the
/// defaults.
pub fn settings(
    global: &Global,
    groups: impl IntoIterator<Item = SettingsLayer>,
) -> Result<Settings, TrainerError> {
    let cwd = std::env::current_dir().map_err(TrainerError::io("."))?;
    let flags = groups
        .into_iter()
        .fold(SettingsLayer::default(), SettingsLayer::over);
    config::resolve(flags, global.config.as_deref(), &cwd)
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), TrainerError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| TrainerError::Input(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// A data set version for people: the number, or why there is none.
pub fn dataset_version_text(version: Option<&String>) -> String {
    version.map_or_else(
        || "unknown (no dataset.json; version it with `dataset merge`)".to_owned(),
        Clone::clone,
    )
}

/// The terminal bar the library's progress reports are drawn on (hidden with `--json`).
pub fn bar(json: bool, bytes: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let template = if bytes {
        "{spinner} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {wide_bar}"
    } else {
        "{spinner} {pos}/{len} eta {eta} {wide_bar}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// The library's [`omni_trainer::Progress`] callback drawing on `bar`.
pub fn draw(bar: &ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// A multi-threaded tokio runtime for the AWS calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, TrainerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| TrainerError::Input(format!("tokio runtime: {e}")))
}
