//! The core's integration tests in one binary: each file is a module (one link of tract and
//! the test helpers instead of one per file, which kept CI's target directory large).

mod capture;
mod cli;
mod common;
mod crash_safety;
mod demo_model;
mod edge_detection;
mod evaluation;
mod model_refresh;
mod sync_chaos;
mod sync_cli;

/// An `omni` command of this build on `data_dir`, signing with `credentials`.
fn omni_with_credentials(
    data_dir: &std::path::Path,
    credentials: &omni_core::cloud::Credentials,
) -> std::process::Command {
    omni_e2e::omni_command(
        std::path::Path::new(env!("CARGO_BIN_EXE_omni")),
        data_dir,
        credentials,
    )
}
