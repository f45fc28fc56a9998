//! AWS credentials for the cloud calls, supplied by the host.
//!
//! The phone never holds long-lived keys: the host app implements [`CredentialsProvider`]
//! (e.g. with temporary credentials from a Cognito identity pool); the CLI reads the standard
//! `AWS_*` environment variables. [`CachedCredentials`] asks the provider again shortly before
//! the credentials expire. Secrets are never printed: `Debug` redacts them.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long before expiry credentials are refreshed.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// One set of AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`AKIA…`/`ASIA…`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
    /// When temporary credentials stop working.
    pub expires_at: Option<SystemTime>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Credentials {
    /// Whether these credentials are expired or will be within `margin` of `now`.
    pub fn expires_within(&self, now: SystemTime, margin: Duration) -> bool {
        self.expires_at.is_some_and(|at| at <= now + margin)
    }
}

/// Why credentials could not be had.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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
pub trait CredentialsProvider: Send + Sync {
    /// Current credentials. Called again when the previous ones near expiry.
    fn credentials(&self) -> Result<Credentials, CredentialsError>;
}

/// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (desktop CLI).
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvCredentialsProvider;

impl CredentialsProvider for EnvCredentialsProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
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

/// Fixed credentials (tests, local development).
#[derive(Clone, Debug)]
pub struct StaticCredentialsProvider(pub Credentials);

impl CredentialsProvider for StaticCredentialsProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        Ok(self.0.clone())
    }
}

/// Caches a provider's credentials until they near expiry.
pub struct CachedCredentials {
    provider: Box<dyn CredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
}

impl fmt::Debug for CachedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredentials").finish_non_exhaustive()
    }
}

impl CachedCredentials {
    /// Wraps `provider`.
    pub fn new(provider: Box<dyn CredentialsProvider>) -> Self {
        Self {
            provider,
            cached: Mutex::new(None),
        }
    }

    /// Valid credentials, asking the provider when none are cached or they near expiry.
    pub fn get(&self) -> Result<Credentials, CredentialsError> {
        let now = SystemTime::now();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(credentials) = cached.as_ref()
            && !credentials.expires_within(now, REFRESH_BEFORE_EXPIRY)
        {
            return Ok(credentials.clone());
        }
        let fresh = self.provider.credentials()?;
        if fresh.expires_within(SystemTime::now(), Duration::ZERO) {
            return Err(CredentialsError::Expired);
        }
        *cached = Some(fresh.clone());
        Ok(fresh)
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

    impl CredentialsProvider for Counting {
        fn credentials(&self) -> Result<Credentials, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Credentials {
                access_key_id: format!("ASIA{n}"),
                secret_access_key: "secret".into(),
                session_token: Some("token".into()),
                expires_at: Some(SystemTime::now() + self.lifetime),
            })
        }
    }

    #[test]
    fn cache_refreshes_only_near_expiry() {
        let long = CachedCredentials::new(Box::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(3600),
        }));
        assert_eq!(long.get().unwrap().access_key_id, "ASIA0");
        assert_eq!(long.get().unwrap().access_key_id, "ASIA0");
        long.invalidate();
        assert_eq!(long.get().unwrap().access_key_id, "ASIA1");

        // Credentials inside the refresh window are fetched again on every call.
        let short = CachedCredentials::new(Box::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(60),
        }));
        assert_eq!(short.get().unwrap().access_key_id, "ASIA0");
        assert_eq!(short.get().unwrap().access_key_id, "ASIA1");
    }

    #[test]
    fn expired_credentials_are_refused_and_secrets_redacted() {
        let expired = CachedCredentials::new(Box::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: Duration::ZERO,
        }));
        assert_eq!(expired.get(), Err(CredentialsError::Expired));
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
}
