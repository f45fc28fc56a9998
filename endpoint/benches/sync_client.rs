//! Sync client overhead: `omni-core`'s sync engine drains N queued photos to the local
//! endpoint (a separate process, so CPU is accounted per side) and prints a table: wall
//! time, photos/s, client CPU share of wall time, and client RSS before/after/peak.
//! With `OMNI_TEST_PYTHON` set it runs the same uploads with botocore's
//! `sagemaker-runtime` client as the reference, side by side.
//!
//! `cargo bench -p omni-endpoint --bench sync_client -- [PHOTOS]` (default 10000).

use std::io::{BufRead, BufReader, Cursor};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageBuffer, Rgb};
use omni_core::cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_core::cloud::{CachedCredentials, Credentials, ServiceUrl};
use omni_core::sync::{SyncConfig, SyncEngine};

const KEY: &str = "AKIDBENCH";
const SECRET: &str = "bench-secret";

/// CPU seconds (user + system) of a process, from /proc/<pid>/stat.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the comm.
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0
}

/// (VmRSS, VmHWM) in MiB of this process.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([
            ((x + seed) % 256) as u8,
            ((y * 3 + seed) % 256) as u8,
            ((x ^ y) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut out), 85)
        .encode_image(&img)
        .expect("encode");
    out
}

struct Endpoint {
    child: Child,
    url: String,
}

impl Endpoint {
    fn start(latency_ms: u64) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_omni-endpoint"))
            .args(["--listen", "127.0.0.1:0", "--model", "null", "--latency-ms"])
            .arg(latency_ms.to_string())
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_SESSION_TOKEN")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start omni-endpoint");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("endpoint banner");
        let url = line.trim().trim_start_matches("listening on ").to_owned();
        Self { child, url }
    }

    fn cpu(&self) -> f64 {
        cpu_seconds(&self.child.id().to_string())
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Row {
    client: &'static str,
    latency_ms: u64,
    photos: u64,
    wall: f64,
    client_cpu: f64,
    server_cpu: f64,
    rss: Option<(f64, f64, f64)>,
}

fn ours(photos: u32, photo: &[u8], latency_ms: u64) -> Row {
    let dir = tempfile::tempdir().expect("tempdir");
    let (inspector, inspection) = omni_e2e::store_with_inspection(dir.path());
    for _ in 0..photos {
        omni_e2e::add_photo_now(&inspector, inspection.id, photo).expect("add photo");
    }
    let endpoint = Endpoint::start(latency_ms);
    let credentials = Arc::new(CachedCredentials::fixed(Credentials {
        access_key_id: KEY.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
        expires_at: None,
    }));
    let config = RuntimeConfig::new(
        ServiceUrl::parse(&endpoint.url).expect("url"),
        "omni-inspector-yolo",
        "us-east-1",
    );
    let client = RuntimeClient::new(config, credentials).expect("client");
    let engine = SyncEngine::new(Arc::new(inspector), client, SyncConfig::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (rss_before, _) = rss_mib();
    let (cpu0, server0) = (cpu_seconds("self"), endpoint.cpu());
    let started = Instant::now();
    let report = runtime.block_on(engine.run_until_idle()).expect("sync");
    let wall = started.elapsed().as_secs_f64();
    let (cpu1, server1) = (cpu_seconds("self"), endpoint.cpu());
    let (rss_after, peak) = rss_mib();
    assert_eq!(report.synced, u64::from(photos), "{report:?}");
    Row {
        client: "omni-core sync engine",
        latency_ms,
        photos: u64::from(photos),
        wall,
        client_cpu: cpu1 - cpu0,
        server_cpu: server1 - server0,
        rss: Some((rss_before, rss_after, peak)),
    }
}

/// The reference: botocore's sagemaker-runtime client, 2 threads, same photo and endpoint.
fn botocore(python: &str, photos: u32, photo: &[u8], latency_ms: u64) -> Option<Row> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, photo).ok()?;
    let endpoint = Endpoint::start(latency_ms);
    let script = r#"
import sys, time, resource, botocore.session
from concurrent.futures import ThreadPoolExecutor
url, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = open(path, 'rb').read()
client = botocore.session.get_session().create_client(
    'sagemaker-runtime', endpoint_url=url, region_name='us-east-1')
def one(i):
    r = client.invoke_endpoint(EndpointName='omni-inspector-yolo', Body=body,
        ContentType='image/jpeg', Accept='application/json',
        CustomAttributes='photo-id=%d' % i)
    return len(r['Body'].read())
client.invoke_endpoint(EndpointName='omni-inspector-yolo', Body=body, ContentType='image/jpeg')
u0 = resource.getrusage(resource.RUSAGE_SELF); t0 = time.perf_counter()
with ThreadPoolExecutor(2) as pool:
    list(pool.map(one, range(n)))
t1 = time.perf_counter(); u1 = resource.getrusage(resource.RUSAGE_SELF)
print(t1 - t0, (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime))
"#;
    let server0 = endpoint.cpu();
    let output = Command::new(python)
        .args(["-c", script, &endpoint.url, &photos.to_string()])
        .arg(&path)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "botocore reference failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut numbers = text
        .split_whitespace()
        .filter_map(|v| v.parse::<f64>().ok());
    let (wall, client_cpu) = (numbers.next()?, numbers.next()?);
    Some(Row {
        client: "botocore (Python, 2 threads)",
        latency_ms,
        photos: u64::from(photos),
        wall,
        client_cpu,
        server_cpu: endpoint.cpu() - server0,
        rss: None,
    })
}

fn main() {
    let photos: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let photo = jpeg(1280, 960, 1);
    let python = std::env::var("OMNI_TEST_PYTHON").ok();
    println!(
        "sync_client: {photos} photos of {} KiB (1280x960 JPEG, sent as-is), concurrency 2, endpoint = omni-endpoint --model null in its own process, SigV4 on",
        photo.len() / 1024
    );
    println!(
        "| client | model latency | photos | wall s | photos/s | client CPU s | client CPU / wall | endpoint CPU s | RSS before → after (peak) MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for latency_ms in [0, 50] {
        let mut rows = vec![ours(photos, &photo, latency_ms)];
        if let Some(python) = &python {
            rows.extend(botocore(python, photos, &photo, latency_ms));
        }
        for row in rows {
            let rss = row
                .rss
                .map(|(a, b, p)| format!("{a:.1} → {b:.1} ({p:.1})"))
                .unwrap_or_else(|| "n/a".into());
            println!(
                "| {} | {} ms | {} | {:.2} | {:.0} | {:.2} | {:.1}% | {:.2} | {} |",
                row.client,
                row.latency_ms,
                row.photos,
                row.wall,
                row.photos as f64 / row.wall,
                row.client_cpu,
                100.0 * row.client_cpu / row.wall,
                row.server_cpu,
                rss
            );
        }
    }
}
