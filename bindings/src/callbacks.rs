//! Traits the app implements (credentials, sync and model listeners), and the adapters that
//! let the core call them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use omni_core::cloud::{
    Credentials, CredentialsError as CoreCredentialsError, CredentialsProvider as CoreProvider,
};
use omni_core::model_refresh::{ModelEvent, ModelRefreshListener};
use omni_core::sync::{SyncEvent as CoreSyncEvent, SyncListener as CoreSyncListener};

use crate::error::CredentialsError;
use crate::types::SyncEvent;

/// Temporary AWS credentials (from a Cognito identity pool on phones).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct AwsCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    #[uniffi(default = None)]
    pub session_token: Option<String>,
    /// When they expire, in milliseconds since the Unix epoch (asked again 5 min before).
    #[uniffi(default = None)]
    pub expires_at_ms: Option<i64>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Supplies AWS credentials; the app's Cognito code. Called off the main thread, never
/// while the core holds a lock, and again when the previous credentials near expiry.
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait CredentialsProvider: Send + Sync {
    /// Current credentials.
    async fn credentials(&self) -> Result<AwsCredentials, CredentialsError>;
}

/// Receives what the sync engine does (on a background thread: post to the UI thread).
#[uniffi::export(foreign)]
pub trait SyncListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: SyncEvent);
}

/// Receives what the model updater does (on a background thread).
#[uniffi::export(foreign)]
pub trait ModelListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: ModelEvent);
}

/// The app's provider, as the core's.
pub(crate) struct ForeignCredentials(pub Arc<dyn CredentialsProvider>);

#[async_trait::async_trait]
impl CoreProvider for ForeignCredentials {
    async fn credentials(&self) -> Result<Credentials, CoreCredentialsError> {
        let c = self.0.credentials().await.map_err(|e| match e {
            CredentialsError::Unavailable { reason } => CoreCredentialsError::Provider(reason),
            CredentialsError::Denied { reason } => CoreCredentialsError::Missing(reason),
        })?;
        Ok(Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expires_at: c
                .expires_at_ms
                .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)),
        })
    }
}

/// The app's sync listener, as the core's.
pub(crate) struct ForeignSyncListener(pub Arc<dyn SyncListener>);

impl CoreSyncListener for ForeignSyncListener {
    fn on_event(&self, event: CoreSyncEvent) {
        if let Some(event) = SyncEvent::from_core(event) {
            self.0.on_event(event);
        }
    }
}

/// The app's model listener, as the core's.
pub(crate) struct ForeignModelListener(pub Arc<dyn ModelListener>);

impl ModelRefreshListener for ForeignModelListener {
    fn on_event(&self, event: ModelEvent) {
        self.0.on_event(event);
    }
}
