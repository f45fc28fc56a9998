//! `omni-office report ID [--pdf FILE] [--json]` and the Nova flags `serve` shares: the EIR
//! of a closed inspection from the office's store, written once per revision.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use omni_report::{DEFAULT_MODEL_ID, Eir, Language, NovaConfig, NovaWriter};

use super::{ReportSettings, pdf, report};
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
    /// How a report not yet stored is written.
    #[command(flatten)]
    pub nova: NovaArgs,
}

/// Runs `omni-office report`: the stored EIR, or written now and stored once.
pub async fn run(store: Arc<dyn Store>, args: ReportArgs) -> Result<(), String> {
    let settings = args.nova.settings().await;
    let eir = report(store.as_ref(), &settings, &args.id)
        .await
        .map_err(|e| format!("{}: {}", e.error_type, e.message))?;
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
