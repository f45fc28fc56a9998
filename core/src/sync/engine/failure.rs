//! The failure policy: which failures fail a photo, retry it later, or pause the whole queue
//! (network, credentials, a refusing endpoint, storage, throttling), and for how long.

use std::time::Duration;

use tokio::time::Instant;

use super::{AttemptOutcome, EngineState, SyncEngine, blocking, lock};
use crate::error::{Error, Result};
use crate::inspection::Photo;
use crate::store::office::RecordKind;
use crate::sync::events::{PauseCause, SyncEvent};
use omni_cloud::runtime_client::{FailureClass, InvokeError};
use omni_protocol::timestamp::Timestamp;

impl SyncEngine {
    /// A store write failed: pause the whole queue (growing pauses) rather than retry the
    /// photo at once, which would send it again and again.
    pub(super) fn storage_failed(&self, error: &Error) -> Result<AttemptOutcome> {
        self.pause(
            PauseCause::Storage,
            &format!("cannot store sync results: {error}"),
            None,
            true,
        );
        Ok(AttemptOutcome::WillRetry)
    }

    /// What a failed request means, by its class: a fault of the photo (refused, model
    /// error, retryable) costs one of its attempts; the endpoint, the network, credentials
    /// or a throttle pause the queue and cost none.
    pub(super) async fn handle_invoke_error(
        &self,
        photo: &Photo,
        error: InvokeError,
    ) -> Result<AttemptOutcome> {
        let config = &self.inner.config;
        let attempt = photo.attempt_count + 1;
        let message = error.to_string();
        tracing::debug!(
            photo_id = %photo.id,
            attempt,
            class = ?error.class(),
            error = %message,
            "invocation failed"
        );
        match error.class() {
            FailureClass::Permanent => {
                let streak = {
                    let mut state = lock(&self.inner.state);
                    state.consecutive_permanent += 1;
                    state.consecutive_permanent
                };
                if streak > config.permanent_failures_before_pause {
                    // Photo after photo refused: blame the endpoint, keep the photo queued.
                    self.pause(
                        PauseCause::Endpoint,
                        &format!("{} photos in a row refused: {message}", streak - 1),
                        None,
                        true,
                    );
                    return Ok(AttemptOutcome::WillRetry);
                }
                self.fail(photo, &message, &message).await
            }
            FailureClass::Endpoint => {
                self.pause(PauseCause::Endpoint, &message, None, true);
                // Not the photo's fault: no attempt is counted.
                Ok(AttemptOutcome::WillRetry)
            }
            FailureClass::ModelError if attempt >= config.model_error_attempts => {
                self.fail(
                    photo,
                    &message,
                    &format!("model error after {attempt} attempts: {message}"),
                )
                .await
            }
            FailureClass::Retryable | FailureClass::ModelError
                if attempt >= config.max_attempts =>
            {
                self.fail(
                    photo,
                    &message,
                    &format!("gave up after {attempt} attempts: {message}"),
                )
                .await
            }
            FailureClass::Retryable | FailureClass::ModelError => {
                lock(&self.inner.state).consecutive_pauses = 0;
                self.retry(photo, &message, attempt, error.retry_after())
                    .await
            }
            FailureClass::Throttled => {
                // The endpoint is full, the photo is not at fault: no attempt is counted.
                // The window halves; with another request of ours admitted, that is all
                // (keep the place it holds). Otherwise the whole queue pauses, longer with
                // each throttle of the streak (equal jitter, at least the server's
                // Retry-After), so a fleet sharing a small endpoint settles near its capacity
                // instead of hammering it.
                let wait = {
                    let mut state = lock(&self.inner.state);
                    let others_admitted = state.in_flight.len() > 1;
                    state.window.throttled();
                    if others_admitted {
                        None
                    } else {
                        let streak = state.window.lengthen_throttle_streak();
                        Some(config.throttle.equal_jitter(
                            streak,
                            error.retry_after(),
                            &mut state.rng,
                        ))
                    }
                };
                match wait {
                    Some(wait) => self.pause(PauseCause::Throttled, &message, Some(wait), false),
                    None => tracing::debug!(
                        photo_id = %photo.id,
                        "throttled beside an admitted request: one request in flight fewer"
                    ),
                }
                Ok(AttemptOutcome::WillRetry)
            }
            FailureClass::Network => {
                // Due again as soon as the pause ends; no attempt is counted.
                self.pause(PauseCause::Network, &message, None, true);
                Ok(AttemptOutcome::WillRetry)
            }
            FailureClass::Auth => {
                self.inner.client.invalidate_credentials();
                self.pause(PauseCause::Credentials, &message, None, true);
                // Not the photo's fault: no attempt is counted.
                Ok(AttemptOutcome::WillRetry)
            }
        }
    }

    /// Pauses the whole queue: for `fixed`, or by the growing pause backoff with equal
    /// jitter (between half the ceiling and the ceiling), so a fleet that lost the network
    /// together does not come back in lock-step.
    pub(super) fn pause(
        &self,
        cause: PauseCause,
        reason: &str,
        fixed: Option<Duration>,
        count: bool,
    ) {
        let resume_in = {
            let mut state = lock(&self.inner.state);
            if count {
                state.consecutive_pauses += 1;
            }
            let resume_in = fixed.unwrap_or_else(|| {
                let EngineState {
                    rng,
                    consecutive_pauses,
                    ..
                } = &mut *state;
                self.inner
                    .config
                    .pause
                    .equal_jitter((*consecutive_pauses).max(1), None, rng)
            });
            let until = Instant::now() + resume_in;
            if state.paused_until.is_none_or(|t| t < until) {
                state.paused_until = Some(until);
            }
            state.pause_reason = reason.to_owned();
            state.pause_cause = cause;
            resume_in
        };
        self.emit(SyncEvent::Paused {
            cause,
            reason: reason.to_owned(),
            resume_in,
        });
    }

    /// Schedules the photo's next attempt after its backoff delay.
    pub(super) async fn retry(
        &self,
        photo: &Photo,
        error: &str,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> Result<AttemptOutcome> {
        let delay = {
            let mut state = lock(&self.inner.state);
            state.counters.retried += 1;
            let EngineState { rng, .. } = &mut *state;
            // Retry-After is a floor under the jittered delay, never a bypass of it.
            self.inner.config.backoff.delay(attempt, retry_after, rng)
        };
        let at = Timestamp::from_millis(Timestamp::now().as_millis() + delay.as_millis() as i64);
        let inspector = self.inner.inspector.clone();
        let (id, error_text) = (photo.id, error.to_owned());
        if let Err(e) =
            blocking(move || inspector.sync_queue().record_failure(id, &error_text, at)).await
        {
            return self.storage_failed(&e);
        }
        self.emit(SyncEvent::AttemptFailed {
            photo_id: photo.id,
            error: error.to_owned(),
            retry_in: delay,
        });
        Ok(AttemptOutcome::WillRetry)
    }

    /// Gives up on the photo until it is retried by hand.
    pub(super) async fn fail(
        &self,
        photo: &Photo,
        error: &str,
        reason: &str,
    ) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let (id, error_text, reason_text) = (photo.id, error.to_owned(), reason.to_owned());
        if let Err(e) =
            blocking(move || inspector.sync_queue().fail(id, &error_text, &reason_text)).await
        {
            return self.storage_failed(&e);
        }
        lock(&self.inner.state).counters.failed += 1;
        self.emit(SyncEvent::PhotoFailed {
            photo_id: photo.id,
            reason: reason.to_owned(),
        });
        Ok(AttemptOutcome::Failed)
    }

    /// Backs an office record off (`SyncConfig::backoff`, `retry_after` a floor), or wedges
    /// it once it has had `max_attempts`.
    pub(super) async fn retry_record(
        &self,
        kind: RecordKind,
        item: &str,
        message: String,
        retry_after: Option<Duration>,
    ) -> Result<()> {
        let inspector = self.inner.inspector.clone();
        let key = item.to_owned();
        let attempts = blocking(move || inspector.office_queue().attempts(kind, &key)).await? + 1;
        if attempts >= self.inner.config.max_attempts {
            let reason = format!("gave up after {attempts} attempts: {message}");
            return self.wedge(kind, item, &reason).await;
        }
        let delay = {
            let mut state = lock(&self.inner.state);
            state.counters.retried += 1;
            let EngineState { rng, .. } = &mut *state;
            self.inner.config.backoff.delay(attempts, retry_after, rng)
        };
        let at = Timestamp::from_millis(
            Timestamp::now().as_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
        );
        let inspector = self.inner.inspector.clone();
        let key = item.to_owned();
        if let Err(e) = blocking(move || {
            inspector
                .office_queue()
                .record_failure(kind, &key, &message, at)
        })
        .await
        {
            self.storage_failed(&e)?;
        }
        Ok(())
    }

    /// Gives up on an office record until retried by hand.
    pub(super) async fn wedge(&self, kind: RecordKind, item: &str, reason: &str) -> Result<()> {
        tracing::warn!(kind = kind.as_str(), item, reason, "office record wedged");
        let inspector = self.inner.inspector.clone();
        let (key, text) = (item.to_owned(), reason.to_owned());
        if let Err(e) =
            blocking(move || inspector.office_queue().wedge(kind, &key, &text, &text)).await
        {
            self.storage_failed(&e)?;
        }
        lock(&self.inner.state).counters.failed += 1;
        Ok(())
    }
}
