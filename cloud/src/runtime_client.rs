//! SageMaker Runtime `InvokeEndpoint` over reqwest (rustls) with SigV4, and the AWS error
//! classification the sync engine acts on.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::credentials::{CachedCredentials, CredentialsError};
use super::payload::Payload;
use super::service_url::ServiceUrl;
use super::signed_http::SignedHttp;
use omni_sigv4::{SigV4Scope, SigningError};

/// Header that carries the photo id so a retried request is recognisable server-side.
pub const CUSTOM_ATTRIBUTES_HEADER: &str = "x-amzn-sagemaker-custom-attributes";
/// Largest successful answer read (a schema v1 response is a few KiB).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Longest error message kept (it is stored with the photo and shown to people).
pub const MAX_ERROR_MESSAGE_CHARS: usize = 500;
/// A refused signature whose server `Date` is further than this from the device's clock is
/// taken as clock skew: the offset is learned and the request signed again (AWS accepts
/// 5 to 15 minutes depending on the service).
pub const CLOCK_SKEW_THRESHOLD: Duration = Duration::from_secs(4 * 60);

/// Where and how to call the endpoint.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Base URL: the regional runtime, an API Gateway, or a local endpoint.
    pub base_url: ServiceUrl,
    /// SageMaker endpoint name.
    pub endpoint_name: String,
    /// Signing region.
    pub region: String,
    /// Whole-request timeout (serverless invocations run at most 60 s).
    pub timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// What is known at start of the device clock's error: server time minus device time,
    /// in milliseconds (0). Learned from the server's `Date` after a skew refusal, as the
    /// AWS SDKs do; a host that knows better (an NTP check) may seed it.
    pub clock_offset_ms: i64,
}

impl RuntimeConfig {
    /// The regional SageMaker Runtime for `endpoint_name`, with the default timeouts.
    pub fn new(base_url: ServiceUrl, endpoint_name: &str, region: &str) -> Self {
        Self {
            base_url,
            endpoint_name: endpoint_name.to_owned(),
            region: region.to_owned(),
            timeout: Duration::from_secs(70),
            connect_timeout: Duration::from_secs(10),
            clock_offset_ms: 0,
        }
    }
}

/// What kind of failure an invocation was, which decides what the sync engine does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// Transient: retry this photo with backoff.
    Retryable,
    /// The endpoint asks us to slow down: retry with backoff and pause the whole queue.
    Throttled,
    /// The model failed on this input (424): retry a few times only.
    ModelError,
    /// The request itself is wrong (400): retrying will not help.
    Permanent,
    /// Credentials are missing, expired or refused: pause the whole queue.
    Auth,
    /// The endpoint itself is missing or misconfigured (`Endpoint … not found`, a wrong
    /// URL, a redirect): no photo's fault, pause the whole queue.
    Endpoint,
    /// The network is down or the endpoint unreachable: pause the whole queue.
    Network,
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// No usable credentials.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The request could not be signed.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// Connection refused/reset, DNS failure, TLS failure, or the connection dropped.
    #[error("network error: {0}")]
    Network(String),
    /// No answer within the client timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with a redirect, which signed requests never follow (it would
    /// hand the session token and the photo to another host).
    #[error("refused to follow a {status} redirect to {location:?}: check the endpoint URL")]
    Redirected {
        /// HTTP status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// The answer was larger than [`MAX_RESPONSE_BYTES`].
    #[error("response larger than {MAX_RESPONSE_BYTES} bytes")]
    ResponseTooLarge,
    /// A successful answer that is not the JSON the service documents.
    #[error("malformed answer: {0}")]
    MalformedAnswer(String),
    /// The endpoint answered with an error.
    #[error("{status} {error_type}: {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// AWS error type (`x-amzn-ErrorType`), e.g. `ThrottlingException`.
        error_type: String,
        /// The error message.
        message: String,
        /// The server's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
}

impl InvokeError {
    /// How the sync engine should treat this failure (AWS's documented InvokeEndpoint errors).
    pub fn class(&self) -> FailureClass {
        match self {
            Self::Credentials(_) => FailureClass::Auth,
            Self::Signing(_) => FailureClass::Permanent,
            Self::Network(_) => FailureClass::Network,
            Self::Timeout(_) => FailureClass::Retryable,
            Self::Redirected { .. } => FailureClass::Endpoint,
            Self::ResponseTooLarge | Self::MalformedAnswer(_) => FailureClass::ModelError,
            Self::Service {
                status,
                error_type,
                message,
                ..
            } => match error_type.as_str() {
                // SageMaker's answer for a wrong or deleted endpoint name:
                // "Endpoint NAME of account ACCOUNT not found."
                "ValidationError" | "ValidationException" if endpoint_not_found(message) => {
                    FailureClass::Endpoint
                }
                "UnknownOperationException" => FailureClass::Endpoint,
                "ThrottlingException" | "TooManyRequestsException" => FailureClass::Throttled,
                "ModelNotReadyException"
                | "ServiceUnavailable"
                | "InternalFailure"
                | "InternalDependencyException"
                | "InternalServerError"
                // The yard office: the body arrived other than it was sent.
                | "BadDigest" => FailureClass::Retryable,
                "ModelError" => FailureClass::ModelError,
                "ValidationError" | "ValidationException" => FailureClass::Permanent,
                "InvalidSignatureException"
                | "UnrecognizedClientException"
                | "ExpiredTokenException"
                | "AccessDeniedException"
                | "IncompleteSignature"
                | "MissingAuthenticationToken" => FailureClass::Auth,
                _ => match status {
                    429 => FailureClass::Throttled,
                    401 | 403 => FailureClass::Auth,
                    424 => FailureClass::ModelError,
                    408 => FailureClass::Retryable,
                    // A wrong base URL or path: the endpoint, not the photo.
                    404 | 405 => FailureClass::Endpoint,
                    s if *s >= 500 => FailureClass::Retryable,
                    _ => FailureClass::Permanent,
                },
            },
        }
    }

    /// The server's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Service { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// An answered invocation.
#[derive(Debug)]
pub struct InvokeOutput {
    /// The response body (validated by the caller against the schema).
    pub body: Vec<u8>,
    /// Round-trip time.
    pub latency: Duration,
}

/// Calls `InvokeEndpoint` on one endpoint.
#[derive(Clone, Debug)]
pub struct RuntimeClient {
    http: SignedHttp,
    config: RuntimeConfig,
    url: reqwest::Url,
}

impl RuntimeClient {
    /// A client for `config`, signing with `credentials`.
    pub fn new(
        config: RuntimeConfig,
        credentials: Arc<CachedCredentials>,
    ) -> Result<Self, InvokeError> {
        let http = SignedHttp::new(
            &config.base_url,
            SigV4Scope::sagemaker(&config.region),
            credentials,
            config.timeout,
            config.connect_timeout,
            config.clock_offset_ms,
        )?;
        let name = url::form_urlencoded::byte_serialize(config.endpoint_name.as_bytes())
            .collect::<String>();
        let url = config
            .base_url
            .join_path(&format!("endpoints/{name}/invocations"));
        Ok(Self { http, config, url })
    }

    /// The endpoint's invocation URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Drops cached credentials (after an auth failure) so the provider is asked again.
    pub fn invalidate_credentials(&self) {
        self.http.invalidate_credentials();
    }

    /// The learned clock offset (server minus device), in milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        self.http.clock_offset_ms()
    }

    /// Sends `payload` for the photo `photo_id` and returns the raw answer. A signature
    /// refused because the device clock is off (the server's `Date` is more than
    /// [`CLOCK_SKEW_THRESHOLD`] away) is corrected from that `Date` and sent once more.
    pub async fn invoke(
        &self,
        photo_id: &str,
        payload: &Payload,
    ) -> Result<InvokeOutput, InvokeError> {
        let attributes = format!("photo-id={photo_id}");
        let headers = [
            ("content-type", payload.content_type),
            ("accept", "application/json"),
            (CUSTOM_ATTRIBUTES_HEADER, attributes.as_str()),
        ];
        let answer = self
            .http
            .send(
                reqwest::Method::POST,
                &self.url,
                &headers,
                &payload.bytes,
                MAX_RESPONSE_BYTES,
            )
            .await?;
        Ok(InvokeOutput {
            body: answer.body,
            latency: answer.latency,
        })
    }
}

/// Whether a validation message is SageMaker's "Endpoint … not found".
fn endpoint_not_found(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.starts_with("endpoint ") && message.contains("not found")
}

/// At most `max` characters of `text`, marked when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The `Retry-After` header in seconds (at most an hour), when given and valid.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

/// An AWS-shaped error answer: type from `x-amzn-ErrorType` (before any `:`), message from
/// the JSON body's `message`/`Message`.
pub(crate) fn service_error(status: u16, headers: &HeaderMap, body: &[u8]) -> InvokeError {
    let error_type = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("Http{status}"));
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_owned()
        });
    let message = truncate(&message, MAX_ERROR_MESSAGE_CHARS);
    let retry_after = retry_after(headers);
    InvokeError::Service {
        status,
        error_type,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, kind: Option<&str>, retry_after: Option<&str>) -> InvokeError {
        let mut headers = HeaderMap::new();
        if let Some(kind) = kind {
            headers.insert("x-amzn-errortype", kind.parse().unwrap());
        }
        if let Some(r) = retry_after {
            headers.insert(RETRY_AFTER, r.parse().unwrap());
        }
        service_error(status, &headers, br#"{"message":"boom"}"#)
    }

    #[test]
    fn aws_errors_are_classified_as_documented() {
        use FailureClass::*;
        let cases = [
            (400, Some("ValidationError"), Permanent),
            (424, Some("ModelError"), ModelError),
            (429, Some("ModelNotReadyException"), Retryable),
            (400, Some("ThrottlingException:http://internal"), Throttled),
            (429, None, Throttled),
            (500, Some("InternalFailure"), Retryable),
            (503, Some("ServiceUnavailable"), Retryable),
            (530, Some("InternalDependencyException"), Retryable),
            (403, Some("InvalidSignatureException"), Auth),
            (403, None, Auth),
            (404, None, Endpoint),
            (413, None, Permanent),
        ];
        for (status, kind, class) in cases {
            assert_eq!(
                error(status, kind, None).class(),
                class,
                "{status} {kind:?}"
            );
        }
        assert_eq!(
            InvokeError::Network("reset".into()).class(),
            FailureClass::Network
        );
    }

    #[test]
    fn a_missing_endpoint_is_the_endpoints_fault_and_a_bad_photo_is_not() {
        let answer = |message: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-amzn-errortype", "ValidationError".parse().unwrap());
            service_error(
                400,
                &headers,
                format!(r#"{{"message":"{message}"}}"#).as_bytes(),
            )
        };
        assert_eq!(
            answer("Endpoint omni-x of account 123456789012 not found.").class(),
            FailureClass::Endpoint
        );
        assert_eq!(
            answer("Endpoint omni-x not found.").class(),
            FailureClass::Endpoint
        );
        assert_eq!(
            answer("Received client error (400) from primary: bad image").class(),
            FailureClass::Permanent
        );
    }

    #[test]
    fn long_error_messages_are_cut() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amzn-errortype", "ValidationError".parse().unwrap());
        let body = format!(r#"{{"message":"{}"}}"#, "é".repeat(10_000));
        let InvokeError::Service { message, .. } = service_error(400, &headers, body.as_bytes())
        else {
            panic!("service error expected");
        };
        assert_eq!(message.chars().count(), MAX_ERROR_MESSAGE_CHARS + 1);
    }

    #[test]
    fn retry_after_and_message_are_read() {
        let e = error(429, Some("ThrottlingException"), Some("2"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(e.to_string().contains("boom"));
        assert_eq!(
            error(503, None, Some("Wed, 21 Oct 2015 07:28:00 GMT")).retry_after(),
            None
        );
    }
}
