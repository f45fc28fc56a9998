//! Detection on upload: the office sends a stored photo to the SageMaker endpoint with the
//! phones' own runtime client (SigV4 service `sagemaker`), reads the answer with the core's
//! one parser of the response schema v1, and stores it as a cloud verdict.
//!
//! The photo is stored before the endpoint is called. The upload waits at most the time
//! budget; past it, it answers `pending` and the detection finishes in the background (the
//! client reads the verdict later with `GET /v1/inspections/{id}`).
//!
//! A detection cut off before it stored its outcome (the office restarted, the Lambda
//! sandbox froze after answering) would leave the photo `pending` for ever. Each attempt
//! therefore holds a claim on the photo in the store; a `pending` photo whose claim is older
//! than [`Detector::lease`] is claimed again (by one caller only) and detected when its
//! inspection is next read or the photo uploaded again ([`Detector::resume_stale`]).

use std::sync::Arc;
use std::time::Duration;

use omni_cloud::payload;
use omni_cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_cloud::{CachedCredentials, Credentials};
use omni_photo::probe::PhotoHeader;
use omni_protocol::response::{self as cloud_response, DetectionResponse};
use serde_json::value::RawValue;

use crate::store::{Store, StoreError, StoredPhoto};
use crate::wire::{DetectStatus, Photo, Verdict, VerdictSource};

/// How long an attempt's claim outlives the endpoint call's own timeout before another
/// attempt may take the photo over.
const LEASE_MARGIN: Duration = Duration::from_secs(20);

/// How the office reaches the endpoint.
#[derive(Clone, Debug)]
pub struct Detector {
    client: RuntimeClient,
    /// How long an upload waits for the verdict before answering `pending`.
    pub budget: Duration,
    /// Whether uploads that do not say (`x-omni-detect` absent) are detected.
    pub by_default: bool,
    /// How old a `pending` photo's claim must be before it is detected again: by default
    /// the endpoint call's timeout plus 20 s, so a running attempt is never doubled.
    pub lease: Duration,
}

/// What detection on upload came to within the budget.
#[derive(Debug)]
pub struct DetectOutcome {
    /// Done, pending or failed.
    pub status: DetectStatus,
    /// The verdict when done.
    pub verdict: Option<Verdict>,
    /// Why it failed.
    pub error: Option<String>,
}

impl Detector {
    /// A detector calling the endpoint of `config`, signing with `credentials`.
    pub fn new(
        config: RuntimeConfig,
        credentials: Credentials,
        budget: Duration,
        by_default: bool,
    ) -> Result<Self, String> {
        let lease = config.timeout + LEASE_MARGIN;
        let client = RuntimeClient::new(config, Arc::new(CachedCredentials::fixed(credentials)))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            budget,
            by_default,
            lease,
        })
    }

    /// Detects again the `pending` photos among `photos` whose attempt was cut off (claim
    /// older than the lease), those this caller claims; waits at most the budget for them.
    /// True when any was claimed, so the caller reads the photos again.
    pub async fn resume_stale(
        &self,
        store: &Arc<dyn Store>,
        photos: &[StoredPhoto],
    ) -> Result<bool, StoreError> {
        let now = omni_protocol::Timestamp::now().as_millis();
        let stale_before =
            now.saturating_sub(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX));
        let mut resumed = tokio::task::JoinSet::new();
        for stored in photos {
            if stored.detect_status != DetectStatus::Pending
                || !store
                    .claim_stale_detection(&stored.photo, stale_before, now)
                    .await?
            {
                continue;
            }
            let photo = stored.photo.clone();
            let bytes = store.photo_bytes(&photo).await?;
            match crate::validate::photo(&bytes) {
                Ok(header) => {
                    let detector = self.clone();
                    let store = store.clone();
                    resumed
                        .spawn(async move { detector.detect(store, photo, bytes, header).await });
                }
                Err(e) => {
                    let message = format!("the stored photo cannot be read: {}", e.message);
                    store
                        .set_detect_status(&photo, DetectStatus::Failed, Some(&message))
                        .await?;
                }
            }
        }
        let any = !resumed.is_empty();
        // Each detection waits at most the budget; they run side by side.
        while resumed.join_next().await.is_some() {}
        Ok(any)
    }

    /// Detects `photo` (already stored, status `pending`) and stores the outcome; waits at
    /// most the budget for it.
    pub async fn detect(
        &self,
        store: Arc<dyn Store>,
        photo: Photo,
        bytes: Vec<u8>,
        header: PhotoHeader,
    ) -> DetectOutcome {
        let client = self.client.clone();
        let task = tokio::spawn(async move {
            let result = invoke(&client, &photo, bytes, header).await;
            let stored = match &result {
                Ok(verdict) => match store.put_verdict(&photo.inspection_id, verdict).await {
                    Ok(_) => {
                        store
                            .set_detect_status(&photo, DetectStatus::Done, None)
                            .await
                    }
                    Err(e) => Err(e),
                },
                Err(message) => {
                    store
                        .set_detect_status(&photo, DetectStatus::Failed, Some(message))
                        .await
                }
            };
            match (result, stored) {
                (Ok(verdict), Ok(())) => Ok(verdict),
                (Err(message), _) => Err(message),
                (Ok(_), Err(e)) => Err(format!("the verdict could not be stored: {e}")),
            }
        });
        match tokio::time::timeout(self.budget, task).await {
            Ok(Ok(Ok(verdict))) => DetectOutcome {
                status: DetectStatus::Done,
                verdict: Some(verdict),
                error: None,
            },
            Ok(Ok(Err(message))) => DetectOutcome {
                status: DetectStatus::Failed,
                verdict: None,
                error: Some(message),
            },
            Ok(Err(join)) => DetectOutcome {
                status: DetectStatus::Failed,
                verdict: None,
                error: Some(format!("detection task failed: {join}")),
            },
            Err(_) => DetectOutcome {
                status: DetectStatus::Pending,
                verdict: None,
                error: None,
            },
        }
    }
}

/// One invocation for `photo`, read back into a cloud verdict.
async fn invoke(
    client: &RuntimeClient,
    photo: &Photo,
    bytes: Vec<u8>,
    header: PhotoHeader,
) -> Result<Verdict, String> {
    let body = payload::prepare(
        bytes,
        header.format,
        header.width,
        header.height,
        header.orientation,
    )
    .map_err(|e| format!("the photo cannot be sent: {e}"))?;
    let output = client
        .invoke(&photo.id, &body)
        .await
        .map_err(|e| format!("the endpoint failed: {e}"))?;
    let detections = cloud_response::parse(&output.body, body.sent_size, body.original_size)
        .map_err(|e| format!("the endpoint's answer was refused: {e}"))?;
    let response = serde_json::to_string(&DetectionResponse::from_detections(&detections))
        .and_then(RawValue::from_string)
        .map_err(|e| e.to_string())?;
    Ok(Verdict {
        photo_id: photo.id.clone(),
        source: VerdictSource::Cloud,
        model_name: detections.model.name,
        model_version: detections.model.version,
        model_sha256: detections.model.sha256,
        has_damage: !detections.detections.is_empty(),
        response,
        received_at_ms: omni_protocol::Timestamp::now().as_millis(),
    })
}
