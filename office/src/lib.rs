//! The yard office: one HTTP API over the inspections the phones send.
//!
//! - [`api`]: the axum router (`/v1/...`, JSON, AWS-style errors), its SigV4 check (service
//!   `execute-api`) and the 10 MB request cap; served by `omni-office serve` on loopback or
//!   a LAN, and by the `bootstrap` binary (feature `lambda`) behind API Gateway.
//! - [`store`]: one small [`store::Store`] trait, two implementations: embedded (SQLite +
//!   fsync'd photo files) and AWS (DynamoDB + S3).
//! - [`detect`]: detection on upload through the SageMaker endpoint, with the phones' own
//!   runtime client and response parser.
//! - [`thumbnail`]: a photo's thumbnail, made once at upload and stored beside it.
//! - [`report`]: the EIR of a closed inspection revision (`omni-report`), claimed and
//!   stored once per revision; the faces each inspection kind requires.
//! - [`web`]: the web view for people (sign-in, inspections list, container history, an
//!   inspection's photos with their boxes), served beside the API by `omni-office serve`.
//! - [`wire`]: the request and response types (the `omni-office-wire` crate, serde only).
//!
//! The API is documented in `docs/office.md`.

pub mod api;
pub mod detect;
pub mod error;
pub mod report;
mod sqlite;
pub mod store;
pub mod thumbnail;
pub mod validate;
pub mod web;

pub use omni_office_wire as wire;

pub use api::{AppConfig, router, serve};
pub use error::ApiError;
