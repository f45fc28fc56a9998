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

use crate::wire::{
    DetectStatus, Inspection, InspectionState, InspectionSummary, Photo, Review, Verdict,
};

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
    /// The record breaks a rule the store checks itself (a review that fails
    /// [`Review::validate`]). Nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// The database, file system or AWS service failed.
    #[error("store failure: {0}")]
    Backend(String),
}

impl From<crate::wire::ReviewError> for StoreError {
    fn from(e: crate::wire::ReviewError) -> Self {
        Self::Invalid(e.0)
    }
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
    /// Whether a person marked it reviewed.
    pub reviewed: Option<bool>,
    /// Who inspected (exact inspector id).
    pub inspector: Option<String>,
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
                .reviewed
                .is_none_or(|r| s.reviewed_at_ms.is_some() == r)
            && self
                .inspector
                .as_ref()
                .is_none_or(|who| &i.inspector_id == who)
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

/// The order of an inspection's reviews (its audit log): by time, then photo id and revision.
pub(crate) fn review_order(a: &Review, b: &Review) -> Ordering {
    (a.reviewed_at_ms, &a.photo_id, a.revision).cmp(&(b.reviewed_at_ms, &b.photo_id, b.revision))
}

/// Whether `new` repeats the `stored` review: everything but the time, which a resent form
/// stamps anew.
pub fn same_review(stored: &Review, new: &Review) -> bool {
    let new = Review {
        reviewed_at_ms: stored.reviewed_at_ms,
        ..new.clone()
    };
    *stored == new
}

/// The conflict of a review whose revision is stored with other content: somebody reviewed
/// the photo since its author looked.
pub(crate) fn stale_review(stored: &Review) -> StoreError {
    StoreError::Conflict(format!(
        "stale review: photo {} was reviewed as revision {} by {} since",
        stored.photo_id, stored.revision, stored.reviewer
    ))
}

/// The conflict of a review that skips revisions (`latest`: the photo's stored latest).
pub(crate) fn review_gap(review: &Review, latest: u64) -> StoreError {
    StoreError::Conflict(format!(
        "review revision {} of photo {} is not the next: its latest review is revision {latest}",
        review.revision, review.photo_id
    ))
}

/// Which report: the phone's inspection revision and how many reviews of the inspection it
/// covers. Reviews are immutable and only added, so the count names one review state; a
/// review makes a new key (a new report) and the reports of earlier keys stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReportKey {
    /// The inspection's revision (the phone's).
    pub revision: u64,
    /// The inspection's review count ([`Store::reviews`]'s length) the report covers.
    pub reviews: u64,
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

    /// Stores a photo's thumbnail (a small JPEG made from its bytes at upload) beside the
    /// photo's bytes. The first one stands: a later one is [`Put::Unchanged`]. The photo (its
    /// inspection, id and SHA-256) must be stored, else [`StoreError::NotFound`].
    async fn put_thumbnail(&self, photo: &Photo, jpeg: &[u8]) -> Result<Put, StoreError>;

    /// A photo's thumbnail; `None` when none was made (a photo that does not decode).
    async fn thumbnail_bytes(&self, photo: &Photo) -> Result<Option<Vec<u8>>, StoreError>;

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

    /// The stored report (EIR JSON) of an inspection revision and review state, if written.
    async fn report(
        &self,
        inspection_id: &str,
        key: ReportKey,
    ) -> Result<Option<String>, StoreError>;

    /// Claims the writing of a key's report at `now_ms` when no report is stored and nobody
    /// claimed it since `stale_before_ms`. True for exactly one caller.
    async fn claim_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Stores a key's report once: [`Put::Created`] for the first, [`Put::Unchanged`] (the
    /// stored report stays) for any later one.
    async fn put_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
        eir_json: &str,
    ) -> Result<Put, StoreError>;

    /// Appends a review of a photo (checked with [`Review::validate`] first). Its revision
    /// must be the photo's next (1 for the first): a revision already stored with the same
    /// content ([`same_review`]) is [`Put::Unchanged`] (a retried form; the stored one
    /// stays), with other content a conflict (a stale review: somebody reviewed the photo
    /// since its author looked), a revision beyond the next a conflict too. The photo must
    /// exist; an invalid review is [`StoreError::Invalid`]; a refused review stores nothing.
    async fn put_review(&self, review: &Review) -> Result<Put, StoreError>;

    /// Every review of an inspection's photos (its audit log), oldest first
    /// (`reviewed_at_ms`, then photo id and revision).
    async fn reviews(&self, inspection_id: &str) -> Result<Vec<Review>, StoreError>;

    /// Marks an inspection reviewed by `reviewer` at `at_ms`. The first mark stands: a later
    /// one is [`Put::Unchanged`]. The inspection must exist.
    async fn mark_reviewed(
        &self,
        inspection_id: &str,
        reviewer: &str,
        at_ms: i64,
    ) -> Result<Put, StoreError>;

    /// A presigned URL (and its expiry, ms since the epoch) for a photo, where the store
    /// has its own (S3); `None` where the API serves the bytes itself.
    async fn presigned_url(
        &self,
        photo: &Photo,
        ttl: Duration,
    ) -> Result<Option<(String, i64)>, StoreError>;
}
