//! moto server (DynamoDB + S3, started on a free port as the trainer's tests start it) for the
//! AWS store, and the API on that store serving presigned photo URLs. The store's own rules
//! are the contract's (`store_contract`), run on both stores.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, OnceLock};

use omni_office::store::Store;
use omni_office::store::aws::AwsStore;

use crate::common::{CONTAINER, TestOffice, inspection, jpeg};

/// moto's server (DynamoDB, S3; the trainer's launcher script) on a free port of 127.0.0.1:
/// killed and reaped on drop; it also exits when its stdin closes (the test process ended).
pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Moto {
    /// moto with the trainer's extensions (`trainer/tests/servers/moto_ext.py`).
    pub fn start(python: &Path) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../trainer/tests/servers/moto_ext.py");
        Self::try_start(python, &script).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts moto's launcher `script` with `python`, or says why it did not start.
    pub fn try_start(python: &Path, script: &Path) -> Result<Self, String> {
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let Some(port) = read.ok().and_then(|_| line.trim().parse::<u16>().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "moto did not start (it printed {line:?}, not its port; its stderr is above)"
            ));
        };
        Ok(Self {
            child,
            _stdin: stdin,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

/// The variables that skip the tests needing moto when it cannot be reached: moto's own, and
/// the one for everything in the Python test venv.
pub const SKIP_MOTO: [&str; 2] = ["OMNI_SKIP_MOTO_TESTS", "OMNI_SKIP_PYTHON_TESTS"];

/// The moto server this test binary shares (started once, on first use; one request at a time,
/// as `office/tests/servers/moto_serial.py` says why), for `what`. Without it the test fails,
/// unless one of [`SKIP_MOTO`] is set: then it prints what it skips and why, and answers
/// `None` (the workspace's one rule, `omni_e2e::needs`).
pub fn shared_moto(what: &str) -> Option<&'static Moto> {
    use omni_e2e::needs;
    static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();
    let moto = MOTO.get_or_init(|| {
        let python = needs::find_test_python()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/moto_serial.py");
        Moto::try_start(&python, &script)
    });
    needs::require(
        moto.as_ref().map_err(Clone::clone),
        &format!("moto server (for {what})"),
        needs::HOW_TO_GET,
        &SKIP_MOTO,
    )
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's DynamoDB and S3 clients.
fn clients(moto: &Moto) -> (aws_sdk_dynamodb::Client, aws_sdk_s3::Client) {
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
    (dynamo, s3)
}

/// The store on table and bucket `omni-office-<tag>` that [`store`] made (e.g. for a test
/// that checks what a server wrote there).
pub fn open_store(moto: &Moto, tag: &str) -> AwsStore {
    let (dynamo, s3) = clients(moto);
    let name = format!("omni-office-{tag}");
    AwsStore::new(dynamo, s3, &name, &name)
}

/// A store on a fresh table and bucket named after `tag`.
pub async fn store(moto: &Moto, tag: &str) -> AwsStore {
    let (dynamo, s3) = clients(moto);
    let bucket = format!("omni-office-{tag}");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = AwsStore::new(dynamo, s3, &format!("omni-office-{tag}"), &bucket);
    store.create_table().await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_the_aws_store_serves_presigned_photo_urls() {
    let Some(moto) = shared_moto("the API on DynamoDB + S3 (moto)") else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(store(moto, "api").await);
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
