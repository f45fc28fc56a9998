//! The endpoint's integration tests in one binary.

mod cli;
mod contract;
