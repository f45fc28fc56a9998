//! Where the office keeps inspections, photos and verdicts: one small trait, two
//! implementations ([`embedded::EmbeddedStore`], [`aws::AwsStore`]).
//!
//! Every write is idempotent and never loses newer data: a repeat of a stored write is
//! [`Put::Unchanged`]; a different write to the same key, or an inspection update older than
//! the stored one, is [`StoreError::Conflict`] and changes nothing.
//!
//! A photo is addressed by its inspection and its id: a photo id is unique within its
//! inspection only (docs/office.md, "Ids"), so the same id under two inspections is two
//! photos, and a verdict's key is (inspection, photo, source, model SHA-256). Both stores are
//! held to this contract by one conformance suite (`office/tests/integration/store_contract`).

pub mod aws;
pub mod embedded;

use std::cmp::Ordering;
use std::time::Duration;

use async_trait::async_trait;

use crate::wire::{DetectStatus, Inspection, InspectionState, InspectionSummary, Photo, Verdict};

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// A new record.
    Created,
    /// A newer revision replaced the stored one.
    Updated,
    /// The same record was already stored: nothing written.
    Unchanged,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write contradicts what is stored (an older revision, another body for the same
    /// photo id, another verdict for the same key). Nothing was written.
    #[error("{0}")]
    Conflict(String),
    /// The inspection (or photo) the write refers to does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database, file system or AWS service failed.
    #[error("store failure: {0}")]
    Backend(String),
}

/// A photo and where detection on upload stands for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPhoto {
    /// The photo.
    pub photo: Photo,
    /// Detection on upload.
    pub detect_status: DetectStatus,
    /// Why detection failed.
    pub detect_error: Option<String>,
}

/// Filters of a listing; every one optional, all must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Normalised container number.
    pub container: Option<String>,
    /// `created_at_ms >= since_ms`.
    pub since_ms: Option<i64>,
    /// `created_at_ms < until_ms`.
    pub until_ms: Option<i64>,
    /// Open or closed.
    pub state: Option<InspectionState>,
    /// Whether any verdict found damage.
    pub has_damage: Option<bool>,
    /// At most this many, newest first.
    pub limit: usize,
}

impl ListQuery {
    /// Whether `s` passes the filters other than the container (which the stores index).
    pub fn matches(&self, s: &InspectionSummary) -> bool {
        let i = &s.inspection;
        self.since_ms.is_none_or(|t| i.created_at_ms >= t)
            && self.until_ms.is_none_or(|t| i.created_at_ms < t)
            && self.state.is_none_or(|st| i.state == st)
            && self.has_damage.is_none_or(|d| s.has_damage == d)
            && self
                .container
                .as_ref()
                .is_none_or(|c| &i.container_number == c)
    }
}

/// The order of a listing: newest first (`created_at_ms`), then by id.
pub(crate) fn newest_first(a: &InspectionSummary, b: &InspectionSummary) -> Ordering {
    let (a, b) = (&a.inspection, &b.inspection);
    b.created_at_ms
        .cmp(&a.created_at_ms)
        .then_with(|| a.id.cmp(&b.id))
}

/// The order of an inspection's photos: oldest first (`received_at_ms`), then by id.
pub(crate) fn oldest_first(a: &StoredPhoto, b: &StoredPhoto) -> Ordering {
    let (a, b) = (&a.photo, &b.photo);
    (a.received_at_ms, &a.id).cmp(&(b.received_at_ms, &b.id))
}

/// The order of an inspection's verdicts: by receive time, then photo id, source and model.
pub(crate) fn verdict_order(a: &Verdict, b: &Verdict) -> Ordering {
    (
        a.received_at_ms,
        &a.photo_id,
        a.source.as_str(),
        &a.model_sha256,
    )
        .cmp(&(
            b.received_at_ms,
            &b.photo_id,
            b.source.as_str(),
            &b.model_sha256,
        ))
}

/// The office's storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates or updates an inspection by revision (see [`crate::wire::PutInspection`]).
    /// An existing inspection keeps its `received_at_ms`.
    async fn put_inspection(&self, inspection: &Inspection) -> Result<Put, StoreError>;

    /// One inspection, with whether any verdict found damage.
    async fn inspection(&self, id: &str) -> Result<Option<InspectionSummary>, StoreError>;

    /// Inspections matching `query`, newest first (ties by id), at most `query.limit`.
    async fn list(&self, query: &ListQuery) -> Result<Vec<InspectionSummary>, StoreError>;

    /// Stores a photo's bytes durably, then its record with `detect_status`. The same id
    /// with the same SHA-256 and face is [`Put::Unchanged`] (whatever the status asked); the
    /// same SHA-256 with another face replaces the face ([`Put::Updated`]: the phone may
    /// change it until it has the office's answer); another SHA-256 is a conflict. The
    /// inspection must exist; a refused write stores nothing.
    async fn put_photo(
        &self,
        photo: &Photo,
        bytes: &[u8],
        detect_status: DetectStatus,
    ) -> Result<Put, StoreError>;

    /// One photo of an inspection.
    async fn photo(
        &self,
        inspection_id: &str,
        photo_id: &str,
    ) -> Result<Option<StoredPhoto>, StoreError>;

    /// The photos of an inspection, oldest first (`received_at_ms`, then id).
    async fn photos(&self, inspection_id: &str) -> Result<Vec<StoredPhoto>, StoreError>;

    /// A photo's bytes.
    async fn photo_bytes(&self, photo: &Photo) -> Result<Vec<u8>, StoreError>;

    /// Records where detection on upload stands for a photo (`error: None` clears the
    /// stored reason). [`StoreError::NotFound`] for a photo the store does not hold.
    async fn set_detect_status(
        &self,
        photo: &Photo,
        status: DetectStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Claims the detection of a `pending` photo for a new attempt at `now_ms` when its last
    /// claim (at first, the upload) is older than `stale_before_ms`: the attempt that held it
    /// was cut off (an office restart, a frozen Lambda). True for exactly one caller.
    async fn claim_stale_detection(
        &self,
        photo: &Photo,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Stores a verdict, keyed by photo, source and model SHA-256; marks the inspection
    /// damaged when it found damage. A repeat is [`Put::Unchanged`], another response for
    /// the same key a conflict.
    async fn put_verdict(&self, inspection_id: &str, verdict: &Verdict) -> Result<Put, StoreError>;

    /// The verdicts of an inspection's photos, by receive time, then photo id, source and
    /// model SHA-256.
    async fn verdicts(&self, inspection_id: &str) -> Result<Vec<Verdict>, StoreError>;

    /// The stored report (EIR JSON) of an inspection revision, if written.
    async fn report(
        &self,
        inspection_id: &str,
        revision: u64,
    ) -> Result<Option<String>, StoreError>;

    /// Claims the writing of a revision's report at `now_ms` when no report is stored and
    /// nobody claimed it since `stale_before_ms`. True for exactly one caller.
    async fn claim_report(
        &self,
        inspection_id: &str,
        revision: u64,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Stores a revision's report once: [`Put::Created`] for the first, [`Put::Unchanged`]
    /// (the stored report stays) for any later one.
    async fn put_report(
        &self,
        inspection_id: &str,
        revision: u64,
        eir_json: &str,
    ) -> Result<Put, StoreError>;

    /// A presigned URL (and its expiry, ms since the epoch) for a photo, where the store
    /// has its own (S3); `None` where the API serves the bytes itself.
    async fn presigned_url(
        &self,
        photo: &Photo,
        ttl: Duration,
    ) -> Result<Option<(String, i64)>, StoreError>;
}
