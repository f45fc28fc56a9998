//! The phones' online path, one signed HTTPS exchange at a time: the host's credentials
//! provider and its cache, service URLs, the request body for one photo (downscaled to the
//! serverless limits), the SageMaker Runtime client (`InvokeEndpoint`) and the yard office
//! client. The yard office serves on the same building blocks when it detects on upload.
//!
//! Requests are signed with `omni-sigv4` (re-exported here: [`Credentials`], [`SigV4Scope`]);
//! the endpoint's answer is parsed with `omni-protocol`'s response schema by the caller.

pub mod credentials;
pub mod office_client;
pub mod payload;
pub mod runtime_client;
pub mod service_url;
mod signed_http;

pub use credentials::{
    CachedCredentials, Credentials, CredentialsError, CredentialsProvider, EnvCredentialsProvider,
    StaticCredentialsProvider,
};
pub use omni_sigv4::{SigV4Scope, SigningError};
pub use service_url::{ServiceUrl, ServiceUrlError};
