//! The SageMaker lane: a queued photo downscaled within the serverless 4 MB, sent with
//! `InvokeEndpoint`, its answer read with the one parser of schema v1.

use super::{AttemptOutcome, SyncEngine, blocking, encode_photo, lock};
use crate::detections::DetectionResult;
use crate::error::Result;
use crate::inspection::Photo;
use omni_cloud::payload::{self, PayloadError};
use omni_cloud::runtime_client::RuntimeClient;
use omni_protocol::response;
use omni_protocol::timestamp::Timestamp;

impl SyncEngine {
    /// One photo-lane attempt against SageMaker (claimed by the caller).
    pub(super) async fn sagemaker_attempt(
        &self,
        client: &RuntimeClient,
        photo: Photo,
    ) -> Result<AttemptOutcome> {
        let inner = &self.inner;
        let inspector = inner.inspector.clone();
        let source = photo.clone();
        let prepared = blocking(move || {
            let bytes = inspector.read_photo(&source)?;
            Ok(encode_photo(payload::prepare, bytes, &source))
        })
        .await;
        let payload = match prepared {
            Ok(Ok(payload)) => payload,
            Ok(Err(PayloadError::Decode(e))) => {
                return self
                    .fail(&photo, &e.to_string(), "photo cannot be decoded")
                    .await;
            }
            Ok(Err(e)) => {
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
        lock(&inner.state).counters.requests += 1;
        let answer = client.invoke(&photo.id.to_string(), &payload).await;
        let output = match answer {
            Ok(output) => {
                tracing::debug!(
                    photo_id = %photo.id,
                    bytes = output.body.len(),
                    latency_ms = output.latency.as_secs_f64() * 1000.0,
                    "endpoint answered"
                );
                output
            }
            Err(error) => return self.handle_invoke_error(&photo, error).await,
        };
        lock(&inner.state).answered(&inner.config);
        let detections =
            match response::parse(&output.body, payload.sent_size, payload.original_size) {
                Ok(detections) => detections,
                Err(e) => {
                    let attempt = photo.attempt_count + 1;
                    let error = format!("invalid response: {e}");
                    if attempt >= inner.config.model_error_attempts {
                        return self.fail(&photo, &error, &error).await;
                    }
                    return self.retry(&photo, &error, attempt, None).await;
                }
            };
        let result = DetectionResult {
            photo_id: photo.id,
            created_at: Timestamp::now(),
            detections,
        };
        self.store_answer(result, output.latency).await
    }
}
