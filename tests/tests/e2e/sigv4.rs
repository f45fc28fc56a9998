//! SigV4 on the wire: the local endpoint accepts a correct signature and refuses a wrong
//! secret, a missing session token and a stale timestamp with AWS's error types; and our
//! signer agrees byte for byte with an independent oracle, botocore's `SigV4Auth`.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omni_core::cloud::{Credentials, SigV4Scope};
use omni_e2e::{ENDPOINT_NAME, REGION, TestEndpoint, jpeg, test_credentials};
use omni_endpoint::{FaultConfig, ModelChoice};
use omni_sigv4::test_sign::signature_headers;

const ATTRIBUTES: &str = "photo-id=0190b2f4-0000-7000-8000-000000000001";

/// Sends one signed invocation built by hand; returns status and `x-amzn-ErrorType`.
fn invoke(url: &str, signer: &Credentials, time: SystemTime) -> (u16, Option<String>) {
    let body = jpeg(64, 48, 1);
    let target = format!("{url}/endpoints/{ENDPOINT_NAME}/invocations");
    let headers = [
        ("content-type", "image/jpeg"),
        ("accept", "application/json"),
        ("x-amzn-sagemaker-custom-attributes", ATTRIBUTES),
    ];
    let signed = signature_headers(
        &SigV4Scope::sagemaker(REGION),
        signer,
        "POST",
        &target,
        &headers,
        &body,
        time,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().post(&target).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let kind = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), kind)
    })
}

#[test]
fn endpoint_accepts_good_signatures_and_refuses_bad_ones() {
    let server = test_credentials(Some("session-token"));
    let endpoint = TestEndpoint::start(
        ModelChoice::Null,
        FaultConfig::default(),
        Some(server.clone()),
    );
    let url = endpoint.url();
    let now = SystemTime::now();
    assert_eq!(invoke(&url, &server, now), (200, None));

    let wrong_secret = Credentials {
        secret_access_key: "not-the-secret".into(),
        ..server.clone()
    };
    assert_eq!(
        invoke(&url, &wrong_secret, now),
        (403, Some("InvalidSignatureException".into()))
    );
    let no_token = Credentials {
        session_token: None,
        ..server.clone()
    };
    assert_eq!(
        invoke(&url, &no_token, now),
        (403, Some("UnrecognizedClientException".into()))
    );
    let stale = now - Duration::from_secs(16 * 60);
    assert_eq!(
        invoke(&url, &server, stale),
        (403, Some("InvalidSignatureException".into()))
    );
    let stats = endpoint.stats();
    assert_eq!(stats.answered, 1, "{stats:?}");
}

#[test]
fn signer_matches_botocore() {
    let Some(python) = std::env::var_os("OMNI_TEST_PYTHON") else {
        assert!(
            std::env::var_os("OMNI_REQUIRE_PYTHON_TESTS").is_none(),
            "OMNI_TEST_PYTHON is required (scripts/test.sh sets it)"
        );
        eprintln!("skipped: OMNI_TEST_PYTHON not set");
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tools/reference/sigv4_botocore.py"
    );
    let body = jpeg(32, 24, 5);
    // 2026-11-28T10:20:30Z
    let time = UNIX_EPOCH + Duration::from_secs(1_795_861_230);
    let cases = [
        (
            test_credentials(None),
            "https://runtime.sagemaker.us-east-1.amazonaws.com",
        ),
        (
            test_credentials(Some("FwoGZXIvYXdzEJr//token+with/odd=chars")),
            "http://127.0.0.1:8080",
        ),
    ];
    for (credentials, base) in cases {
        let url = format!("{base}/endpoints/{ENDPOINT_NAME}/invocations");
        let headers = [
            ("content-type", "image/jpeg"),
            ("accept", "application/json"),
            ("x-amzn-sagemaker-custom-attributes", ATTRIBUTES),
        ];
        let ours = SigV4Scope::sagemaker(REGION)
            .sign(&credentials, "POST", &url, &headers, &body, time)
            .unwrap();
        let spec = serde_json::json!({
            "method": "POST",
            "url": url,
            "headers": headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
            "body_hex": body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "access_key": credentials.access_key_id,
            "secret_key": credentials.secret_access_key,
            "token": credentials.session_token,
            "region": REGION,
            "service": "sagemaker",
            "time": "20261128T102030Z",
        });
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(spec.to_string().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let oracle: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let ours: std::collections::BTreeMap<String, String> = ours
            .into_iter()
            .map(|(n, v)| (n.to_lowercase(), v))
            .collect();
        assert_eq!(
            ours["authorization"],
            oracle["authorization"].as_str().unwrap(),
            "{base}"
        );
        assert_eq!(ours["x-amz-date"], oracle["x-amz-date"].as_str().unwrap());
        assert_eq!(
            ours.get("x-amz-security-token").map(String::as_str),
            oracle.get("x-amz-security-token").and_then(|v| v.as_str())
        );
    }
}
