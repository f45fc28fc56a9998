//! A SageMaker-compatible detection endpoint for development and tests.
//!
//! It serves, on one loopback port:
//! - the runtime front, `POST /endpoints/{name}/invocations`, checking SigV4 against the
//!   configured credentials as strictly as AWS (headers first, then the body) and answering
//!   AWS-shaped errors (`x-amzn-ErrorType`, JSON `message`);
//! - the container contract a bring-your-own container serves on SageMaker, `GET /ping` and
//!   `POST /invocations` (SigV4-checked too when credentials are configured);
//! - `GET /_omni/stats`, counters for tests and benchmarks.
//!
//! Invocations run the core's own edge pipeline on the configured model (or no model at all,
//! for benchmarks of the client) and answer the versioned detection JSON
//! (`docs/endpoint-response.md`). [`FaultConfig`] injects latency, error answers, dropped
//! connections, a model-not-ready window and a restart, and, through [`ServerlessConfig`],
//! emulates a serverless endpoint: `MaxConcurrency` and cold starts.

pub mod faults;
pub mod inference;
mod invoke;
mod routes;
pub mod server;
pub mod serverless;
pub mod stats;

pub use faults::{Fault, FaultConfig, Malformed};
pub use inference::{InferenceModel, ModelChoice};
pub use server::{EndpointConfig, EndpointError, RunningEndpoint, start};
pub use serverless::ServerlessConfig;
pub use stats::{RATE_SECONDS, StatsSnapshot};
