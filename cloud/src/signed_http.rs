//! One SigV4-signed HTTP exchange, shared by the SageMaker Runtime client
//! ([`super::runtime_client`]) and the yard office client ([`super::office_client`]): reqwest +
//! rustls, no redirects followed, https-only for an https base, capped response bodies,
//! AWS-shaped errors, and the clock-skew correction learned from the server's `Date`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use super::credentials::CachedCredentials;
use super::runtime_client::{
    CLOCK_SKEW_THRESHOLD, FailureClass, InvokeError, retry_after, service_error, truncate,
};
use super::service_url::ServiceUrl;
use omni_sigv4::SigV4Scope;

/// Largest error body read; its message is kept to
/// [`super::runtime_client::MAX_ERROR_MESSAGE_CHARS`].
const MAX_ERROR_BODY_BYTES: usize = 16 << 10;

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answered {
    /// The 2xx status.
    pub status: u16,
    /// The server's `Retry-After`, when given (a 202 says when to ask again).
    pub retry_after: Option<Duration>,
    /// The body.
    pub body: Vec<u8>,
    /// Round-trip time.
    pub latency: Duration,
}

/// Sends signed requests for one service scope.
#[derive(Clone, Debug)]
pub(crate) struct SignedHttp {
    http: reqwest::Client,
    scope: SigV4Scope,
    credentials: Arc<CachedCredentials>,
    timeout: Duration,
    /// Server time minus device time, in milliseconds, shared by clones.
    clock_offset_ms: Arc<AtomicI64>,
}

impl SignedHttp {
    /// A client for requests under `base_url`, signed for `scope` with `credentials`.
    pub fn new(
        base_url: &ServiceUrl,
        scope: SigV4Scope,
        credentials: Arc<CachedCredentials>,
        timeout: Duration,
        connect_timeout: Duration,
        clock_offset_ms: i64,
    ) -> Result<Self, InvokeError> {
        let http = reqwest::Client::builder()
            // Signed requests are never redirected: a redirect would send the session
            // token and the photo to another host, or downgrade https to http.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(base_url.is_https())
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("omni-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| InvokeError::Network(e.to_string()))?;
        Ok(Self {
            http,
            scope,
            credentials,
            timeout,
            clock_offset_ms: Arc::new(AtomicI64::new(clock_offset_ms)),
        })
    }

    /// Drops cached credentials (after an auth failure) so the provider is asked again.
    pub fn invalidate_credentials(&self) {
        self.credentials.invalidate();
    }

    /// The learned clock offset (server minus device), in milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// The device clock corrected by the offset learned from the server.
    fn now(&self) -> SystemTime {
        let offset = self.clock_offset_ms();
        let magnitude = Duration::from_millis(offset.unsigned_abs());
        if offset >= 0 {
            SystemTime::now() + magnitude
        } else {
            SystemTime::now() - magnitude
        }
    }

    /// Sends one signed request and returns a 2xx answer of at most `max_body` bytes. A
    /// signature refused because the device clock is off (the server's `Date` is more than
    /// [`CLOCK_SKEW_THRESHOLD`] away) is corrected from that `Date` and sent once more.
    ///
    /// `headers` are sent and signed as given (not `user-agent`, which proxies rewrite).
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &reqwest::Url,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: usize,
    ) -> Result<Answered, InvokeError> {
        match self.send_once(&method, url, headers, body, max_body).await {
            Err(Attempt::Skewed(_, server_date)) => {
                let skew = match server_date.duration_since(self.now()) {
                    Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
                    Err(behind) => {
                        -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX)
                    }
                };
                self.clock_offset_ms.fetch_add(skew, Ordering::Relaxed);
                self.send_once(&method, url, headers, body, max_body)
                    .await
                    .map_err(Attempt::into_error)
            }
            other => other.map_err(Attempt::into_error),
        }
    }

    async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &reqwest::Url,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: usize,
    ) -> Result<Answered, Attempt> {
        let credentials = self.credentials.get().await.map_err(InvokeError::from)?;
        let signed = self
            .scope
            .sign(
                &credentials,
                method.as_str(),
                url.as_str(),
                headers,
                body,
                self.now(),
            )
            .map_err(InvokeError::from)?;
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let started = std::time::Instant::now();
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| Attempt::from(self.transport_error(e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_redirection() {
            let location = headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            return Err(InvokeError::Redirected {
                status: status.as_u16(),
                location: truncate(location, 200),
            }
            .into());
        }
        if status.is_success() {
            let body = match read_capped(response, max_body).await {
                Ok(Some(body)) => body,
                Ok(None) => return Err(InvokeError::ResponseTooLarge.into()),
                Err(e) => return Err(self.transport_error(e).into()),
            };
            return Ok(Answered {
                status: status.as_u16(),
                retry_after: retry_after(&headers),
                body,
                latency: started.elapsed(),
            });
        }
        // An error body past the cap is cut: only its message matters.
        let body = match read_capped(response, MAX_ERROR_BODY_BYTES).await {
            Ok(body) => body.unwrap_or_default(),
            Err(e) => return Err(self.transport_error(e).into()),
        };
        let error = service_error(status.as_u16(), &headers, &body);
        let server_date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        match server_date {
            Some(date) if error.class() == FailureClass::Auth && self.is_skewed(date) => {
                Err(Attempt::Skewed(error, date))
            }
            _ => Err(error.into()),
        }
    }

    /// Whether the server's clock is further from ours than [`CLOCK_SKEW_THRESHOLD`].
    fn is_skewed(&self, server_date: SystemTime) -> bool {
        let now = self.now();
        let gap = server_date
            .duration_since(now)
            .unwrap_or_else(|behind| behind.duration());
        gap > CLOCK_SKEW_THRESHOLD
    }

    fn transport_error(&self, error: reqwest::Error) -> InvokeError {
        if error.is_timeout() {
            InvokeError::Timeout(self.timeout)
        } else {
            // The whole source chain: "error sending request" alone says nothing.
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            InvokeError::Network(message)
        }
    }
}

/// How one signed request ended, before the clock-skew retry.
enum Attempt {
    /// Refused with this error.
    Failed(InvokeError),
    /// Refused as unauthenticated while the server's `Date` (kept) is far from our clock.
    Skewed(InvokeError, SystemTime),
}

impl Attempt {
    fn into_error(self) -> InvokeError {
        match self {
            Self::Failed(e) | Self::Skewed(e, _) => e,
        }
    }
}

impl From<InvokeError> for Attempt {
    fn from(error: InvokeError) -> Self {
        Self::Failed(error)
    }
}

/// Reads a body of at most `limit` bytes; `None` when it is larger (the rest is not read).
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
