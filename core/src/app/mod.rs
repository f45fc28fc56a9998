//! The core's front door for hosts (the CLI, the mobile bindings, the tests): one object on
//! one data directory that owns the inspector, the sync engine, the model updater and the
//! edge detector in use, behind one lock and one error type.
//!
//! Fast local calls are plain functions (a host runs them off its UI thread); calls that
//! wait on the network are `async` and need a tokio runtime (the bindings own one).

mod api_error;
mod config;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub use api_error::ApiError;
pub use config::{CloudConfig, CloudTarget, OmniConfig};

use crate::detect::{Detector, EdgeDetector, EdgeDetectorConfig};
use crate::detections::{DetectionResult, DetectionSource, ModelIdentity};
use crate::error::Error;
use crate::inspection::{Inspection, InspectionId, NewInspection, Photo, PhotoId};
use crate::inspector::{
    ClosedInspection, DetectOutcome, InspectionDetail, Inspector, OpenReport, PhotoDetail,
    QuarantinedFile, RecoverReport, Recovery, Stats,
};
use crate::listener::ListenerSlot;
use crate::model_refresh::{
    CheckOutcome, Fallback, ModelEvent, ModelRefreshListener, ModelStatus, ModelStore,
    ModelUpdater, Network, RolledBack, Slot, UpdateOutcome, model_status, rollback,
};
use crate::store::box_verdicts::BoxVerdict;
use crate::store::inspections::{InspectionFilter, InspectionSummary};
use crate::sync::{SyncEngine, SyncListener, SyncReport, Verdict};
use omni_cloud::CachedCredentials;
use omni_cloud::office_client::OfficeClient;
use omni_cloud::runtime_client::RuntimeClient;
use omni_photo::probe::PhotoError;
use omni_protocol::face::Face;
use omni_protocol::inspection_kind::{FaceCoverage, KindTable};
use omni_protocol::timestamp::Timestamp;

/// The result of a front-door call.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// The edge model in use, swapped whole when a refreshed model is installed or rolled back.
struct CurrentModel {
    detector: Arc<EdgeDetector>,
    /// Where it was loaded from (`None`: a pinned file).
    slot: Option<Slot>,
    /// Installed models skipped to get to it, with why.
    fallbacks: Vec<Fallback>,
}

/// One data directory, opened for a host. Share it behind an `Arc`; every method takes
/// `&self`.
pub struct OmniCore {
    inspector: Arc<Inspector>,
    models: ModelStore,
    detector_config: EdgeDetectorConfig,
    current: RwLock<CurrentModel>,
    /// A pinned model is never swapped.
    pinned: bool,
    sync: Option<SyncEngine>,
    updater: Option<ModelUpdater>,
    model_listener: ListenerSlot<dyn ModelRefreshListener>,
    kinds: KindTable,
}

impl std::fmt::Debug for OmniCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmniCore")
            .field("data_dir", &self.inspector.data_dir())
            .field("cloud", &self.sync.is_some())
            .field("model_refresh", &self.updater.is_some())
            .finish_non_exhaustive()
    }
}

impl OmniCore {
    /// Opens (creating, migrating and reconciling) the data directory, and loads the edge
    /// model: the installed refreshed model, else the previous one, else the bundled one.
    /// [`ApiError::Busy`] when another process has the directory open.
    pub fn open(config: OmniConfig) -> ApiResult<Self> {
        let inspector = Arc::new(Inspector::open(&config.data_dir, config.inspector.clone())?);
        let models = ModelStore::with_bundled(&config.data_dir, config.bundled_model.clone());
        let detector_config = config.detector_config();
        let current = match &config.pinned_model {
            Some(path) => CurrentModel {
                detector: Arc::new(
                    EdgeDetector::from_path(path, &detector_config).map_err(Error::from)?,
                ),
                slot: None,
                fallbacks: Vec::new(),
            },
            None => {
                let loaded = models.load(&detector_config)?;
                CurrentModel {
                    detector: Arc::new(loaded.detector),
                    slot: Some(loaded.slot),
                    fallbacks: loaded.fallbacks,
                }
            }
        };
        let credentials = config
            .cloud
            .as_ref()
            .map(|cloud| Arc::new(CachedCredentials::new(cloud.credentials.clone())));
        let sync = match (&config.cloud, &credentials) {
            (Some(cloud), Some(credentials)) => {
                let http_error = |e: omni_cloud::runtime_client::InvokeError| ApiError::Internal {
                    code: "http_client",
                    message: e.to_string(),
                };
                Some(match &cloud.target {
                    CloudTarget::SageMaker(runtime) => SyncEngine::new(
                        inspector.clone(),
                        RuntimeClient::new(runtime.clone(), credentials.clone())
                            .map_err(http_error)?,
                        config.sync.clone(),
                    ),
                    CloudTarget::Office(office) => SyncEngine::office(
                        inspector.clone(),
                        OfficeClient::new(office.clone(), credentials.clone())
                            .map_err(http_error)?,
                        config.sync.clone(),
                    ),
                })
            }
            _ => None,
        };
        let updater = match config.model_refresh {
            Some(mut refresh) => {
                refresh.threads = detector_config.threads;
                Some(ModelUpdater::with_store(
                    models.clone(),
                    refresh,
                    credentials,
                )?)
            }
            None => None,
        };
        Ok(Self {
            inspector,
            models,
            detector_config,
            current: RwLock::new(current),
            pinned: config.pinned_model.is_some(),
            sync,
            updater,
            model_listener: ListenerSlot::new(),
            kinds: config.inspection_kinds,
        })
    }

    /// What opening found and repaired (quarantined files, missing files, …).
    pub fn open_report(&self) -> &OpenReport {
        self.inspector.open_report()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.inspector.data_dir()
    }

    // --- Inspections and photos ---------------------------------------------------------

    /// Starts an inspection of one container. Its kind, when given, must be in the kinds
    /// table (`unknown_inspection_kind`; nothing stored).
    pub fn create_inspection(&self, new: NewInspection) -> ApiResult<Inspection> {
        if let Some(kind) = &new.kind {
            self.kinds.get(kind).map_err(Error::from)?;
        }
        Ok(self.inspector.create_inspection(new)?)
    }

    /// Closes an inspection: no more photos. Closing with required faces missing is
    /// allowed; the answer lists them.
    pub fn close_inspection(&self, id: InspectionId) -> ApiResult<ClosedInspection> {
        let inspection = self.inspector.close_inspection(id)?;
        let faces = self.inspector.face_coverage(id, &self.kinds)?;
        Ok(ClosedInspection { inspection, faces })
    }

    /// The faces an inspection's kind requires, its photos show, and it misses.
    pub fn face_coverage(&self, id: InspectionId) -> ApiResult<FaceCoverage> {
        Ok(self.inspector.face_coverage(id, &self.kinds)?)
    }

    /// The verdict on the box from the yard office's report (EIR) of a closed inspection, once
    /// the office lane has read it (`None` until then); `NotFound` for an unknown inspection.
    pub fn box_verdict(&self, id: InspectionId) -> ApiResult<Option<BoxVerdict>> {
        Ok(self.inspector.box_verdict(id)?)
    }

    /// The inspection kinds this core knows (the bundled table or the yard's).
    pub fn inspection_kinds(&self) -> &KindTable {
        &self.kinds
    }

    /// Changes the face a photo shows, until it is synced (`photo_already_synced` after).
    pub fn set_photo_face(&self, id: PhotoId, face: Face) -> ApiResult<Photo> {
        Ok(self.inspector.set_photo_face(id, face)?)
    }

    /// Inspections, newest first, with photo counts.
    pub fn list_inspections(&self, filter: &InspectionFilter) -> ApiResult<Vec<InspectionSummary>> {
        Ok(self.inspector.list_inspections(filter)?)
    }

    /// One inspection with its photos and their results, and its faces against its kind.
    pub fn inspection(&self, id: InspectionId) -> ApiResult<InspectionDetail> {
        let mut detail = self.inspector.inspection(id)?;
        detail.faces = self.kinds.coverage(
            detail.inspection.kind.as_deref(),
            detail.photos.iter().map(|p| p.photo.face),
        );
        Ok(detail)
    }

    /// One photo with its results.
    pub fn photo(&self, id: PhotoId) -> ApiResult<PhotoDetail> {
        let photo = self.inspector.photo(id)?;
        let results = self.inspector.stored_results(id)?;
        Ok(PhotoDetail::new(photo, results))
    }

    /// The stored bytes of a photo, as captured.
    pub fn photo_bytes(&self, id: PhotoId) -> ApiResult<Vec<u8>> {
        let photo = self.inspector.photo(id)?;
        Ok(self.inspector.read_photo(&photo)?)
    }

    /// Stores a photo durably (fsynced before this returns) and queues it for the cloud,
    /// with the container face it shows (`Face::Whole` when the host does not say).
    /// A photo that is not a JPEG/PNG, or is over the limits, is refused and nothing is
    /// stored.
    pub fn add_photo(
        &self,
        inspection: InspectionId,
        bytes: &[u8],
        captured_at: Timestamp,
        face: Face,
    ) -> ApiResult<Photo> {
        let photo = self
            .inspector
            .add_photo(inspection, bytes, captured_at, face)?;
        if let Some(sync) = &self.sync {
            sync.notify_new_photo();
        }
        Ok(photo)
    }

    /// [`OmniCore::add_photo`] from a file (a camera's output); a file over the size limit
    /// is refused before it is read.
    pub fn add_photo_file(
        &self,
        inspection: InspectionId,
        path: &Path,
        captured_at: Timestamp,
        face: Face,
    ) -> ApiResult<Photo> {
        let bytes = read_capped(path, self.inspector.photo_limits().max_bytes)?;
        self.add_photo(inspection, &bytes, captured_at, face)
    }

    /// Runs the edge model in use on a stored photo and stores its result (nothing runs
    /// when this model already has one). CPU-bound: tens of milliseconds on a phone.
    pub fn detect_photo(&self, id: PhotoId) -> ApiResult<DetectOutcome> {
        let detector = self.current_detector();
        Ok(self.inspector.detect_photo(detector.as_ref(), id)?)
    }

    /// The edge verdict of a photo: runs the model in use if it has no result yet, and
    /// returns its newest edge result.
    pub fn edge_verdict(&self, id: PhotoId) -> ApiResult<DetectionResult> {
        match self.detect_photo(id)? {
            DetectOutcome::Detected(result) => Ok(result),
            DetectOutcome::Unreadable { .. } => Err(Error::PhotoUnreadable(id).into()),
            DetectOutcome::AlreadyDone => self
                .inspector
                .stored_results(id)?
                .into_iter()
                .rev()
                .find(|r| r.detections.source == DetectionSource::Edge)
                .ok_or_else(|| {
                    Error::Sync(format!("photo {id}: stored edge result vanished")).into()
                }),
        }
    }

    /// Photos without a result from the model in use (unreadable ones excluded), oldest
    /// first.
    pub fn pending_detection(&self, limit: u32) -> ApiResult<Vec<Photo>> {
        let sha = self.current_model().sha256;
        Ok(self.inspector.pending_detection(&sha, limit)?)
    }

    /// The verdict to show now: the cloud's when it answers within the latency budget, else
    /// the edge result (the cloud request goes on and stores its result when it comes).
    /// Without a cloud endpoint, the edge verdict.
    pub async fn verdict(&self, id: PhotoId) -> ApiResult<Verdict> {
        match &self.sync {
            Some(sync) => {
                let detector: Arc<dyn Detector> = self.current_detector();
                Ok(sync.verdict(id, detector).await?)
            }
            None => {
                let result = self.edge_verdict(id)?;
                Ok(Verdict {
                    result,
                    cloud_pending: false,
                })
            }
        }
    }

    // --- Sync ---------------------------------------------------------------------------

    fn sync(&self) -> ApiResult<&SyncEngine> {
        self.sync
            .as_ref()
            .ok_or_else(|| ApiError::not_configured("the cloud endpoint"))
    }

    /// Sends queued photos until none is due, the host goes offline, or (with
    /// `give_up_after_pauses`) the endpoint stays unreachable.
    pub async fn sync_until_idle(&self) -> ApiResult<SyncReport> {
        Ok(self.sync()?.run_until_idle().await?)
    }

    /// Syncs forever: drains the queue whenever online, then waits for a photo, a retry time
    /// or a connectivity change. Stop it by dropping (cancelling) the future.
    pub async fn run_sync(&self) -> ApiResult<()> {
        Ok(self.sync()?.run().await?)
    }

    /// The host's connectivity signal; going online lifts any pause at once.
    pub fn set_online(&self, online: bool) {
        if let Some(sync) = &self.sync {
            sync.set_online(online);
        }
    }

    /// Whether a cloud endpoint is configured.
    pub fn has_cloud(&self) -> bool {
        self.sync.is_some()
    }

    /// Whether the host last said the device is online.
    pub fn is_online(&self) -> bool {
        self.sync.as_ref().is_some_and(SyncEngine::is_online)
    }

    /// The network kind (model downloads wait for an unmetered one unless allowed).
    pub fn set_network(&self, network: Network) {
        if let Some(updater) = &self.updater {
            updater.set_network(network);
        }
    }

    /// Queues failed photos again (`only`: one photo); returns how many.
    pub fn retry_failed(&self, only: Option<PhotoId>) -> ApiResult<u64> {
        let count = self.inspector.retry_failed(only)?;
        if let Some(sync) = &self.sync {
            sync.notify_new_photo();
        }
        Ok(count)
    }

    /// Receives sync events ([`ApiError::NotConfigured`] without a cloud endpoint).
    pub fn set_sync_listener(&self, listener: Arc<dyn SyncListener>) -> ApiResult<()> {
        self.sync()?.set_listener(listener);
        Ok(())
    }

    // --- Store health ---------------------------------------------------------------------

    /// Totals over the store.
    pub fn stats(&self) -> ApiResult<Stats> {
        Ok(self.inspector.stats()?)
    }

    /// SQLite's integrity check: `["ok"]` when the database is sound, else the problems.
    pub fn integrity_check(&self) -> ApiResult<Vec<String>> {
        Ok(self.inspector.integrity_check()?)
    }

    /// Files waiting in `photos/orphans/`.
    pub fn quarantined_files(&self) -> ApiResult<Vec<QuarantinedFile>> {
        Ok(self.inspector.quarantined_files()?)
    }

    /// Adopts quarantined photos into a new inspection, marked recovered.
    pub fn recover_quarantined(&self, recovery: Recovery) -> ApiResult<RecoverReport> {
        Ok(self.inspector.recover_quarantined(recovery)?)
    }

    // --- Models -----------------------------------------------------------------------------

    /// Name, version and SHA-256 of the edge model in use.
    pub fn current_model(&self) -> ModelIdentity {
        self.current_detector().identity().clone()
    }

    /// The detector in use; an inference holding it finishes on it even if a refresh swaps
    /// in another meanwhile.
    fn current_detector(&self) -> Arc<EdgeDetector> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .detector
            .clone()
    }

    /// Where the installed models stand.
    pub fn model_status(&self) -> ApiResult<ModelStatus> {
        Ok(model_status(&self.models, &self.detector_config)?)
    }

    fn updater(&self) -> ApiResult<&ModelUpdater> {
        self.updater
            .as_ref()
            .ok_or_else(|| ApiError::not_configured("the model refresh source"))
    }

    /// Fetches and verifies the manifest without downloading the model.
    pub async fn check_for_model_update(&self) -> ApiResult<CheckOutcome> {
        Ok(self.updater()?.check_for_model_update().await?)
    }

    /// Downloads, verifies, test-runs and installs a newer model, then swaps it in.
    pub async fn update_model(&self) -> ApiResult<UpdateOutcome> {
        let outcome = self.updater()?.update().await?;
        if matches!(outcome, UpdateOutcome::Installed { .. }) {
            self.reload_model()?;
        }
        Ok(outcome)
    }

    /// Makes the previous model (or the bundled one) active again and swaps it in; the
    /// model rolled back from is never installed again.
    pub fn rollback_model(&self) -> ApiResult<RolledBack> {
        let done = match &self.updater {
            Some(updater) => updater.rollback()?,
            None => {
                let done = rollback(&self.models)?;
                self.emit_model_event(ModelEvent::RolledBack {
                    from: done.from.clone(),
                    to: done.to.clone(),
                });
                done
            }
        };
        self.reload_model()?;
        Ok(done)
    }

    /// Receives model refresh events.
    pub fn set_model_listener(&self, listener: Arc<dyn ModelRefreshListener>) {
        if let Some(updater) = &self.updater {
            updater.set_listener(listener.clone());
        }
        self.model_listener.set(listener);
    }

    fn emit_model_event(&self, event: ModelEvent) {
        event.log();
        if let Some(listener) = self.model_listener.get() {
            listener.on_event(event);
        }
    }

    /// Loads the model the store now names and makes it current. The old detector stays
    /// alive for inferences that hold it.
    fn reload_model(&self) -> ApiResult<()> {
        if self.pinned {
            return Ok(());
        }
        let loaded = self.models.load(&self.detector_config)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = CurrentModel {
            detector: Arc::new(loaded.detector),
            slot: Some(loaded.slot),
            fallbacks: loaded.fallbacks,
        };
        Ok(())
    }

    /// The slot the model in use came from (`None`: a pinned model file).
    pub fn current_slot(&self) -> Option<Slot> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).slot
    }

    /// The installed models skipped (unreadable, tampered, failing to load) when the model
    /// in use was loaded, at open or at the last update or rollback, each with why; empty
    /// for a pinned model. A host shows them, so a broken refresh does not go unnoticed
    /// (the CLI prints the first as one line).
    pub fn model_fallbacks(&self) -> Vec<Fallback> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .fallbacks
            .clone()
    }
}

/// Reads a photo file, refusing one over `max_bytes` before reading it.
fn read_capped(path: &Path, max_bytes: usize) -> ApiResult<Vec<u8>> {
    let file = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ApiError::NotFound {
                code: "file_not_found",
                message: format!("no photo file at {}", path.display()),
            }
        } else {
            Error::io(format!("cannot open {}", path.display()))(e).into()
        }
    })?;
    let size = file
        .metadata()
        .map_err(Error::io(format!("cannot stat {}", path.display())))?
        .len();
    if size > max_bytes as u64 {
        return Err(Error::Photo(PhotoError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit: max_bytes,
        })
        .into());
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io(format!("cannot read {}", path.display())))?;
    Ok(bytes)
}
