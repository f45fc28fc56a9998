//! The verdict race: the cloud's answer within the latency budget, else the edge result
//! computed meanwhile, while the cloud request goes on and stores its answer when it comes.

use std::sync::Arc;

use super::{AttemptOutcome, SyncEngine, Verdict, blocking, join_error, lock};
use crate::detect::Detector;
use crate::detections::DetectionSource;
use crate::error::{Error, Result};
use crate::inspection::{PhotoId, PhotoState};
use crate::inspector::DetectOutcome;

impl SyncEngine {
    /// A verdict for `photo_id` at once: the cloud's when it answers within the latency
    /// budget, otherwise the edge result (computed meanwhile) while the cloud request goes on
    /// in the background and stores its result when it comes.
    pub async fn verdict(&self, photo_id: PhotoId, edge: Arc<dyn Detector>) -> Result<Verdict> {
        let inspector = self.inner.inspector.clone();
        let photo = blocking(move || inspector.photo(photo_id)).await?;
        let edge_inspector = self.inner.inspector.clone();
        let edge_task = tokio::task::spawn_blocking(move || {
            edge_inspector.detect_photo(edge.as_ref(), photo_id)
        });
        let cloud_task =
            if self.is_online() && !lock(&self.inner.state).in_flight.contains(&photo_id) {
                let engine = self.clone();
                Some(tokio::spawn(async move { engine.attempt(photo).await }))
            } else {
                None
            };
        if let Some(mut cloud) = cloud_task {
            let budget = self.inner.config.latency_budget;
            if let Ok(Ok(Ok(AttemptOutcome::Synced(result)))) =
                tokio::time::timeout(budget, &mut cloud).await
            {
                edge_task.await.map_err(join_error)??;
                return Ok(Verdict {
                    result: *result,
                    cloud_pending: false,
                });
            }
            // The cloud task keeps running detached and stores its answer when it comes.
        }
        let edge_result = match edge_task.await.map_err(join_error)?? {
            DetectOutcome::Detected(result) => result,
            DetectOutcome::AlreadyDone | DetectOutcome::Unreadable { .. } => {
                let inspector = self.inner.inspector.clone();
                let results = blocking(move || inspector.stored_results(photo_id)).await?;
                if let Some(cloud) = results
                    .iter()
                    .rev()
                    .find(|r| r.detections.source == DetectionSource::Cloud)
                {
                    return Ok(Verdict {
                        result: cloud.clone(),
                        cloud_pending: false,
                    });
                }
                results
                    .into_iter()
                    .rev()
                    .find(|r| r.detections.source == DetectionSource::Edge)
                    .ok_or(Error::PhotoUnreadable(photo_id))?
            }
        };
        // Pending while the photo is queued: not once it failed or the office archived it
        // without a verdict.
        let inspector = self.inner.inspector.clone();
        let state = blocking(move || inspector.photo(photo_id)).await?.state;
        Ok(Verdict {
            result: edge_result,
            cloud_pending: state == PhotoState::Queued,
        })
    }
}
