//! What a host decides when it opens the core: one value, defaults included.

use std::path::PathBuf;
use std::sync::Arc;

use crate::detect::{EdgeDetectorConfig, PostprocessConfig};
use crate::inspector::InspectorConfig;
use crate::model_refresh::{BundledModel, RefreshConfig};
use crate::sync::SyncConfig;
use omni_cloud::CredentialsProvider;
use omni_cloud::office_client::OfficeConfig;
use omni_cloud::runtime_client::RuntimeConfig;
use omni_protocol::inspection_kind::KindTable;

/// Everything [`OmniCore::open`](super::OmniCore::open) needs.
#[derive(Clone)]
pub struct OmniConfig {
    /// The data directory: database, photos, models (created when missing).
    pub data_dir: PathBuf,
    /// The model run when no refreshed model is installed.
    pub bundled_model: BundledModel,
    /// Run exactly this model file, ignoring installed refreshes (the CLI's `--model`, a
    /// model under test). Model updates still install, but do not replace it.
    pub pinned_model: Option<PathBuf>,
    /// Threads for edge inference (and for checking a downloaded model).
    pub threads: usize,
    /// Score and NMS settings of edge detection.
    pub postprocess: PostprocessConfig,
    /// Photo limits and database waits.
    pub inspector: InspectorConfig,
    /// The cloud target, direct SageMaker or the yard office (`None`: edge only; sync and
    /// cloud verdicts are unavailable).
    pub cloud: Option<CloudConfig>,
    /// Sync engine settings (used with [`OmniConfig::cloud`]).
    pub sync: SyncConfig,
    /// Where refreshed edge models come from (`None`: the installed or bundled model stays).
    pub model_refresh: Option<RefreshConfig>,
    /// The inspection kinds and the faces each requires (the bundled table, or the yard's:
    /// `KindTable::from_toml`).
    pub inspection_kinds: KindTable,
}

impl OmniConfig {
    /// Edge-only defaults on `data_dir` with the compiled-in model.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bundled_model: BundledModel::default(),
            pinned_model: None,
            threads: 1,
            postprocess: PostprocessConfig::default(),
            inspector: InspectorConfig::default(),
            cloud: None,
            sync: SyncConfig::default(),
            model_refresh: None,
            inspection_kinds: KindTable::builtin(),
        }
    }

    /// The detector settings these choices make.
    pub(crate) fn detector_config(&self) -> EdgeDetectorConfig {
        let classes = self
            .model_refresh
            .as_ref()
            .map(|r| r.classes.clone())
            .unwrap_or_else(|| EdgeDetectorConfig::default().classes);
        EdgeDetectorConfig {
            threads: self.threads.max(1),
            classes,
            postprocess: self.postprocess,
        }
    }
}

/// Where the sync engine sends photos for their cloud verdict.
#[derive(Clone, Debug)]
pub enum CloudTarget {
    /// SageMaker `InvokeEndpoint` directly: URL, endpoint name, region and timeouts.
    SageMaker(RuntimeConfig),
    /// The yard office with detection on upload: each photo is uploaded once, archived
    /// there, and its cloud verdict comes back in the same answer; inspections and edge
    /// verdicts are pushed there too (the office lane, docs/sync.md).
    Office(OfficeConfig),
}

/// The cloud target and who signs for it.
#[derive(Clone)]
pub struct CloudConfig {
    /// Direct SageMaker or the yard office.
    pub target: CloudTarget,
    /// The host's credentials (a Cognito identity pool on phones, the environment on the
    /// desktop). Also signs `s3://` model manifests.
    pub credentials: Arc<dyn CredentialsProvider>,
}
