//! `omni list`, `show`, `stats` and `recover`: what the data directory holds.

use std::path::PathBuf;

use omni_core::{InspectionFilter, InspectionId, OmniConfig, PhotoId, PhotoState, Recovery};

use crate::detect_cmd::parse_container;
use crate::error::CliResult;
use crate::render;

/// `omni list`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// Only inspections with a photo in this state (queued, synced, failed).
    #[arg(long)]
    state: Option<PhotoState>,
    /// Only inspections of this container.
    #[arg(long)]
    container: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Skip this many.
    #[arg(long, default_value_t = InspectionFilter::default().offset)]
    offset: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `omni show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    /// Inspection id.
    id: InspectionId,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `omni stats`.
#[derive(clap::Args)]
pub struct StatsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `omni recover`.
#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The container the quarantined photos show (a photo file does not record it).
    /// Without it, only lists what is in quarantine.
    #[arg(long, short)]
    container: Option<String>,
    /// Who recovers (or took) them.
    #[arg(long)]
    inspector: Option<String>,
    /// Only these photo ids (default: every quarantined photo).
    ids: Vec<PhotoId>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `omni list`.
pub fn list(data_dir: PathBuf, args: ListArgs) -> CliResult {
    let container_number = args.container.as_deref().map(parse_container).transpose()?;
    let core = crate::open_core(OmniConfig::new(data_dir), true)?;
    let summaries = core.list_inspections(&InspectionFilter {
        photo_state: args.state,
        container_number,
        limit: Some(args.limit),
        offset: args.offset,
    })?;
    if args.json {
        render::print_json(&summaries)
    } else {
        render::print_summaries(&summaries);
        Ok(())
    }
}

/// Runs `omni show`.
pub fn show(data_dir: PathBuf, args: ShowArgs) -> CliResult {
    let core = crate::open_core(OmniConfig::new(data_dir), true)?;
    let detail = core.inspection(args.id)?;
    if args.json {
        render::print_json(&detail)
    } else {
        render::print_detail(&detail);
        Ok(())
    }
}

/// Runs `omni stats`.
pub fn stats(data_dir: PathBuf, args: StatsArgs) -> CliResult {
    let core = crate::open_core(OmniConfig::new(data_dir), true)?;
    let stats = core.stats()?;
    if args.json {
        render::print_json(&stats)
    } else {
        render::print_stats(&stats);
        Ok(())
    }
}

/// Runs `omni recover`: lists the quarantine, or (with `--container`) adopts it.
pub fn recover(data_dir: PathBuf, args: RecoverArgs) -> CliResult {
    // Opening says what it quarantined, but not how to recover: this is it.
    let core = crate::open_core(OmniConfig::new(data_dir), false)?;
    let Some(container) = args.container else {
        let files = core.quarantined_files()?;
        return if args.json {
            render::print_json(&files)
        } else {
            render::print_quarantined(&files);
            Ok(())
        };
    };
    let container_number = parse_container(&container)?;
    let report = core.recover_quarantined(Recovery {
        container_number,
        inspector_id: args.inspector,
        only: (!args.ids.is_empty()).then_some(args.ids),
    })?;
    if args.json {
        render::print_json(&report)
    } else {
        render::print_recover_report(&report);
        Ok(())
    }
}
