//! The end-to-end tests of the sync engine against the local endpoint and the yard office,
//! in one binary.

mod box_verdict;
mod fleet;
mod office;
mod sigv4;
mod sync_engine;
