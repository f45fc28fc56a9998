//! A running office on 127.0.0.1 and a SigV4-signing client for it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use omni_office::AppConfig;
use omni_office::api::Auth;
use omni_office::detect::Detector;
use omni_office::report::ReportSettings;
use omni_office::store::Store;
use omni_office::store::embedded::{self, EmbeddedStore};
use omni_office::wire::{InspectionState, PHOTO_SHA256_HEADER, Photo, PutInspection, ReviewChange};
use omni_sigv4::test_sign::signature_headers;
use omni_sigv4::{Credentials, SigV4Scope};
use sha2::{Digest, Sha256};

pub const REGION: &str = "us-east-1";
/// A valid ISO 6346 number (check digit 3) and another.
pub const CONTAINER: &str = "CSQU3054383";
pub const OTHER_CONTAINER: &str = "MSCU1234566";

pub fn credentials() -> Credentials {
    Credentials {
        access_key_id: "AKIDOFFICE".into(),
        secret_access_key: "office-secret".into(),
        session_token: Some("office-token".into()),
        expires_at: None,
    }
}

pub struct TestOffice {
    pub addr: SocketAddr,
    /// Its data directory, shared with a later office on the same data (a restart).
    pub dir: Arc<tempfile::TempDir>,
    pub store: Arc<dyn Store>,
    server: tokio::task::JoinHandle<()>,
}

impl TestOffice {
    pub async fn start(detector: Option<Detector>) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        Self::start_with(dir, store, detector).await
    }

    pub async fn start_with(
        dir: Arc<tempfile::TempDir>,
        store: Arc<dyn Store>,
        detector: Option<Detector>,
    ) -> Self {
        Self::start_writing(dir, store, detector, Default::default()).await
    }

    /// An office on `store` whose reports are written as `reports` says (rules, or Nova).
    pub async fn start_writing(
        dir: Arc<tempfile::TempDir>,
        store: Arc<dyn Store>,
        detector: Option<Detector>,
        reports: Arc<ReportSettings>,
    ) -> Self {
        let config = AppConfig {
            store: store.clone(),
            auth: Some(Auth {
                credentials: credentials(),
                region: REGION.into(),
            }),
            detector,
            url_key: embedded::url_key(dir.path()).unwrap(),
            url_ttl: Duration::from_secs(60),
            reports,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            omni_office::serve(listener, config, std::future::pending())
                .await
                .unwrap();
        });
        Self {
            addr,
            dir,
            store,
            server,
        }
    }

    pub fn client(&self) -> Client {
        Client {
            base: format!("http://{}", self.addr),
            signer: credentials(),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for TestOffice {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The office API's SigV4 scope: service `execute-api` in [`REGION`].
pub fn api_scope() -> SigV4Scope {
    SigV4Scope {
        region: REGION.into(),
        service: "execute-api".into(),
    }
}

/// The SigV4 headers of a request to the office's API signed by `signer` now, over the
/// other signed `headers` and `body`.
pub fn sign_for_api_now(
    signer: &Credentials,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<(String, String)> {
    signature_headers(
        &api_scope(),
        signer,
        method,
        url,
        headers,
        body,
        SystemTime::now(),
    )
}

/// The headers of a JPEG photo upload: its type, its hash `sha`, and `extra`.
pub fn photo_headers<'a>(sha: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("content-type", "image/jpeg"), (PHOTO_SHA256_HEADER, sha)];
    headers.extend_from_slice(extra);
    headers
}

/// An answer: status, `x-amzn-ErrorType`, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub error_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts an AWS-style error of `status` and `error_type`, in the header and the body.
    pub fn assert_error(&self, status: u16, error_type: &str) {
        assert_eq!(
            (self.status, self.error_type.as_deref()),
            (status, Some(error_type)),
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["__type"], error_type, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

pub struct Client {
    pub base: String,
    pub signer: Credentials,
    pub http: reqwest::Client,
}

impl Client {
    /// Sends a request signed for `execute-api` at `time`, with `headers` signed too.
    pub async fn send_at(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        time: SystemTime,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let signed = signature_headers(
            &api_scope(),
            &self.signer,
            method,
            &url,
            headers,
            &body,
            time,
        );
        let mut request = self.http.request(method.parse().unwrap(), &url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        answer(request.send().await.unwrap()).await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        self.send_at(method, path, headers, body, SystemTime::now())
            .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], Vec::new()).await
    }

    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> Answer {
        self.send(
            "PUT",
            path,
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn put_inspection(&self, id: &str, put: &PutInspection) -> Answer {
        self.put_json(
            &format!("/v1/inspections/{id}"),
            &serde_json::to_value(put).unwrap(),
        )
        .await
    }

    /// Uploads `bytes` as photo `photo` with their true SHA-256 (and `x-omni-detect` when
    /// `detect` is given).
    pub async fn put_photo(
        &self,
        inspection: &str,
        photo: &str,
        bytes: &[u8],
        detect: Option<bool>,
    ) -> Answer {
        let flag = detect.map(|d| d.to_string());
        let extra: Vec<(&str, &str)> = flag.iter().map(|f| ("x-omni-detect", f.as_str())).collect();
        self.put_photo_with(inspection, photo, bytes, &extra).await
    }

    /// Uploads `bytes` as photo `photo` showing container face `face` (`x-omni-photo-face`).
    pub async fn put_photo_face(
        &self,
        inspection: &str,
        photo: &str,
        bytes: &[u8],
        face: &str,
    ) -> Answer {
        self.put_photo_with(inspection, photo, bytes, &[("x-omni-photo-face", face)])
            .await
    }

    /// Uploads `bytes` as photo `photo` with their true SHA-256 and the `extra` headers.
    async fn put_photo_with(
        &self,
        inspection: &str,
        photo: &str,
        bytes: &[u8],
        extra: &[(&str, &str)],
    ) -> Answer {
        let sha = hex::encode(Sha256::digest(bytes));
        let headers = photo_headers(&sha, extra);
        self.send(
            "PUT",
            &format!("/v1/inspections/{inspection}/photos/{photo}"),
            &headers,
            bytes.to_vec(),
        )
        .await
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let error_type = omni_e2e::aws_error::error_type(response.headers());
    Answer {
        status,
        error_type,
        body: response.bytes().await.unwrap().to_vec(),
    }
}

pub fn inspection(container: &str, created_at_ms: i64, revision: u64) -> PutInspection {
    PutInspection {
        container_number: container.into(),
        inspector_id: "inspector-7".into(),
        created_at_ms,
        updated_at_ms: created_at_ms + 1000 * revision as i64,
        location: Some(omni_office::wire::Location {
            latitude: 36.13,
            longitude: -5.35,
            accuracy_m: Some(8.0),
        }),
        state: InspectionState::Open,
        revision,
        kind: None,
    }
}

pub fn jpeg(seed: u32) -> Vec<u8> {
    omni_e2e::jpeg(64, 48, seed)
}

/// The record of a JPEG photo `id` of `inspection_id` with these bytes, as the office stores
/// it.
pub fn photo_record(inspection_id: &str, id: &str, bytes: &[u8], received_at_ms: i64) -> Photo {
    Photo {
        id: id.into(),
        inspection_id: inspection_id.into(),
        sha256: hex::encode(Sha256::digest(bytes)),
        size_bytes: bytes.len() as u64,
        content_type: "image/jpeg".into(),
        received_at_ms,
        face: omni_office::wire::Face::Whole,
    }
}

/// A review's edits of the first two boxes it started from: box 0 reclassified from a dent
/// (class 0) to rust (class 2), box 1 (of `deleted_class`) deleted.
pub fn reclassified_and_deleted(deleted_class: u32) -> Vec<ReviewChange> {
    vec![
        ReviewChange::Reclassified {
            box_index: 0,
            from: 0,
            to: 2,
        },
        ReviewChange::Deleted {
            box_index: 1,
            class_id: deleted_class,
        },
    ]
}
