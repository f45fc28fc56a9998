//! Every `omni-endpoint` command the README and `docs/` show, run as a reader would type it,
//! through the real binary: it serves, and a SageMaker `InvokeEndpoint` signed with the
//! page's credentials gets a schema v1 answer. A page showing a command this test does not
//! run (or the reverse) fails it.

use std::time::SystemTime;

use omni_e2e::doc_commands::DocRun;
use omni_protocol::response;
use omni_sigv4::test_sign::signature_headers;
use omni_sigv4::{Credentials, SigV4Scope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_endpoint_command_runs() {
    let cwd = tempfile::tempdir().unwrap();
    let mut docs = DocRun::new(
        "omni-endpoint",
        std::path::Path::new(env!("CARGO_BIN_EXE_omni-endpoint")),
        cwd.path(),
    );
    docs.env_remove("AWS_SESSION_TOKEN");
    let served = docs.serve(
        "omni-endpoint --listen 127.0.0.1:8080",
        &[("127.0.0.1:8080", "127.0.0.1:0")],
        "listening on ",
    );
    let base = served.url.clone();

    // As the page's `omni sync` does: signed with `dev`/`dev` for SageMaker in us-east-1.
    let dev = Credentials {
        access_key_id: "dev".into(),
        secret_access_key: "dev".into(),
        session_token: None,
        expires_at: None,
    };
    let url = format!("{base}/endpoints/omni-inspector-yolo/invocations");
    let photo = omni_e2e::jpeg(96, 64, 1);
    let headers = signature_headers(
        &SigV4Scope::sagemaker("us-east-1"),
        &dev,
        "POST",
        &url,
        &[("content-type", "image/jpeg")],
        &photo,
        SystemTime::now(),
    );
    let mut request = reqwest::Client::new()
        .post(&url)
        .header("content-type", "image/jpeg")
        .body(photo.clone());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.bytes().await.unwrap();
    drop(served);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let parsed = response::parse(&body, (96, 64), (96, 64)).unwrap();
    assert_eq!(
        parsed.model.name, "yolo11n-omni-damage-demo",
        "the bundled model"
    );
    docs.finish();
}
