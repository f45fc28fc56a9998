//! AWS Signature Version 4 on the server side, shared by every Omni-Inspector service that
//! stands in for an AWS API: the local SageMaker endpoint (`omni-endpoint`, service
//! `sagemaker`) and the yard office (`omni-office`, service `execute-api`).
//!
//! [`verify`] checks a request in the two steps AWS takes: the headers first
//! ([`check_headers`]), so a request that can never pass is refused before its body is read,
//! then the signature over the body ([`HeaderCheck::verify_signature`]). The signature is
//! recomputed with `omni-core`'s signer, the one the phones sign with.
//!
//! With the `test-sign` feature, [`test_sign`] builds the signature headers of a request for
//! tests that send requests by hand.

pub mod verify;

#[cfg(feature = "test-sign")]
pub mod test_sign;

pub use omni_core::cloud::{Credentials, SigV4Scope};
pub use verify::{AuthError, HeaderCheck, MAX_SKEW, check_headers, verify};
