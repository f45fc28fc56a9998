//! `publish` and `keygen`: the device model (f16 NNEF by default, or int8 ONNX), the tract
//! check, the device-vs-float gate on a generated val set, Ed25519 signing and
//! `edge/latest.json` written last (and left alone when anything fails).

#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::shared_moto;
use ed25519_dalek::SigningKey;
use omni_core::detect::device_model::{self, DevicePrecision};
use omni_core::model_manifest::{TrustedKey, verify};
use omni_e2e::{core_fixture, repo_path};
use omni_trainer::TrainerError;
use omni_trainer::publish::{EdgePrecision, PublishOptions, latest_uri, publish};
use omni_trainer::s3uri::S3Uri;
use omni_trainer::train::{TrainOptions, start};

/// A generated yard val set (tools/datagen), once per test binary.
fn val_set(python: &Path) -> PathBuf {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("yard");
        let status = std::process::Command::new(python)
            .arg(repo_path("tools/datagen/generate_yard_dataset.py"))
            .args([
                "--out",
                out.to_str().unwrap(),
                "--seed",
                "7",
                "--train",
                "1",
                "--val",
                "16",
                "--imgsz",
                "320",
                "--workers",
                "1",
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        (tmp, out)
    })
    .1
    .clone()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

/// A copy of `model` whose ONNX metadata says `omni_model_version = version`.
fn restamp(model: &Path, version: &str, dir: &Path) -> PathBuf {
    use prost::Message;
    let mut proto =
        tract_onnx::pb::ModelProto::decode(std::fs::read(model).unwrap().as_slice()).unwrap();
    proto
        .metadata_props
        .retain(|p| p.key != "omni_model_version");
    proto
        .metadata_props
        .push(tract_onnx::pb::StringStringEntryProto {
            key: "omni_model_version".into(),
            value: version.into(),
        });
    let path = dir.join(format!("model-{version}.onnx"));
    std::fs::write(&path, proto.encode_to_vec()).unwrap();
    path
}

async fn job_with(
    c: &omni_trainer::aws::Clients,
    s: &omni_trainer::config::Settings,
    float: &Path,
    int8: &Path,
) -> String {
    let job = start(c, s, &TrainOptions::default()).await.unwrap().job;
    let uri = omni_trainer::artifacts::artifacts_uri(c, &job)
        .await
        .unwrap();
    let files = [
        ("model.onnx", std::fs::read(float).unwrap()),
        ("model-int8.onnx", std::fs::read(int8).unwrap()),
        (
            "metrics.json",
            b"{\"onnx\": {\"int8\": {\"mAP50-95\": 0.31}}}".to_vec(),
        ),
    ];
    common::put_model_tar_gz(c, &uri, &files).await;
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_signs_and_moves_latest_last_and_refuses_bad_models() {
    let Some(moto) = shared_moto() else { return };
    let python = common::test_python().unwrap();
    let val = val_set(&python);
    let (s, c) = common::moto_bucket_with_dataset(moto, "pub", 2, 1).await;
    let b = s.bucket.clone();
    let demo = repo_path("core/models/edge-model.onnx");
    let fixture_int8 = core_fixture("models/yolo11n-6cls-320-int8.onnx");
    let three_classes = core_fixture("models/detect-3-classes.onnx");
    let options = PublishOptions {
        precision: EdgePrecision::default(),
        data: val.clone(),
        version: None,
        threads: 2,
    };
    let latest = latest_uri(&s);
    let trusted: TrustedKey = key().verifying_key().into();

    let good = job_with(&c, &s, &demo, &demo).await;
    let first = publish(&c, &s, &good, &key(), &options).await.unwrap();
    assert_eq!(first.manifest.version.to_string(), "0.1.0");
    assert_eq!(first.previous_version, None);
    let envelope = omni_trainer::artifacts::get_object(&c, &latest)
        .await
        .unwrap();
    let manifest = verify(&envelope, std::slice::from_ref(&trusted)).unwrap();
    assert_eq!(manifest, first.manifest);
    assert_eq!(manifest.file, "0.1.0/model.nnef.tgz");
    assert_eq!(manifest.imgsz, 320);
    assert_eq!(manifest.precision, "float16");
    assert_eq!(manifest.training_job.as_deref(), Some(good.as_str()));
    let (float_map, device_map) = (
        manifest.metrics["mAP50-95"].as_f64().unwrap(),
        manifest.metrics["device_mAP50-95"].as_f64().unwrap(),
    );
    assert!(
        float_map > 0.1 && float_map - device_map <= 0.01,
        "{:?}",
        manifest.metrics
    );
    assert!(manifest.metrics["device_max_box_diff_px"].as_f64().unwrap() > 0.0);
    let model = omni_trainer::artifacts::get_object(
        &c,
        &S3Uri {
            bucket: b.clone(),
            key: "models/edge/0.1.0/model.nnef.tgz".into(),
        },
    )
    .await
    .unwrap();
    // The device format of the float model, byte for byte (the export is deterministic).
    let expected = device_model::export(&std::fs::read(&demo).unwrap(), DevicePrecision::Float16)
        .unwrap()
        .bytes;
    assert_eq!(model, expected);
    assert_eq!(manifest.size, model.len() as u64);
    assert_eq!(
        manifest.sha256,
        omni_trainer::dataset::hex(&<sha2::Sha256 as sha2::Digest>::digest(&model))
    );

    // The version comes from the model's metadata (devices check they agree): the same
    // model again is not newer; a model stamped 0.2.0 is published as 0.2.0.
    let err = publish(&c, &s, &good, &key(), &options).await.unwrap_err();
    assert!(err.to_string().contains("not newer"), "{err}");
    let stamped_dir = tempfile::tempdir().unwrap();
    let stamped = restamp(&demo, "0.2.0", stamped_dir.path());
    let newer = job_with(&c, &s, &stamped, &stamped).await;
    let mismatched = PublishOptions {
        version: Some(semver::Version::new(0, 3, 0)),
        ..options.clone()
    };
    let int8 = PublishOptions {
        precision: EdgePrecision::Int8,
        ..options.clone()
    };
    let err = publish(&c, &s, &newer, &key(), &mismatched)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("differs from the version"),
        "{err}"
    );
    // The int8 ONNX as it is, on request.
    let second = publish(&c, &s, &newer, &key(), &int8).await.unwrap();
    assert_eq!(second.manifest.version.to_string(), "0.2.0");
    assert_eq!(second.previous_version.as_deref(), Some("0.1.0"));
    assert_eq!(
        (
            second.manifest.file.as_str(),
            second.manifest.precision.as_str()
        ),
        ("0.2.0/model.onnx", "int8")
    );

    // The int8 gate fails (a much weaker int8 model): latest.json unchanged, nothing uploaded.
    let before = omni_trainer::artifacts::get_object(&c, &latest)
        .await
        .unwrap();
    let weak = job_with(&c, &s, &demo, &fixture_int8).await;
    let err = publish(&c, &s, &weak, &key(), &int8).await.unwrap_err();
    assert!(
        matches!(err, TrainerError::Gate(ref m) if m.contains("int8 mAP50-95")),
        "{err}"
    );
    // Wrong classes: refused by the edge pipeline, in either format.
    for (float, int8_model, opts) in [
        (&demo, &three_classes, &int8),
        (&three_classes, &demo, &options),
    ] {
        let wrong = job_with(&c, &s, float, int8_model).await;
        let err = publish(&c, &s, &wrong, &key(), opts).await.unwrap_err();
        assert!(
            matches!(err, TrainerError::Gate(ref m) if m.contains("classes")),
            "{err}"
        );
    }
    assert_eq!(
        omni_trainer::artifacts::get_object(&c, &latest)
            .await
            .unwrap(),
        before
    );
    let listed = omni_trainer::upload::list_remote(
        &c,
        &S3Uri {
            bucket: b.clone(),
            key: "models/edge/".into(),
        },
    )
    .await
    .unwrap();
    let mut keys: Vec<&String> = listed.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "models/edge/0.1.0/manifest.json",
            "models/edge/0.1.0/model.nnef.tgz",
            "models/edge/0.2.0/manifest.json",
            "models/edge/0.2.0/model.onnx",
            "models/edge/latest.json"
        ]
    );
}

#[test]
fn keygen_and_a_missing_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("edge-signing.key");
    let (ok, stdout, stderr) = common::cli(
        &["--json", "keygen", "--out", key_path.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let pair: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let public: TrustedKey = pair["public_key"].as_str().unwrap().parse().unwrap();
    assert_eq!(public.id().to_string(), pair["key_id"].as_str().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (ok, _, stderr) = common::cli(
        &["keygen", "--out", key_path.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert!(
        !ok && stderr.starts_with("omni-trainer: error:"),
        "never overwrites: {stderr}"
    );

    let (ok, _, stderr) = common::cli(&["publish", "some-job", "--data", "."], &[], dir.path());
    assert!(!ok);
    assert!(
        stderr.starts_with("omni-trainer: error: signing key: none given"),
        "{stderr}"
    );
    let env = vec![("OMNI_SIGNING_KEY".to_owned(), "dG9vIHNob3J0".to_owned())];
    let (ok, _, stderr) = common::cli(&["publish", "some-job", "--data", "."], &env, dir.path());
    assert!(
        !ok && stderr.contains("OMNI_SIGNING_KEY") && stderr.contains("expected 32"),
        "{stderr}"
    );
}

#[test]
fn device_model_writes_the_publish_format_and_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo_path("core/models/edge-model.onnx");
    let out = dir.path().join("model.nnef.tgz");
    let (ok, stdout, stderr) = common::cli(
        &[
            "--json",
            "device-model",
            "--model",
            demo.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["precision"], "float16");
    let written = std::fs::read(&out).unwrap();
    assert_eq!(summary["bytes"].as_u64(), Some(written.len() as u64));
    let expected = device_model::export(&std::fs::read(&demo).unwrap(), DevicePrecision::Float16)
        .unwrap()
        .bytes;
    assert_eq!(written, expected, "the same file publish ships");

    // Garbage in, a missing file, int8: one error line, nothing written.
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"not a model").unwrap();
    let refused = dir.path().join("refused.tgz");
    for args in [
        vec!["--model", garbage.to_str().unwrap()],
        vec!["--model", "/nonexistent/model.onnx"],
        vec!["--model", demo.to_str().unwrap(), "--precision", "int8"],
    ] {
        let mut full = vec!["device-model", "--out", refused.to_str().unwrap()];
        full.extend(args.iter().copied());
        let (ok, _, stderr) = common::cli(&full, &[], dir.path());
        assert!(!ok, "{args:?}");
        assert!(
            stderr.starts_with("omni-trainer: error:") && stderr.trim_end().lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(!refused.exists(), "{args:?}");
    }
}
