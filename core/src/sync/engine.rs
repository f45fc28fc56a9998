//! The sync engine: drains queued photos to the cloud endpoint whenever the host says the
//! device is online, and gives a verdict at once with the edge model as fallback.
//!
//! Modelled on matrix-rust-sdk's send queue: a network failure pauses the whole queue (with
//! growing pauses, or until the host signals connectivity again), a permanent error wedges
//! only its photo (state `failed` with the reason, until retried by hand). A photo's cloud
//! result is written once, in the transaction that moves it to `synced`.
//!
//! Inside: `run` (the run loop: claims, attempts, answers stored exactly once), `window` (the
//! admission window under throttling), `failure` (the failure policy: fail, retry or pause),
//! `verdict` (the race between the cloud and the edge model), and one module per lane:
//! `sagemaker` (`InvokeEndpoint`), `office` (the yard office) and `report` (the verdict on
//! the box read back from the office's report).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::backoff::Backoff;
use super::events::{PauseCause, SyncEvent, SyncListener};
use crate::detections::DetectionResult;
use crate::error::{Error, Result};
use crate::inspection::{Photo, PhotoId};
use crate::inspector::Inspector;
use crate::listener::ListenerSlot;
use omni_cloud::office_client::OfficeClient;
use omni_cloud::payload::{Payload, PayloadError};
use omni_cloud::runtime_client::RuntimeClient;
use omni_protocol::timestamp::Timestamp;

mod failure;
mod office;
mod report;
mod run;
mod sagemaker;
mod verdict;
mod window;

use window::AdmissionWindow;

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
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum StopReason {
    /// No queued photo is left (all synced or failed).
    Idle,
    /// The host says the device is offline.
    Offline,
    /// Too many consecutive network or credential failures.
    Unreachable(#[cfg_attr(feature = "uniffi", uniffi(name = "reason"))] String),
    /// The endpoint is missing or misconfigured: it refused request after request.
    EndpointRefused(#[cfg_attr(feature = "uniffi", uniffi(name = "reason"))] String),
    /// Answers could not be stored (storage full, database error); nothing was lost, the
    /// photos stay queued.
    StorageFailing(#[cfg_attr(feature = "uniffi", uniffi(name = "reason"))] String),
}

/// What one [`SyncEngine::run_until_idle`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
    /// The admission window and the throttle streak.
    window: AdmissionWindow,
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

    /// Reports the queue's counts, when a listener wants them.
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
            window: AdmissionWindow::new(),
            unstored: HashMap::new(),
            counters: Counters::default(),
            rng,
        }
    }

    /// The endpoint answered: the network and the endpoint are fine (the pause and refusal
    /// streaks end), the throttle streak halves and the window may grow.
    fn answered(&mut self, config: &SyncConfig) {
        self.consecutive_pauses = 0;
        self.consecutive_permanent = 0;
        self.window.answered(config);
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
