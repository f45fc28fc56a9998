//! The embedded yard office on 127.0.0.1 with detection on upload through a local
//! endpoint, on its own runtime, for the tests, benchmarks and binding fixtures that sync
//! phones to it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::{ENDPOINT_NAME, REGION};
use omni_core::cloud::runtime_client::RuntimeConfig;
use omni_core::cloud::{Credentials, ServiceUrl};
use omni_office::AppConfig;
use omni_office::api::Auth;
use omni_office::detect::Detector;
use omni_office::store::Store;
use omni_office::store::embedded::{self, EmbeddedStore};

/// Credentials of the office (the phone signs with them for `execute-api`).
pub fn office_credentials() -> Credentials {
    Credentials {
        access_key_id: "AKIDOFFICE".into(),
        secret_access_key: "office-secret".into(),
        session_token: Some("office-token".into()),
        expires_at: None,
    }
}

/// The embedded office on its own runtime: dropping it is a crash (every task ends).
pub struct Office {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its store, to look at what it holds.
    pub store: Arc<dyn Store>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Office {
    /// Starts the office on `dir` (created or reopened), checking signatures made with
    /// `credentials`, detecting through the endpoint at `endpoint_url` (which accepts
    /// `endpoint_credentials`).
    pub fn start(
        dir: &Path,
        credentials: &Credentials,
        endpoint_url: &str,
        endpoint_credentials: &Credentials,
    ) -> Self {
        let endpoint = ServiceUrl::parse(endpoint_url).expect("endpoint URL");
        let detector = Detector::new(
            RuntimeConfig::new(endpoint, ENDPOINT_NAME, REGION),
            endpoint_credentials.clone(),
            Duration::from_secs(8),
            false,
        )
        .expect("detector");
        Self::start_with(dir, credentials, Some(detector))
    }

    /// Starts an office without detection on upload (`omni-office serve` with no endpoint):
    /// it archives every photo.
    pub fn start_without_detection(dir: &Path, credentials: &Credentials) -> Self {
        Self::start_with(dir, credentials, None)
    }

    fn start_with(dir: &Path, credentials: &Credentials, detector: Option<Detector>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("office runtime");
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir).expect("office store"));
        let config = AppConfig {
            store: store.clone(),
            auth: Some(Auth {
                credentials: credentials.clone(),
                region: REGION.into(),
            }),
            detector,
            url_key: embedded::url_key(dir).expect("url key"),
            url_ttl: Duration::from_secs(60),
            reports: Default::default(),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind office");
        let addr = listener.local_addr().expect("office address");
        runtime.spawn(async move {
            omni_office::serve(listener, config, std::future::pending())
                .await
                .expect("office serves");
        });
        Self {
            addr,
            store,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `GET {path}` on the office's API, SigV4-signed with `credentials` as a phone signs:
    /// the status and the JSON body (`Null` when the body is not JSON).
    pub fn get_json(&self, credentials: &Credentials, path: &str) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        let url = format!("{}{path}", self.url());
        let headers = [("accept", "application/json")];
        let signed = omni_core::cloud::SigV4Scope::execute_api(REGION)
            .sign(
                credentials,
                "GET",
                &url,
                &headers,
                b"",
                std::time::SystemTime::now(),
            )
            .expect("sign");
        let addr = self.addr;
        self.block_on(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .expect("handshake");
            tokio::spawn(connection);
            let mut request = hyper::Request::get(path).header("host", addr.to_string());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            for (name, value) in &signed {
                request = request.header(name.as_str(), value.as_str());
            }
            let body = http_body_util::Empty::<hyper::body::Bytes>::new();
            let response = sender
                .send_request(request.body(body).expect("request"))
                .await
                .expect("send");
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            )
        })
    }

    /// Runs a future (a store query) on the office's runtime.
    pub fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime
            .as_ref()
            .expect("office running")
            .block_on(future)
    }
}

impl Drop for Office {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
