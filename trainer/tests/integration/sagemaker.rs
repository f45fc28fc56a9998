//! `train`, `wait`, `deploy` against moto (with our UpdateEndpoint extension) and the
//! job-states server on 127.0.0.1; SageMaker's part (writing model.tar.gz) is played by the
//! test with real model files.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use aws_sdk_sagemaker::types::TrainingJobStatus;
use common::{bucket, clients, settings, shared_moto};
use omni_e2e::repo_path;
use omni_trainer::TrainerError;
use omni_trainer::deploy::{DeployOptions, deploy};
use omni_trainer::s3uri::S3Uri;
use omni_trainer::train::{TrainOptions, start};
use omni_trainer::wait::{Backoff, wait};

fn fast() -> Backoff {
    Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        factor: 2.0,
        timeout: Duration::from_secs(10),
    }
}

fn metrics_json(map50_95: f64) -> Vec<u8> {
    serde_json::json!({"schema": "omni-train-metrics/1", "model_name": "yolo11n-omni-damage", "model_version": "0.2.0",
        "onnx": {"float": {"mAP50": 0.75, "mAP50-95": map50_95}, "int8": {"mAP50": 0.71, "mAP50-95": map50_95 - 0.01}}})
    .to_string()
    .into_bytes()
}

/// Plays SageMaker: writes the job's model.tar.gz where DescribeTrainingJob says it is.
/// The endpoint configuration `endpoint` is serving now.
async fn endpoint_config_in_use(c: &omni_trainer::aws::Clients, endpoint: &str) -> String {
    c.sagemaker
        .describe_endpoint()
        .endpoint_name(endpoint)
        .send()
        .await
        .unwrap()
        .endpoint_config_name()
        .unwrap()
        .to_owned()
}

pub(crate) async fn complete_job(c: &omni_trainer::aws::Clients, job: &str, map50_95: f64) {
    let uri = omni_trainer::artifacts::artifacts_uri(c, job)
        .await
        .unwrap();
    let model = std::fs::read(repo_path("core/models/edge-model.onnx")).unwrap();
    let files = [
        ("best.pt", b"not really torch weights".to_vec()),
        ("model.onnx", model.clone()),
        ("model-int8.onnx", model),
        ("metrics.json", metrics_json(map50_95)),
    ];
    common::put_model_tar_gz(c, &uri, &files).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_packages_the_scripts_and_starts_a_spot_job() {
    let Some(moto) = shared_moto() else { return };
    let (s, c) = common::moto_bucket_with_dataset(moto, "train", 4, 2).await;
    let started = start(
        &c,
        &s,
        &TrainOptions {
            model_version: Some("0.2.0".into()),
            ..TrainOptions::default()
        },
    )
    .await
    .unwrap();
    let second = start(&c, &s, &TrainOptions::default()).await.unwrap();
    assert_ne!(started.job, second.job, "names are unique");
    // Without --model-version the models are stamped with the next version to publish
    // (nothing published in this bucket yet: 0.1.0).
    assert_eq!(second.hyperparameters["model-version"], "\"0.1.0\"");
    assert!(started.job.starts_with("omni-yolo11n-"));

    let d = c
        .sagemaker
        .describe_training_job()
        .training_job_name(&started.job)
        .send()
        .await
        .unwrap();
    assert_eq!(d.enable_managed_spot_training(), Some(true));
    let stop = d.stopping_condition().unwrap();
    assert_eq!(
        (
            stop.max_runtime_in_seconds(),
            stop.max_wait_time_in_seconds()
        ),
        (Some(14_400), Some(18_000))
    );
    let checkpoint = d.checkpoint_config().unwrap();
    assert_eq!(checkpoint.local_path(), Some("/opt/ml/checkpoints"));
    assert_eq!(
        checkpoint.s3_uri().unwrap(),
        format!("s3://{}/checkpoints/{}/", s.bucket, started.job)
    );
    let channel = &d.input_data_config()[0];
    assert_eq!(channel.channel_name(), Some("training"));
    assert_eq!(
        channel
            .data_source()
            .unwrap()
            .s3_data_source()
            .unwrap()
            .s3_uri()
            .unwrap(),
        format!("s3://{}/datasets/talos-v1/", s.bucket)
    );
    assert_eq!(
        d.output_data_config().unwrap().s3_output_path().unwrap(),
        format!("s3://{}/models/yolo-finetuned/", s.bucket)
    );
    assert_eq!(
        d.resource_config()
            .unwrap()
            .instance_type()
            .unwrap()
            .as_str(),
        "ml.g4dn.xlarge"
    );
    assert_eq!(
        d.algorithm_specification().unwrap().training_image(),
        Some("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0.0-gpu-py310")
    );
    let hp = d.hyper_parameters().unwrap();
    assert_eq!(hp["sagemaker_program"], "\"train.py\"");
    assert_eq!(
        hp["sagemaker_submit_directory"],
        format!("\"{}\"", started.source)
    );
    assert_eq!(hp["epochs"], "100");
    assert_eq!(hp["batch"], "16");
    assert_eq!(hp["imgsz"], "640");
    assert_eq!(hp["mixup"], "0.15");
    assert_eq!(hp["degrees"], "20.0");
    assert_eq!(hp["model-version"], "\"0.2.0\"");
    // The packaged scripts are the repo's.
    let tarball = omni_trainer::artifacts::get_object(&c, &S3Uri::parse(&started.source).unwrap())
        .await
        .unwrap();
    let files = omni_trainer::sourcedir::untar_gz(&tarball).unwrap();
    let train_py = std::fs::read(common::trainer_dir().join("sagemaker/train.py")).unwrap();
    assert!(files.iter().any(|(n, b)| n == "train.py" && *b == train_py));
    assert!(files.iter().any(|(n, _)| n == "tract_surgery.py"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_refuses_a_missing_data_set_or_bucket() {
    let Some(moto) = shared_moto() else { return };
    let b = bucket("nodata");
    let s = settings(&moto.url(), &b);
    let c = clients(&s).await;
    let err = start(&c, &s, &TrainOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, TrainerError::NoSuchBucket(ref name) if *name == b),
        "{err}"
    );
    common::create_bucket(&c, &b).await;
    let err = start(&c, &s, &TrainOptions::default()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("datasets/talos-v1/data.yaml not found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_and_deploy_refuse_a_region_without_a_published_image() {
    // eu-isoe-west-1 exists, but the SDK's table has no PyTorch image there. Nothing listens
    // on the endpoint: the refusal comes before any AWS call (else the error would be one).
    let s = omni_trainer::config::SettingsLayer {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: Some("eu-isoe-west-1".into()),
        ..omni_trainer::config::SettingsLayer::default()
    }
    .resolve();
    let c = clients(&s).await;
    let err = start(&c, &s, &TrainOptions::default()).await.unwrap_err();
    assert!(
        matches!(&err, TrainerError::UnknownRegion { region, framework, .. } if region == "eu-isoe-west-1" && framework == "2.0.0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("ap-northeast-3"), "{err}");
    let err = deploy(&c, &s, "some-job", &DeployOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TrainerError::UnknownRegion { .. }),
        "{err:?}"
    );
    // An explicit image is used as given, in any region: train goes on to its first call.
    let explicit = omni_trainer::config::SettingsLayer {
        training_image: Some("123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk/own:1".into()),
        ..omni_trainer::config::SettingsLayer::default()
    }
    .over(omni_trainer::config::SettingsLayer {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: Some("eu-isoe-west-1".into()),
        ..omni_trainer::config::SettingsLayer::default()
    })
    .resolve();
    let err = start(&c, &explicit, &TrainOptions::default())
        .await
        .unwrap_err();
    assert!(
        !matches!(&err, TrainerError::UnknownRegion { .. }),
        "{err:?}"
    );
}

/// Prints, from the test venv's SageMaker Python SDK, its PyTorch image table (the
/// `training` and `inference` scopes) and `image_uris.retrieve` for every region of the
/// framework version; exits 3 when the SDK is not installed.
const SDK_IMAGES: &str = r#"
import json, sys
from pathlib import Path
try:
    import sagemaker.core as package
    from sagemaker.core import image_uris
except ImportError:
    try:
        import sagemaker as package
        from sagemaker import image_uris
    except ImportError:
        sys.exit(3)
framework, py, gpu, cpu = sys.argv[1:5]
path = Path(package.__file__).parent / "image_uri_config" / "pytorch.json"
table = json.loads(path.read_text())
def retrieve(region, scope, instance):
    return image_uris.retrieve("pytorch", region=region, version=framework, py_version=py,
                               instance_type=instance, image_scope=scope)
regions = sorted(set(table["training"]["versions"][framework]["registries"])
                 | set(table["inference"]["versions"][framework]["registries"]))
print(json.dumps({
    "path": str(path),
    "training": table["training"],
    "inference": table["inference"],
    "uris": {r: [retrieve(r, "training", gpu), retrieve(r, "training", cpu),
                 retrieve(r, "inference", cpu)] for r in regions},
}))
"#;

#[test]
fn images_match_the_sagemaker_sdk() {
    let Some(python) = common::test_python() else {
        return;
    };
    let s = settings("http://127.0.0.1:9", "unused");
    let (framework, py) = (&s.framework_version, &s.py_version);
    let (gpu, cpu) = (s.instance_type.as_str(), "ml.m5.xlarge");
    let out = std::process::Command::new(&python)
        .args(["-c", SDK_IMAGES, framework, py, gpu, cpu])
        .output()
        .unwrap();
    let sdk = if out.status.code() == Some(3) {
        Err(format!(
            "{} imports neither sagemaker.core nor sagemaker",
            python.display()
        ))
    } else {
        Ok(())
    };
    let needs = omni_e2e::needs::HOW_TO_GET;
    let skip = [omni_e2e::needs::SKIP_PYTHON];
    let Some(()) = omni_e2e::needs::require(
        sdk,
        "the SageMaker Python SDK (sagemaker-core, tools/requirements-test.txt) in the test venv",
        needs,
        &skip,
    ) else {
        return;
    };
    omni_e2e::process::assert_success(&out);
    let sdk: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The vendored table is the SDK's, verbatim.
    let vendored: serde_json::Value =
        serde_json::from_str(omni_trainer::images::PYTORCH_TABLE).unwrap();
    for scope in ["training", "inference"] {
        assert!(
            vendored[scope] == sdk[scope],
            "trainer/src/images/pytorch.json ({}) differs from {} in {scope}: regenerate it with .venv/bin/python trainer/src/images/update.py",
            vendored["source"],
            sdk["path"]
        );
    }
    // And the URIs built from it are the SDK's, region by region, domain included.
    let uris = sdk["uris"].as_object().unwrap();
    assert!(uris.len() >= 40, "{}", uris.len());
    for (region, expected) in uris {
        let ours = [
            omni_trainer::images::training_image(region, framework, py, gpu).unwrap(),
            omni_trainer::images::training_image(region, framework, py, cpu).unwrap(),
            omni_trainer::images::inference_image(region, framework, py).unwrap(),
        ];
        assert_eq!(serde_json::json!(ours), *expected, "{region}");
    }
    // The accounts the hand-written table had wrong.
    assert!(
        uris["ap-northeast-3"][0]
            .as_str()
            .unwrap()
            .starts_with("364406365360.")
    );
    assert!(
        uris["ca-west-1"][2]
            .as_str()
            .unwrap()
            .starts_with("204538143572.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_follows_transitions_with_backoff_and_reports_the_run() {
    let Some(moto) = shared_moto() else { return };
    let python = common::test_python().unwrap();
    let (mut s, c) = common::moto_bucket_with_dataset(moto, "wait", 4, 2).await;
    let artifacts = format!(
        "s3://{}/models/yolo-finetuned/progress-1/output/model.tar.gz",
        s.bucket
    );
    let model = std::fs::read(repo_path("core/models/edge-model.onnx")).unwrap();
    let files = [
        ("model-int8.onnx", model),
        ("metrics.json", metrics_json(0.33)),
    ];
    common::put_model_tar_gz(&c, &S3Uri::parse(&artifacts).unwrap(), &files).await;

    let states = common::Server::start(&python, "job_states.py", &[&artifacts]);
    s.sagemaker_endpoint_url = Some(states.url());
    let c = clients(&s).await;
    let mut seen = Vec::new();
    let summary = wait(&c, "progress-1", &fast(), |t| {
        seen.push(t.secondary.clone())
    })
    .await
    .unwrap();
    assert_eq!(summary.status, "Completed");
    assert_eq!(seen, ["Starting", "Downloading", "Training", "Completed"]);
    assert_eq!(summary.polls, 4);
    assert_eq!(
        (summary.training_seconds, summary.billable_seconds),
        (Some(4000), Some(1200))
    );
    assert!((summary.spot_saving_percent.unwrap() - 70.0).abs() < 1e-9);
    let metrics = summary.metrics.unwrap();
    assert_eq!(metrics["onnx"]["float"]["mAP50-95"], 0.33);

    // A failed job: non-zero with SageMaker's FailureReason.
    let err = wait(&c, "fail-1", &fast(), |_| {}).await.unwrap_err();
    match err {
        TrainerError::JobFailed { status, reason, .. } => {
            assert_eq!(status, "Failed");
            assert!(reason.contains("no data.yaml"), "{reason}");
        }
        other => panic!("{other}"),
    }

    // A job that never ends: the timeout, with polls spaced by a growing interval.
    let backoff = Backoff {
        timeout: Duration::from_millis(1500),
        ..fast()
    };
    let started = std::time::Instant::now();
    let err = wait(&c, "stuck-1", &backoff, |_| {}).await.unwrap_err();
    assert!(matches!(err, TrainerError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let calls: Vec<f64> = reqwest_free_get(&format!("{}/calls/stuck-1", states.url()));
    let gaps: Vec<f64> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    // 50 ms (after the first, changed, poll), then 100, 200, 200, ... (cap).
    assert!(gaps.len() >= 5, "{gaps:?}");
    assert!(gaps[0] >= 0.045 && gaps[0] < 0.15, "{gaps:?}");
    assert!(gaps[1] >= 0.095, "{gaps:?}");
    assert!(
        gaps[2] >= 0.19 && gaps.iter().all(|g| *g < 0.35),
        "{gaps:?}"
    );
}

/// GET a JSON body with std only (no HTTP client crate in the tests).
fn reqwest_free_get<T: serde::de::DeserializeOwned>(url: &str) -> T {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

/// POST JSON with std only.
fn post_json(url: &str, body: &str) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.0 20") || response.starts_with("HTTP/1.1 20"),
        "{response}"
    );
}

/// The handler's own response builder (trainer/sagemaker/inference.py) for the sample photo.
pub(crate) fn handler_response(python: &std::path::Path) -> String {
    let script = format!(
        "import json, sys; sys.path.insert(0, {dir:?}); import inference\n\
         r = inference.build_response({{'name': 'yolo11n-omni-damage', 'version': '0.2.0', 'sha256': 'ab' * 32}}, 1001, 667, 12.5,\n\
             [[10, 20, 300, 200], [-5, 600, 1200, 700]], [0.9, 0.4], [2, 0])\n\
         print(json.dumps(r))",
        dir = common::trainer_dir()
            .join("sagemaker")
            .display()
            .to_string()
    );
    common::python_c(python, &script, &[])
}

/// Queues `body` as moto's next InvokeEndpoint answers.
pub(crate) fn queue_endpoint_results(moto_url: &str, body: &str, times: usize) {
    let results: Vec<serde_json::Value> = (0..times)
        .map(|_| serde_json::json!({"Body": body, "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}))
        .collect();
    let payload = serde_json::json!({"account_id": "123456789012", "region": "us-east-1", "results": results});
    post_json(
        &format!("{moto_url}/moto-api/static/sagemaker/endpoint-results"),
        &payload.to_string(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_creates_then_gates_then_updates_the_serverless_endpoint() {
    let Some(moto) = shared_moto() else { return };
    let python = common::test_python().unwrap();
    let (mut s, c) = common::moto_bucket_with_dataset(moto, "deploy", 4, 2).await;
    s.endpoint_name = format!("omni-inspector-yolo-{}", s.bucket);
    let options = DeployOptions {
        backoff: fast(),
        ..DeployOptions::default()
    };

    let first = start(&c, &s, &TrainOptions::default()).await.unwrap().job;
    let d = c
        .sagemaker
        .describe_training_job()
        .training_job_name(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(d.training_job_status(), Some(&TrainingJobStatus::Completed));
    // Before SageMaker has written model.tar.gz, deploy fails clearly.
    let err = deploy(&c, &s, &first, &options).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    complete_job(&c, &first, 0.30).await;
    let response = handler_response(&python);
    queue_endpoint_results(&moto.url(), &response, 1);
    let created = deploy(&c, &s, &first, &options).await.unwrap();
    assert_eq!(created.action, "created");
    assert_eq!(created.previous_map50_95, None);
    let smoke = created.smoke.unwrap();
    assert_eq!((smoke.image_width, smoke.image_height), (1001, 667));
    assert_eq!(smoke.detections.len(), 2);
    assert_eq!(smoke.detections[1].bbox.x1, 0.0); // clipped by the handler

    assert_eq!(
        endpoint_config_in_use(&c, &s.endpoint_name).await,
        created.endpoint_config
    );
    let cfg = c
        .sagemaker
        .describe_endpoint_config()
        .endpoint_config_name(&created.endpoint_config)
        .send()
        .await
        .unwrap();
    let serverless = cfg.production_variants()[0].serverless_config().unwrap();
    assert_eq!(
        (serverless.memory_size_in_mb(), serverless.max_concurrency()),
        (Some(2048), Some(5))
    );
    let model = c
        .sagemaker
        .describe_model()
        .model_name(&created.model)
        .send()
        .await
        .unwrap();
    let container = model.primary_container().unwrap();
    assert_eq!(
        container.environment().unwrap()["SAGEMAKER_PROGRAM"],
        "inference.py"
    );
    assert_eq!(
        container.image(),
        Some("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.0-cpu-py310")
    );
    // The repacked bundle carries the handler.
    let bundle =
        omni_trainer::artifacts::get_object(&c, &S3Uri::parse(&created.model_data).unwrap())
            .await
            .unwrap();
    let files = omni_trainer::sourcedir::untar_gz(&bundle).unwrap();
    assert!(files.iter().any(|(n, _)| n == "code/inference.py"));
    assert!(files.iter().any(|(n, _)| n == "best.pt"));

    // A worse model is refused by the gate; the endpoint is untouched.
    let worse = start(&c, &s, &TrainOptions::default()).await.unwrap().job;
    complete_job(&c, &worse, 0.20).await;
    let err = deploy(&c, &s, &worse, &options).await.unwrap_err();
    assert!(matches!(err, TrainerError::Gate(_)), "{err}");
    assert_eq!(
        endpoint_config_in_use(&c, &s.endpoint_name).await,
        created.endpoint_config
    );

    // A better one updates it (UpdateEndpoint through our moto extension).
    let better = start(&c, &s, &TrainOptions::default()).await.unwrap().job;
    complete_job(&c, &better, 0.35).await;
    // moto answers the same (endpoint, body) with the result it gave before.
    let updated = deploy(&c, &s, &better, &options).await.unwrap();
    assert_eq!(updated.action, "updated");
    assert_eq!(updated.previous_map50_95, Some(0.30));
    assert_eq!(
        endpoint_config_in_use(&c, &s.endpoint_name).await,
        updated.endpoint_config
    );

    // A smoke answer that is not our schema fails the deploy.
    let forced = DeployOptions {
        force: true,
        sample: Some(common::png(64, 48, 5)),
        ..options.clone()
    };
    queue_endpoint_results(&moto.url(), "{\"message\": \"model failed to load\"}", 1);
    let err = deploy(&c, &s, &worse, &forced).await.unwrap_err();
    assert!(matches!(err, TrainerError::Smoke(_)), "{err}");
}

#[test]
fn cli_wait_prints_transitions_and_exits_non_zero_with_the_failure_reason() {
    let Some(moto) = shared_moto() else { return };
    let python = common::test_python().unwrap();
    let states = common::Server::start(&python, "job_states.py", &["s3://none/model.tar.gz"]);
    let dir = tempfile::tempdir().unwrap();
    let mut env = common::cli_env(&moto.url(), "unused");
    env.push(("OMNI_SAGEMAKER_ENDPOINT_URL".into(), states.url()));
    let (ok, stdout, stderr) = common::cli(
        &[
            "wait",
            "fail-cli",
            "--poll-initial",
            "20ms",
            "--poll-max",
            "50ms",
        ],
        &env,
        dir.path(),
    );
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("InProgress / Training: Training in progress."),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("omni-trainer: error: training job fail-cli Failed: AlgorithmError: train.py: error: no data.yaml"),
        "{stderr}"
    );
    let (ok, _, stderr) = common::cli(
        &[
            "wait",
            "stuck-cli",
            "--poll-initial",
            "20ms",
            "--poll-max",
            "50ms",
            "--timeout",
            "300ms",
        ],
        &env,
        dir.path(),
    );
    assert!(!ok);
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .contains("training job stuck-cli still InProgress/Training after"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_records_the_dataset_version_that_publish_and_deploy_show() {
    let Some(moto) = shared_moto() else { return };
    let (s, c) = common::moto_bucket_with_dataset(moto, "dsversion", 4, 2).await;
    // A data set without dataset.json: no version recorded.
    let plain = start(&c, &s, &TrainOptions::default()).await.unwrap();
    assert_eq!(plain.dataset_version, None);
    assert!(!plain.hyperparameters.contains_key("dataset-version"));
    let recorded = omni_trainer::artifacts::dataset_version(&c, &plain.job).await;
    assert_eq!(recorded.unwrap(), None);
    // With the dataset.json `dataset merge` writes (uploaded with the data set).
    c.s3.put_object()
        .bucket(&s.bucket)
        .key(format!("{}dataset.json", s.dataset_prefix))
        .body(br#"{"format": 1, "version": 3}"#.to_vec().into())
        .send()
        .await
        .unwrap();
    let started = start(&c, &s, &TrainOptions::default()).await.unwrap();
    assert_eq!(started.dataset_version, Some(3));
    assert_eq!(started.hyperparameters["dataset-version"], "\"3\"");
    let recorded = omni_trainer::artifacts::dataset_version(&c, &started.job).await;
    assert_eq!(recorded.unwrap().as_deref(), Some("3"));
}
