//! Helpers shared by the end-to-end tests: an endpoint on its own runtime thread, stores
//! filled with generated photos, and the `omni` binary.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageBuffer, Rgb};
use omni_core::cloud::Credentials;
use omni_core::{ContainerNumber, Inspector, InspectorConfig, NewInspection, PhotoId, Timestamp};
use omni_endpoint::{EndpointConfig, FaultConfig, ModelChoice, RunningEndpoint, StatsSnapshot};

/// Credentials the test endpoint accepts and the clients sign with.
pub fn test_credentials(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDOMNITEST".into(),
        secret_access_key: "omni-test-secret".into(),
        session_token: token.map(str::to_owned),
        expires_at: None,
    }
}

/// The endpoint name used by the tests.
pub const ENDPOINT_NAME: &str = "omni-inspector-yolo";
/// The region used by the tests.
pub const REGION: &str = "us-east-1";

/// An endpoint running on a runtime of its own (so a test can block on the client).
pub struct TestEndpoint {
    runtime: tokio::runtime::Runtime,
    endpoint: Option<RunningEndpoint>,
}

impl TestEndpoint {
    /// Starts an endpoint on 127.0.0.1 with `model`, `faults`, and `credentials` checked.
    pub fn start(
        model: ModelChoice,
        faults: FaultConfig,
        credentials: Option<Credentials>,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("endpoint runtime");
        let config = EndpointConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            endpoint_name: ENDPOINT_NAME.into(),
            region: REGION.into(),
            credentials,
            model,
            faults,
        };
        let endpoint = runtime
            .block_on(omni_endpoint::start(config))
            .expect("endpoint starts");
        Self {
            runtime,
            endpoint: Some(endpoint),
        }
    }

    fn running(&self) -> &RunningEndpoint {
        self.endpoint.as_ref().expect("endpoint running")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.running().url()
    }

    /// The endpoint's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.running().stats()
    }

    /// Restarts the server (all connections closed) after `downtime`.
    pub fn restart(&self, downtime: std::time::Duration) {
        self.runtime.block_on(self.running().restart(downtime));
    }
}

impl Drop for TestEndpoint {
    fn drop(&mut self) {
        let _guard = self.runtime.enter();
        self.endpoint.take();
    }
}

/// A JPEG of `width`×`height` with a pattern that depends on `seed`.
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([
            ((x + seed * 7) % 256) as u8,
            ((y + seed * 13) % 256) as u8,
            ((x ^ y ^ seed) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut out), 85)
        .encode_image(&img)
        .expect("encode jpeg");
    out
}

/// Opens (creating) a store in `dir` and adds `count` photos of one inspection.
pub fn fill_store(
    dir: &Path,
    count: u32,
    width: u32,
    height: u32,
) -> (Arc<Inspector>, Vec<PhotoId>) {
    let inspector = Inspector::open(dir, InspectorConfig::default()).expect("open store");
    let inspection = inspector
        .create_inspection(NewInspection {
            container_number: ContainerNumber::parse("CSQU3054383").expect("container"),
            inspector_id: None,
            location: None,
            notes: None,
        })
        .expect("inspection");
    let ids = (0..count)
        .map(|i| {
            inspector
                .add_photo(inspection.id, &jpeg(width, height, i), Timestamp::now())
                .expect("add photo")
                .id
        })
        .collect();
    (Arc::new(inspector), ids)
}

/// The `omni` binary of this build, brought up to date first: `cargo test -p omni-e2e`
/// alone does not build another package's binaries.
pub fn omni_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable");
            // target/<profile>/deps/<test> → target/<profile>/omni
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target profile directory");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", "omni-core", "--bin", "omni"])
                .status()
                .expect("run cargo build");
            assert!(status.success(), "cargo build --bin omni failed");
            profile_dir.join(format!("omni{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// An `omni` command on `data_dir` with the test credentials in its environment.
pub fn omni(data_dir: &Path, credentials: &Credentials) -> Command {
    let mut cmd = Command::new(omni_bin());
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("OMNI_ENDPOINT_URL")
        .env_remove("OMNI_ENDPOINT_NAME")
        .env("AWS_REGION", REGION);
    if let Some(token) = &credentials.session_token {
        cmd.env("AWS_SESSION_TOKEN", token);
    }
    cmd
}

/// Parses the JSON an `omni … --json` command printed.
pub fn json_output(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
