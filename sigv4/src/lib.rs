//! AWS Signature Version 4, both sides, with no I/O of its own: the [`Credentials`] a request
//! is signed with, the signer ([`SigV4Scope::sign`], `aws-sigv4`) the phones use for SageMaker,
//! S3 and the yard office, and the server-side verification shared by every Omni-Inspector
//! service that stands in for an AWS API: the local SageMaker endpoint (`omni-endpoint`,
//! service `sagemaker`) and the yard office (`omni-office`, service `execute-api`).
//!
//! [`verify`] checks a request in the two steps AWS takes: the headers first
//! ([`check_headers`]), so a request that can never pass is refused before its body is read,
//! then the signature over the body ([`HeaderCheck::verify_signature`]). The signature is
//! recomputed with the same signer the phones sign with (one implementation of the contract).
//!
//! With the `test-sign` feature, [`test_sign`] builds the signature headers of a request for
//! tests that send requests by hand.

pub mod credentials;
pub mod signing;
pub mod verify;

#[cfg(feature = "test-sign")]
pub mod test_sign;

pub use credentials::Credentials;
pub use signing::{SigV4Scope, SigningError};
pub use verify::{AuthError, HeaderCheck, MAX_SKEW, check_headers, verify};
