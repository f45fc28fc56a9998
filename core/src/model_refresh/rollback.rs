//! Rolling back: `previous/` (or the bundled model) made active again, and the model rolled
//! back from remembered so that no manifest installs it again.

use serde::Serialize;

use super::error::RefreshError;
use super::model_store::{ModelStore, Slot};

/// What a rollback did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "ModelRollback"))]
pub struct RolledBack {
    /// The slot now in use (`active` or `bundled`).
    pub in_use: Slot,
    /// Version rolled back from.
    #[cfg_attr(feature = "uniffi", uniffi(name = "from_version"))]
    pub from: String,
    /// Version now in use (`bundled` for the demo model).
    #[cfg_attr(feature = "uniffi", uniffi(name = "to_version"))]
    pub to: String,
}

/// Rolls back `store` without a manifest source (see [`ModelUpdater::rollback`](super::ModelUpdater::rollback)).
pub fn rollback(store: &ModelStore) -> Result<RolledBack, RefreshError> {
    let _lock = store.lock()?;
    store
        .recover()
        .map_err(RefreshError::io("recover models/"))?;
    let version = |slot| {
        store
            .installed(slot)
            .map(|m| m.version.to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    let from = version(Slot::Active);
    // Remember what is rolled back first: a later manifest naming it (with or without an
    // ETag, under any URL) is refused.
    if let Some(active) = store.installed(Slot::Active) {
        let mut history = store.read_history();
        if !history.was_rolled_back(&active.version, &active.sha256) {
            history
                .rolled_back
                .push((active.version, active.sha256.to_ascii_lowercase()));
            store
                .write_history(&history)
                .map_err(RefreshError::io("record the rolled-back model"))?;
        }
    }
    let in_use = store.swap_back()?;
    // Rolling back *to* a model is the user's choice: it is no longer refused.
    if let Some(now_active) = store.installed(Slot::Active) {
        let mut history = store.read_history();
        let before = history.rolled_back.len();
        history.rolled_back.retain(|(v, sha)| {
            !(*v == now_active.version && sha.eq_ignore_ascii_case(&now_active.sha256))
        });
        if history.rolled_back.len() != before {
            store
                .write_history(&history)
                .map_err(RefreshError::io("record the rollback"))?;
        }
    }
    let to = match in_use {
        Slot::Bundled => "bundled".to_owned(),
        _ => version(Slot::Active),
    };
    Ok(RolledBack { in_use, from, to })
}
