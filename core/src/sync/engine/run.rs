//! The run loop: claims due photos within the admission window, runs their attempts, stores
//! answers (again, when a store write failed), and hands over to the office lane when idle.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{
    AttemptOutcome, StopReason, SyncEngine, SyncReport, Target, blocking, instant_at, lock,
};
use crate::detections::DetectionResult;
use crate::error::Result;
use crate::inspection::{Photo, PhotoId};
use crate::sync::events::SyncEvent;
use omni_protocol::timestamp::Timestamp;

impl SyncEngine {
    /// Syncs until no queued photo is left, the host goes offline, or (with
    /// [`SyncConfig::give_up_after_pauses`](super::SyncConfig::give_up_after_pauses)) the endpoint stays unreachable.
    pub async fn run_until_idle(&self) -> Result<SyncReport> {
        let inner = &self.inner;
        let before = {
            let mut state = lock(&inner.state);
            // Each run gets its own budget of consecutive pauses before giving up.
            state.consecutive_pauses = 0;
            state.counters
        };
        let mut tasks = JoinSet::new();
        let mut online = inner.online.subscribe();
        let stopped = loop {
            if !*online.borrow_and_update() {
                break StopReason::Offline;
            }
            if let Some(reason) = self.gave_up() {
                break reason;
            }
            let paused_until = lock(&inner.state)
                .paused_until
                .filter(|t| *t > Instant::now());
            if paused_until.is_none() {
                self.fill(&mut tasks).await?;
            }
            let next_retry = if tasks.is_empty() && paused_until.is_none() {
                let inspector = inner.inspector.clone();
                match blocking(move || inspector.sync_queue().next_retry_at()).await? {
                    None => break StopReason::Idle,
                    Some(at) if at <= Timestamp::now() => {
                        // Due now but nothing started: either it became due after `fill`
                        // looked (go round again at once), or it is in flight through a
                        // verdict, whose end wakes this loop (sleeping 0 s would spin).
                        let (in_flight, window) = {
                            let state = lock(&inner.state);
                            let ids: Vec<PhotoId> = state.in_flight.iter().copied().collect();
                            (ids, state.window.size(&inner.config))
                        };
                        let room = in_flight.len() < window;
                        let inspector = inner.inspector.clone();
                        let due = blocking(move || {
                            inspector.sync_queue().due(Timestamp::now(), &in_flight, 1)
                        })
                        .await?;
                        if room && !due.is_empty() {
                            continue;
                        }
                        None
                    }
                    Some(at) => Some(instant_at(at)),
                }
            } else {
                None
            };
            let wake_at = paused_until
                .or(next_retry)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = tokio::time::sleep_until(wake_at), if tasks.is_empty() || paused_until.is_some() => {}
                _ = online.changed() => {}
                _ = inner.wake.notified() => {}
            }
        };
        // Let requests already sent finish and store their answers.
        while tasks.join_next().await.is_some() {}
        // The office lane: once the photo lane is idle (photos carry their inspection there
        // first), inspection revisions, verdicts and left-over photos.
        let stopped = match (&stopped, &inner.client) {
            (StopReason::Idle, Target::Office(office)) => self.run_office_lane(office).await?,
            _ => stopped,
        };
        // Counts of this run only (the engine may run many times, and concurrently with
        // verdicts, whose requests count too).
        let now = lock(&inner.state).counters;
        Ok(SyncReport {
            synced: now.synced - before.synced,
            archived: now.archived - before.archived,
            failed: now.failed - before.failed,
            retried: now.retried - before.retried,
            requests: now.requests - before.requests,
            office_records: now.office_records - before.office_records,
            stopped,
        })
    }

    /// Runs forever (until the task is dropped): drains the queue whenever the device is
    /// online, then waits for a new photo, a retry time, or a connectivity change.
    pub async fn run(&self) -> Result<()> {
        let mut online = self.inner.online.subscribe();
        loop {
            let report = self.run_until_idle().await?;
            if report.stopped == StopReason::Offline {
                online.changed().await.ok();
            } else {
                tokio::select! {
                    _ = online.changed() => {}
                    _ = self.inner.wake.notified() => {}
                }
            }
        }
    }

    /// Starts attempts for due photos until `concurrency` are in flight. While answers wait
    /// to be stored again, only they are tried: no new request until storage works.
    async fn fill(&self, tasks: &mut JoinSet<()>) -> Result<()> {
        let unstored: Vec<PhotoId> = {
            let mut state = lock(&self.inner.state);
            let ids: Vec<PhotoId> = state.unstored.keys().copied().collect();
            ids.into_iter()
                .filter(|id| state.in_flight.insert(*id))
                .collect()
        };
        if !lock(&self.inner.state).unstored.is_empty() {
            for id in unstored {
                let engine = self.clone();
                tasks.spawn(async move {
                    engine.store_again(id).await;
                });
            }
            return Ok(());
        }
        let free = {
            let state = lock(&self.inner.state);
            state
                .window
                .size(&self.inner.config)
                .saturating_sub(state.in_flight.len())
        };
        if free == 0 {
            return Ok(());
        }
        let in_flight: Vec<PhotoId> = lock(&self.inner.state).in_flight.iter().copied().collect();
        let inspector = self.inner.inspector.clone();
        let due = blocking(move || {
            inspector
                .sync_queue()
                .due(Timestamp::now(), &in_flight, free as u32)
        })
        .await?;
        for photo in due {
            let engine = self.clone();
            // Claim before spawning so the next fill does not pick it again.
            if !lock(&self.inner.state).in_flight.insert(photo.id) {
                continue;
            }
            tasks.spawn(async move {
                let id = photo.id;
                if let Err(e) = engine.attempt_claimed(photo).await {
                    engine.emit(SyncEvent::AttemptFailed {
                        photo_id: id,
                        error: e.to_string(),
                        retry_in: Duration::ZERO,
                    });
                }
            });
        }
        Ok(())
    }

    /// One attempt for a photo not yet claimed (the verdict path).
    pub(super) async fn attempt(&self, photo: Photo) -> Result<AttemptOutcome> {
        if !lock(&self.inner.state).in_flight.insert(photo.id) {
            return Ok(AttemptOutcome::WillRetry);
        }
        self.attempt_claimed(photo).await
    }

    /// Stores an answer again whose first store write failed (claimed by `fill`).
    async fn store_again(&self, id: PhotoId) {
        let pending = lock(&self.inner.state).unstored.remove(&id);
        if let Some((result, latency)) = pending {
            // A failure puts the answer back and pauses the queue.
            let _ = self.store_answer(result, latency).await;
        }
        lock(&self.inner.state).in_flight.remove(&id);
        self.wake();
    }

    /// One attempt for a claimed photo; releases the claim when done.
    async fn attempt_claimed(&self, photo: Photo) -> Result<AttemptOutcome> {
        let id = photo.id;
        let stored_answer = lock(&self.inner.state).unstored.remove(&id);
        let outcome = match stored_answer {
            Some((result, latency)) => self.store_answer(result, latency).await,
            None => match &self.inner.client {
                Target::SageMaker(client) => self.sagemaker_attempt(client, photo).await,
                Target::Office(office) => self.office_attempt(office, photo).await,
            },
        };
        lock(&self.inner.state).in_flight.remove(&id);
        self.wake();
        if let Ok(AttemptOutcome::Synced(_) | AttemptOutcome::Archived | AttemptOutcome::Failed) =
            &outcome
        {
            self.emit_counts().await;
        }
        outcome
    }

    /// Stores a cloud answer and marks its photo synced. When the store fails (storage
    /// full, I/O error), the answer is kept in memory to be stored again, never requested
    /// again, and the whole queue pauses.
    pub(super) async fn store_answer(
        &self,
        result: DetectionResult,
        latency: Duration,
    ) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let stored = result.clone();
        let from_office = matches!(self.inner.client, Target::Office(_));
        match blocking(move || {
            inspector
                .sync_queue()
                .store_cloud_result(&stored, from_office)
        })
        .await
        {
            Ok(false) => return Ok(AttemptOutcome::AlreadySynced),
            Ok(true) => {}
            Err(e) => {
                lock(&self.inner.state)
                    .unstored
                    .insert(result.photo_id, (result, latency));
                return self.storage_failed(&e);
            }
        }
        lock(&self.inner.state).counters.synced += 1;
        self.emit(SyncEvent::PhotoSynced {
            photo_id: result.photo_id,
            detections: result.detections.detections.len(),
            latency_ms: latency.as_secs_f64() * 1000.0,
        });
        Ok(AttemptOutcome::Synced(Box::new(result)))
    }
}
