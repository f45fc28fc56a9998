//! Sign-in on AWS: people are users of a Cognito user pool (office/template.yaml's
//! `PeopleUserPool`), their role a group (`reviewer`, `viewer`).
//!
//! The sign-in form's name and password go to `InitiateAuth` (`USER_PASSWORD_AUTH`, the
//! pool's app client for the office). The session cookie is `<ID token>~<access token>`, so a
//! stateless Lambda can check every request by itself: the ID token's RS256 signature against
//! the pool's JWKS (fetched from `<endpoint>/<pool id>/.well-known/jwks.json`, cached, fetched
//! again for an unknown `kid` at most once a [`JWKS_REFETCH`]), its issuer, audience (the
//! client id), `token_use` and `exp`; the role from `cognito:groups` (none: refused). The
//! access token is asked about with `GetUser` (it must name the ID token's user), at most once
//! a [`STILL_SIGNED_IN`] per token and process, so a sign-out (`GlobalSignOut`, which revokes
//! the person's access and refresh tokens) ends the session although the ID token itself lives
//! until its `exp`. The CSRF token of a session is HMAC-SHA256 of the ID token under
//! `OMNI_OFFICE_CSRF_KEY`: bound to the session, and nothing to store.
//!
//! Rate limits are Cognito's own (its lockout after repeated failed passwords, its request
//! quotas); every refusal reads as the one "wrong user name or password".

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::accounts::{AccountError, MAX_PASSWORD, Role, Session};
use super::auth::{AccountBackend, Opened};

/// Shortest wait before the JWKS is fetched again for a `kid` it did not have.
pub const JWKS_REFETCH: Duration = Duration::from_secs(60);
/// How long a `GetUser` answer that the access token still stands is trusted.
pub const STILL_SIGNED_IN: Duration = Duration::from_secs(30);
/// Shortest CSRF key accepted, in bytes.
pub const MIN_CSRF_KEY: usize = 32;
/// The variable holding the CSRF key (template.yaml fills it from a generated secret).
pub const CSRF_KEY_VAR: &str = "OMNI_OFFICE_CSRF_KEY";
/// What a person waits after Cognito throttled a sign-in (it says no time of its own).
const THROTTLED_WAIT: Duration = Duration::from_secs(60);
/// Longest cookie value read (two Cognito tokens are a few KB).
const MAX_COOKIE: usize = 8192;
/// Largest JWKS document read.
const MAX_JWKS: usize = 64 * 1024;
/// Access tokens remembered as still signed in at once (memory bound).
const MAX_REMEMBERED: usize = 10_000;

fn backend(e: impl std::fmt::Display) -> AccountError {
    AccountError::Backend(e.to_string())
}

/// A failed Cognito call, with the SDK's whole story.
fn sdk_failure<E: std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &str,
    e: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>,
) -> AccountError {
    backend(format!(
        "Cognito {operation}: {}",
        aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)
    ))
}

/// The variable naming the people's user pool.
pub const POOL_ID_VAR: &str = "OMNI_OFFICE_USER_POOL_ID";
/// The variable naming its app client.
pub const CLIENT_ID_VAR: &str = "OMNI_OFFICE_USER_POOL_CLIENT_ID";

/// Where the people's user pool is, from `omni-office serve`'s flags or the Lambda's
/// environment.
#[derive(Clone, Debug, clap::Args)]
pub struct CognitoArgs {
    /// The people's Cognito user pool (sign-in on AWS instead of `users add` accounts).
    #[arg(long, env = POOL_ID_VAR, requires = "user_pool_client_id")]
    pub user_pool_id: Option<String>,
    /// Its app client for the office (USER_PASSWORD_AUTH, no secret).
    #[arg(long, env = CLIENT_ID_VAR, requires = "user_pool_id")]
    pub user_pool_client_id: Option<String>,
}

/// A configured user pool.
#[derive(Clone, Debug)]
pub struct CognitoConfig {
    /// The pool's region.
    pub region: String,
    /// The pool id (`us-east-1_AbC…`).
    pub user_pool_id: String,
    /// The office's app client id.
    pub client_id: String,
    /// Cognito's endpoint instead of the regional one (an emulator such as moto).
    pub endpoint_url: Option<String>,
    /// The CSRF key ([`CSRF_KEY_VAR`]).
    pub csrf_key: Vec<u8>,
}

impl CognitoArgs {
    /// The same from the environment alone (the Lambda).
    pub fn from_env() -> Self {
        Self {
            user_pool_id: std::env::var(POOL_ID_VAR).ok(),
            user_pool_client_id: std::env::var(CLIENT_ID_VAR).ok(),
        }
    }

    /// The pool these flags name, if any, with the CSRF key from the environment.
    pub fn config(
        &self,
        region: &str,
        endpoint_url: Option<&str>,
    ) -> Result<Option<CognitoConfig>, String> {
        let (Some(pool), Some(client)) = (&self.user_pool_id, &self.user_pool_client_id) else {
            return Ok(None);
        };
        let key = std::env::var(CSRF_KEY_VAR).unwrap_or_default();
        if key.len() < MIN_CSRF_KEY {
            return Err(format!(
                "{CSRF_KEY_VAR} must hold a secret of at least {MIN_CSRF_KEY} bytes for sign-in with a user pool"
            ));
        }
        Ok(Some(CognitoConfig {
            region: region.to_owned(),
            user_pool_id: pool.clone(),
            client_id: client.clone(),
            endpoint_url: endpoint_url.map(str::to_owned),
            csrf_key: key.into_bytes(),
        }))
    }
}

/// The pool's signing keys as last fetched.
#[derive(Default)]
struct Jwks {
    keys: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

#[derive(Deserialize)]
struct JwksDoc {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    #[serde(default)]
    alg: Option<String>,
    n: String,
    e: String,
}

/// The ID token claims the office reads (issuer, audience and expiry are checked by
/// [`Validation`]).
#[derive(Deserialize)]
struct IdClaims {
    token_use: String,
    #[serde(rename = "cognito:username")]
    username: String,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
    exp: u64,
}

/// People signed in with a Cognito user pool.
pub struct CognitoAccounts {
    client: Client,
    config: CognitoConfig,
    issuer: String,
    jwks_url: String,
    http: reqwest::Client,
    jwks: Mutex<Jwks>,
    /// SHA-256 of access tokens `GetUser` accepted, and when.
    still_signed_in: Mutex<HashMap<String, Instant>>,
}

impl CognitoAccounts {
    /// A backend for `config`'s pool (AWS credentials and settings from the environment).
    pub async fn new(config: CognitoConfig) -> Result<Self, String> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(config.region.clone()));
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let client = Client::new(&loader.load().await);
        let base = config
            .endpoint_url
            .clone()
            .unwrap_or_else(|| format!("https://cognito-idp.{}.amazonaws.com", config.region));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(Self {
            client,
            issuer: format!(
                "https://cognito-idp.{}.amazonaws.com/{}",
                config.region, config.user_pool_id
            ),
            jwks_url: format!(
                "{}/{}/.well-known/jwks.json",
                base.trim_end_matches('/'),
                config.user_pool_id
            ),
            config,
            http,
            jwks: Mutex::new(Jwks::default()),
            still_signed_in: Mutex::new(HashMap::new()),
        })
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, DecodingKey>, AccountError> {
        let response = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| backend(format!("JWKS {}: {e}", self.jwks_url)))?;
        if response.content_length().unwrap_or(0) > MAX_JWKS as u64 {
            return Err(backend("the JWKS is too large"));
        }
        let body = response.bytes().await.map_err(backend)?;
        if body.len() > MAX_JWKS {
            return Err(backend("the JWKS is too large"));
        }
        let doc: JwksDoc =
            serde_json::from_slice(&body).map_err(|e| backend(format!("JWKS: {e}")))?;
        Ok(doc
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA" && k.alg.as_deref().is_none_or(|a| a == "RS256"))
            .filter_map(|k| Some((k.kid, DecodingKey::from_rsa_components(&k.n, &k.e).ok()?)))
            .collect())
    }

    /// The key for `kid`: cached, or fetched when never fetched or (rate-limited) unknown.
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, AccountError> {
        let mut jwks = self.jwks.lock().await;
        if let Some(key) = jwks.keys.get(kid) {
            return Ok(Some(key.clone()));
        }
        if jwks.fetched.is_some_and(|at| at.elapsed() < JWKS_REFETCH) {
            return Ok(None);
        }
        jwks.keys = self.fetch_jwks().await?;
        jwks.fetched = Some(Instant::now());
        Ok(jwks.keys.get(kid).cloned())
    }

    /// The ID token's user, role and expiry (s since the epoch), if it is one of this pool's
    /// for this client, unexpired, with a role.
    async fn verify_id(&self, token: &str) -> Result<Option<(String, Role, u64)>, AccountError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let (Algorithm::RS256, Some(kid)) = (header.alg, header.kid) else {
            return Ok(None);
        };
        let Some(key) = self.key(&kid).await? else {
            return Ok(None);
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 5;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let Ok(data) = jsonwebtoken::decode::<IdClaims>(token, &key, &validation) else {
            return Ok(None);
        };
        let claims = data.claims;
        if claims.token_use != "id" {
            return Ok(None);
        }
        let role = if claims.groups.iter().any(|g| g == Role::Reviewer.as_str()) {
            Role::Reviewer
        } else if claims.groups.iter().any(|g| g == Role::Viewer.as_str()) {
            Role::Viewer
        } else {
            return Ok(None);
        };
        Ok(Some((claims.username, role, claims.exp)))
    }

    /// Whether Cognito still stands by `access` as `user`'s (not signed out), asked at most
    /// once a [`STILL_SIGNED_IN`].
    async fn still_signed_in(&self, access: &str, user: &str) -> Result<bool, AccountError> {
        let digest = hex::encode(Sha256::digest(access.as_bytes()));
        {
            let mut seen = self.still_signed_in.lock().await;
            if seen
                .get(&digest)
                .is_some_and(|at| at.elapsed() < STILL_SIGNED_IN)
            {
                return Ok(true);
            }
            seen.remove(&digest);
        }
        match self.client.get_user().access_token(access).send().await {
            Ok(out) if out.username() == user => {
                let mut seen = self.still_signed_in.lock().await;
                if seen.len() >= MAX_REMEMBERED {
                    seen.retain(|_, at| at.elapsed() < STILL_SIGNED_IN);
                }
                if seen.len() < MAX_REMEMBERED {
                    seen.insert(digest, Instant::now());
                }
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_authorized_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_failure("GetUser", e)),
        }
    }

    fn csrf(&self, id_token: &str) -> Result<String, AccountError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.config.csrf_key).map_err(backend)?;
        mac.update(id_token.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

/// The cookie's two tokens (`<ID token>~<access token>`).
fn tokens(cookie: &str) -> Option<(&str, &str)> {
    if cookie.len() > MAX_COOKIE {
        return None;
    }
    cookie
        .split_once('~')
        .filter(|(id, access)| !id.is_empty() && !access.is_empty())
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[async_trait]
impl AccountBackend for CognitoAccounts {
    async fn sign_in(
        &self,
        name: &str,
        password: &str,
        _client: &str,
    ) -> Result<Opened, AccountError> {
        // Cognito's own bounds: user names up to 128, passwords up to 256 characters.
        if name.is_empty()
            || name.chars().count() > 128
            || password.is_empty()
            || password.chars().count() > MAX_PASSWORD
        {
            return Err(AccountError::Refused);
        }
        let answer = self
            .client
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&self.config.client_id)
            .auth_parameters("USERNAME", name)
            .auth_parameters("PASSWORD", password)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e) => {
                let Some(service) = e.as_service_error() else {
                    return Err(sdk_failure("InitiateAuth", e));
                };
                // One answer for every refusal: which names exist is not said.
                return Err(if service.is_too_many_requests_exception() {
                    AccountError::RateLimited(THROTTLED_WAIT)
                } else if service.is_not_authorized_exception()
                    || service.is_user_not_found_exception()
                    || service.is_user_not_confirmed_exception()
                    || service.is_password_reset_required_exception()
                    || service.is_invalid_parameter_exception()
                {
                    AccountError::Refused
                } else {
                    sdk_failure("InitiateAuth", e)
                });
            }
        };
        if let Some(challenge) = out.challenge_name() {
            return Err(AccountError::Challenge(challenge.as_str().to_owned()));
        }
        let result = out
            .authentication_result()
            .ok_or_else(|| backend("Cognito answered no tokens"))?;
        let (Some(id), Some(access)) = (result.id_token(), result.access_token()) else {
            return Err(backend("Cognito answered no ID or access token"));
        };
        // A person without a role group is refused like a wrong password.
        let Some((user, role, exp)) = self.verify_id(id).await? else {
            return Err(AccountError::Refused);
        };
        Ok(Opened {
            cookie: format!("{id}~{access}"),
            session: Session {
                user,
                role,
                csrf: self.csrf(id)?,
            },
            max_age: Duration::from_secs(exp.saturating_sub(now_s())),
        })
    }

    async fn session(&self, cookie: &str) -> Result<Option<Session>, AccountError> {
        let Some((id, access)) = tokens(cookie) else {
            return Ok(None);
        };
        let Some((user, role, _)) = self.verify_id(id).await? else {
            return Ok(None);
        };
        if !self.still_signed_in(access, &user).await? {
            return Ok(None);
        }
        Ok(Some(Session {
            user,
            role,
            csrf: self.csrf(id)?,
        }))
    }

    async fn sign_out(&self, cookie: &str) -> Result<(), AccountError> {
        let Some((_, access)) = tokens(cookie) else {
            return Ok(());
        };
        self.still_signed_in
            .lock()
            .await
            .remove(&hex::encode(Sha256::digest(access.as_bytes())));
        match self
            .client
            .global_sign_out()
            .access_token(access)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already signed out, or expired: nothing left to end.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_authorized_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_failure("GlobalSignOut", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    use super::*;

    /// A JWKS server on 127.0.0.1 that counts its fetches and answers `status`.
    async fn jwks_server(status: StatusCode) -> (String, Arc<AtomicUsize>) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = Router::new().route(
            "/us-east-1_test/.well-known/jwks.json",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    (
                        status,
                        r#"{"keys":[{"kid":"k1","kty":"RSA","alg":"RS256","n":"AQAB","e":"AQAB"}]}"#,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, fetches)
    }

    async fn accounts(url: String) -> CognitoAccounts {
        CognitoAccounts::new(CognitoConfig {
            region: "us-east-1".into(),
            user_pool_id: "us-east-1_test".into(),
            client_id: "client".into(),
            endpoint_url: Some(url),
            csrf_key: vec![7; MIN_CSRF_KEY],
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_the_jwks_again_at_most_once_a_minute() {
        let (url, fetches) = jwks_server(StatusCode::OK).await;
        let accounts = accounts(url).await;
        assert!(accounts.key("k1").await.unwrap().is_some());
        assert!(accounts.key("k1").await.unwrap().is_some());
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "cached");
        // A kid the pool does not have, a second after the fetch: refused without a fetch.
        assert!(accounts.key("k2").await.unwrap().is_none());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Once the minute is over, an unknown kid fetches the keys again (rotation).
        accounts.jwks.lock().await.fetched = Instant::now().checked_sub(JWKS_REFETCH);
        assert!(accounts.key("k2").await.unwrap().is_none());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_an_error_not_a_refusal() {
        let (url, _) = jwks_server(StatusCode::INTERNAL_SERVER_ERROR).await;
        let accounts = accounts(url).await;
        assert!(matches!(
            accounts.key("k1").await,
            Err(AccountError::Backend(_))
        ));
    }
}
