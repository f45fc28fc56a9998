//! The yard office target of the sync engine (docs/sync.md, "The office lane").
//!
//! - **Photo lane, office target**: a queued photo's inspection is put first (once per
//!   revision the office has not acknowledged), then the photo is uploaded once with
//!   detection on upload. The office archives it and answers its cloud verdict, which is
//!   read with the core's one parser of schema v1 and stored exactly as a direct SageMaker
//!   answer is, in the transaction that also records the office's acknowledgement. A
//!   `pending` detection is read later with `GET /v1/inspections/{id}`, never by uploading
//!   again.
//! - **Office lane** (after the photo lane is idle): inspection revisions (a close), photos
//!   the photo lane no longer sends (synced before the office was configured, or failed),
//!   then verdicts (edge results, cloud results from elsewhere), one request at a time. Its
//!   queue is the store itself (what the office has not acknowledged), so it resumes after
//!   a killed process; per-record retries and wedges live in `office_outbox`.

use std::time::Duration;

use omni_office_wire::{
    DetectStatus, InspectionState, PhotoUploaded, PutInspection, VerdictSource,
};
use tokio::time::Instant;

use super::{
    AttemptOutcome, Photo, StopReason, SyncEngine, Timestamp, blocking, encode_photo, instant_at,
    lock,
};
use crate::detections::{DetectionResult, DetectionSource};
use crate::error::Result;
use crate::inspection::{Inspection, InspectionId};
use crate::inspector::OfficeRecord;
use crate::store::office::RecordKind;
use crate::sync::events::{PauseCause, SyncEvent};
use omni_cloud::office_client::OfficeClient;
use omni_cloud::payload::{self, Payload};
use omni_cloud::runtime_client::{FailureClass, InvokeError};
use omni_protocol::response::{self, DetectionResponse};

/// What the office said of a photo's detection.
struct OfficeDetection {
    status: DetectStatus,
    verdict: Option<omni_office_wire::Verdict>,
    error: Option<String>,
    latency: Duration,
}

impl From<(PhotoUploaded, Duration)> for OfficeDetection {
    fn from((uploaded, latency): (PhotoUploaded, Duration)) -> Self {
        Self {
            status: uploaded.detect_status,
            verdict: uploaded.verdict,
            error: uploaded.detect_error,
            latency,
        }
    }
}

/// The office's name for the phone's inspector when the host gave none.
const UNKNOWN_INSPECTOR: &str = "unknown";

/// The `PUT /v1/inspections/{id}` body for `revision` of `inspection`: the same revision
/// always gives the same body (the office answers a repeat 200 only if it is identical).
pub(super) fn put_inspection(inspection: &Inspection, revision: u64) -> PutInspection {
    PutInspection {
        container_number: inspection.container_number.as_str().to_owned(),
        inspector_id: inspection
            .inspector_id
            .clone()
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| UNKNOWN_INSPECTOR.to_owned()),
        created_at_ms: inspection.created_at.as_millis(),
        updated_at_ms: inspection
            .closed_at
            .unwrap_or(inspection.created_at)
            .as_millis(),
        location: inspection.location.map(|l| omni_office_wire::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
        }),
        state: if inspection.closed_at.is_some() {
            InspectionState::Closed
        } else {
            InspectionState::Open
        },
        revision,
        kind: inspection.kind.clone(),
    }
}

/// Whether the office answered that the inspection (or photo) is unknown to it.
fn not_found(error: &InvokeError) -> bool {
    matches!(error, InvokeError::Service { error_type, .. } if error_type == "ResourceNotFoundException")
}

impl SyncEngine {
    /// One photo-lane attempt against the office (claimed by the caller).
    pub(super) async fn office_attempt(
        &self,
        office: &OfficeClient,
        photo: Photo,
    ) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let source = photo.clone();
        let prepared = blocking(move || {
            let on_office = inspector.office_queue().photo_acknowledged(source.id)?;
            let bytes = inspector.read_photo(&source)?;
            Ok((on_office, encode_photo(payload::archive, bytes, &source)))
        })
        .await;
        let (on_office, payload) = match prepared {
            Ok((on_office, Ok(payload))) => (on_office, payload),
            Ok((_, Err(e))) => {
                return self
                    .fail(&photo, &e.to_string(), "photo cannot be encoded")
                    .await;
            }
            Err(e) => {
                return self
                    .fail(&photo, &e.to_string(), "photo file unreadable")
                    .await;
            }
        };
        let answer = if on_office {
            // Uploaded before and detection was pending: read the verdict, send nothing big.
            self.count_request();
            match office.inspection(&photo.inspection_id.to_string()).await {
                Ok(detail) => match detail
                    .photos
                    .into_iter()
                    .find(|p| p.photo.id == photo.id.to_string())
                {
                    Some(found) => OfficeDetection {
                        status: found.detect_status,
                        verdict: found
                            .verdicts
                            .into_iter()
                            .rev()
                            .find(|v| v.source == VerdictSource::Cloud),
                        error: found.detect_error,
                        latency: Duration::ZERO,
                    },
                    None => {
                        // The office lost the photo: upload it again next time.
                        return self.office_lost(&photo, "the office lost the photo").await;
                    }
                },
                Err(e) => return self.office_photo_error(&photo, e).await,
            }
        } else {
            if let Some(outcome) = self.office_inspection_first(office, &photo).await? {
                return Ok(outcome);
            }
            let uploaded = self.upload(office, &photo, &payload, true).await;
            match uploaded {
                Ok(output) => {
                    let inspector = self.inner.inspector.clone();
                    let id = photo.id;
                    if let Err(e) =
                        blocking(move || inspector.office_queue().acknowledge_photo(id)).await
                    {
                        return self.storage_failed(&e);
                    }
                    OfficeDetection::from((output.uploaded, output.latency))
                }
                Err(e) => return self.office_photo_error(&photo, e).await,
            }
        };
        self.office_answered();
        self.office_detection(&photo, &payload, answer).await
    }

    /// The office answered: the network and the office are fine.
    pub(super) fn office_answered(&self) {
        let mut state = lock(&self.inner.state);
        state.consecutive_pauses = 0;
        state.consecutive_permanent = 0;
        state.answered(&self.inner.config);
    }

    /// One counted `PUT` of `photo`'s payload, detected on upload or not.
    async fn upload(
        &self,
        office: &OfficeClient,
        photo: &Photo,
        payload: &Payload,
        detect: bool,
    ) -> std::result::Result<omni_cloud::office_client::UploadOutput, InvokeError> {
        self.count_request();
        office
            .upload_photo(
                &photo.inspection_id.to_string(),
                &photo.id.to_string(),
                payload,
                photo.face,
                detect,
            )
            .await
    }

    pub(super) fn count_request(&self) {
        lock(&self.inner.state).counters.requests += 1;
    }

    /// Stores the cloud verdict the office returned, or waits for it, or fails the photo.
    async fn office_detection(
        &self,
        photo: &Photo,
        payload: &Payload,
        answer: OfficeDetection,
    ) -> Result<AttemptOutcome> {
        let attempt = photo.attempt_count + 1;
        match (answer.status, answer.verdict) {
            (DetectStatus::Done, Some(verdict)) => {
                let parsed = response::parse(
                    verdict.response.get().as_bytes(),
                    payload.sent_size,
                    payload.original_size,
                );
                let detections = match parsed {
                    Ok(detections) => detections,
                    Err(e) => {
                        let error = format!("invalid verdict from the office: {e}");
                        if attempt >= self.inner.config.model_error_attempts {
                            return self.fail(photo, &error, &error).await;
                        }
                        return self.retry(photo, &error, attempt, None).await;
                    }
                };
                let result = DetectionResult {
                    photo_id: photo.id,
                    created_at: Timestamp::now(),
                    detections,
                };
                self.store_answer(result, answer.latency).await
            }
            (DetectStatus::Failed, _) => {
                let error = answer
                    .error
                    .unwrap_or_else(|| "detection failed on the office".to_owned());
                self.fail(photo, &error, &format!("office detection failed: {error}"))
                    .await
            }
            (DetectStatus::None, _) => {
                let reason = answer.error.unwrap_or_else(|| {
                    "the office archived the photo without detection".to_owned()
                });
                self.archived(photo, reason).await
            }
            (DetectStatus::Pending | DetectStatus::Done, _) => {
                let error = "detection pending on the office";
                if attempt >= self.inner.config.max_attempts {
                    return self
                        .fail(
                            photo,
                            error,
                            &format!("gave up after {attempt} attempts: {error}"),
                        )
                        .await;
                }
                self.retry(photo, error, attempt, None).await
            }
        }
    }

    /// The office keeps the photo and gives no cloud verdict: the edge result stands.
    async fn archived(&self, photo: &Photo, reason: String) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let (id, note) = (photo.id, reason.clone());
        match blocking(move || {
            inspector
                .sync_queue()
                .archive_without_cloud_result(id, &note)
        })
        .await
        {
            Ok(false) => return Ok(AttemptOutcome::AlreadySynced),
            Ok(true) => {}
            Err(e) => return self.storage_failed(&e),
        }
        lock(&self.inner.state).counters.archived += 1;
        self.emit(SyncEvent::PhotoArchived {
            photo_id: photo.id,
            reason,
        });
        Ok(AttemptOutcome::Archived)
    }

    /// Puts the photo's inspection on the office unless it knows it already. `Some`: the
    /// attempt ended there.
    async fn office_inspection_first(
        &self,
        office: &OfficeClient,
        photo: &Photo,
    ) -> Result<Option<AttemptOutcome>> {
        let inspector = self.inner.inspector.clone();
        let id = photo.inspection_id;
        let (inspection, ack) = blocking(move || inspector.office_queue().inspection(id)).await?;
        if ack.acknowledged_revision.is_some() {
            return Ok(None);
        }
        self.count_request();
        let body = put_inspection(&inspection, ack.revision);
        match office.put_inspection(&id.to_string(), &body).await {
            Ok(_) => {
                let inspector = self.inner.inspector.clone();
                let revision = ack.revision;
                match blocking(move || {
                    inspector
                        .office_queue()
                        .acknowledge_inspection(id, revision)
                })
                .await
                {
                    Ok(_) => {
                        lock(&self.inner.state).counters.office_records += 1;
                        Ok(None)
                    }
                    Err(e) => self.storage_failed(&e).map(Some),
                }
            }
            Err(e) => self.office_photo_error(photo, e).await.map(Some),
        }
    }

    /// A photo-lane request to the office failed.
    async fn office_photo_error(
        &self,
        photo: &Photo,
        error: InvokeError,
    ) -> Result<AttemptOutcome> {
        if not_found(&error) {
            return self.office_lost(photo, &error.to_string()).await;
        }
        self.handle_invoke_error(photo, error).await
    }

    /// The office does not know the photo's inspection (or the photo): send them again.
    async fn office_lost(&self, photo: &Photo, error: &str) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let id = photo.inspection_id;
        if let Err(e) = blocking(move || inspector.office_queue().forget_inspection(id)).await {
            return self.storage_failed(&e);
        }
        self.retry(photo, error, photo.attempt_count + 1, None)
            .await
    }

    /// Runs the office lane until nothing is left to send, the host goes offline, or (with
    /// `give_up_after_pauses`) the office stays unreachable.
    pub(super) async fn run_office_lane(&self, office: &OfficeClient) -> Result<StopReason> {
        let inner = &self.inner;
        let mut online = inner.online.subscribe();
        loop {
            if !*online.borrow_and_update() {
                return Ok(StopReason::Offline);
            }
            if let Some(reason) = self.gave_up() {
                return Ok(reason);
            }
            let paused_until = lock(&inner.state)
                .paused_until
                .filter(|t| *t > Instant::now());
            let wait_until = match paused_until {
                Some(until) => Some(until),
                None => {
                    let inspector = inner.inspector.clone();
                    let record =
                        blocking(move || inspector.office_queue().due(Timestamp::now())).await?;
                    match record {
                        Some(record) => {
                            self.send_record(office, record).await?;
                            None
                        }
                        None => {
                            let inspector = inner.inspector.clone();
                            match blocking(move || inspector.office_queue().next_retry_at()).await?
                            {
                                None => return Ok(StopReason::Idle),
                                Some(at) => Some(instant_at(at)),
                            }
                        }
                    }
                }
            };
            if let Some(until) = wait_until {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = online.changed() => {}
                    _ = inner.wake.notified() => {}
                }
            }
        }
    }

    /// Sends one office record and records what came of it.
    async fn send_record(&self, office: &OfficeClient, record: OfficeRecord) -> Result<()> {
        let inspector = self.inner.inspector.clone();
        let (kind, item, sent) = match record {
            OfficeRecord::Inspection(id) => {
                let (inspection, ack) = {
                    let inspector = inspector.clone();
                    blocking(move || inspector.office_queue().inspection(id)).await?
                };
                self.count_request();
                let sent = office
                    .put_inspection(&id.to_string(), &put_inspection(&inspection, ack.revision))
                    .await;
                let revision = ack.revision;
                let sent = match sent {
                    Ok(_) => blocking(move || {
                        inspector
                            .office_queue()
                            .acknowledge_inspection(id, revision)
                    })
                    .await
                    .map(|_| ()),
                    Err(e) => {
                        return self
                            .record_failed(RecordKind::Inspection, id, &id.to_string(), e)
                            .await;
                    }
                };
                (RecordKind::Inspection, id.to_string(), sent)
            }
            OfficeRecord::Photo(photo) => {
                let source = (*photo).clone();
                let read = {
                    let inspector = inspector.clone();
                    blocking(move || inspector.read_photo(&source)).await
                };
                let payload = read.map_err(|e| e.to_string()).and_then(|bytes| {
                    encode_photo(payload::archive, bytes, &photo).map_err(|e| e.to_string())
                });
                let payload = match payload {
                    Ok(payload) => payload,
                    Err(e) => {
                        let item = photo.id.to_string();
                        let reason = format!("photo cannot be read for the office: {e}");
                        return self.wedge(RecordKind::Photo, &item, &reason).await;
                    }
                };
                let uploaded = self.upload(office, &photo, &payload, false).await;
                let id = photo.id;
                let sent = match uploaded {
                    Ok(_) => blocking(move || inspector.office_queue().acknowledge_photo(id))
                        .await
                        .map(|_| ()),
                    Err(e) => {
                        return self
                            .record_failed(
                                RecordKind::Photo,
                                photo.inspection_id,
                                &id.to_string(),
                                e,
                            )
                            .await;
                    }
                };
                (RecordKind::Photo, id.to_string(), sent)
            }
            OfficeRecord::Verdict {
                result_id,
                photo,
                result,
            } => {
                let item = result_id.to_string();
                let response = match serde_json::to_string(&DetectionResponse::from_detections(
                    &result.detections,
                )) {
                    Ok(response) => response,
                    Err(e) => {
                        let reason = format!("verdict cannot be written: {e}");
                        return self.wedge(RecordKind::Verdict, &item, &reason).await;
                    }
                };
                let source = match result.detections.source {
                    DetectionSource::Edge => VerdictSource::Edge,
                    DetectionSource::Cloud => VerdictSource::Cloud,
                };
                self.count_request();
                let put = office
                    .put_verdict(
                        &photo.inspection_id.to_string(),
                        &photo.id.to_string(),
                        source,
                        &response,
                    )
                    .await;
                let sent = match put {
                    Ok(_) => {
                        blocking(move || inspector.office_queue().acknowledge_verdict(result_id))
                            .await
                            .map(|_| ())
                    }
                    Err(e) => {
                        return self
                            .record_failed(RecordKind::Verdict, photo.inspection_id, &item, e)
                            .await;
                    }
                };
                (RecordKind::Verdict, item, sent)
            }
            OfficeRecord::Report {
                inspection,
                revision,
            } => return self.read_report(office, inspection, revision).await,
        };
        self.office_answered();
        match sent {
            Ok(()) => {
                lock(&self.inner.state).counters.office_records += 1;
                tracing::debug!(kind = kind.as_str(), item, "office acknowledged");
            }
            Err(e) => {
                // The office has it; the acknowledgement is written again when the record
                // is sent again (a repeat is a no-op there).
                self.storage_failed(&e)?;
            }
        }
        Ok(())
    }

    /// An office-lane request failed: pause the lane, retry the record later, or wedge it.
    pub(super) async fn record_failed(
        &self,
        kind: RecordKind,
        inspection: InspectionId,
        item: &str,
        error: InvokeError,
    ) -> Result<()> {
        let message = error.to_string();
        tracing::debug!(kind = kind.as_str(), item, class = ?error.class(), error = %message, "office record failed");
        if not_found(&error) {
            // The office lost the inspection: everything of it goes again.
            self.office_answered();
            let inspector = self.inner.inspector.clone();
            if let Err(e) =
                blocking(move || inspector.office_queue().forget_inspection(inspection)).await
            {
                self.storage_failed(&e)?;
            }
            return Ok(());
        }
        match error.class() {
            FailureClass::Permanent => {
                self.office_answered();
                self.wedge(kind, item, &message).await
            }
            FailureClass::Endpoint => {
                self.pause(PauseCause::Endpoint, &message, None, true);
                Ok(())
            }
            FailureClass::Network => {
                self.pause(PauseCause::Network, &message, None, true);
                Ok(())
            }
            FailureClass::Auth => {
                self.inner.client.invalidate_credentials();
                self.pause(PauseCause::Credentials, &message, None, true);
                Ok(())
            }
            FailureClass::Retryable | FailureClass::ModelError | FailureClass::Throttled => {
                lock(&self.inner.state).consecutive_pauses = 0;
                self.retry_record(kind, item, message, error.retry_after())
                    .await
            }
        }
    }

    /// The reason to stop when `give_up_after_pauses` consecutive pauses came.
    pub(super) fn gave_up(&self) -> Option<StopReason> {
        let limit = self.inner.config.give_up_after_pauses?;
        let state = lock(&self.inner.state);
        if state.consecutive_pauses < limit {
            return None;
        }
        let reason = state.pause_reason.clone();
        Some(match state.pause_cause {
            PauseCause::Endpoint => StopReason::EndpointRefused(reason),
            PauseCause::Storage => StopReason::StorageFailing(reason),
            _ => StopReason::Unreachable(reason),
        })
    }
}
