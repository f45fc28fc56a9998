//! The AWS store on moto server (DynamoDB + S3, started on a free port as the trainer's
//! tests start it): conditional writes refuse a duplicate and a stale update, the GSI finds
//! a container's inspections in date order, and the API serves presigned photo URLs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;

use omni_office::store::aws::AwsStore;
use omni_office::store::{ListQuery, Put, Store, StoreError};
use omni_office::wire::{DetectStatus, Inspection, Photo, Verdict, VerdictSource};
use serde_json::value::RawValue;

use crate::common::{CONTAINER, OTHER_CONTAINER, TestOffice, inspection, jpeg, photo_record};

/// moto server (the trainer's launcher script): killed and reaped on drop; it also exits
/// when its stdin closes.
/// moto's server (DynamoDB, S3) on a free port of 127.0.0.1, stopped on drop.
pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Moto {
    pub fn start(python: &Path) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../trainer/tests/servers/moto_ext.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("moto did not print its port: {line:?}"));
        Self {
            child,
            _stdin: stdin,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A store on a fresh table and bucket named after `tag`.
pub async fn store(moto: &Moto, tag: &str) -> AwsStore {
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "test");
    let region = aws_sdk_dynamodb::config::Region::new("us-east-1");
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(region.clone())
            .endpoint_url(&moto.url)
            .credentials_provider(credentials.clone())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(region)
            .endpoint_url(&moto.url)
            .credentials_provider(credentials)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("omni-office-{tag}");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = AwsStore::new(dynamo, s3, &format!("omni-office-{tag}"), &bucket);
    store.create_table().await.unwrap();
    store
}

fn stored(container: &str, id: &str, created_at_ms: i64, revision: u64) -> Inspection {
    let put = inspection(container, created_at_ms, revision);
    omni_office::validate::inspection(id, put, 1_700_000_000_000).unwrap()
}

fn photo(inspection_id: &str, id: &str, bytes: &[u8]) -> Photo {
    photo_record(inspection_id, id, bytes, 1_700_000_000_000)
}

fn verdict(photo_id: &str, score: f32) -> Verdict {
    let response = format!(
        r#"{{"schema_version":1,"model":{{"name":"m","version":"1","sha256":"aa"}},"image":{{"width":64,"height":48}},"inference_ms":3.0,"detections":[{{"class_id":0,"label":"dent","score":{score},"box":{{"x1":1.0,"y1":1.0,"x2":9.0,"y2":9.0}}}}]}}"#
    );
    omni_office::validate::verdict(
        photo_id,
        VerdictSource::Cloud,
        RawValue::from_string(response).unwrap(),
        1_700_000_000_000,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_refuse_duplicates_and_stale_updates() {
    let Some(python) = omni_e2e::test_python() else {
        return;
    };
    let moto = Moto::start(&python);
    let store = store(&moto, "conditional").await;

    let v1 = stored(CONTAINER, "insp-1", 1_700_000_000_000, 1);
    assert_eq!(store.put_inspection(&v1).await.unwrap(), Put::Created);
    // A retried request: unchanged, even with a later receive time.
    let retried = Inspection {
        received_at_ms: v1.received_at_ms + 5000,
        ..v1.clone()
    };
    assert_eq!(
        store.put_inspection(&retried).await.unwrap(),
        Put::Unchanged
    );
    // The same revision with other content: refused.
    let other = Inspection {
        inspector_id: "someone-else".into(),
        ..v1.clone()
    };
    assert!(matches!(
        store.put_inspection(&other).await,
        Err(StoreError::Conflict(_))
    ));
    let v3 = stored(CONTAINER, "insp-1", 1_700_000_000_000, 3);
    assert_eq!(store.put_inspection(&v3).await.unwrap(), Put::Updated);
    // A stale update (revision 2 after 3): refused, revision 3 stays.
    let v2 = stored(OTHER_CONTAINER, "insp-1", 1_700_000_000_000, 2);
    assert!(matches!(
        store.put_inspection(&v2).await,
        Err(StoreError::Conflict(_))
    ));
    let now = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!(now.inspection.revision, 3);
    assert_eq!(now.inspection.container_number, CONTAINER);
    assert_eq!(now.inspection.received_at_ms, v1.received_at_ms);

    // Photos: created once, a repeat unchanged, other bytes refused, none for a missing
    // inspection; the count follows.
    let bytes = jpeg(1);
    let p = photo("insp-1", "p1", &bytes);
    assert_eq!(
        store
            .put_photo(&p, &bytes, DetectStatus::None)
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(
        store
            .put_photo(&p, &bytes, DetectStatus::None)
            .await
            .unwrap(),
        Put::Unchanged
    );
    let other_bytes = jpeg(2);
    assert!(matches!(
        store
            .put_photo(
                &photo("insp-1", "p1", &other_bytes),
                &other_bytes,
                DetectStatus::None
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .put_photo(&photo("missing", "p9", &bytes), &bytes, DetectStatus::None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let summary = store.inspection("insp-1").await.unwrap().unwrap();
    assert_eq!((summary.photo_count, summary.has_damage), (1, false));
    assert_eq!(store.photo_bytes(&p).await.unwrap(), bytes);

    // Verdicts: created, repeated, another answer for the same key refused; damage marked.
    assert_eq!(
        store
            .put_verdict("insp-1", &verdict("p1", 0.5))
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(
        store
            .put_verdict("insp-1", &verdict("p1", 0.5))
            .await
            .unwrap(),
        Put::Unchanged
    );
    assert!(matches!(
        store.put_verdict("insp-1", &verdict("p1", 0.9)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.put_verdict("insp-1", &verdict("p9", 0.5)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .inspection("insp-1")
            .await
            .unwrap()
            .unwrap()
            .has_damage
    );
    assert_eq!(store.verdicts("insp-1").await.unwrap().len(), 1);
    store
        .set_detect_status(&p, DetectStatus::Failed, Some("endpoint down"))
        .await
        .unwrap();
    let again = store.photo("insp-1", "p1").await.unwrap().unwrap();
    assert_eq!(again.detect_status, DetectStatus::Failed);
    assert_eq!(again.detect_error.as_deref(), Some("endpoint down"));

    // A pending detection is claimed again only once its claim is stale, by one caller.
    crate::common::assert_stale_claims(&store, "insp-1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gsi_finds_a_containers_inspections_in_date_order() {
    let Some(python) = omni_e2e::test_python() else {
        return;
    };
    let moto = Moto::start(&python);
    let store = store(&moto, "gsi").await;
    for (id, container, at) in [
        ("b", CONTAINER, 1_700_000_300_000),
        ("a", CONTAINER, 1_700_000_100_000),
        ("x", OTHER_CONTAINER, 1_700_000_250_000),
        ("c", CONTAINER, 1_700_000_200_000),
    ] {
        store
            .put_inspection(&stored(container, id, at, 1))
            .await
            .unwrap();
    }
    let ids = |list: Vec<omni_office::wire::InspectionSummary>| {
        list.into_iter()
            .map(|s| s.inspection.id)
            .collect::<Vec<_>>()
    };
    let query = ListQuery {
        container: Some(CONTAINER.into()),
        limit: 100,
        ..ListQuery::default()
    };
    assert_eq!(ids(store.list(&query).await.unwrap()), ["b", "c", "a"]);
    let window = ListQuery {
        since_ms: Some(1_700_000_150_000),
        until_ms: Some(1_700_000_250_000),
        ..query.clone()
    };
    assert_eq!(ids(store.list(&window).await.unwrap()), ["c"]);
    let all = ListQuery {
        limit: 100,
        ..ListQuery::default()
    };
    assert_eq!(ids(store.list(&all).await.unwrap()), ["b", "x", "c", "a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_the_aws_store_serves_presigned_photo_urls() {
    let Some(python) = omni_e2e::test_python() else {
        return;
    };
    let moto = Moto::start(&python);
    let store: Arc<dyn Store> = Arc::new(store(&moto, "api").await);
    let office = TestOffice::start_with(Arc::new(tempfile::tempdir().unwrap()), store, None).await;
    let client = office.client();
    assert_eq!(
        client
            .put_inspection("insp-1", &inspection(CONTAINER, 1_700_000_000_000, 1))
            .await
            .status,
        201
    );
    let bytes = jpeg(7);
    assert_eq!(
        client.put_photo("insp-1", "p1", &bytes, None).await.status,
        201
    );
    client
        .put_photo("insp-1", "p1", &jpeg(8), None)
        .await
        .assert_error(409, "ConflictException");
    let detail = client.get("/v1/inspections/insp-1").await.json();
    let url = detail["photos"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&moto.url) && url.contains("X-Amz-Signature"),
        "{url}"
    );
    let fetched = reqwest::get(url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
}
