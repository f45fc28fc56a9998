//! Bytes on the phone's link per photo: the yard office with detection on upload (one upload
//! per photo: the office archives it and answers its cloud verdict) against direct SageMaker
//! `InvokeEndpoint` plus a separate archive upload to the office (the photo crosses twice).
//!
//! Both runs sync the same phone (inspections, photos, edge verdicts taken offline) through
//! a counting proxy (no faults) in front of each server the phone talks to, and print bytes
//! sent and received per photo, requests per photo, and the wall time.
//!
//! Run with `cargo bench -p omni-e2e --bench office_bytes -- [photos] [width] [height]`
//! (defaults 12 1600 1200).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use omni_core::cloud::office_client::{OfficeClient, OfficeConfig};
use omni_core::cloud::runtime_client::{RuntimeClient, RuntimeConfig};
use omni_core::cloud::{CachedCredentials, ServiceUrl};
use omni_core::sync::{StopReason, SyncConfig, SyncEngine};
use omni_core::{
    ContainerNumber, Inspector, InspectorConfig, NewInspection, Timestamp, bundled_model,
};
use omni_e2e::fault_proxy::{FaultProxy, ProxyFaults, ProxyStats};
use omni_e2e::{ENDPOINT_NAME, REGION, TestEndpoint, test_credentials};
use omni_endpoint::{FaultConfig, ModelChoice};
use omni_office::store::ListQuery;

// The office server of the e2e tests (one copy; this bench uses part of it).
#[allow(dead_code)]
use omni_e2e::office_server::{Office, office_credentials};

const NO_FAULTS: ProxyFaults = ProxyFaults {
    drop_rate: 0.0,
    error_rate: 0.0,
    seed: 0,
};

fn arg(index: usize, default: u32) -> u32 {
    // `cargo bench` passes `--bench` to harness-less benches: skip flags.
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// A phone with `photos` photos over 3 inspections (two closed), edge verdicts stored.
/// Returns the photos' total size.
fn phone(dir: &Path, photos: u32, width: u32, height: u32) -> u64 {
    let inspector = Inspector::open(dir, InspectorConfig::default()).expect("open phone");
    let inspections: Vec<_> = ["CSQU3054383", "MSCU1234566", "CSQU3054383"]
        .into_iter()
        .map(|n| {
            inspector
                .create_inspection(NewInspection::new(
                    ContainerNumber::parse(n).expect("number"),
                ))
                .expect("inspection")
        })
        .collect();
    let mut total = 0;
    for i in 0..photos {
        let bytes = omni_e2e::jpeg(width, height, i);
        total += bytes.len() as u64;
        let inspection = &inspections[i as usize % inspections.len()];
        inspector
            .add_photo(
                inspection.id,
                &bytes,
                Timestamp::now(),
                omni_core::Face::Whole,
            )
            .expect("photo");
    }
    inspector
        .close_inspection(inspections[0].id)
        .expect("close");
    inspector
        .close_inspection(inspections[2].id)
        .expect("close");
    let edge = bundled_model::detector(&Default::default()).expect("edge model");
    let sha = bundled_model::manifest().expect("manifest").sha256;
    for photo in inspector.pending_detection(&sha, 10_000).expect("pending") {
        inspector.detect_photo(&edge, photo.id).expect("edge");
    }
    total
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn office_engine(inspector: Arc<Inspector>, url: &str) -> SyncEngine {
    let config = OfficeConfig::new(ServiceUrl::parse(url).expect("url"), REGION);
    let credentials = Arc::new(CachedCredentials::fixed(office_credentials()));
    SyncEngine::office(
        inspector,
        OfficeClient::new(config, credentials).expect("client"),
        SyncConfig::default(),
    )
}

fn run(engine: &SyncEngine) {
    let report = runtime().block_on(engine.run_until_idle()).expect("sync");
    assert_eq!(report.stopped, StopReason::Idle, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
}

/// Asserts the office holds `photos` photos.
fn assert_archived(office: &Office, photos: u32) {
    let listed = office
        .block_on(office.store.list(&ListQuery {
            limit: 1000,
            ..ListQuery::default()
        }))
        .expect("list");
    let held: u64 = listed.iter().map(|s| s.photo_count).sum();
    assert_eq!(held, u64::from(photos), "every photo archived");
}

fn line(what: &str, stats: &[ProxyStats], photos: u32, elapsed: Duration) {
    let up: u64 = stats.iter().map(|s| s.request_bytes).sum();
    let down: u64 = stats.iter().map(|s| s.answer_bytes).sum();
    let requests: u64 = stats.iter().map(|s| s.requests).sum();
    let n = f64::from(photos);
    println!(
        "| {what} | {:.0} | {:.0} | {:.2} | {:.1} |",
        up as f64 / n,
        down as f64 / n,
        requests as f64 / n,
        elapsed.as_secs_f64()
    );
}

fn main() {
    let (photos, width, height) = (arg(0, 12), arg(1, 1600), arg(2, 1200));
    let endpoint_credentials = test_credentials(None);
    let endpoint = TestEndpoint::start(
        ModelChoice::Bundled,
        FaultConfig::default(),
        Some(endpoint_credentials.clone()),
    );

    // Office with detection on upload: one link, the office's.
    let dir = tempfile::tempdir().expect("tempdir");
    let office_dir = tempfile::tempdir().expect("tempdir");
    let total = phone(dir.path(), photos, width, height);
    let office = Office::start(
        office_dir.path(),
        &office_credentials(),
        &endpoint.url(),
        &endpoint_credentials,
    );
    let proxy = FaultProxy::start(office.addr, NO_FAULTS);
    let inspector =
        Arc::new(Inspector::open(dir.path(), InspectorConfig::default()).expect("open"));
    let started = Instant::now();
    run(&office_engine(inspector, &proxy.url()));
    let with_detect = (proxy.stats(), started.elapsed());
    assert_archived(&office, photos);
    drop((office, proxy));

    // Direct SageMaker, then the archive upload (the office lane of a phone whose photos
    // are synced already: photos without detection, inspections, edge and cloud verdicts).
    let dir = tempfile::tempdir().expect("tempdir");
    let office_dir = tempfile::tempdir().expect("tempdir");
    phone(dir.path(), photos, width, height);
    let office = Office::start(
        office_dir.path(),
        &office_credentials(),
        &endpoint.url(),
        &endpoint_credentials,
    );
    let endpoint_addr = endpoint
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("endpoint address");
    let to_endpoint = FaultProxy::start(endpoint_addr, NO_FAULTS);
    let to_office = FaultProxy::start(office.addr, NO_FAULTS);
    let inspector =
        Arc::new(Inspector::open(dir.path(), InspectorConfig::default()).expect("open"));
    let started = Instant::now();
    let runtime_config = RuntimeConfig::new(
        ServiceUrl::parse(&to_endpoint.url()).expect("url"),
        ENDPOINT_NAME,
        REGION,
    );
    let client = RuntimeClient::new(
        runtime_config,
        Arc::new(CachedCredentials::fixed(endpoint_credentials)),
    )
    .expect("client");
    run(&SyncEngine::new(
        inspector.clone(),
        client,
        SyncConfig::default(),
    ));
    run(&office_engine(inspector, &to_office.url()));
    let direct = (to_endpoint.stats(), to_office.stats(), started.elapsed());
    assert_archived(&office, photos);

    println!(
        "{photos} photos of {width}x{height}, {:.0} bytes each on average",
        total as f64 / f64::from(photos)
    );
    println!("| path | bytes sent / photo | bytes received / photo | requests / photo | wall s |");
    println!("|---|---|---|---|---|");
    line(
        "office, detect on upload",
        &[with_detect.0],
        photos,
        with_detect.1,
    );
    line(
        "direct SageMaker + archive upload",
        &[direct.0, direct.1],
        photos,
        direct.2,
    );
    line("  of which InvokeEndpoint", &[direct.0], photos, direct.2);
    line(
        "  of which the office (archive)",
        &[direct.1],
        photos,
        direct.2,
    );
    let ratio = (direct.0.request_bytes + direct.1.request_bytes) as f64
        / with_detect.0.request_bytes as f64;
    println!("direct + archive sends {ratio:.2}x the bytes of the office with detect on upload");
}
