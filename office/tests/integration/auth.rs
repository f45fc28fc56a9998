//! SigV4, service `execute-api`: reads and writes need a signature; a wrong secret, a stale
//! date, a tampered body, another service's scope or none at all are refused.

use std::time::{Duration, SystemTime};

use omni_sigv4::test_sign::signature_headers;
use omni_sigv4::{Credentials, SigV4Scope};

use crate::common::{
    Answer, CONTAINER, REGION, TestOffice, answer, credentials, inspection, sign_for_api_now,
};

/// `PUT url` carrying `body` with the SigV4 headers `signed` (made for this or another
/// request), as sent by hand.
async fn put_signed(url: &str, body: Vec<u8>, signed: &[(String, String)]) -> Answer {
    let mut request = reqwest::Client::new().put(url).body(body);
    for (name, value) in signed {
        request = request.header(name, value);
    }
    answer(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_need_a_signature_by_the_right_secret_now_over_this_body() {
    let office = TestOffice::start(None).await;
    let mut client = office.client();
    let body = serde_json::to_vec(&inspection(CONTAINER, 1_700_000_000_000, 1)).unwrap();
    let path = "/v1/inspections/insp-1";

    // No signature at all, for a read and a write.
    for method in ["GET", "PUT"] {
        let url = format!("{}{path}", client.base);
        let unsigned = reqwest::Client::new()
            .request(method.parse().unwrap(), &url)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        answer(unsigned)
            .await
            .assert_error(403, "MissingAuthenticationToken");
    }
    // Stale date (16 minutes).
    client
        .send_at(
            "PUT",
            path,
            &[],
            body.clone(),
            SystemTime::now() - Duration::from_secs(16 * 60),
        )
        .await
        .assert_error(403, "InvalidSignatureException");
    // Tampered body: signed over one body, another sent.
    let url = format!("{}{path}", client.base);
    let signed = sign_for_api_now(&credentials(), "PUT", &url, &[], &body);
    let mut tampered = body.clone();
    tampered[5] ^= 1;
    put_signed(&url, tampered, &signed)
        .await
        .assert_error(403, "InvalidSignatureException");
    // Signed for SageMaker instead of execute-api.
    let sagemaker = signature_headers(
        &SigV4Scope::sagemaker(REGION),
        &credentials(),
        "PUT",
        &url,
        &[],
        &body,
        SystemTime::now(),
    );
    put_signed(&url, body.clone(), &sagemaker)
        .await
        .assert_error(403, "InvalidSignatureException");
    // Wrong secret.
    client.signer = Credentials {
        secret_access_key: "not-the-secret".into(),
        ..credentials()
    };
    client
        .send("PUT", path, &[], body.clone())
        .await
        .assert_error(403, "InvalidSignatureException");
    client
        .get(path)
        .await
        .assert_error(403, "InvalidSignatureException");
    // Nothing was written by any of them.
    assert!(office.store.inspection("insp-1").await.unwrap().is_none());

    // The right signature: created, and readable.
    client.signer = credentials();
    assert_eq!(client.send("PUT", path, &[], body).await.status, 201);
    assert_eq!(client.get(path).await.status, 200);
    assert_eq!(client.get("/v1/inspections?state=open").await.status, 200);
}
