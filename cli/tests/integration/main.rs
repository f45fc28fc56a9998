//! The CLI's integration tests in one binary: each file is a module (one link of tract and
//! the test helpers). They run the `omni` binary of this build, which cargo provides as
//! `CARGO_BIN_EXE_omni` to the tests of the package that owns it; no test runs cargo.

mod commands;
mod doc_commands;
mod logs;
mod model;
mod office;
mod sync;
mod sync_chaos;

/// The `omni` binary of this build.
fn omni_bin() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_omni"))
}

/// An `omni` command of this build on `data_dir`, signing with `credentials`.
fn omni_with_credentials(
    data_dir: &std::path::Path,
    credentials: &omni_core::cloud::Credentials,
) -> std::process::Command {
    omni_e2e::omni_command(omni_bin(), data_dir, credentials)
}
