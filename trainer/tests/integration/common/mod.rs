//! Helpers of the trainer's integration tests: the Python test venv, servers on loopback
//! (moto with our extension, the job-states server), clients pointed at them, small data sets.

// The upload bench includes this module too and uses only part of it.
#![allow(dead_code, unused_imports, missing_docs, clippy::unwrap_used)]

pub mod office_records;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use omni_trainer::aws::Clients;
use omni_trainer::config::{Settings, SettingsLayer};

/// The test venv's Python, generated test photos (the workspace's one copy of each).
pub use omni_e2e::{jpeg, png, test_python};

pub fn trainer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `python -c script args…`, asserts that it succeeds and returns its stdout.
pub fn python_c(python: &Path, script: &str, args: &[&Path]) -> String {
    let out = omni_e2e::process::output_ok(Command::new(python).arg("-c").arg(script).args(args));
    String::from_utf8(out.stdout).unwrap()
}

/// A Python server script of `tests/servers/` on 127.0.0.1: started, its port read from its
/// first stdout line, killed (and reaped) on drop; it also exits when its stdin closes.
pub struct Server {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
}

impl Server {
    pub fn start(python: &Path, script: &str, args: &[&str]) -> Self {
        let mut child = Command::new(python)
            .arg(trainer_dir().join("tests/servers").join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| {
                panic!(
                    "{script} did not print its port ({line:?}; its stderr is above): the test venv needs moto[server] and botocore, {}",
                    omni_e2e::needs::HOW_TO_GET
                )
            });
        Self {
            child,
            _stdin: stdin,
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto (with our UpdateEndpoint extension).
pub fn moto(python: &Path) -> Server {
    Server::start(python, "moto_ext.py", &[])
}

/// Settings pointed at `endpoint` with a test bucket.
pub fn settings(endpoint: &str, bucket: &str) -> Settings {
    SettingsLayer {
        endpoint_url: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        bucket: Some(bucket.to_owned()),
        role_arn: Some("arn:aws:iam::123456789012:role/OmniInspectorSageMakerRole".into()),
        ..SettingsLayer::default()
    }
    .resolve()
}

/// Clients with static test credentials.
pub async fn clients(settings: &Settings) -> Clients {
    omni_trainer::aws::connect_with_static_credentials(settings, "testing", "testing")
        .await
        .unwrap()
}

pub async fn create_bucket(clients: &Clients, bucket: &str) {
    clients
        .s3
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
}

/// Settings and clients for a new bucket named after `tag` on `moto`; the bucket is created.
pub async fn moto_bucket(moto: &Server, tag: &str) -> (Settings, Clients) {
    let s = settings(&moto.url(), &bucket(tag));
    let c = clients(&s).await;
    create_bucket(&c, &s.bucket).await;
    (s, c)
}

/// As [`moto_bucket`], with a [`small_dataset`] of `train` + `val` images uploaded where the
/// settings put the data set.
pub async fn moto_bucket_with_dataset(
    moto: &Server,
    tag: &str,
    train: u32,
    val: u32,
) -> (Settings, Clients) {
    let (s, c) = moto_bucket(moto, tag).await;
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), train, val);
    let dest = omni_trainer::s3uri::S3Uri::parse(&s.dataset_uri()).unwrap();
    let options = omni_trainer::upload::UploadOptions::default();
    omni_trainer::upload::upload(&c, dir.path(), &dest, &options, &|_, _| {})
        .await
        .unwrap();
    (s, c)
}

/// The environment for running the CLI against `endpoint` with test credentials.
pub fn cli_env(endpoint: &str, bucket: &str) -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/omni-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/omni-credentials",
        ),
        ("OMNI_ENDPOINT_URL", endpoint),
        ("OMNI_BUCKET", bucket),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Runs the CLI with a clean environment plus `env`; returns (exit ok, stdout, stderr).
pub fn cli(args: &[&str], env: &[(String, String)], cwd: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_omni-trainer"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `bytes` to `path`, creating parents.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A small valid data set: `train` images in train/, `val` in val/, one box each (class =
/// index % 6), plus data.yaml.
pub fn small_dataset(root: &Path, train: u32, val: u32) {
    for (split, n, offset) in [("train", train, 0), ("val", val, 1000)] {
        for i in 0..n {
            let seed = i + offset;
            write(
                &root.join(format!("{split}/images/img{seed}.jpg")),
                jpeg(64, 48, seed),
            );
            write(
                &root.join(format!("{split}/labels/img{seed}.txt")),
                format!("{} 0.5 0.5 0.25 0.25\n", seed % 6),
            );
        }
    }
    omni_trainer::dataset::data_yaml::write(root, false).unwrap();
}

/// Plays SageMaker's part of a training job: writes `model.tar.gz`, as the training
/// container packs it, of `files` (real model files) at `uri`.
pub async fn put_model_tar_gz(
    c: &Clients,
    uri: &omni_trainer::s3uri::S3Uri,
    files: &[(&str, Vec<u8>)],
) {
    let owned: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    let tarball = omni_trainer::sourcedir::tar_gz(&owned).unwrap();
    c.s3.put_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .body(tarball.into())
        .send()
        .await
        .unwrap();
}

/// One moto per test binary (tests use distinct buckets); it exits with the test process,
/// whose end closes its stdin. No venv, or no moto in it, fails the calling test unless
/// `OMNI_SKIP_PYTHON_TESTS` is set (then `None`: the test returns).
pub fn shared_moto() -> Option<&'static Server> {
    use omni_e2e::needs;
    static MOTO: std::sync::OnceLock<Result<Server, String>> = std::sync::OnceLock::new();
    let python = test_python()?;
    let moto =
        MOTO.get_or_init(|| needs::python_imports(&python, &["moto"]).map(|()| moto(&python)));
    needs::require(
        moto.as_ref().map_err(Clone::clone),
        "moto (moto[server]) in the test venv",
        needs::HOW_TO_GET,
        &[needs::SKIP_PYTHON],
    )
}

/// The yard office's AWS store on moto: its DynamoDB table and photo bucket (both named by
/// the returned name) created, empty.
pub async fn moto_office(moto: &Server, tag: &str) -> (omni_office::store::aws::AwsStore, String) {
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "test");
    let region = aws_sdk_dynamodb::config::Region::new("us-east-1");
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(region.clone())
            .endpoint_url(moto.url())
            .credentials_provider(credentials.clone())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(region)
            .endpoint_url(moto.url())
            .credentials_provider(credentials)
            .force_path_style(true)
            .build(),
    );
    let name = bucket(tag);
    s3.create_bucket().bucket(&name).send().await.unwrap();
    let store = omni_office::store::aws::AwsStore::new(dynamo, s3, &name, &name);
    store.create_table().await.unwrap();
    (store, name)
}

/// A bucket name unique within the test binary.
pub fn bucket(tag: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("omni-test-{tag}-{n}")
}
