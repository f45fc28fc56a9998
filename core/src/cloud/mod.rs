//! The online path's building blocks: credentials, SigV4 signing, service URLs, the
//! SageMaker Runtime client and the yard office client.

pub mod credentials;
pub mod office_client;
pub mod payload;
pub mod response;
pub mod runtime_client;
pub mod service_url;
mod signed_http;
pub mod signing;

pub use credentials::{
    CachedCredentials, Credentials, CredentialsError, CredentialsProvider, EnvCredentialsProvider,
    StaticCredentialsProvider,
};
pub use service_url::{ServiceUrl, ServiceUrlError};
pub use signing::{SigV4Scope, SigningError};
