//! What stands in front of our HTTP services (the yard office, the local SageMaker-compatible
//! endpoint), as API Gateway and SageMaker's front stand in front of AWS's.

pub mod body;
pub mod sigv4;
