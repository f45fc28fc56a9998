//! One contract for `omni_office::store::Store`, run against both stores: the embedded one
//! (SQLite + files in a temporary directory) and the AWS one (DynamoDB + S3 on moto server on
//! 127.0.0.1, a fresh table and bucket per test). Each group below is one async function over
//! a [`Fixture`]; `contract!` makes one `#[tokio::test]` per store per group, so
//! `store_contract::embedded::photos` and `store_contract::dynamodb_s3::photos` run the very
//! same code. The rules are those of `docs/office.md` ("Idempotency", "Ids") and of the trait's
//! documentation.
//!
//! The DynamoDB + S3 runs need moto (the test venv's `moto[server]`): without it they fail,
//! unless `OMNI_SKIP_MOTO_TESTS` (or `OMNI_SKIP_PYTHON_TESTS`) is set, and then each prints
//! what it skipped.

mod detection;
mod faces;
mod inspections;
mod photos;
mod races;
mod reports;
mod reviews;
mod thumbnails;
mod verdicts;

use std::sync::Arc;

use omni_office::store::{Put, Store};
use omni_office::wire::{DetectStatus, Inspection, Photo, Verdict, VerdictSource};
use serde_json::value::RawValue;

use self::detection::{detect_status, stale_claims};
use self::faces::faces_and_kinds;
use self::inspections::{listing, revisions};
use self::photos::{photo_id_scope, photos, presigned_urls};
use self::races::races;
use self::reports::reports;
use self::reviews::{review_marks, review_races, reviews};
use self::thumbnails::thumbnails;
use self::verdicts::verdicts;

/// A store under test and what only some stores do.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    /// Whether the store hands out its own presigned photo URLs (S3), rather than leaving the
    /// API to serve the bytes (embedded).
    pub presigns: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

/// The embedded store in a fresh temporary directory.
fn embedded_store() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = omni_office::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    Fixture {
        store: Arc::new(store),
        presigns: false,
        _dir: Some(dir),
    }
}

/// The AWS store on the shared moto server, a table and bucket of its own; `None` (after
/// saying so) when moto cannot be reached and `OMNI_SKIP_MOTO_TESTS` says to skip.
async fn aws_store(group: &str) -> Option<Fixture> {
    let what = format!("store contract `{group}` on DynamoDB + S3 (moto)");
    let moto = crate::aws::shared_moto(&what)?;
    let store = crate::aws::store(moto, &format!("contract-{}", group.replace('_', "-"))).await;
    Some(Fixture {
        store: Arc::new(store),
        presigns: true,
        _dir: None,
    })
}

macro_rules! contract {
    ($($group:ident),* $(,)?) => {
        /// The contract on SQLite + files.
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $group() {
                    super::$group(&super::embedded_store()).await;
                }
            )*
        }

        /// The contract on DynamoDB + S3 (moto).
        mod dynamodb_s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $group() {
                    if let Some(fixture) = super::aws_store(stringify!($group)).await {
                        super::$group(&fixture).await;
                    }
                }
            )*
        }
    };
}

contract!(
    revisions,
    listing,
    photos,
    photo_id_scope,
    presigned_urls,
    verdicts,
    detect_status,
    stale_claims,
    races,
    faces_and_kinds,
    reports,
    reviews,
    review_marks,
    review_races,
    thumbnails,
);

/// A time the suite's records are made around.
pub const T0: i64 = 1_700_000_000_000;

/// A stored inspection: `id` of `container` created at `created_at_ms`, at `revision`, open,
/// located (with accuracy), received a second after `T0`.
pub fn inspection(id: &str, container: &str, created_at_ms: i64, revision: u64) -> Inspection {
    let put = crate::common::inspection(container, created_at_ms, revision);
    omni_office::validate::inspection(id, put, T0 + 1000).unwrap()
}

/// The record of a JPEG photo `id` of `inspection_id` with these bytes.
pub fn photo(inspection_id: &str, id: &str, bytes: &[u8], received_at_ms: i64) -> Photo {
    crate::common::photo_record(inspection_id, id, bytes, received_at_ms)
}

/// Stores inspection `id` (of `CONTAINER`, created at `T0`, revision 1).
pub async fn given_inspection(f: &Fixture, id: &str) {
    let put = f
        .store()
        .put_inspection(&inspection(id, crate::common::CONTAINER, T0, 1))
        .await;
    assert_eq!(put.unwrap(), Put::Created);
}

/// Stores photo `id` of `inspection_id` with the bytes of JPEG `seed`, received at `T0`, with
/// `status`; its record and bytes.
pub async fn given_photo(
    f: &Fixture,
    inspection_id: &str,
    id: &str,
    seed: u32,
    status: DetectStatus,
) -> (Photo, Vec<u8>) {
    let bytes = crate::common::jpeg(seed);
    let p = photo(inspection_id, id, &bytes, T0);
    let put = f.store().put_photo(&p, &bytes, status).await;
    assert_eq!(put.unwrap(), Put::Created);
    (p, bytes)
}

/// A verdict on `photo_id` by model `model_sha256`: a dent of `score` when `damage`, else
/// nothing found.
pub fn verdict(
    photo_id: &str,
    source: VerdictSource,
    model_sha256: &str,
    damage: Option<f32>,
    received_at_ms: i64,
) -> Verdict {
    let detections = match damage {
        Some(score) => format!(
            r#"[{{"class_id":0,"label":"dent","score":{score},"box":{{"x1":1.0,"y1":1.0,"x2":9.0,"y2":9.0}}}}]"#
        ),
        None => "[]".into(),
    };
    let response = format!(
        r#"{{"schema_version":1,"model":{{"name":"yolo11n","version":"7","sha256":"{model_sha256}"}},"image":{{"width":64,"height":48}},"inference_ms":3.0,"detections":{detections}}}"#
    );
    omni_office::validate::verdict(
        photo_id,
        source,
        RawValue::from_string(response).unwrap(),
        received_at_ms,
    )
    .unwrap()
}

/// Everything a verdict holds: photo, source, model name, version and SHA-256, damage,
/// response text, receive time.
pub type VerdictFields = (
    String,
    &'static str,
    String,
    String,
    String,
    bool,
    String,
    i64,
);

/// Everything a verdict holds, comparable.
pub fn fields(v: &Verdict) -> VerdictFields {
    (
        v.photo_id.clone(),
        v.source.as_str(),
        v.model_name.clone(),
        v.model_version.clone(),
        v.model_sha256.clone(),
        v.has_damage,
        v.response.get().to_owned(),
        v.received_at_ms,
    )
}
