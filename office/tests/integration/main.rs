//! The office API on real sockets on 127.0.0.1: the embedded store end to end, detection on
//! upload through omni-endpoint, SigV4 refusals, each bad input, the AWS store on moto
//! server, one store contract run on both stores, the CLI, and the deploy template under
//! cfn-lint.

#![allow(clippy::unwrap_used, missing_docs)] // Test code: a panic is the failure report.

mod api;
mod auth;
mod aws;
mod bad_input;
mod cli;
mod common;
mod detect;
mod doc_commands;
mod embedded_migration;
mod faces;
#[cfg(feature = "lambda")]
mod lambda;
#[cfg(feature = "lambda")]
mod lambda_report;
mod report;
/// The Bedrock Runtime stand-in of the report crate's tests (SigV4 service `bedrock`,
/// Converse), reused, not copied.
#[path = "../../../report/tests/report/standin.rs"]
mod standin;
mod store_contract;
mod template;
mod thumbnails;
mod web;
mod web_browser;
#[cfg(feature = "lambda")]
mod web_cognito;
mod web_common;
mod web_report;
mod web_review;
