//! `OmniCore`, the one object an app holds: a thin wrapper over the core's front door.
//!
//! Fast local calls (capture, lists, stats) block the calling thread for milliseconds and are
//! plain functions; edge inference blocks for tens of milliseconds (run it off the UI
//! thread); calls that wait on the network are `async` (Kotlin `suspend`, Swift `async`,
//! Python coroutines) and run on the bindings' tokio runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use omni_core::cloud::ServiceUrl;
use omni_core::cloud::office_client::OfficeConfig;
use omni_core::cloud::runtime_client::RuntimeConfig;
use omni_core::model_manifest::TrustedKey;
use omni_core::model_refresh::{BundledModel, ManifestSource, RefreshConfig, RefreshPolicy};
use omni_core::sync::SyncConfig;
use omni_core::{
    ApiError, ClosedInspection, CloudConfig, CloudTarget as CoreCloudTarget, ContainerNumber,
    InspectionDetail, InspectionFilter, InspectionId, OmniConfig, PhotoDetail, PhotoId, Timestamp,
};

use crate::callbacks::{
    CredentialsProvider, ForeignCredentials, ForeignModelListener, ForeignSyncListener,
    ModelListener, SyncListener,
};
use crate::error::OmniError;
use crate::faces::parse_face;
use crate::runtime::{on_runtime, runtime};
use crate::task_handle::TaskHandle;
use crate::types::{
    InspectionQuery, ModelCheck, ModelStatus, ModelUpdate, NewInspection, OpenSummary, Stats,
    parse_id,
};
use omni_core::model_refresh::{Network, RolledBack};
use omni_core::sync::{SyncReport, Verdict};
use omni_core::{DetectionResult, Inspection, InspectionSummary, Photo};

/// The cloud endpoint photos are sent to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CloudTarget {
    /// Base URL: `https://runtime.sagemaker.<region>.amazonaws.com`, an API Gateway, or a
    /// local endpoint (`http://` only on loopback).
    pub endpoint_url: String,
    /// SageMaker endpoint name.
    pub endpoint_name: String,
    /// Signing region.
    pub region: String,
}

/// The yard office: photos are uploaded there once with detection on upload (archived, their
/// cloud verdict answered), and inspections and edge verdicts are pushed there too.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OfficeTarget {
    /// Base URL of the office API (before `/v1`): an API Gateway stage, or a local office
    /// (`http://` only on loopback).
    pub base_url: String,
    /// Signing region (service `execute-api`).
    pub region: String,
}

/// Sync settings; the core's defaults where a field is absent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSettings {
    /// Requests in flight at once.
    #[uniffi(default = None)]
    pub concurrency: Option<u32>,
    /// Attempts before a photo is failed.
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
    /// How long a verdict waits for the cloud before the edge result stands.
    #[uniffi(default = None)]
    pub verdict_budget_ms: Option<u64>,
    /// Whole-request timeout.
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u64>,
}

/// Where refreshed edge models come from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModelRefreshSettings {
    /// URL of the signed manifest: `https://…`, `s3://bucket/key`, or `http://` on loopback.
    pub manifest_url: String,
    /// Region of an `s3://` source.
    pub region: String,
    /// An S3-compatible endpoint for `s3://` (tests, MinIO).
    #[uniffi(default = None)]
    pub s3_endpoint: Option<String>,
    /// Pinned Ed25519 public keys, standard base64 of 32 bytes (several during a rotation).
    pub trusted_keys: Vec<String>,
    /// Download on metered networks too (default: Wi-Fi only).
    #[uniffi(default = false)]
    pub allow_metered: bool,
}

/// What the app decides at open.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CoreConfig {
    /// The app's private data directory (database, photos, models).
    pub data_dir: String,
    /// The edge model shipped with the app (an asset copied to a file). `None` only in
    /// desktop builds that compile the demo model in.
    #[uniffi(default = None)]
    pub bundled_model_path: Option<String>,
    /// Threads for edge inference.
    #[uniffi(default = 1)]
    pub threads: u32,
    /// The cloud endpoint (`None`: edge only).
    #[uniffi(default = None)]
    pub cloud: Option<CloudTarget>,
    /// The yard office with detection on upload; when set, photos go there instead of
    /// to `cloud` (which is then unused).
    #[uniffi(default = None)]
    pub office: Option<OfficeTarget>,
    /// Sync settings (`None`: the defaults).
    #[uniffi(default = None)]
    pub sync: Option<SyncSettings>,
    /// Model refresh (`None`: no refresh).
    #[uniffi(default = None)]
    pub model_refresh: Option<ModelRefreshSettings>,
    /// The yard's inspection kinds table (TOML, the shape of omni-protocol's
    /// `data/inspection_kinds.toml`); `None`: the bundled table.
    #[uniffi(default = None)]
    pub inspection_kinds_toml: Option<String>,
}

/// The core, opened on one data directory. Open one per process.
#[derive(uniffi::Object)]
pub struct OmniCore {
    inner: Arc<omni_core::OmniCore>,
    /// Whether the cloud target is the yard office (its counts are then in `stats`).
    office: bool,
}

impl std::fmt::Debug for OmniCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

fn core_config(
    config: CoreConfig,
    credentials: Option<Arc<dyn CredentialsProvider>>,
) -> Result<OmniConfig, OmniError> {
    let mut out = OmniConfig::new(PathBuf::from(config.data_dir));
    if let Some(path) = config.bundled_model_path {
        out.bundled_model = BundledModel::File(PathBuf::from(path));
    }
    out.threads = config.threads.max(1) as usize;
    if let Some(toml) = &config.inspection_kinds_toml {
        out.inspection_kinds = omni_core::KindTable::from_toml(toml)
            .map_err(|e| ApiError::from(omni_core::Error::from(e)))?;
    }
    let credentials = credentials
        .map(|c| Arc::new(ForeignCredentials(c)) as Arc<dyn omni_core::cloud::CredentialsProvider>);
    if let Some(cloud) = config.cloud {
        let credentials = credentials.clone().ok_or_else(|| {
            OmniError::invalid(
                "credentials_missing",
                "a cloud endpoint needs a credentials provider",
            )
        })?;
        let base_url = ServiceUrl::parse(&cloud.endpoint_url).map_err(ApiError::from)?;
        let mut runtime = RuntimeConfig::new(base_url, &cloud.endpoint_name, &cloud.region);
        if let Some(timeout) = config.sync.as_ref().and_then(|s| s.request_timeout_ms) {
            runtime.timeout = Duration::from_millis(timeout);
        }
        out.cloud = Some(CloudConfig {
            target: CoreCloudTarget::SageMaker(runtime),
            credentials,
        });
    }
    if let Some(office) = config.office {
        let credentials = credentials.clone().ok_or_else(|| {
            OmniError::invalid(
                "credentials_missing",
                "the yard office needs a credentials provider",
            )
        })?;
        let base_url = ServiceUrl::parse(&office.base_url).map_err(ApiError::from)?;
        let mut office = OfficeConfig::new(base_url, &office.region);
        if let Some(timeout) = config.sync.as_ref().and_then(|s| s.request_timeout_ms) {
            office.timeout = Duration::from_millis(timeout);
        }
        out.cloud = Some(CloudConfig {
            target: CoreCloudTarget::Office(office),
            credentials,
        });
    }
    if let Some(sync) = config.sync {
        let defaults = SyncConfig::default();
        out.sync = SyncConfig {
            concurrency: sync
                .concurrency
                .map_or(defaults.concurrency, |c| c.max(1) as usize),
            max_attempts: sync.max_attempts.unwrap_or(defaults.max_attempts),
            latency_budget: sync
                .verdict_budget_ms
                .map_or(defaults.latency_budget, Duration::from_millis),
            ..defaults
        };
    }
    if let Some(refresh) = config.model_refresh {
        let source = ManifestSource::parse(
            &refresh.manifest_url,
            &refresh.region,
            refresh.s3_endpoint.as_deref(),
        )
        .map_err(ApiError::from)?;
        let keys = refresh
            .trusted_keys
            .iter()
            .map(|k| k.parse::<TrustedKey>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::from)?;
        let mut refresh_config = RefreshConfig::new(source, keys).map_err(ApiError::from)?;
        if refresh.allow_metered {
            refresh_config.policy = RefreshPolicy::any_network();
        }
        out.model_refresh = Some(refresh_config);
    }
    Ok(out)
}

#[uniffi::export]
impl OmniCore {
    /// Opens the data directory (creating, migrating and reconciling it) and loads the edge
    /// model. Blocks for the model load (~100 ms). Throws `Busy` if another process has the
    /// directory open.
    #[uniffi::constructor]
    pub fn open(
        config: CoreConfig,
        credentials: Option<Arc<dyn CredentialsProvider>>,
    ) -> Result<Arc<Self>, OmniError> {
        let office = config.office.is_some();
        let config = core_config(config, credentials)?;
        let inner = omni_core::OmniCore::open(config)?;
        Ok(Arc::new(Self {
            inner: Arc::new(inner),
            office,
        }))
    }

    /// What opening found and repaired.
    pub fn open_report(&self) -> OpenSummary {
        self.inner.open_report().into()
    }

    /// Starts an inspection; the container number is checked (ISO 6346, check digit).
    pub fn create_inspection(&self, input: NewInspection) -> Result<Inspection, OmniError> {
        let container = ContainerNumber::parse(&input.container_number)
            .map_err(|e| ApiError::from(omni_core::Error::from(e)))?;
        let new = omni_core::NewInspection {
            container_number: container,
            inspector_id: input.inspector_id,
            location: input.location,
            notes: input.notes,
            kind: input.kind,
        };
        Ok(self.inner.create_inspection(new)?)
    }

    /// Closes an inspection; the answer lists the faces its kind requires that no photo
    /// shows (closing with faces missing is allowed).
    pub fn close_inspection(&self, inspection_id: String) -> Result<ClosedInspection, OmniError> {
        let id: InspectionId = parse_id("inspection", &inspection_id)?;
        Ok(self.inner.close_inspection(id)?)
    }

    /// The faces an inspection's kind requires, its photos show, and it misses.
    pub fn face_coverage(
        &self,
        inspection_id: String,
    ) -> Result<omni_core::FaceCoverage, OmniError> {
        let id: InspectionId = parse_id("inspection", &inspection_id)?;
        Ok(self.inner.face_coverage(id)?)
    }

    /// Changes the face a photo shows (a CEDEX letter) until the photo is synced; after
    /// that, `InvalidInput` with code `photo_already_synced`.
    pub fn set_photo_face(&self, photo_id: String, face: String) -> Result<Photo, OmniError> {
        let id: PhotoId = parse_id("photo", &photo_id)?;
        let face = parse_face(Some(&face))?;
        Ok(self.inner.set_photo_face(id, face)?)
    }

    /// Inspections, newest first.
    pub fn list_inspections(
        &self,
        query: InspectionQuery,
    ) -> Result<Vec<InspectionSummary>, OmniError> {
        let container_number = query
            .container_number
            .map(|c| ContainerNumber::parse(&c))
            .transpose()
            .map_err(|e| ApiError::from(omni_core::Error::from(e)))?;
        let filter = InspectionFilter {
            photo_state: query.state,
            container_number,
            limit: Some(query.limit),
            offset: query.offset,
        };
        Ok(self.inner.list_inspections(&filter)?)
    }

    /// One inspection with its photos and results.
    pub fn inspection(&self, inspection_id: String) -> Result<InspectionDetail, OmniError> {
        let id: InspectionId = parse_id("inspection", &inspection_id)?;
        Ok(self.inner.inspection(id)?)
    }

    /// The verdict on the box from the yard office's report of a closed inspection, once the
    /// sync has read it (`None` until then; `NotFound` for an unknown inspection).
    pub fn box_verdict(
        &self,
        inspection_id: String,
    ) -> Result<Option<omni_core::BoxVerdict>, OmniError> {
        let id: InspectionId = parse_id("inspection", &inspection_id)?;
        Ok(self.inner.box_verdict(id)?)
    }

    /// One photo with its results.
    pub fn photo(&self, photo_id: String) -> Result<PhotoDetail, OmniError> {
        let id: PhotoId = parse_id("photo", &photo_id)?;
        Ok(self.inner.photo(id)?)
    }

    /// Stores a photo (JPEG or PNG bytes) durably and queues it for the cloud; returns once
    /// it is on disk. `captured_at_ms`: when the camera took it (`None`: now). `face`: the
    /// container face it shows, a CEDEX letter (`None`: `X`, the whole container); another
    /// letter is `InvalidInput` (`unknown_face`) and nothing is stored.
    #[uniffi::method(default(face = None))]
    pub fn add_photo(
        &self,
        inspection_id: String,
        bytes: Vec<u8>,
        captured_at_ms: Option<i64>,
        face: Option<String>,
    ) -> Result<Photo, OmniError> {
        let id: InspectionId = parse_id("inspection", &inspection_id)?;
        let face = parse_face(face.as_deref())?;
        let at = captured_at_ms.map_or_else(Timestamp::now, Timestamp::from_millis);
        Ok(self.inner.add_photo(id, &bytes, at, face)?)
    }

    /// [`OmniCore::add_photo`] from a file (the camera's output), without copying it
    /// through the app's memory.
    #[uniffi::method(default(face = None))]
    pub fn add_photo_file(
        &self,
        inspection_id: String,
        path: String,
        captured_at_ms: Option<i64>,
        face: Option<String>,
    ) -> Result<Photo, OmniError> {
        let id: InspectionId = parse_id("inspection", &inspection_id)?;
        let face = parse_face(face.as_deref())?;
        let at = captured_at_ms.map_or_else(Timestamp::now, Timestamp::from_millis);
        Ok(self
            .inner
            .add_photo_file(id, std::path::Path::new(&path), at, face)?)
    }

    /// The on-device verdict: runs the edge model (tens of ms, blocking) unless it already
    /// ran on this photo. Throws `InvalidInput` (`photo_unreadable`) for a photo that cannot
    /// be decoded.
    pub fn edge_verdict(&self, photo_id: String) -> Result<DetectionResult, OmniError> {
        let id: PhotoId = parse_id("photo", &photo_id)?;
        Ok(self.inner.edge_verdict(id)?)
    }

    /// The verdict to show now: the cloud's within the latency budget, else the edge one
    /// (the cloud result is stored when it lands).
    pub async fn verdict(&self, photo_id: String) -> Result<Verdict, OmniError> {
        let id: PhotoId = parse_id("photo", &photo_id)?;
        let inner = self.inner.clone();
        Ok(on_runtime(async move { inner.verdict(id).await }).await??)
    }

    /// Sends queued photos until none is due or the device goes offline (a WorkManager job,
    /// a BGTask). Cancelling the call stops it; unsent photos stay queued.
    pub async fn sync_now(&self) -> Result<SyncReport, OmniError> {
        let inner = self.inner.clone();
        Ok(on_runtime(async move { inner.sync_until_idle().await }).await??)
    }

    /// Syncs in the background until the handle is cancelled or dropped.
    pub fn start_sync(&self) -> Result<Arc<TaskHandle>, OmniError> {
        if !self.inner.has_cloud() {
            return Err(ApiError::not_configured("the cloud endpoint").into());
        }
        let inner = self.inner.clone();
        let handle = runtime().spawn(async move {
            // Errors reach the app as sync events; the loop only ends on a bug.
            let _ = inner.run_sync().await;
        });
        Ok(Arc::new(TaskHandle::new(handle)))
    }

    /// The app's connectivity signal (`ConnectivityManager`, `NWPathMonitor`).
    pub fn set_online(&self, online: bool) {
        self.inner.set_online(online);
    }

    /// The network kind; model downloads wait for an unmetered one unless allowed.
    pub fn set_network(&self, network: Network) {
        self.inner.set_network(network);
    }

    /// Queues every failed photo again; returns how many.
    pub fn retry_failed(&self) -> Result<u64, OmniError> {
        Ok(self.inner.retry_failed(None)?)
    }

    /// Totals over the store, with the yard office's acknowledgements when it is the cloud
    /// target.
    pub fn stats(&self) -> Result<Stats, OmniError> {
        Ok(Stats::new(self.inner.stats()?, self.office))
    }

    /// SQLite's integrity check: `["ok"]` when sound, else the problems found.
    pub fn integrity_check(&self) -> Result<Vec<String>, OmniError> {
        Ok(self.inner.integrity_check()?)
    }

    /// Receives sync events (throws `NotConfigured` without a cloud endpoint).
    pub fn set_sync_listener(&self, listener: Arc<dyn SyncListener>) -> Result<(), OmniError> {
        Ok(self
            .inner
            .set_sync_listener(Arc::new(ForeignSyncListener(listener)))?)
    }

    /// Receives model refresh events.
    pub fn set_model_listener(&self, listener: Arc<dyn ModelListener>) {
        self.inner
            .set_model_listener(Arc::new(ForeignModelListener(listener)));
    }

    /// Where the installed models stand.
    pub fn model_status(&self) -> Result<ModelStatus, OmniError> {
        Ok(self.inner.model_status()?.into())
    }

    /// Fetches and verifies the manifest without downloading.
    pub async fn check_model_update(&self) -> Result<ModelCheck, OmniError> {
        let inner = self.inner.clone();
        Ok(
            on_runtime(async move { inner.check_for_model_update().await })
                .await??
                .into(),
        )
    }

    /// Downloads, verifies, test-runs and installs a newer model; the next inference uses
    /// it (one in progress finishes on the old one).
    pub async fn update_model(&self) -> Result<ModelUpdate, OmniError> {
        let inner = self.inner.clone();
        Ok(on_runtime(async move { inner.update_model().await })
            .await??
            .into())
    }

    /// Goes back to the previous (or bundled) model; the one left is never installed again.
    pub fn rollback_model(&self) -> Result<RolledBack, OmniError> {
        Ok(self.inner.rollback_model()?)
    }
}
