//! The web view's pages beside the JSON API that reads the same records (issue 23): the
//! inspection list (first page, 50), a container's history (one without photos, and the one
//! whose visit has P photos, shown as thumbnails) and an inspection page with P photos and
//! their boxes, each timed against the API request for the same data (the reference),
//! through `omni-office serve` (the real binary) over an embedded store filled with N
//! inspections. Requests one at a time, a signed-in reviewer's cookie on the pages, a SigV4
//! signature on the API. Then the thumbnails: the time to make one at upload (1600×1200 and
//! 4000×3000 JPEGs, T times each) and the bytes a browser loads for the container page with
//! its thumbnails against the same page loading the originals. Prints tables; asserts
//! nothing about time.
//!
//! `cargo bench -p omni-office --bench pages -- [inspections] [photos] [requests] [thumbnails]`
//! (defaults 20000 24 200 20).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use omni_cloud::office_client::{OfficeClient, OfficeConfig};
use omni_cloud::payload::Payload;
use omni_cloud::{CachedCredentials, ServiceUrl, SigV4Scope};
use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::{Face, VerdictSource};
use omni_sigv4::test_sign::signature_headers;

use common::{REGION, arg, container, credentials, filled, percentile, put};

const OFFICE: &str = env!("CARGO_BIN_EXE_omni-office");
/// Distinct containers in the filled store.
const CONTAINERS: usize = 500;
const PASSWORD: &str = "a bench password of some length";

/// `omni-office serve`, killed on drop.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let inspections = arg(0, 20_000);
    let photos = arg(1, 24);
    let requests = arg(2, 200);
    let thumbnails = arg(3, 20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(inspections, photos, requests));
    thumbnail_times(thumbnails);
}

async fn run(inspections: usize, photos: usize, requests: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    fill(dir.path(), inspections).await;
    let added = office(dir.path())
        .args(["users", "add", "ana", "--role", "reviewer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{PASSWORD}\n").as_bytes())?;
            child.wait()
        })
        .expect("users add");
    assert!(added.success(), "users add failed");
    let c = credentials();
    let mut child = office(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AWS_ACCESS_KEY_ID", &c.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
        .env(
            "AWS_SESSION_TOKEN",
            c.session_token.as_deref().unwrap_or_default(),
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("serve's first line");
    let _served = Served(child);
    let base = line
        .trim()
        .strip_prefix("omni-office listening on ")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_owned();
    let big = container(CONTAINERS + 1);
    let photo_bytes = upload(&base, &big, photos).await;
    let cookie = sign_in(&base).await;

    println!(
        "web pages vs the JSON API: embedded store with {inspections} inspections over \
         {CONTAINERS} containers; one inspection with {photos} photos ({photo_bytes} bytes \
         each, 3 boxes each); {requests} requests each, one at a time"
    );
    println!();
    println!("| request | p50 ms | p95 ms | bytes |");
    println!("| --- | --- | --- | --- |");
    let http = reqwest::Client::new();
    let visited = container(7);
    let pairs = [
        (
            "/inspections".to_owned(),
            "/v1/inspections?limit=50".to_owned(),
        ),
        (
            format!("/containers/{visited}"),
            format!("/v1/inspections?container={visited}&limit=100"),
        ),
        (
            format!("/containers/{big}"),
            format!("/v1/inspections?container={big}&limit=100"),
        ),
        (
            "/inspections/big".to_owned(),
            "/v1/inspections/big".to_owned(),
        ),
    ];
    for (page, api) in pairs {
        let (latencies, bytes) = time(requests, || {
            http.get(format!("{base}{page}"))
                .header("cookie", &cookie)
                .header("accept-language", "en")
        })
        .await;
        report(&format!("page `{page}`"), latencies, bytes);
        let (latencies, bytes) = time(requests, || signed(&http, &format!("{base}{api}"))).await;
        report(&format!("API `{api}` (reference)"), latencies, bytes);
    }
    image_bytes(&http, &base, &cookie, &big).await;
}

/// The bytes a browser loads for `container`'s page: the HTML and its images (the
/// thumbnails), against the same page loading each photo's original instead.
async fn image_bytes(http: &reqwest::Client, base: &str, cookie: &str, container: &str) {
    let get = |path: String| async move {
        let answer = http
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), 200, "{path}");
        answer.bytes().await.expect("a body").len()
    };
    let html = http
        .get(format!("{base}/containers/{container}"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("a body");
    let thumbs: Vec<String> = html
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|src| src.starts_with("/thumbs/"))
        .map(str::to_owned)
        .collect();
    let (mut small, mut originals) = (0, 0);
    for src in &thumbs {
        small += get(src.clone()).await;
        originals += get(src.replacen("/thumbs/", "/photos/", 1)).await;
    }
    println!();
    println!(
        "| container page `/containers/{container}` ({} images) | HTML bytes | image bytes | total |",
        thumbs.len()
    );
    println!("| --- | --- | --- | --- |");
    for (what, images) in [
        ("with thumbnails", small),
        ("loading the originals", originals),
    ] {
        println!(
            "| {what} | {} | {images} | {} |",
            html.len(),
            html.len() + images
        );
    }
}

/// The time to make one thumbnail (what an upload adds), `count` times per photo size.
fn thumbnail_times(count: usize) {
    println!();
    println!("| thumbnail of | photo bytes | thumbnail | p50 ms | p95 ms |");
    println!("| --- | --- | --- | --- | --- |");
    for (width, height) in [(1600, 1200), (4000, 3000)] {
        let photo = omni_e2e::jpeg(width, height, 9);
        let mut latencies = Vec::with_capacity(count);
        let mut made = None;
        for _ in 0..count.max(1) {
            let t = Instant::now();
            made = Some(omni_photo::scale::thumbnail(&photo).expect("a thumbnail"));
            latencies.push(t.elapsed());
        }
        latencies.sort();
        let made = made.expect("one thumbnail");
        println!(
            "| {width}×{height} JPEG | {} | {}×{}, {} bytes | {:.1} | {:.1} |",
            photo.len(),
            made.width,
            made.height,
            made.bytes.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
        );
    }
}

fn office(dir: &std::path::Path) -> Command {
    let mut command = Command::new(OFFICE);
    command
        .env_remove("OMNI_OFFICE_TABLE")
        .env_remove("OMNI_OFFICE_BUCKET")
        .env("OMNI_OFFICE_DATA", dir);
    command
}

/// `count` inspections straight into the store (8 writers), one a minute, over
/// [`CONTAINERS`] containers.
async fn fill(dir: &std::path::Path, count: usize) {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir).expect("the store"));
    let writers = 8;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (w..count).step_by(writers) {
                    let inspection = filled(n, CONTAINERS);
                    store.put_inspection(&inspection).await.expect("stored");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a writer");
    }
}

/// Inspection `big` of `container` with `photos` 1600 × 1200 photos, each with an edge
/// verdict of 3 boxes, sent as a phone sends them; the photo's size in bytes.
async fn upload(base: &str, container: &str, photos: usize) -> usize {
    let client = OfficeClient::new(
        OfficeConfig::new(ServiceUrl::parse(base).expect("a URL"), REGION),
        Arc::new(CachedCredentials::fixed(credentials())),
    )
    .expect("a client");
    let mut inspection = put(container.to_owned(), 1_800_000_000_000);
    inspection.kind = Some("damage-survey".into());
    client
        .put_inspection("big", &inspection)
        .await
        .expect("the inspection");
    let payload = Payload {
        bytes: omni_e2e::jpeg(1600, 1200, 3),
        content_type: "image/jpeg",
        sent_size: (1600, 1200),
        original_size: (1600, 1200),
    };
    let verdict = serde_json::json!({
        "schema_version": 1,
        "model": {"name": "omni-yolo11n-demo", "version": "1.0.0", "sha256": "ab".repeat(32)},
        "image": {"width": 1600, "height": 1200},
        "inference_ms": 12.5,
        "detections": [
            {"class_id": 0, "label": "dent", "score": 0.8,
             "box": {"x1": 100.0, "y1": 200.0, "x2": 400.0, "y2": 500.0}},
            {"class_id": 2, "label": "rust", "score": 0.7,
             "box": {"x1": 800.0, "y1": 100.0, "x2": 900.0, "y2": 300.0}},
            {"class_id": 3, "label": "scratch", "score": 0.6,
             "box": {"x1": 1000.0, "y1": 900.0, "x2": 1500.0, "y2": 1000.0}},
        ],
    })
    .to_string();
    for p in 0..photos {
        let id = format!("photo-{p}");
        client
            .upload_photo("big", &id, &payload, Face::Door, false)
            .await
            .expect("a photo");
        client
            .put_verdict("big", &id, VerdictSource::Edge, &verdict)
            .await
            .expect("a verdict");
    }
    payload.bytes.len()
}

/// Signs in `ana` through the form; the session cookie (`name=value`).
async fn sign_in(base: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let form = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("the sign-in page");
    let pre: Vec<String> = cookies(form.headers());
    let body = form.text().await.expect("a body");
    let at = body.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    let csrf = body[at..at + 64].to_owned();
    let answer = http
        .post(format!("{base}/login"))
        .header("cookie", pre.join("; "))
        .form(&[("user", "ana"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .expect("signed in");
    assert!(answer.status().is_redirection(), "{}", answer.status());
    cookies(answer.headers())
        .into_iter()
        .find(|c| c.starts_with("omni_session="))
        .expect("a session cookie")
}

fn cookies(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect()
}

fn signed(http: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    let scope = SigV4Scope {
        region: REGION.into(),
        service: "execute-api".into(),
    };
    let mut request = http.get(url);
    for (name, value) in signature_headers(
        &scope,
        &credentials(),
        "GET",
        url,
        &[],
        &[],
        SystemTime::now(),
    ) {
        request = request.header(name, value);
    }
    request
}

/// `count` requests made by `request`, one at a time: their latencies and the last body's
/// size. Every answer must be 200.
async fn time(
    count: usize,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(count);
    let mut bytes = 0;
    for _ in 0..count {
        let t = Instant::now();
        let answer = request().send().await.expect("an answer");
        assert_eq!(answer.status(), 200, "{}", answer.url());
        bytes = answer.bytes().await.expect("a body").len();
        latencies.push(t.elapsed());
    }
    latencies.sort();
    (latencies, bytes)
}

fn report(what: &str, latencies: Vec<Duration>, bytes: usize) {
    println!(
        "| {what} | {:.2} | {:.2} | {bytes} |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
    );
}
