//! The core's integration tests in one binary: each file is a module (one link of tract and
//! the test helpers instead of one per file, which kept CI's target directory large). The
//! tests that run the `omni` binary are in the CLI's crate (`cli/tests/integration/`).

mod big_photos;
mod capture;
mod common;
mod crash_safety;
mod demo_model;
mod device_model;
mod edge_detection;
mod evaluation;
mod faces;
mod model_refresh;
