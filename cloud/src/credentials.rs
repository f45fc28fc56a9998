//! AWS credentials for the cloud calls, supplied by the host.
//!
//! The phone never holds long-lived keys: the host app implements [`CredentialsProvider`]
//! (e.g. with temporary credentials from a Cognito identity pool); the CLI reads the standard
//! `AWS_*` environment variables. [`CachedCredentials`] asks the provider again shortly before
//! the credentials expire. Secrets are never printed: `Debug` redacts them.
//!
//! The provider is async (an app's Cognito call is a network round trip) and is never called
//! while a lock is held: concurrent callers that all find the cache stale may each ask it,
//! and the freshest answer is kept. No thread blocks on another's provider call.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub use omni_sigv4::Credentials;

/// How long before expiry credentials are refreshed.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Why credentials could not be had.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
// Exhaustive on purpose: omni-core maps every variant to a stable code for hosts (`ApiError`), and a new variant must be mapped there.
pub enum CredentialsError {
    /// No credentials are configured.
    #[error("no AWS credentials: {0}")]
    Missing(String),
    /// The provider failed (e.g. the identity pool could not be reached).
    #[error("could not get AWS credentials: {0}")]
    Provider(String),
    /// The provider returned credentials that are already expired.
    #[error("the AWS credentials provided are expired")]
    Expired,
}

/// Supplies credentials on demand. Implemented by the host app.
#[async_trait::async_trait]
pub trait CredentialsProvider: Send + Sync {
    /// Current credentials. Called again when the previous ones near expiry.
    async fn credentials(&self) -> Result<Credentials, CredentialsError>;
}

/// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (desktop CLI).
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvCredentialsProvider;

impl EnvCredentialsProvider {
    /// Reads the variables now.
    pub fn read() -> Result<Credentials, CredentialsError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(access_key_id), Some(secret_access_key)) =
            (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(CredentialsError::Missing(
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            ));
        };
        Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: var("AWS_SESSION_TOKEN"),
            expires_at: None,
        })
    }
}

#[async_trait::async_trait]
impl CredentialsProvider for EnvCredentialsProvider {
    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        Self::read()
    }
}

/// Fixed credentials (tests, local development).
#[derive(Clone, Debug)]
pub struct StaticCredentialsProvider(pub Credentials);

#[async_trait::async_trait]
impl CredentialsProvider for StaticCredentialsProvider {
    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        Ok(self.0.clone())
    }
}

/// Caches a provider's credentials until they near expiry.
pub struct CachedCredentials {
    provider: Arc<dyn CredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
}

impl fmt::Debug for CachedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredentials").finish_non_exhaustive()
    }
}

impl CachedCredentials {
    /// Wraps `provider`.
    pub fn new(provider: Arc<dyn CredentialsProvider>) -> Self {
        Self {
            provider,
            cached: Mutex::new(None),
        }
    }

    /// Fixed credentials (tests, local development).
    pub fn fixed(credentials: Credentials) -> Self {
        Self::new(Arc::new(StaticCredentialsProvider(credentials)))
    }

    /// Valid credentials, asking the provider when none are cached or they near expiry.
    pub async fn get(&self) -> Result<Credentials, CredentialsError> {
        if let Some(credentials) = self.cached_fresh() {
            return Ok(credentials);
        }
        // The lock is released: the provider may take seconds (a network call).
        let fresh = self.provider.credentials().await?;
        if fresh.expires_within(SystemTime::now(), Duration::ZERO) {
            return Err(CredentialsError::Expired);
        }
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let keep_cached = cached
            .as_ref()
            .is_some_and(|c| c.expires_at.is_some() && c.expires_at > fresh.expires_at);
        if !keep_cached {
            *cached = Some(fresh.clone());
        }
        Ok(fresh)
    }

    fn cached_fresh(&self) -> Option<Credentials> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|c| !c.expires_within(SystemTime::now(), REFRESH_BEFORE_EXPIRY))
            .cloned()
    }

    /// Drops the cached credentials so the next call asks the provider (after a 403).
    pub fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    struct Counting {
        calls: AtomicU32,
        lifetime: Duration,
    }

    #[async_trait::async_trait]
    impl CredentialsProvider for Counting {
        async fn credentials(&self) -> Result<Credentials, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Credentials {
                access_key_id: format!("ASIA{n}"),
                secret_access_key: "secret".into(),
                session_token: Some("token".into()),
                expires_at: Some(SystemTime::now() + self.lifetime),
            })
        }
    }

    #[tokio::test]
    async fn cache_refreshes_only_near_expiry() {
        let long = CachedCredentials::new(Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(3600),
        }));
        assert_eq!(long.get().await.unwrap().access_key_id, "ASIA0");
        assert_eq!(long.get().await.unwrap().access_key_id, "ASIA0");
        long.invalidate();
        assert_eq!(long.get().await.unwrap().access_key_id, "ASIA1");

        // Credentials inside the refresh window are fetched again on every call.
        let short = CachedCredentials::new(Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(60),
        }));
        assert_eq!(short.get().await.unwrap().access_key_id, "ASIA0");
        assert_eq!(short.get().await.unwrap().access_key_id, "ASIA1");
    }

    #[tokio::test]
    async fn expired_credentials_are_refused_and_secrets_redacted() {
        let expired = CachedCredentials::new(Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: Duration::ZERO,
        }));
        assert_eq!(expired.get().await, Err(CredentialsError::Expired));
        let shown = format!(
            "{:?}",
            Credentials {
                access_key_id: "AKID".into(),
                secret_access_key: "very-secret".into(),
                session_token: Some("tok-secret".into()),
                expires_at: None,
            }
        );
        assert!(!shown.contains("very-secret") && !shown.contains("tok-secret"));
    }

    /// Records whether the cache's lock was free while it was asked.
    struct LockProbe {
        cache: std::sync::OnceLock<Arc<CachedCredentials>>,
        lock_was_free: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl CredentialsProvider for LockProbe {
        async fn credentials(&self) -> Result<Credentials, CredentialsError> {
            let cache = self.cache.get().expect("cache set");
            let free = cache.cached.try_lock().is_ok();
            self.lock_was_free.store(free, Ordering::SeqCst);
            Ok(Credentials {
                access_key_id: "ASIAPROBE".into(),
                secret_access_key: "secret".into(),
                session_token: None,
                expires_at: None,
            })
        }
    }

    #[tokio::test]
    async fn the_provider_is_never_called_while_the_cache_is_locked() {
        let probe = Arc::new(LockProbe {
            cache: std::sync::OnceLock::new(),
            lock_was_free: std::sync::atomic::AtomicBool::new(false),
        });
        let cache = Arc::new(CachedCredentials::new(probe.clone()));
        assert!(probe.cache.set(cache.clone()).is_ok());
        assert_eq!(cache.get().await.unwrap().access_key_id, "ASIAPROBE");
        assert!(probe.lock_was_free.load(Ordering::SeqCst));
    }
}
