//! The office's reports: one EIR (`omni-report`) per closed inspection revision, built from
//! the store by deterministic rules, or by Amazon Nova when configured, and stored once.
//!
//! - [`ReportSettings`]: the kinds and CEDEX tables the office uses, and Nova (or not).
//! - [`report`]: the stored EIR of an inspection's revision, or written now by the one caller
//!   that claims it (two offices or a retried Lambda write it once); never on a phone's
//!   request path: `GET /v1/inspections/{id}/report` and `omni-office report` ask for it.
//! - [`pdf`]: the EIR as a PDF with the inspection's photos (the CLI's `--pdf` and the web
//!   view's download).
//! - [`input`]: the store's inspection as the report's input.

pub mod cli;
pub mod input;

use std::time::Duration;

use omni_protocol::Timestamp;
use omni_report::pdf::PhotoBytes;
use omni_report::{CedexTable, Eir, KindTable, Language, NovaWriter, build_report, render_pdf};

use crate::error::ApiError;
use crate::store::Store;

/// A claim older than this is taken over (the writer was cut off).
pub const CLAIM_STALE: Duration = Duration::from_secs(300);
/// How long a caller that did not win the claim waits for the winner's report.
pub const WAIT_FOR_WRITER: Duration = Duration::from_secs(30);

/// How the office writes reports and reads faces: one value for the API, the CLI and the
/// Lambda.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    /// Inspection kinds and the faces each requires (the bundled table, or the yard's).
    pub kinds: KindTable,
    /// CEDEX codes and the mapping of our classes (the bundled table, or the yard's).
    pub cedex: CedexTable,
    /// Amazon Nova through Bedrock; `None`: the deterministic rules write every report.
    pub nova: Option<NovaWriter>,
}

impl Default for ReportSettings {
    /// The bundled tables, no Nova.
    fn default() -> Self {
        Self {
            kinds: KindTable::builtin(),
            cedex: CedexTable::builtin(),
            nova: None,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(500, "InternalFailure", e.to_string())
}

/// The EIR of inspection `id`'s current revision: the stored one, or written now (rules or
/// Nova) by whoever claims the revision and stored exactly once. An open inspection, one
/// without a kind, or a missing one is a typed error and nothing is stored.
pub async fn report(
    store: &dyn Store,
    settings: &ReportSettings,
    id: &str,
) -> Result<Eir, ApiError> {
    crate::validate::id("inspection id", id)?;
    let inspection = store
        .inspection(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no inspection {id}")))?
        .inspection;
    input::reportable(&inspection)?;
    let revision = inspection.revision;
    if let Some(json) = store.report(id, revision).await? {
        return serde_json::from_str(&json).map_err(internal);
    }
    let now = Timestamp::now().as_millis();
    let stale = now.saturating_sub(CLAIM_STALE.as_millis() as i64);
    if !store.claim_report(id, revision, stale, now).await? {
        return wait_for_writer(store, id, revision).await;
    }
    let input = input::report_input(store, &inspection).await?;
    let eir = match &settings.nova {
        Some(nova) => nova
            .write(&input, &settings.kinds, &settings.cedex, now)
            .await
            .map_err(|e| ApiError::validation(e.to_string()))?,
        None => build_report(&input, &settings.kinds, &settings.cedex, now)
            .map_err(|e| ApiError::validation(e.to_string()))?,
    };
    let json = serde_json::to_string(&eir).map_err(internal)?;
    store.put_report(id, revision, &json).await?;
    // Another writer (a stale claim taken over) may have stored first: its report stands.
    let stored = store
        .report(id, revision)
        .await?
        .ok_or_else(|| internal("a stored report vanished"))?;
    serde_json::from_str(&stored).map_err(internal)
}

/// Waits for the claim holder's report; 503 when it does not come in time.
async fn wait_for_writer(store: &dyn Store, id: &str, revision: u64) -> Result<Eir, ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_WRITER;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(json) = store.report(id, revision).await? {
            return serde_json::from_str(&json).map_err(internal);
        }
    }
    Err(ApiError::new(
        503,
        "ReportInProgressException",
        format!("the report of inspection {id} revision {revision} is being written: retry later"),
    ))
}

/// The EIR as a PDF in `lang`, with inspection `id`'s photos: what `omni-office report --pdf`
/// writes and the web view's `report.pdf` answers.
pub async fn pdf(
    store: &dyn Store,
    eir: &Eir,
    id: &str,
    lang: Language,
) -> Result<Vec<u8>, String> {
    let mut photos = Vec::new();
    for stored in store.photos(id).await.map_err(|e| e.to_string())? {
        let bytes = store
            .photo_bytes(&stored.photo)
            .await
            .map_err(|e| e.to_string())?;
        photos.push((stored.photo.id, bytes));
    }
    let refs: Vec<PhotoBytes<'_>> = photos
        .iter()
        .map(|(id, bytes)| PhotoBytes { id, bytes })
        .collect();
    render_pdf(eir, &refs, lang).map_err(|e| format!("cannot render the PDF: {e}"))
}
