//! The end-to-end tests of the sync engine against the local endpoint, in one binary.

mod fleet;
mod sigv4;
mod sync_engine;
