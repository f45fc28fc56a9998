//! The office's reports: one EIR (`omni-report`) per closed inspection revision and review
//! state ([`ReportKey`]), built from the store by deterministic rules, or by Amazon Nova when
//! configured, and stored once.
//!
//! - [`ReportSettings`]: the kinds and CEDEX tables the office uses, and Nova (or not).
//! - [`start`]: the writer in the background (claim → build → store), never awaited by a
//!   request: a GET of a report not stored starts it, and the web view when a review or the
//!   reviewed mark is stored. Not the phone's close: the phone sends the closed revision
//!   before its photos, and the report of that key would miss them for good. Two offices or a retried Lambda write a key once; a claim
//!   older than [`CLAIM_STALE`] (a writer cut off, a Lambda frozen after answering) is taken
//!   over by the next [`stored_or_start`].
//! - [`stored_or_start`]: the stored EIR of the current key, or the writer started and
//!   [`Stage::Pending`] (`GET /v1/inspections/{id}/report` answers 202, the page says so).
//! - [`write`]: the writer itself, awaited only by `omni-office report` (a person's command).
//! - [`pdf`]: the EIR as a PDF with the inspection's photos (the CLI's `--pdf` and the web
//!   view's download).
//! - [`input`]: the store's inspection as the report's input; [`reviews`]: its reviews.

pub mod cli;
pub mod input;
pub mod reviews;

use std::sync::Arc;
use std::time::Duration;

use omni_protocol::Timestamp;
use omni_report::pdf::PhotoBytes;
use omni_report::{CedexTable, Eir, KindTable, Language, NovaWriter, build_report, render_pdf};

use crate::error::ApiError;
use crate::store::{ReportKey, Store};
use crate::wire::{Inspection, Review};

/// A claim older than this is taken over (its writer was cut off). A Nova write takes at most
/// 3 attempts of 60 s and their backoff, under this.
pub const CLAIM_STALE: Duration = Duration::from_secs(300);
/// What a pending report's answer suggests before asking again (`Retry-After`).
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

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

/// Where an inspection's report stands.
#[derive(Debug)]
pub enum Stage {
    /// Written and stored.
    Written(Box<Eir>),
    /// Not stored yet: a writer is at it (started now, or earlier and not stale).
    Pending(ReportKey),
}

/// The answer to a pending report: 202 `ReportPendingException` (the API adds
/// `Retry-After`).
pub fn pending(id: &str, key: ReportKey) -> ApiError {
    ApiError::new(
        202,
        "ReportPendingException",
        format!(
            "the report of inspection {id} (revision {}, {} reviews) is being written: ask again in a moment",
            key.revision, key.reviews
        ),
    )
}

/// Inspection `id`, its reviews and the key of its current report. An open inspection, one
/// without a kind, or a missing one is a typed error.
async fn current(
    store: &dyn Store,
    id: &str,
) -> Result<(Inspection, Vec<Review>, ReportKey), ApiError> {
    crate::validate::id("inspection id", id)?;
    let inspection = store
        .inspection(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no inspection {id}")))?
        .inspection;
    input::reportable(&inspection)?;
    let reviews = store.reviews(id).await?;
    let key = ReportKey {
        revision: inspection.revision,
        reviews: reviews.len() as u64,
    };
    Ok((inspection, reviews, key))
}

fn parsed(json: &str) -> Result<Box<Eir>, ApiError> {
    serde_json::from_str(json).map_err(internal)
}

/// The stored EIR of inspection `id`'s current revision and review state, or, when it is not
/// stored yet, the writer started in the background ([`start`]) and [`Stage::Pending`]. Never
/// waits for the writer. An open inspection, one without a kind, or a missing one is a typed
/// error and nothing is started.
pub async fn stored_or_start(
    store: &Arc<dyn Store>,
    settings: &Arc<ReportSettings>,
    id: &str,
) -> Result<Stage, ApiError> {
    let (_, _, key) = current(store.as_ref(), id).await?;
    if let Some(json) = store.report(id, key).await? {
        return Ok(Stage::Written(parsed(&json)?));
    }
    start(store.clone(), settings.clone(), id.to_owned());
    Ok(Stage::Pending(key))
}

/// Starts [`write`] for inspection `id` in the background, without waiting for it. An
/// inspection that has no report (open, no kind, unknown) is left alone; a writer that fails
/// says why on stderr (the Lambda's log) and keeps its claim, so the key is tried again once
/// the claim is stale.
pub fn start(store: Arc<dyn Store>, settings: Arc<ReportSettings>, id: String) {
    tokio::spawn(async move {
        match write(store.as_ref(), &settings, &id).await {
            Ok(_) => {}
            Err(e) if e.status == 404 || e.status == 409 => {}
            Err(e) => eprintln!("omni-office: the report of inspection {id} failed: {e}"),
        }
    });
}

/// The writer: the EIR of inspection `id`'s current revision and review state, the stored
/// one, or written now (rules or Nova) when this call claims the key, and stored exactly
/// once. `None` when another writer holds the claim.
pub async fn write(
    store: &dyn Store,
    settings: &ReportSettings,
    id: &str,
) -> Result<Option<Box<Eir>>, ApiError> {
    let (inspection, reviews, key) = current(store, id).await?;
    if let Some(json) = store.report(id, key).await? {
        return parsed(&json).map(Some);
    }
    let now = Timestamp::now().as_millis();
    let stale = now.saturating_sub(CLAIM_STALE.as_millis() as i64);
    if !store.claim_report(id, key, stale, now).await? {
        return Ok(None);
    }
    let input = input::report_input(store, &inspection, &reviews).await?;
    let eir = match &settings.nova {
        Some(nova) => nova
            .write(&input, &settings.kinds, &settings.cedex, now)
            .await
            .map_err(|e| ApiError::validation(e.to_string()))?,
        None => build_report(&input, &settings.kinds, &settings.cedex, now)
            .map_err(|e| ApiError::validation(e.to_string()))?,
    };
    let json = serde_json::to_string(&eir).map_err(internal)?;
    store.put_report(id, key, &json).await?;
    // Another writer (a stale claim taken over) may have stored first: its report stands.
    let stored = store
        .report(id, key)
        .await?
        .ok_or_else(|| internal("a stored report vanished"))?;
    parsed(&stored).map(Some)
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
