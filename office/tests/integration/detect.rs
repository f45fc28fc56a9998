//! Detection on upload through omni-endpoint (its library, on 127.0.0.1, SigV4 service
//! `sagemaker`, the bundled model): the photo is stored, the verdict comes back in the
//! response schema v1 and is stored; past the time budget the upload answers "pending" and
//! the verdict is collected later with GET.

use std::sync::Arc;
use std::time::Duration;

use omni_cloud::ServiceUrl;
use omni_cloud::runtime_client::RuntimeConfig;
use omni_endpoint::{EndpointConfig, FaultConfig, ModelChoice, RunningEndpoint};
use omni_office::detect::Detector;
use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_sigv4::Credentials;

use crate::common::{CONTAINER, REGION, TestOffice, inspection, jpeg};

const ENDPOINT: &str = "omni-inspector-yolo";

fn sagemaker_credentials() -> Credentials {
    Credentials {
        access_key_id: "AKIDSAGEMAKER".into(),
        secret_access_key: "sagemaker-secret".into(),
        session_token: None,
        expires_at: None,
    }
}

async fn endpoint(latency: Duration) -> RunningEndpoint {
    omni_endpoint::start(EndpointConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        endpoint_name: ENDPOINT.into(),
        region: REGION.into(),
        credentials: Some(sagemaker_credentials()),
        model: ModelChoice::Bundled,
        faults: FaultConfig {
            latency,
            ..FaultConfig::default()
        },
    })
    .await
    .unwrap()
}

fn detector(endpoint: &RunningEndpoint, budget: Duration) -> Detector {
    let url = ServiceUrl::parse(&endpoint.url()).unwrap();
    Detector::new(
        RuntimeConfig::new(url, ENDPOINT, REGION),
        sagemaker_credentials(),
        budget,
        false,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_with_detect_returns_and_stores_the_cloud_verdict() {
    let endpoint = endpoint(Duration::ZERO).await;
    let office = TestOffice::start(Some(detector(&endpoint, Duration::from_secs(60)))).await;
    let client = office.client();
    client
        .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 1))
        .await;
    let photo = omni_e2e::jpeg(320, 240, 3);
    let up = client.put_photo("insp-1", "p1", &photo, Some(true)).await;
    assert_eq!(up.status, 201, "{up:?}");
    let up = up.json();
    assert_eq!(up["detect_status"], "done", "{up}");
    let verdict = &up["verdict"];
    assert_eq!(verdict["source"], "cloud");
    // The response is schema v1, readable by the phones' parser, boxes in the photo's pixels.
    let response = serde_json::to_vec(&verdict["response"]).unwrap();
    let parsed = omni_protocol::response::parse(&response, (320, 240), (320, 240)).unwrap();
    assert_eq!(parsed.model.name, verdict["model_name"].as_str().unwrap());
    assert_eq!(endpoint.stats().answered, 1);

    // Stored: GET shows it, and a repeated upload neither calls the endpoint again nor
    // changes anything.
    let again = client.put_photo("insp-1", "p1", &photo, Some(true)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["detect_status"], "done");
    assert_eq!(endpoint.stats().answered, 1);
    let detail = client.get("/v1/inspections/insp-1").await.json();
    assert_eq!(detail["photos"][0]["detect_status"], "done");
    assert_eq!(detail["photos"][0]["verdicts"][0]["source"], "cloud");
    assert_eq!(
        detail["photos"][0]["verdicts"][0]["response"],
        verdict["response"]
    );

    // Without the header (and no default), no detection.
    let plain = client
        .put_photo("insp-1", "p2", &jpeg(4), None)
        .await
        .json();
    assert_eq!(plain["detect_status"], "none");
    assert_eq!(endpoint.stats().answered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_budget_the_upload_is_pending_and_the_verdict_arrives_later() {
    let endpoint = endpoint(Duration::from_millis(1500)).await;
    let office = TestOffice::start(Some(detector(&endpoint, Duration::from_millis(200)))).await;
    let client = office.client();
    client
        .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 1))
        .await;
    let up = client.put_photo("insp-1", "p1", &jpeg(5), Some(true)).await;
    assert_eq!(up.status, 201);
    let up = up.json();
    assert_eq!(up["detect_status"], "pending", "{up}");
    assert!(up.get("verdict").is_none());
    // The photo is already stored.
    assert_eq!(office.store.photos("insp-1").await.unwrap().len(), 1);
    let client = &client;
    omni_e2e::wait_until_async(
        "the late verdict (detect_status done)",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || async move {
            let detail = client.get("/v1/inspections/insp-1").await.json();
            let done = detail["photos"][0]["detect_status"] == "done";
            if done {
                assert_eq!(detail["photos"][0]["verdicts"][0]["source"], "cloud");
            }
            done
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failure_is_reported_and_the_photo_kept() {
    // Detection aimed at a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let detector = Detector::new(
        RuntimeConfig::new(ServiceUrl::parse(&url).unwrap(), ENDPOINT, REGION),
        sagemaker_credentials(),
        Duration::from_secs(30),
        true,
    )
    .unwrap();
    let office = TestOffice::start(Some(detector)).await;
    let client = office.client();
    client
        .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 1))
        .await;
    // Detected by default (no header).
    let up = client
        .put_photo("insp-1", "p1", &jpeg(6), None)
        .await
        .json();
    assert_eq!(up["detect_status"], "failed", "{up}");
    assert!(up["detect_error"].as_str().unwrap().contains("endpoint"));
    assert_eq!(office.store.photos("insp-1").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detection_cut_off_by_a_restart_runs_again_once_its_lease_ends() {
    let endpoint = endpoint(Duration::from_millis(1500)).await;
    let lease = Duration::from_secs(5);
    let with_lease = |budget| {
        let mut detector = detector(&endpoint, budget);
        detector.lease = lease;
        detector
    };
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let open = || -> Arc<dyn Store> { Arc::new(EmbeddedStore::open(dir.path()).unwrap()) };

    // The first office, on its own runtime, answers `pending` (budget 100 ms) and dies with
    // the detection in flight: every task ends, nothing is stored after the photo.
    let first_runtime = tokio::runtime::Runtime::new().unwrap();
    let first = first_runtime
        .spawn(TestOffice::start_with(
            dir.clone(),
            open(),
            Some(with_lease(Duration::from_millis(100))),
        ))
        .await
        .unwrap();
    let client = first.client();
    client
        .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 1))
        .await;
    let uploaded = tokio::time::Instant::now();
    let photo = jpeg(8);
    let up = client.put_photo("insp-1", "p1", &photo, Some(true)).await;
    assert_eq!(up.json()["detect_status"], "pending", "{up:?}");
    omni_e2e::wait_until_async(
        "the first office's detection to reach the endpoint",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || async { endpoint.stats().invocations > 0 },
    )
    .await;
    drop(first);
    first_runtime.shutdown_background();
    assert_eq!(endpoint.stats().invocations, 1);

    // The restarted office leaves it alone while the cut-off attempt's lease runs.
    let second = TestOffice::start_with(
        dir.clone(),
        open(),
        Some(with_lease(Duration::from_secs(30))),
    )
    .await;
    let client = second.client();
    let detail = client.get("/v1/inspections/insp-1").await.json();
    assert!(uploaded.elapsed() < lease, "the check ran within the lease");
    assert_eq!(detail["photos"][0]["detect_status"], "pending", "{detail}");
    assert_eq!(endpoint.stats().invocations, 1);

    // Reads during the lease leave it pending; the first read past the lease claims the
    // photo and detects it within its budget.
    let reads = &client;
    let endpoint_stats = || endpoint.stats();
    omni_e2e::wait_until_async(
        "a read past the lease to detect the photo",
        lease + Duration::from_secs(30),
        Duration::from_millis(100),
        || async move {
            let detail = reads.get("/v1/inspections/insp-1").await.json();
            if detail["photos"][0]["detect_status"] == "pending" {
                assert_eq!(
                    endpoint_stats().invocations,
                    1,
                    "detected again within the lease"
                );
                return false;
            }
            assert!(
                uploaded.elapsed() >= lease,
                "claimed again within the lease"
            );
            assert_eq!(detail["photos"][0]["detect_status"], "done", "{detail}");
            assert_eq!(detail["photos"][0]["verdicts"][0]["source"], "cloud");
            true
        },
    )
    .await;
    assert_eq!(endpoint.stats().invocations, 2);

    // Done: later reads and a repeated upload never call the endpoint again. (A sleep on
    // purpose: an absence has no condition to wait for; 50 ms for a stray call to show.)
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.get("/v1/inspections/insp-1").await;
    let again = client.put_photo("insp-1", "p1", &photo, Some(true)).await;
    assert_eq!(again.json()["detect_status"], "done");
    assert_eq!(endpoint.stats().invocations, 2);
}

/// An office without an endpoint archives a photo it is asked to detect: 201, status `none`,
/// the reason in the answer and in what it stores; the photo's bytes are kept and a repeat
/// answers the same.
#[tokio::test]
async fn an_office_without_detection_archives_what_it_is_asked_to_detect() {
    let office = TestOffice::start(None).await;
    let client = office.client();
    assert_eq!(
        client
            .put_inspection("insp-1", &inspection(CONTAINER, 1_000, 1))
            .await
            .status,
        201
    );
    let photo = jpeg(3);
    for (attempt, status) in [(1, 201), (2, 200)] {
        let answer = client.put_photo("insp-1", "p1", &photo, Some(true)).await;
        assert_eq!(
            answer.status,
            status,
            "attempt {attempt}: {:?}",
            answer.json()
        );
        let body = answer.json();
        assert_eq!(body["detect_status"], "none", "{body}");
        assert_eq!(
            body["detect_error"],
            omni_office::api::NO_DETECTOR,
            "{body}"
        );
        assert!(body.get("verdict").is_none(), "{body}");
    }
    let stored = office.store.photo("insp-1", "p1").await.unwrap().unwrap();
    assert_eq!(
        office.store.photo_bytes(&stored.photo).await.unwrap(),
        photo
    );
    let detail = client.get("/v1/inspections/insp-1").await.json();
    assert_eq!(detail["photos"][0]["detect_status"], "none", "{detail}");
    assert_eq!(
        detail["photos"][0]["detect_error"],
        omni_office::api::NO_DETECTOR
    );
    // Not asked: archived without a reason to give.
    let answer = client
        .put_photo("insp-1", "p2", &jpeg(4), Some(false))
        .await;
    assert_eq!(answer.status, 201);
    assert!(answer.json().get("detect_error").is_none());
}
