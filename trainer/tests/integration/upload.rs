//! `dataset upload` against moto on 127.0.0.1: incremental, parallel, multipart, `--delete`,
//! counted HTTP requests, missing bucket and missing credentials.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{clients, settings, shared_moto, small_dataset, write};
use omni_trainer::TrainerError;
use omni_trainer::s3uri::S3Uri;
use omni_trainer::upload::{UploadOptions, list_remote, upload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_upload_sends_only_what_changed() {
    let Some(moto) = shared_moto() else { return };
    let (s, c) = common::moto_bucket(moto, "up").await;
    let b = s.bucket;
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), 20, 5); // 50 files + data.yaml
    let dest = S3Uri::parse(&format!("s3://{b}/datasets/talos-v1/")).unwrap();
    let opts = UploadOptions::default();

    let reports = std::sync::Mutex::new(Vec::new());
    let first = upload(&c, dir.path(), &dest, &opts, &|done, total| {
        reports.lock().unwrap().push((done, total));
    })
    .await
    .unwrap();
    assert_eq!(
        (first.local_files, first.uploaded, first.unchanged),
        (51, 51, 0)
    );
    // Progress: a start, then one report per file, ending with every byte done.
    let reports = reports.into_inner().unwrap();
    assert_eq!(reports.len(), 52);
    assert_eq!(reports[0], (0, first.bytes_uploaded));
    assert_eq!(reports[51], (first.bytes_uploaded, first.bytes_uploaded));
    assert!(reports.windows(2).all(|w| w[0].0 < w[1].0), "{reports:?}");
    assert_eq!(first.requests.get("PUT"), Some(&51));
    let remote = list_remote(&c, &dest).await.unwrap();
    assert_eq!(remote.len(), 51);
    assert!(remote.contains_key("datasets/talos-v1/train/images/img0.jpg"));
    assert!(remote.contains_key("datasets/talos-v1/data.yaml"));

    // Unchanged: one listing, zero PUTs.
    let again = upload(&c, dir.path(), &dest, &opts, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((again.uploaded, again.unchanged), (0, 51));
    assert_eq!(again.requests.get("PUT"), None, "{:?}", again.requests);
    assert_eq!(again.requests.get("GET"), Some(&1));

    // Same size, different content: the checksum catches it.
    let label = dir.path().join("train/labels/img0.txt");
    let text = std::fs::read_to_string(&label).unwrap();
    std::fs::write(&label, text.replace("0.25 0.25", "0.26 0.24")).unwrap();
    // A remote object without a local file is kept unless --delete.
    c.s3.put_object()
        .bucket(&b)
        .key("datasets/talos-v1/train/images/stale.jpg")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let changed = upload(&c, dir.path(), &dest, &opts, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (changed.uploaded, changed.remote_only, changed.deleted),
        (1, 1, 0)
    );
    assert_eq!(changed.requests.get("PUT"), Some(&1));
    assert!(
        list_remote(&c, &dest)
            .await
            .unwrap()
            .contains_key("datasets/talos-v1/train/images/stale.jpg")
    );

    let dry = upload(
        &c,
        dir.path(),
        &dest,
        &UploadOptions {
            delete: true,
            dry_run: true,
            ..opts.clone()
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(dry.deleted, 1);
    assert_eq!(list_remote(&c, &dest).await.unwrap().len(), 52);
    let deleted = upload(
        &c,
        dir.path(),
        &dest,
        &UploadOptions {
            delete: true,
            ..opts.clone()
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!((deleted.uploaded, deleted.deleted), (0, 1));
    assert_eq!(list_remote(&c, &dest).await.unwrap().len(), 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_go_up_in_parts_and_are_recognised_unchanged() {
    let Some(moto) = shared_moto() else { return };
    let (s, c) = common::moto_bucket(moto, "mp").await;
    let b = s.bucket;
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    write(&dir.path().join("weights/yolo11n.pt"), &big);
    write(&dir.path().join("data.yaml"), "names: [dent]\n");
    let dest = S3Uri::parse(&format!("s3://{b}/d")).unwrap();
    let opts = UploadOptions {
        part_size: 5 * 1024 * 1024,
        ..UploadOptions::default()
    };
    let first = upload(&c, dir.path(), &dest, &opts, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((first.uploaded, first.multipart), (2, 1));
    // PutObject for data.yaml + 3 UploadPart; Create/Complete are POSTs.
    assert_eq!(first.requests.get("PUT"), Some(&4), "{:?}", first.requests);
    let got =
        c.s3.get_object()
            .bucket(&b)
            .key("d/weights/yolo11n.pt")
            .send()
            .await
            .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        big.as_slice()
    );
    let again = upload(&c, dir.path(), &dest, &opts, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((again.uploaded, again.unchanged), (0, 2));
    assert_eq!(again.requests.get("PUT"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_a_typed_error() {
    let Some(moto) = shared_moto() else { return };
    let s = settings(&moto.url(), "no-such-bucket");
    let c = clients(&s).await;
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), 1, 1);
    let dest = S3Uri::parse("s3://no-such-bucket/x/").unwrap();
    let err = upload(&c, dir.path(), &dest, &UploadOptions::default(), &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, TrainerError::NoSuchBucket(ref name) if name == "no-such-bucket"),
        "{err}"
    );
}

#[test]
fn cli_upload_without_credentials_says_so() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), 1, 1);
    let env: Vec<(String, String)> = [
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ("AWS_REGION", "us-east-1"),
        ("OMNI_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let (ok, _, stderr) = common::cli(
        &[
            "dataset",
            "upload",
            dir.path().to_str().unwrap(),
            "s3://b/x/",
        ],
        &env,
        dir.path(),
    );
    assert!(!ok);
    assert!(
        stderr.starts_with("omni-trainer: error: no AWS credentials:"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn cli_upload_to_moto_then_no_change() {
    let Some(moto) = shared_moto() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = rt.block_on(common::moto_bucket(moto, "cli")).0.bucket;
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), 3, 1);
    let env = common::cli_env(&moto.url(), &b);
    let d = dir.path().to_str().unwrap();
    let (ok, stdout, stderr) = common::cli(&["--json", "dataset", "upload", d], &env, dir.path());
    assert!(ok, "{stderr}");
    let first: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(first["destination"], format!("s3://{b}/datasets/talos-v1/"));
    assert_eq!(first["uploaded"], 9);
    let (ok, stdout, _) = common::cli(&["--json", "dataset", "upload", d], &env, dir.path());
    assert!(ok);
    let again: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(again["uploaded"], 0);
    assert!(again["requests"].get("PUT").is_none());
}
