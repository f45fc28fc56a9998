//! The sync engine: drains queued photos to the cloud endpoint whenever the host says the
//! device is online, and gives a verdict at once with the edge model as fallback.
//!
//! Modelled on matrix-rust-sdk's send queue: a network failure pauses the whole queue (with
//! growing pauses, or until the host signals connectivity again), a permanent error wedges
//! only its photo (state `failed` with the reason, until retried by hand). A photo's cloud
//! result is written once, in the transaction that moves it to `synced`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::events::{PauseCause, SyncEvent, SyncListener};
use crate::detect::Detector;
use crate::detections::{DetectionResult, DetectionSource};
use crate::error::{Error, Result};
use crate::inspection::{Photo, PhotoId, PhotoState};
use crate::inspector::{DetectOutcome, Inspector};
use crate::listener::ListenerSlot;
use omni_cloud::office_client::OfficeClient;
use omni_cloud::payload::{self, Payload, PayloadError};
use omni_cloud::runtime_client::{FailureClass, InvokeError, RuntimeClient};
use omni_protocol::response;
use omni_protocol::timestamp::Timestamp;

mod office;

/// Sync engine settings.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Requests in flight at once, at most. Under throttling the engine sends fewer (see
    /// [`SyncEngine`]: one at first, more after answers that came without a throttle).
    pub concurrency: usize,
    /// Per-photo retry delays.
    pub backoff: Backoff,
    /// Whole-queue pauses after network or credential failures.
    pub pause: Backoff,
    /// Whole-queue pauses after a throttle when no other request of this engine was
    /// admitted, growing with the throttles in a row. Longer than `pause` at first: a
    /// throttled serverless endpoint is full with other phones' requests, and coming back
    /// after a second only adds a throttle.
    pub throttle: Backoff,
    /// Attempts before a photo with transient errors is failed (retry by hand).
    pub max_attempts: u32,
    /// Attempts for `ModelError` answers and malformed responses.
    pub model_error_attempts: u32,
    /// How long [`SyncEngine::verdict`] waits for the cloud before the edge result stands.
    pub latency_budget: Duration,
    /// [`SyncEngine::run_until_idle`] stops after this many consecutive whole-queue pauses
    /// (network, credentials, endpoint, storage; the CLI's "endpoint unreachable"); `None`
    /// waits forever.
    pub give_up_after_pauses: Option<u32>,
    /// After this many photos in a row are refused as invalid (a permanent error, with no
    /// answer in between), the next refusal pauses the queue instead of failing its photo:
    /// the endpoint, not the photos, is likely at fault.
    pub permanent_failures_before_pause: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            backoff: Backoff {
                base: Duration::from_secs(2),
                cap: Duration::from_secs(300),
            },
            pause: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
            throttle: Backoff {
                base: Duration::from_secs(4),
                cap: Duration::from_secs(60),
            },
            max_attempts: 12,
            model_error_attempts: 3,
            latency_budget: Duration::from_secs(3),
            give_up_after_pauses: None,
            permanent_failures_before_pause: 3,
        }
    }
}

/// Why [`SyncEngine::run_until_idle`] returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum StopReason {
    /// No queued photo is left (all synced or failed).
    Idle,
    /// The host says the device is offline.
    Offline,
    /// Too many consecutive network or credential failures.
    Unreachable(String),
    /// The endpoint is missing or misconfigured: it refused request after request.
    EndpointRefused(String),
    /// Answers could not be stored (storage full, database error); nothing was lost, the
    /// photos stay queued.
    StorageFailing(String),
}

/// What one [`SyncEngine::run_until_idle`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Photos whose cloud result was stored.
    pub synced: u64,
    /// Photos the yard office archived without a cloud verdict (it does not detect on
    /// upload): their edge results stand.
    pub archived: u64,
    /// Photos given up on (until retried by hand).
    pub failed: u64,
    /// Failed attempts that will be retried.
    pub retried: u64,
    /// Requests sent.
    pub requests: u64,
    /// Office writes acknowledged in this run besides the photo lane's uploads with
    /// detection: inspection revisions, photos archived without detection, verdicts pushed
    /// (0 without an office).
    pub office_records: u64,
    /// Why it stopped.
    pub stopped: StopReason,
}

/// The verdict for one photo from [`SyncEngine::verdict`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The result the inspector sees now.
    pub result: DetectionResult,
    /// True when the edge result stands and the cloud result is still to come (false once
    /// the photo failed, or a yard office without detection archived it).
    pub cloud_pending: bool,
}

#[derive(Clone, Copy, Default)]
struct Counters {
    synced: u64,
    archived: u64,
    failed: u64,
    retried: u64,
    requests: u64,
    office_records: u64,
}

struct EngineState {
    in_flight: HashSet<PhotoId>,
    paused_until: Option<Instant>,
    pause_reason: String,
    pause_cause: PauseCause,
    consecutive_pauses: u32,
    /// Photos refused as invalid in a row, with no answer in between.
    consecutive_permanent: u32,
    /// Throttle streak: +1 a throttle, halved by each answer, so the slow-down grows with
    /// throttles and a phone that got one answer in does not rejoin at the shortest pause.
    consecutive_throttles: u32,
    /// Requests this engine may have in flight now (1..=`concurrency`): the admission
    /// window, additive increase and multiplicative decrease like TCP's congestion window.
    window: usize,
    /// Whether a throttle was ever seen: until then the window doubles with every answer
    /// (slow start); after one it grows by one only after a whole throttle-free window of
    /// answers, `throttle.cap` after the last throttle.
    throttled_once: bool,
    /// When the last throttle came.
    last_throttle: Option<Instant>,
    /// Answers since the window last changed.
    answers_in_window: usize,
    /// Cloud answers received whose store write failed: stored again, never re-requested.
    unstored: HashMap<PhotoId, (DetectionResult, Duration)>,
    counters: Counters,
    rng: fastrand::Rng,
}

/// Where the photo lane sends photos.
enum Target {
    /// SageMaker `InvokeEndpoint` directly.
    SageMaker(RuntimeClient),
    /// The yard office with detection on upload (one upload per photo: archive and verdict),
    /// plus the office lane for inspections, verdicts and photos the photo lane left.
    Office(OfficeClient),
}

impl Target {
    fn invalidate_credentials(&self) {
        match self {
            Self::SageMaker(client) => client.invalidate_credentials(),
            Self::Office(client) => client.invalidate_credentials(),
        }
    }
}

struct EngineInner {
    inspector: Arc<Inspector>,
    client: Target,
    config: SyncConfig,
    online: watch::Sender<bool>,
    listener: ListenerSlot<dyn SyncListener>,
    state: Mutex<EngineState>,
    wake: Notify,
}

/// Drains the photo queue to the cloud endpoint. Cheap to clone; clones share the engine.
///
/// Throttling (a serverless endpoint shared by a fleet, full at its `MaxConcurrency`) is
/// handled as TCP handles congestion, per phone, without knowing the fleet: the engine starts
/// with one request in flight and doubles its window with each answer until the first
/// throttle (slow start); a throttle halves the window. When another of the phone's requests
/// is still admitted, that is all: the phone keeps the place it holds and sends its next photo
/// as soon as that answer is stored. When none is, the whole queue pauses by
/// [`SyncConfig::throttle`], longer with each throttle of the streak, which an answer halves
/// (not resets). After a throttle the window grows again by one only after a whole window of
/// answers and a throttle-free `throttle.cap`. Throttles never use up a photo's attempts.
#[derive(Clone)]
pub struct SyncEngine {
    inner: Arc<EngineInner>,
}

/// How one photo's attempt ended.
enum AttemptOutcome {
    Synced(Box<DetectionResult>),
    /// The office archived it without a cloud verdict.
    Archived,
    AlreadySynced,
    WillRetry,
    Failed,
}

impl SyncEngine {
    /// An engine over `inspector` that calls `client`. Starts online (the CLI's assumption);
    /// phone hosts call [`set_online`](Self::set_online) from their connectivity monitor.
    pub fn new(inspector: Arc<Inspector>, client: RuntimeClient, config: SyncConfig) -> Self {
        Self::with_target(inspector, Target::SageMaker(client), config)
    }

    /// An engine that sends photos to the yard office with detection on upload (each photo
    /// uploaded once; its cloud verdict comes back in the same answer, or later by `GET`),
    /// and pushes inspections and edge verdicts there in the office lane (docs/sync.md).
    pub fn office(inspector: Arc<Inspector>, client: OfficeClient, config: SyncConfig) -> Self {
        Self::with_target(inspector, Target::Office(client), config)
    }

    fn with_target(inspector: Arc<Inspector>, client: Target, config: SyncConfig) -> Self {
        let (online, _) = watch::channel(true);
        Self {
            inner: Arc::new(EngineInner {
                inspector,
                client,
                config,
                online,
                listener: ListenerSlot::new(),
                state: Mutex::new(EngineState::new(fastrand::Rng::new())),
                wake: Notify::new(),
            }),
        }
    }

    /// Sets the listener that receives [`SyncEvent`]s.
    pub fn set_listener(&self, listener: Arc<dyn SyncListener>) {
        self.inner.listener.set(listener);
    }

    /// The host's connectivity signal. Going online lifts any pause at once.
    pub fn set_online(&self, online: bool) {
        if online {
            let mut state = lock(&self.inner.state);
            state.paused_until = None;
            state.consecutive_pauses = 0;
        }
        self.inner.online.send_replace(online);
        self.wake();
    }

    /// Whether the host last said the device is online.
    pub fn is_online(&self) -> bool {
        *self.inner.online.borrow()
    }

    /// Tells a running engine that a photo was queued.
    pub fn notify_new_photo(&self) {
        self.wake();
    }

    /// Wakes every waiting loop, and leaves a permit for a loop that is between two waits
    /// (`notify_waiters` alone keeps none, so a wake-up there would be lost).
    fn wake(&self) {
        self.inner.wake.notify_waiters();
        self.inner.wake.notify_one();
    }

    /// Syncs until no queued photo is left, the host goes offline, or (with
    /// [`SyncConfig::give_up_after_pauses`]) the endpoint stays unreachable.
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
                match blocking(move || inspector.next_sync_retry_at()).await? {
                    None => break StopReason::Idle,
                    Some(at) if at <= Timestamp::now() => {
                        // Due now but nothing started: either it became due after `fill`
                        // looked (go round again at once), or it is in flight through a
                        // verdict, whose end wakes this loop (sleeping 0 s would spin).
                        let (in_flight, window) = {
                            let state = lock(&inner.state);
                            let ids: Vec<PhotoId> = state.in_flight.iter().copied().collect();
                            (ids, state.window(&inner.config))
                        };
                        let room = in_flight.len() < window;
                        let inspector = inner.inspector.clone();
                        let due = blocking(move || {
                            inspector.due_for_sync(Timestamp::now(), &in_flight, 1)
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
                .window(&self.inner.config)
                .saturating_sub(state.in_flight.len())
        };
        if free == 0 {
            return Ok(());
        }
        let in_flight: Vec<PhotoId> = lock(&self.inner.state).in_flight.iter().copied().collect();
        let inspector = self.inner.inspector.clone();
        let due =
            blocking(move || inspector.due_for_sync(Timestamp::now(), &in_flight, free as u32))
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
    async fn attempt(&self, photo: Photo) -> Result<AttemptOutcome> {
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
            None => self.attempt_inner(photo).await,
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

    async fn attempt_inner(&self, photo: Photo) -> Result<AttemptOutcome> {
        let inner = &self.inner;
        let client = match &inner.client {
            Target::SageMaker(client) => client,
            Target::Office(office) => return self.office_attempt(office, photo).await,
        };
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
        {
            // The endpoint answered: the network and the endpoint are fine.
            let mut state = lock(&inner.state);
            state.consecutive_pauses = 0;
            state.consecutive_permanent = 0;
            state.answered(&inner.config);
        }
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

    /// Stores a cloud answer and marks its photo synced. When the store fails (storage
    /// full, I/O error), the answer is kept in memory to be stored again, never requested
    /// again, and the whole queue pauses.
    async fn store_answer(
        &self,
        result: DetectionResult,
        latency: Duration,
    ) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let stored = result.clone();
        let from_office = matches!(self.inner.client, Target::Office(_));
        match blocking(move || inspector.store_cloud_result(&stored, from_office)).await {
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

    /// A store write failed: pause the whole queue (growing pauses) rather than retry the
    /// photo at once, which would send it again and again.
    fn storage_failed(&self, error: &Error) -> Result<AttemptOutcome> {
        self.pause(
            PauseCause::Storage,
            &format!("cannot store sync results: {error}"),
            None,
            true,
        );
        Ok(AttemptOutcome::WillRetry)
    }

    async fn handle_invoke_error(
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
                    state.throttled();
                    if others_admitted {
                        None
                    } else {
                        state.consecutive_throttles += 1;
                        let EngineState {
                            rng,
                            consecutive_throttles,
                            ..
                        } = &mut *state;
                        Some(config.throttle.equal_jitter(
                            *consecutive_throttles,
                            error.retry_after(),
                            rng,
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
    fn pause(&self, cause: PauseCause, reason: &str, fixed: Option<Duration>, count: bool) {
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

    async fn retry(
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
        if let Err(e) = blocking(move || inspector.record_sync_failure(id, &error_text, at)).await {
            return self.storage_failed(&e);
        }
        self.emit(SyncEvent::AttemptFailed {
            photo_id: photo.id,
            error: error.to_owned(),
            retry_in: delay,
        });
        Ok(AttemptOutcome::WillRetry)
    }

    async fn fail(&self, photo: &Photo, error: &str, reason: &str) -> Result<AttemptOutcome> {
        let inspector = self.inner.inspector.clone();
        let (id, error_text, reason_text) = (photo.id, error.to_owned(), reason.to_owned());
        if let Err(e) = blocking(move || inspector.fail_sync(id, &error_text, &reason_text)).await {
            return self.storage_failed(&e);
        }
        lock(&self.inner.state).counters.failed += 1;
        self.emit(SyncEvent::PhotoFailed {
            photo_id: photo.id,
            reason: reason.to_owned(),
        });
        Ok(AttemptOutcome::Failed)
    }

    async fn emit_counts(&self) {
        if self.inner.listener.get().is_none() {
            return;
        }
        let inspector = self.inner.inspector.clone();
        if let Ok(stats) = blocking(move || inspector.stats()).await {
            let in_flight = lock(&self.inner.state).in_flight.len();
            self.emit(SyncEvent::QueueCounts {
                counts: stats.photos,
                in_flight,
            });
        }
    }

    /// Logs the event and hands it to the host's listener.
    fn emit(&self, event: SyncEvent) {
        event.log();
        if let Some(listener) = self.inner.listener.get() {
            listener.on_event(event);
        }
    }
}

impl EngineState {
    /// A fresh engine's state: nothing in flight, no pause, a window of one.
    fn new(rng: fastrand::Rng) -> Self {
        Self {
            in_flight: HashSet::new(),
            paused_until: None,
            pause_reason: String::new(),
            pause_cause: PauseCause::Network,
            consecutive_pauses: 0,
            consecutive_permanent: 0,
            consecutive_throttles: 0,
            window: 1,
            throttled_once: false,
            last_throttle: None,
            answers_in_window: 0,
            unstored: HashMap::new(),
            counters: Counters::default(),
            rng,
        }
    }

    /// The admission window, within the configured concurrency.
    fn window(&self, config: &SyncConfig) -> usize {
        self.window.clamp(1, config.concurrency.max(1))
    }

    /// The endpoint answered: the throttle streak halves and the window may grow.
    fn answered(&mut self, config: &SyncConfig) {
        self.consecutive_throttles /= 2;
        let max = config.concurrency.max(1);
        if self.window >= max {
            return;
        }
        if !self.throttled_once {
            self.window = (self.window * 2).min(max);
            return;
        }
        self.answers_in_window += 1;
        let calm = self
            .last_throttle
            .is_none_or(|at| at.elapsed() >= config.throttle.cap);
        if calm && self.answers_in_window >= self.window {
            self.window += 1;
            self.answers_in_window = 0;
        }
    }

    /// The endpoint throttled a request: the window halves.
    fn throttled(&mut self) {
        self.throttled_once = true;
        self.last_throttle = Some(Instant::now());
        self.answers_in_window = 0;
        self.window = (self.window / 2).max(1);
    }
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::Sync(format!("sync task failed: {e}"))
}

fn instant_at(at: Timestamp) -> Instant {
    let wait = at.as_millis() - Timestamp::now().as_millis();
    Instant::now() + Duration::from_millis(wait.max(0) as u64)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A payload encoder (`payload::prepare` for inference, `payload::archive` for the office).
type Encoder = fn(
    Vec<u8>,
    omni_photo::probe::PhotoFormat,
    u32,
    u32,
    u8,
) -> std::result::Result<Payload, PayloadError>;

/// `encode` applied to `photo`'s stored `bytes`, with the format, size and orientation read
/// at capture.
fn encode_photo(
    encode: Encoder,
    bytes: Vec<u8>,
    photo: &Photo,
) -> std::result::Result<Payload, PayloadError> {
    encode(
        bytes,
        photo.format,
        photo.width,
        photo.height,
        photo.orientation,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> EngineState {
        EngineState::new(fastrand::Rng::with_seed(1))
    }

    fn config(concurrency: usize) -> SyncConfig {
        SyncConfig {
            concurrency,
            ..SyncConfig::default()
        }
    }

    #[test]
    fn the_window_starts_at_one_and_doubles_with_answers_until_a_throttle() {
        let config = config(8);
        let mut state = state();
        assert_eq!(state.window(&config), 1);
        let windows: Vec<usize> = (0..4)
            .map(|_| {
                state.answered(&config);
                state.window(&config)
            })
            .collect();
        assert_eq!(windows, [2, 4, 8, 8]);
        state.throttled();
        assert_eq!(state.window(&config), 4);
        state.throttled();
        state.throttled();
        state.throttled();
        assert_eq!(state.window(&config), 1, "never below one");
    }

    #[test]
    fn after_a_throttle_the_window_grows_by_one_only_after_a_calm_window_of_answers() {
        let config = config(2);
        let mut state = state();
        state.answered(&config);
        assert_eq!(state.window(&config), 2);
        state.throttled();
        assert_eq!(state.window(&config), 1);
        // Answers right after the throttle: the place is kept, no second request yet.
        for _ in 0..50 {
            state.answered(&config);
        }
        assert_eq!(state.window(&config), 1);
        // A throttle-free `throttle.cap` later, one more answer opens the window by one.
        state.last_throttle = Instant::now().checked_sub(config.throttle.cap);
        state.answered(&config);
        assert_eq!(state.window(&config), 2);
        // A window configured smaller than the state's is honoured.
        assert_eq!(
            state.window(&SyncConfig {
                concurrency: 1,
                ..config
            }),
            1
        );
    }

    #[test]
    fn an_answer_halves_the_throttle_streak_rather_than_resetting_it() {
        let config = config(2);
        let mut state = state();
        state.consecutive_throttles = 6;
        state.answered(&config);
        assert_eq!(state.consecutive_throttles, 3);
        state.answered(&config);
        state.answered(&config);
        assert_eq!(state.consecutive_throttles, 0);
    }
}
