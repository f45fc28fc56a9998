//! SigV4 on the wire: the local endpoint accepts a correct signature and refuses a wrong
//! secret, a missing session token and a stale timestamp with AWS's error types; and our
//! signer agrees byte for byte with an independent oracle, botocore's `SigV4Auth`.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use omni_core::cloud::{Credentials, SigV4Scope};
use omni_e2e::{ENDPOINT_NAME, REGION, TestEndpoint, jpeg, sha256_hex, test_credentials};
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
    send(reqwest::Method::POST, &target, &headers, signed, body)
}

/// Sends `method url` with `headers`, the `signed` ones and `body` (on a runtime of its
/// own); returns status and `x-amzn-ErrorType`.
fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    signed: Vec<(String, String)>,
    body: Vec<u8>,
) -> (u16, Option<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method, url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let kind = omni_e2e::aws_error::error_type(response.headers());
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

/// Sends `PUT /v1/inspections/{id}` to the office, signed (by the core's signer, service
/// `execute-api`) with `signer` at `time` over `signed_body`, carrying `sent_body`; returns
/// status and `x-amzn-ErrorType`.
fn put_inspection(
    base: &str,
    signer: &Credentials,
    time: SystemTime,
    signed_body: &[u8],
    sent_body: &[u8],
) -> (u16, Option<String>) {
    let url = format!("{base}/v1/inspections/0190b2f4-0000-7000-8000-00000000000c");
    let headers = [
        ("accept", "application/json"),
        ("content-type", "application/json"),
    ];
    let signed = SigV4Scope::execute_api(REGION)
        .sign(signer, "PUT", &url, &headers, signed_body, time)
        .unwrap();
    send(
        reqwest::Method::PUT,
        &url,
        &headers,
        signed,
        sent_body.to_vec(),
    )
}

#[test]
fn office_accepts_the_phones_execute_api_signature_and_refuses_bad_ones() {
    let endpoint = TestEndpoint::start(
        ModelChoice::Null,
        FaultConfig::default(),
        Some(test_credentials(None)),
    );
    let dir = tempfile::tempdir().unwrap();
    let signer = omni_e2e::office_server::office_credentials();
    let office = omni_e2e::office_server::Office::start(
        dir.path(),
        &signer,
        &endpoint.url(),
        &test_credentials(None),
    );
    let base = office.url();
    let body = br#"{"container_number":"CSQU3054383","inspector_id":"i","created_at_ms":1,"updated_at_ms":1,"state":"open","revision":1}"#;
    let now = SystemTime::now();
    let refused = (403, Some("InvalidSignatureException".to_owned()));
    let wrong_secret = Credentials {
        secret_access_key: "not-the-secret".into(),
        ..signer.clone()
    };
    assert_eq!(
        put_inspection(&base, &wrong_secret, now, body, body),
        refused
    );
    let stale = now - Duration::from_secs(16 * 60);
    assert_eq!(put_inspection(&base, &signer, stale, body, body), refused);
    let tampered = br#"{"container_number":"CSQU3054383","inspector_id":"i","created_at_ms":1,"updated_at_ms":1,"state":"open","revision":9}"#;
    assert_eq!(put_inspection(&base, &signer, now, body, tampered), refused);
    // Nothing was written by the refused requests; the good one creates the inspection.
    assert_eq!(put_inspection(&base, &signer, now, body, body), (201, None));
}

/// One request to sign: credentials, service, method, base URL, path, headers, body.
type SigningCase<'a> = (
    Credentials,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [u8],
);

#[test]
fn signer_matches_botocore() {
    let Some(python) = omni_e2e::test_python() else {
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tools/reference/sigv4_botocore.py"
    );
    let body = jpeg(32, 24, 5);
    let body_sha = sha256_hex(&body);
    let inspection = br#"{"container_number":"CSQU3054383","inspector_id":"i","created_at_ms":1,"updated_at_ms":1,"state":"open","revision":1}"#;
    // 2026-11-28T10:20:30Z
    let time = UNIX_EPOCH + Duration::from_secs(1_795_861_230);
    let invoke_headers = [
        ("content-type", "image/jpeg"),
        ("accept", "application/json"),
        ("x-amzn-sagemaker-custom-attributes", ATTRIBUTES),
    ];
    let upload_headers = [
        ("content-type", "image/jpeg"),
        ("accept", "application/json"),
        ("x-omni-photo-sha256", body_sha.as_str()),
        ("x-omni-detect", "true"),
    ];
    let json_headers = [
        ("accept", "application/json"),
        ("content-type", "application/json"),
    ];
    let inspection_path = "/v1/inspections/0190b2f4-0000-7000-8000-00000000000a";
    let photo_path = format!("{inspection_path}/photos/0190b2f4-0000-7000-8000-00000000000b");
    let invocations = format!("/endpoints/{ENDPOINT_NAME}/invocations");
    // (credentials, service, method, base, path, headers, body): SageMaker InvokeEndpoint,
    // and the yard office's requests (`execute-api`): a photo upload, an inspection put,
    // a read.
    let cases: [SigningCase; 5] = [
        (
            test_credentials(None),
            "sagemaker",
            "POST",
            "https://runtime.sagemaker.us-east-1.amazonaws.com",
            &invocations,
            &invoke_headers,
            &body,
        ),
        (
            test_credentials(Some("FwoGZXIvYXdzEJr//token+with/odd=chars")),
            "sagemaker",
            "POST",
            "http://127.0.0.1:8080",
            &invocations,
            &invoke_headers,
            &body,
        ),
        (
            test_credentials(Some("FwoGZXIvYXdzEJr//token+with/odd=chars")),
            "execute-api",
            "PUT",
            "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
            &photo_path,
            &upload_headers,
            &body,
        ),
        (
            test_credentials(None),
            "execute-api",
            "PUT",
            "http://127.0.0.1:8090",
            inspection_path,
            &json_headers,
            inspection,
        ),
        (
            test_credentials(Some("token")),
            "execute-api",
            "GET",
            "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
            inspection_path,
            &[("accept", "application/json")],
            b"",
        ),
    ];
    for (credentials, service, method, base, path, headers, body) in cases {
        let url = format!("{base}{path}");
        let scope = SigV4Scope {
            region: REGION.into(),
            service: service.into(),
        };
        let ours = scope
            .sign(&credentials, method, &url, headers, body, time)
            .unwrap();
        let spec = serde_json::json!({
            "method": method,
            "url": url,
            "headers": headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
            "body_hex": body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "access_key": credentials.access_key_id,
            "secret_key": credentials.secret_access_key,
            "token": credentials.session_token,
            "region": REGION,
            "service": service,
            "time": "20261128T102030Z",
        });
        let output = omni_e2e::process::output_with_stdin(
            Command::new(&python).arg(script),
            spec.to_string().as_bytes(),
        );
        omni_e2e::process::assert_success(&output);
        let oracle: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let ours: std::collections::BTreeMap<String, String> = ours
            .into_iter()
            .map(|(n, v)| (n.to_lowercase(), v))
            .collect();
        assert_eq!(
            ours["authorization"],
            oracle["authorization"].as_str().unwrap(),
            "{service} {method} {url}"
        );
        assert_eq!(ours["x-amz-date"], oracle["x-amz-date"].as_str().unwrap());
        assert_eq!(
            ours.get("x-amz-security-token").map(String::as_str),
            oracle.get("x-amz-security-token").and_then(|v| v.as_str())
        );
    }
}
