//! The endpoint's integration tests in one binary.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod cli;
mod contract;
mod doc_commands;
