//! Helpers shared by the workspace's tests (the one copy of each): generated test photos, the
//! Python test venv, proptest case counts, fixture paths, an endpoint on its own runtime
//! thread, stores filled with generated photos, `omni` commands, a tmpfs that fills up, a
//! redirect trap, and the model refresh tests' static server ([`model_server`]) and publisher
//! ([`model_publish`]), used by the core's updater tests and the CLI's `omni model` tests, and
//! a fault-injecting HTTP proxy ([`fault_proxy`]) for servers without fault knobs, the rule
//! for what a test needs from outside cargo ([`needs`]: missing is a failure unless a named
//! variable says to skip), and waits on a condition with a deadline ([`wait_until`],
//! [`wait_until_async`]) for the tests' synchronisation.

pub mod aws_error;
pub mod doc_commands;
pub mod fault_proxy;
pub mod model_publish;
pub mod model_server;
pub mod needs;
#[cfg(feature = "office")]
pub mod office_server;
pub mod process;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use image::{ImageFormat, Rgb, RgbImage};
use omni_core::cloud::Credentials;
use omni_core::{
    ContainerNumber, Inspection, InspectionId, Inspector, InspectorConfig, NewInspection, Photo,
    PhotoId, Timestamp,
};
use omni_endpoint::{EndpointConfig, FaultConfig, ModelChoice, RunningEndpoint, StatsSnapshot};

/// Sync settings for tests: retries after 10–100 ms, whole-queue and throttle pauses of
/// 20–200 ms, and giving up after `give_up_after_pauses` pauses in a row.
pub fn fast_sync_config(give_up_after_pauses: u32) -> omni_core::sync::SyncConfig {
    use omni_core::sync::{Backoff, SyncConfig};
    use std::time::Duration;
    let backoff = |base, cap| Backoff {
        base: Duration::from_millis(base),
        cap: Duration::from_millis(cap),
    };
    SyncConfig {
        backoff: backoff(10, 100),
        pause: backoff(20, 200),
        throttle: backoff(20, 200),
        give_up_after_pauses: Some(give_up_after_pauses),
        ..SyncConfig::default()
    }
}

/// Credentials the test endpoint accepts and the clients sign with.
pub fn test_credentials(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDOMNITEST".into(),
        secret_access_key: "omni-test-secret".into(),
        session_token: token.map(str::to_owned),
        expires_at: None,
    }
}

/// Lowercase hex SHA-256, computed independently of the core.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<workspace root>/<rel>`.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// `core/tests/fixtures/<rel>`: the fixtures (models, photos) the crates' tests share.
pub fn core_fixture(rel: &str) -> PathBuf {
    repo_path("core/tests/fixtures").join(rel)
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

    /// [`TestEndpoint::start`] without faults, checking `credentials`.
    pub fn accepting(model: ModelChoice, credentials: &Credentials) -> Self {
        Self::start(model, FaultConfig::default(), Some(credentials.clone()))
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

/// A real JPEG of `width`×`height` with content that depends on `seed`: the test photo of
/// every crate's tests (one generator, so a seed means the same picture everywhere).
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Jpeg)
}

/// A real PNG of `width`×`height`, the same picture as [`jpeg`] for a seed.
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Png)
}

/// A 64×48 [`jpeg`] cut to a third: its header reads, but the endpoint cannot decode it and
/// refuses it (400 ValidationError).
pub fn truncated_jpeg(seed: u32) -> Vec<u8> {
    let mut bytes = jpeg(64, 48, seed);
    bytes.truncate(bytes.len() / 3);
    bytes
}

fn encode(width: u32, height: u32, seed: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(7) ^ y.wrapping_mul(13) ^ seed.wrapping_mul(2_654_435_761);
        Rgb([
            (v & 0xff) as u8,
            ((v >> 8) & 0xff) as u8,
            (x + y + seed) as u8,
        ])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encode test image");
    bytes
}

/// The Python of the test venv (onnxruntime, numpy, moto, botocore, Pillow, cfn-lint):
/// `OMNI_TEST_PYTHON`, or `<workspace>/.venv/bin/python` (`bash scripts/test.sh` makes it).
/// A missing venv fails the calling test unless `OMNI_SKIP_PYTHON_TESTS` is set; then this
/// prints what is skipped and returns `None` (the test returns). See [`needs`].
pub fn test_python() -> Option<PathBuf> {
    needs::test_python_or_skip(&[])
}

/// Waits until `done()` holds, checking every `every`; panics with `what` (what was awaited)
/// when it still does not hold after `timeout`. The synchronisation of the tests: a sleep
/// that guesses how long something takes is flaky on a busy machine and slow on an idle one.
pub fn wait_until(
    what: &str,
    timeout: std::time::Duration,
    every: std::time::Duration,
    mut done: impl FnMut() -> bool,
) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

/// [`wait_until`] for async tests: awaits `done()` until it yields `true`, every `every`, and
/// panics with `what` after `timeout`.
pub async fn wait_until_async<F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    every: std::time::Duration,
    mut done: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(every).await;
    }
}

/// A property's case count: `default` in `cargo test`, proptest's own (`PROPTEST_CASES`)
/// when that is set (scripts/fuzz.sh).
pub fn proptest_cases(default: u32) -> proptest::test_runner::Config {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        proptest::test_runner::Config::default()
    } else {
        proptest::test_runner::Config::with_cases(default)
    }
}

/// Opens (creating) a store in `dir` with one new inspection of CSQU3054383.
pub fn store_with_inspection(dir: &Path) -> (Inspector, Inspection) {
    let inspector = Inspector::open(dir, InspectorConfig::default()).expect("open store");
    let inspection = inspector
        .create_inspection(NewInspection::new(
            ContainerNumber::parse("CSQU3054383").expect("container"),
        ))
        .expect("inspection");
    (inspector, inspection)
}

/// Adds `bytes` to `inspection` as a photo of the whole box taken now.
pub fn add_photo_now(
    inspector: &Inspector,
    inspection: InspectionId,
    bytes: &[u8],
) -> omni_core::Result<Photo> {
    inspector.add_photo(inspection, bytes, Timestamp::now(), omni_core::Face::Whole)
}

/// Opens (creating) a store in `dir` and adds `count` photos of one inspection.
pub fn fill_store(
    dir: &Path,
    count: u32,
    width: u32,
    height: u32,
) -> (Arc<Inspector>, Vec<PhotoId>) {
    let (inspector, inspection) = store_with_inspection(dir);
    let ids = (0..count)
        .map(|i| {
            add_photo_now(&inspector, inspection.id, &jpeg(width, height, i))
                .expect("add photo")
                .id
        })
        .collect();
    (Arc::new(inspector), ids)
}

/// The `omni` binary `bin` (the caller's `CARGO_BIN_EXE_omni`) on `data_dir`, with
/// `credentials` in its environment and no other endpoint settings.
pub fn omni_command(bin: &Path, data_dir: &Path, credentials: &Credentials) -> Command {
    let mut cmd = Command::new(bin);
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

/// All the inspections `office` holds (1000 at most).
#[cfg(feature = "office")]
pub fn office_inspections(
    office: &office_server::Office,
) -> Vec<omni_office::wire::InspectionSummary> {
    office
        .block_on(office.store.list(&omni_office::store::ListQuery {
            limit: 1000,
            ..Default::default()
        }))
        .expect("list the office's inspections")
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

/// A small tmpfs mounted on a temporary directory for the length of a test: a real file
/// system that fills up. Unmounted (lazily) on drop.
pub struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    /// Mounts a tmpfs of `bytes`. Needs the right to mount (root, as in CI): without it the
    /// test fails, unless `OMNI_SKIP_MOUNT_TESTS` is set, where it is skipped (`None`) with
    /// a note. See [`needs`].
    pub fn mount(bytes: u64) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes},mode=0700"))
            .arg("tmpfs")
            .arg(dir.path())
            .output();
        let mounted = match mounted {
            Ok(out) if out.status.success() => Ok(Self { dir }),
            Ok(out) => Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run mount: {e}")),
        };
        needs::require(
            mounted,
            "the right to mount a small tmpfs (the full-disk tests)",
            "run the tests as root, as scripts/test.sh does in CI",
            &[needs::SKIP_MOUNT],
        )
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` until the file system is full; returns the file (remove it to free
    /// the space).
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write as _;
        let path = self.dir.path().join(name);
        let mut file = std::fs::File::create(&path).expect("filler");
        let block = vec![0xa5u8; 4096];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // The last partial page too.
        while file.write(&[0xa5]).is_ok_and(|n| n == 1) {}
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A server on 127.0.0.1 that answers every request with `307 Temporary Redirect` to a
/// listener on another loopback address, which counts the connections it receives.
pub struct RedirectTrap {
    url: String,
    hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl RedirectTrap {
    /// Starts both; they run until the test process ends.
    pub fn start() -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let target = std::net::TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
        let target_url = format!("http://{}/steal", target.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in target.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("redirect trap runtime");
        let front = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", front.local_addr().expect("addr"));
        std::thread::spawn(move || {
            runtime.block_on(async move {
                while let Ok((stream, _)) = front.accept().await {
                    let location = target_url.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |request: hyper::Request<hyper::body::Incoming>| {
                                let location = location.clone();
                                async move {
                                    // Read whole, so the client (still sending) reads the answer.
                                    use http_body_util::BodyExt as _;
                                    let _ = request.into_body().collect().await;
                                    hyper::Response::builder()
                                        .status(307)
                                        .header("location", location)
                                        .header("connection", "close")
                                        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
                                }
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        Self { url, hits }
    }

    /// The redirecting server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections the redirect target received.
    pub fn target_hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Sends one HTTP/1.1 request as a plain client does (all of `body` written before anything
/// is read, as urllib or botocore do) to `addr`, and returns the response's status line and
/// headers. A server that answers before reading the body and closes makes the write fail
/// (broken pipe, reset): that is returned as the error.
pub fn raw_http_request(
    addr: std::net::SocketAddr,
    head: &[(String, String)],
    request_line: &str,
    body: &[u8],
) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let mut text = format!(
        "{request_line}\r\nhost: {addr}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in head {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("connection: close\r\n\r\n");
    stream.write_all(text.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed without an answer",
            ));
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Sends only the head of a request that announces `length` bytes and
/// `Expect: 100-continue`, and returns what the server answers before any body is sent.
pub fn raw_http_expect_continue(
    addr: std::net::SocketAddr,
    head: &[(String, String)],
    request_line: &str,
    length: usize,
) -> std::io::Result<String> {
    raw_http_head(addr, head, request_line, length, "expect: 100-continue\r\n")
}

/// Sends only the head of a request that announces `length` bytes and then nothing (a
/// client still about to send its body), and returns the answer's head: a server that reads
/// the body before it answers times out here (20 s) and that is the error.
pub fn raw_http_head_only(
    addr: std::net::SocketAddr,
    head: &[(String, String)],
    request_line: &str,
    length: usize,
) -> std::io::Result<String> {
    raw_http_head(addr, head, request_line, length, "")
}

fn raw_http_head(
    addr: std::net::SocketAddr,
    head: &[(String, String)],
    request_line: &str,
    length: usize,
    extra: &str,
) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20)))?;
    let mut text = format!("{request_line}\r\nhost: {addr}\r\ncontent-length: {length}\r\n{extra}");
    for (name, value) in head {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes())?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
