//! Check, update and rollback: the refresh state machine over [`ModelStore`] and the
//! manifest and model fetcher, reporting [`ModelEvent`]s to the host.

use std::path::Path;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use serde::Serialize;

use super::config::{CORE_VERSION, Network, RefreshConfig};
use super::error::{RefreshError, RejectReason};
use super::events::{ModelEvent, ModelRefreshListener};
use super::fetch::{Fetcher, ManifestResponse};
use super::model_store::{Fallback, ModelStore, NoModel, RefreshState, Slot, sha256_hex};
use super::rollback::{RolledBack, rollback};
use crate::detect::{Detector as _, EdgeDetectorConfig};
use crate::listener::ListenerSlot;
use crate::model_manifest::{self, ModelManifest};
use omni_cloud::CachedCredentials;

mod install;

/// What a check found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CheckOutcome {
    /// 304: the manifest is the one already settled (installed, up to date, or refused).
    NotModified,
    /// The manifest names the active model (or an older one, with downgrades allowed: see
    /// [`CheckOutcome::Available`]).
    UpToDate {
        /// The active version.
        version: String,
    },
    /// A verified manifest offers another model.
    Available {
        /// The manifest.
        manifest: Box<ModelManifest>,
    },
}

/// What an update did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UpdateOutcome {
    /// Nothing to do: the manifest is unchanged (304) or names the active model.
    UpToDate {
        /// Whether the server answered 304.
        not_modified: bool,
    },
    /// A new model is active.
    Installed {
        /// Its manifest.
        manifest: Box<ModelManifest>,
        /// The version it replaced, when one was installed.
        replaced: Option<String>,
        /// Requests spent on the model file.
        requests: u32,
        /// Of which range requests.
        range_requests: u32,
    },
    /// An update is available but the policy forbids downloading on this network.
    Deferred {
        /// The version waiting.
        version: String,
        /// The network the host reported.
        network: Network,
    },
}

/// Where the installed models stand.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelStatus {
    /// The slot the detector would load from.
    pub in_use: Slot,
    /// Name, version and SHA-256 of the model in use.
    pub identity: crate::ModelIdentity,
    /// Manifest of `active/`, if one is installed.
    pub active: Option<ModelManifest>,
    /// Manifest of `previous/`, if one is kept.
    pub previous: Option<ModelManifest>,
    /// Slots skipped while loading, and why.
    pub fallbacks: Vec<Fallback>,
}

/// Refreshes the edge model of one data directory.
pub struct ModelUpdater {
    config: RefreshConfig,
    store: ModelStore,
    fetcher: Fetcher,
    network: Mutex<Network>,
    listener: ListenerSlot<dyn ModelRefreshListener>,
}

impl std::fmt::Debug for ModelUpdater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelUpdater")
            .field("store", &self.store)
            .field("source", &self.config.source)
            .finish_non_exhaustive()
    }
}

impl ModelUpdater {
    /// An updater for `<data_dir>/models`; `credentials` sign `s3://` requests (the same
    /// provider the sync engine uses).
    pub fn new(
        data_dir: &Path,
        config: RefreshConfig,
        credentials: Option<Arc<CachedCredentials>>,
    ) -> Result<Self, RefreshError> {
        Self::with_store(ModelStore::new(data_dir), config, credentials)
    }

    /// An updater over `store` (which names the bundled model to fall back to).
    pub fn with_store(
        store: ModelStore,
        config: RefreshConfig,
        credentials: Option<Arc<CachedCredentials>>,
    ) -> Result<Self, RefreshError> {
        let fetcher = Fetcher::new(&config, credentials)?;
        Ok(Self {
            config,
            store,
            fetcher,
            network: Mutex::new(Network::default()),
            listener: ListenerSlot::new(),
        })
    }

    /// Sets the listener for [`ModelEvent`]s.
    pub fn set_listener(&self, listener: Arc<dyn ModelRefreshListener>) {
        self.listener.set(listener);
    }

    /// The host reports the network (downloads on [`Network::Metered`] only if the policy
    /// allows).
    pub fn set_network(&self, network: Network) {
        *self.network.lock().unwrap_or_else(|e| e.into_inner()) = network;
    }

    /// Logs the event and hands it to the host's listener.
    fn emit(&self, event: ModelEvent) {
        event.log();
        if let Some(listener) = self.listener.get() {
            listener.on_event(event);
        }
    }

    /// The detector settings used to check models (the configured classes and threads).
    fn detector_config(&self) -> EdgeDetectorConfig {
        EdgeDetectorConfig {
            threads: self.config.threads.max(1),
            classes: self.config.classes.clone(),
            ..EdgeDetectorConfig::default()
        }
    }

    /// Fetches the manifest (conditionally) and verifies it, without downloading the model.
    pub async fn check_for_model_update(&self) -> Result<CheckOutcome, RefreshError> {
        let _lock = self.store.lock()?;
        self.store
            .recover()
            .map_err(RefreshError::io("recover models/"))?;
        match self.fetch_and_judge().await? {
            Judged::NotModified => Ok(CheckOutcome::NotModified),
            Judged::UpToDate { version, .. } => Ok(CheckOutcome::UpToDate { version }),
            Judged::Available { manifest, .. } => {
                self.emit(available(&manifest));
                Ok(CheckOutcome::Available { manifest })
            }
        }
    }

    /// Checks, downloads (resumably), verifies, test-runs and installs a newer model.
    pub async fn update(&self) -> Result<UpdateOutcome, RefreshError> {
        let _lock = self.store.lock()?;
        self.store
            .recover()
            .map_err(RefreshError::io("recover models/"))?;
        let (manifest, etag) = match self.fetch_and_judge().await? {
            Judged::NotModified => return Ok(UpdateOutcome::UpToDate { not_modified: true }),
            Judged::UpToDate { .. } => {
                return Ok(UpdateOutcome::UpToDate {
                    not_modified: false,
                });
            }
            Judged::Available { manifest, etag } => (manifest, etag),
        };
        self.emit(available(&manifest));
        let network = *self.network.lock().unwrap_or_else(|e| e.into_inner());
        if network == Network::Metered && !self.config.policy.allow_metered {
            return Ok(UpdateOutcome::Deferred {
                version: manifest.version.to_string(),
                network,
            });
        }
        match self.install(&manifest).await {
            Ok(outcome) => {
                self.settle(etag.as_deref());
                Ok(outcome)
            }
            Err(RefreshError::Rejected(reason)) => {
                Err(self.reject(Some(&manifest), reason, etag.as_deref()))
            }
            Err(e) => Err(e),
        }
    }

    /// Makes `previous/` active again (the rolled-back model becomes `previous/`), or, with
    /// no `previous/`, returns to the bundled model; reports [`ModelEvent::RolledBack`].
    pub fn rollback(&self) -> Result<RolledBack, RefreshError> {
        let done = rollback(&self.store)?;
        self.emit(ModelEvent::RolledBack {
            from: done.from.clone(),
            to: done.to.clone(),
        });
        Ok(done)
    }

    /// Fetches the manifest and decides what it means for this device.
    async fn fetch_and_judge(&self) -> Result<Judged, RefreshError> {
        let url = self.config.source.manifest_url();
        let fingerprint = self.fingerprint();
        let saved = self
            .store
            .read_state()
            .filter(|s| s.manifest_url == url.as_str() && s.config == fingerprint);
        let (body, etag) = match self
            .fetcher
            .manifest(url, saved.as_ref().map(|s| s.etag.as_str()))
            .await
        {
            Ok(ManifestResponse::NotModified) => return Ok(Judged::NotModified),
            Ok(ManifestResponse::Fetched { body, etag }) => (body, etag),
            Err(RefreshError::Rejected(reason)) => return Err(self.reject(None, reason, None)),
            Err(e) => return Err(e),
        };
        let manifest = match model_manifest::verify(&body, &self.config.trusted_keys) {
            Ok(manifest) => manifest,
            Err(e) => return Err(self.reject(None, e.into(), etag.as_deref())),
        };
        if let Err(reason) = self.judge(&manifest) {
            return Err(self.reject(Some(&manifest), reason, etag.as_deref()));
        }
        let active = self.active_identity();
        if active
            .as_ref()
            .is_some_and(|(_, sha)| sha.eq_ignore_ascii_case(&manifest.sha256))
        {
            self.settle(etag.as_deref());
            return Ok(Judged::UpToDate {
                version: manifest.version.to_string(),
            });
        }
        let history = self.store.read_history();
        if history.was_rolled_back(&manifest.version, &manifest.sha256) {
            let reason = RejectReason::RolledBack {
                version: manifest.version.to_string(),
                sha256: manifest.sha256.clone(),
            };
            return Err(self.reject(Some(&manifest), reason, etag.as_deref()));
        }
        if let Some((active_version, _)) = &active
            && manifest.version <= *active_version
            && !self.config.allow_downgrade
        {
            let reason = RejectReason::NotNewer {
                offered: manifest.version.to_string(),
                active: active_version.to_string(),
            };
            return Err(self.reject(Some(&manifest), reason, etag.as_deref()));
        }
        if let Some(floor) = &history.floor
            && manifest.version < *floor
            && !self.config.allow_downgrade
        {
            let reason = RejectReason::OlderThanInstalled {
                offered: manifest.version.to_string(),
                floor: floor.to_string(),
            };
            return Err(self.reject(Some(&manifest), reason, etag.as_deref()));
        }
        Ok(Judged::Available {
            manifest: Box::new(manifest),
            etag,
        })
    }

    /// Checks of a verified manifest that need no download.
    fn judge(&self, manifest: &ModelManifest) -> Result<(), RejectReason> {
        let core =
            semver::Version::parse(CORE_VERSION).unwrap_or_else(|_| semver::Version::new(0, 0, 0));
        if manifest.min_core_version > core {
            return Err(RejectReason::CoreTooOld {
                required: manifest.min_core_version.to_string(),
                core: core.to_string(),
            });
        }
        if manifest.classes != self.config.classes {
            return Err(RejectReason::ClassMismatch {
                expected: self.config.classes.clone(),
                found: manifest.classes.clone(),
            });
        }
        self.model_url(manifest).map(|_| ())
    }

    /// Version and SHA-256 of the model in use: the first refreshed slot whose file matches
    /// its manifest (a corrupted `active/` does not count, so the next update repairs it),
    /// else the bundled one.
    fn active_identity(&self) -> Option<(semver::Version, String)> {
        if let Some(intact) = [Slot::Active, Slot::Previous]
            .into_iter()
            .find_map(|slot| self.store.verified(slot))
        {
            return Some((intact.version, intact.sha256));
        }
        self.store.bundled_identity()
    }

    /// The model file's URL: `file` resolved against the manifest URL, same origin only.
    fn model_url(&self, manifest: &ModelManifest) -> Result<Url, RejectReason> {
        let bad = || RejectReason::BadFileLocation(manifest.file.clone());
        let base = self.config.source.manifest_url();
        if manifest.file.is_empty()
            || manifest.file.starts_with('/')
            || manifest.file.contains("://")
            || manifest.file.contains('?')
            || manifest.file.contains('#')
            || manifest.file.split('/').any(|s| s == ".." || s == ".")
        {
            return Err(bad());
        }
        let url = base.join(&manifest.file).map_err(|_| bad())?;
        if url.origin() != base.origin() {
            return Err(bad());
        }
        Ok(url)
    }

    /// Reports a rejection and remembers the manifest's ETag when the refusal is final.
    fn reject(
        &self,
        manifest: Option<&ModelManifest>,
        reason: RejectReason,
        etag: Option<&str>,
    ) -> RefreshError {
        if reason.is_final() {
            self.settle(etag);
        }
        self.emit(ModelEvent::Rejected {
            version: manifest.map(|m| m.version.to_string()),
            code: reason.code().to_owned(),
            reason: reason.to_string(),
        });
        RefreshError::Rejected(reason)
    }

    /// Remembers `etag` so an unchanged manifest costs one 304 next time.
    fn settle(&self, etag: Option<&str>) {
        if let Some(etag) = etag {
            // Best effort: failing to remember only costs a full manifest next time.
            let _ = self.store.write_state(&RefreshState {
                manifest_url: self.config.source.manifest_url().to_string(),
                etag: etag.to_owned(),
                config: self.fingerprint(),
            });
        }
    }

    /// What a settled verdict depends on: keys, classes and the downgrade setting.
    fn fingerprint(&self) -> String {
        let mut text = String::new();
        for key in &self.config.trusted_keys {
            text.push_str(&key.to_base64());
            text.push('\n');
        }
        text.push_str(&self.config.classes.join(","));
        text.push_str(if self.config.allow_downgrade {
            "\ndowngrade"
        } else {
            "\n"
        });
        sha256_hex(text.as_bytes())
    }
}

enum Judged {
    NotModified,
    UpToDate {
        version: String,
    },
    Available {
        manifest: Box<ModelManifest>,
        etag: Option<String>,
    },
}

fn available(manifest: &ModelManifest) -> ModelEvent {
    ModelEvent::UpdateAvailable {
        name: manifest.name.clone(),
        version: manifest.version.to_string(),
        size: manifest.size,
    }
}

/// Loads the model in use and describes the slots.
pub fn model_status(
    store: &ModelStore,
    config: &EdgeDetectorConfig,
) -> Result<ModelStatus, NoModel> {
    let loaded = store.load(config)?;
    Ok(ModelStatus {
        in_use: loaded.slot,
        identity: loaded.detector.identity().clone(),
        active: store.installed(Slot::Active),
        previous: store.installed(Slot::Previous),
        fallbacks: loaded.fallbacks,
    })
}
