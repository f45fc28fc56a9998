//! `omni-office report ID [--pdf FILE] [--json] [--wait SECS]` and the Nova flags `serve`
//! shares: the EIR of a closed inspection from the office's store, written once per revision
//! and review state. A person's command, so it may wait: it writes the report itself when
//! nobody has, or waits (bounded, with progress on stderr) for the writer holding the claim.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use omni_report::{DEFAULT_MODEL_ID, Eir, Language, NovaConfig, NovaWriter};

use super::{CLAIM_STALE, ReportSettings, pdf, write};
use crate::store::Store;

/// How reports are written: the deterministic rules (default) or Amazon Nova.
#[derive(Clone, Debug, Args)]
pub struct NovaArgs {
    /// Write reports with Amazon Nova through Bedrock's Converse API (checked, with the rules
    /// as fallback); without it the deterministic rules write them.
    #[arg(long, env = "OMNI_OFFICE_NOVA")]
    pub nova: bool,
    /// Bedrock model or inference-profile id.
    #[arg(long, env = "OMNI_OFFICE_NOVA_MODEL", default_value = DEFAULT_MODEL_ID)]
    pub nova_model: String,
    /// Region of the Bedrock Runtime endpoint (when the environment names none).
    #[arg(long, env = "OMNI_OFFICE_BEDROCK_REGION", default_value = "us-east-1")]
    pub bedrock_region: String,
    /// Another Bedrock Runtime endpoint (a local stand-in).
    #[arg(long, env = "OMNI_OFFICE_BEDROCK_ENDPOINT_URL")]
    pub bedrock_endpoint_url: Option<String>,
}

/// [`NovaArgs`] alone, read from the environment (the Lambda has no command line).
#[derive(clap::Parser)]
struct FromEnv {
    #[command(flatten)]
    nova: NovaArgs,
}

impl NovaArgs {
    /// The settings the `OMNI_OFFICE_NOVA*` and `OMNI_OFFICE_BEDROCK_*` variables give.
    pub fn from_env() -> Result<Self, String> {
        use clap::Parser as _;
        FromEnv::try_parse_from(["omni-office"])
            .map(|f| f.nova)
            .map_err(|e| e.to_string())
    }

    /// The settings: bundled tables, and Nova with the environment's AWS credentials when
    /// `--nova` is given.
    pub async fn settings(&self) -> ReportSettings {
        let mut settings = ReportSettings::default();
        if self.nova {
            let config = NovaConfig {
                model_id: self.nova_model.clone(),
                region: self.bedrock_region.clone(),
                endpoint_url: self.bedrock_endpoint_url.clone(),
                ..NovaConfig::default()
            };
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(self.bedrock_region.clone()))
                .load()
                .await;
            settings.nova = Some(NovaWriter::new(config, &sdk));
        }
        settings
    }
}

/// The PDF's language.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Spanish.
    Es,
}

/// `omni-office report`.
#[derive(Clone, Debug, Args)]
pub struct ReportArgs {
    /// The inspection's id.
    pub id: String,
    /// Also write the EIR as a PDF to this file.
    #[arg(long)]
    pub pdf: Option<PathBuf>,
    /// The PDF's language.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
    /// Print the EIR as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// How long to wait, in seconds, for another writer (the office's background writer)
    /// that holds the report's claim; a claim older than 300 s is taken over.
    #[arg(long, default_value_t = 360, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait: u64,
    /// How a report not yet stored is written.
    #[command(flatten)]
    pub nova: NovaArgs,
}

/// How often the wait for another writer looks at the store, and says so.
const POLL: Duration = Duration::from_millis(250);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The stored EIR, or written now by this command, or by the writer holding the claim within
/// `wait` (each [`POLL`] it tries again, taking a stale claim over).
async fn written(
    store: &dyn Store,
    settings: &ReportSettings,
    id: &str,
    wait: Duration,
) -> Result<Box<Eir>, String> {
    let started = tokio::time::Instant::now();
    let mut said = Duration::ZERO;
    loop {
        let found = write(store, settings, id)
            .await
            .map_err(|e| format!("{}: {}", e.error_type, e.message))?;
        if let Some(eir) = found {
            return Ok(eir);
        }
        let waited = started.elapsed();
        if waited >= wait {
            return Err(format!(
                "ReportPendingException: the report of inspection {id} is still being written by another writer after {} s; run the command again later (a writer cut off is taken over after {} s)",
                waited.as_secs(),
                CLAIM_STALE.as_secs()
            ));
        }
        if waited >= said + PROGRESS_EVERY {
            said = waited;
            eprintln!(
                "omni-office: the report of inspection {id} is being written by another writer; waited {} s of {} s",
                waited.as_secs(),
                wait.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `omni-office report`: the stored EIR, or written now and stored once.
pub async fn run(store: Arc<dyn Store>, args: ReportArgs) -> Result<(), String> {
    let settings = args.nova.settings().await;
    let wait = Duration::from_secs(args.wait);
    let eir = written(store.as_ref(), &settings, &args.id, wait).await?;
    if let Some(path) = &args.pdf {
        let lang = match args.lang {
            LangArg::En => Language::En,
            LangArg::Es => Language::Es,
        };
        let pdf = pdf(store.as_ref(), &eir, &args.id, lang).await?;
        omni_durable::write_atomic(path, &pdf)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if !args.json {
            println!("wrote {} ({} bytes)", path.display(), pdf.len());
        }
    }
    if args.json {
        let text = serde_json::to_string_pretty(&eir).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print_text(&eir);
    }
    Ok(())
}

fn letters(faces: &[omni_report::Face]) -> String {
    if faces.is_empty() {
        return "-".to_owned();
    }
    faces
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The EIR in a few lines of text (English).
fn print_text(eir: &Eir) {
    let h = &eir.header;
    println!(
        "EIR {}  container {}  {} ({})  revision {}",
        h.eir_number, h.container_number, h.kind, h.kind_name.en, h.revision
    );
    println!(
        "verdict  {}: {}",
        eir.verdict.status.name(Language::En),
        eir.verdict.reason.en
    );
    println!(
        "faces    required {}; photographed {}; missing {}",
        letters(&eir.faces.required),
        letters(&eir.faces.photographed),
        letters(&eir.faces.missing)
    );
    println!("lines    {}", eir.lines.len());
    for line in &eir.lines {
        println!(
            "  {:>3}  {}  {}  {}  {}  {}  {}  {}",
            line.number,
            line.photo_id,
            line.face,
            line.location,
            line.damage_code.as_deref().unwrap_or("-"),
            line.repair_code,
            line.severity.name(Language::En),
            line.damage.en,
        );
    }
    let written = &eir.written_by;
    println!(
        "written  {}{}",
        match written.method {
            omni_report::Method::Rules => "rules",
            omni_report::Method::Nova => "nova",
        },
        written
            .fallback_reason
            .as_deref()
            .map(|r| format!(" (fallback: {r})"))
            .unwrap_or_default()
    );
}
