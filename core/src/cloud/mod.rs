//! The online path's building blocks: credentials, SigV4 signing, service URLs and the
//! SageMaker Runtime client.

pub mod credentials;
pub mod payload;
pub mod response;
pub mod runtime_client;
pub mod service_url;
pub mod signing;

pub use credentials::{
    CachedCredentials, Credentials, CredentialsError, CredentialsProvider, EnvCredentialsProvider,
    StaticCredentialsProvider,
};
pub use service_url::{ServiceUrl, ServiceUrlError};
pub use signing::{SigV4Scope, SigningError};
