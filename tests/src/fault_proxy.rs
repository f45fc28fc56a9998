//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for servers without fault knobs (the yard
//! office): per request, it drops the client's connection (before forwarding, or after the
//! server answered, so the answer is lost), answers `503 ServiceUnavailable` itself, or
//! forwards the request and relays the answer. HTTP is hyper's on both sides; the bytes on the
//! client's connection are counted as they cross it (heads and bodies, as sent). Runs on its
//! own runtime; stops when dropped.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to requests.
#[derive(Clone, Copy, Debug)]
pub struct ProxyFaults {
    /// Share of requests whose connection is closed without an answer (half of them before
    /// the request is forwarded, half after the server answered).
    pub drop_rate: f64,
    /// Share of requests answered `503 ServiceUnavailable` by the proxy.
    pub error_rate: f64,
    /// Seed of the fault draws.
    pub seed: u64,
}

/// What the proxy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Requests read from clients.
    pub requests: u64,
    /// Requests forwarded to the server (answered or dropped after).
    pub forwarded: u64,
    /// Connections dropped before forwarding.
    pub dropped_before: u64,
    /// Connections dropped after the server answered.
    pub dropped_after: u64,
    /// 503 answers made up by the proxy.
    pub errors: u64,
    /// Bytes of the requests read from clients (heads and bodies).
    pub request_bytes: u64,
    /// Bytes of the answers written to clients.
    pub answer_bytes: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    forwarded: AtomicU64,
    dropped_before: AtomicU64,
    dropped_after: AtomicU64,
    errors: AtomicU64,
    request_bytes: AtomicU64,
    answer_bytes: AtomicU64,
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    faults: ProxyFaults,
    rng: Mutex<fastrand::Rng>,
    counters: Counters,
}

/// A running proxy.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free port of 127.0.0.1.
    pub fn start(upstream: SocketAddr, faults: ProxyFaults) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            faults,
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            counters: Counters::default(),
        });
        let accept = shared.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let shared = accept.clone();
                tokio::spawn(serve(client, shared));
            }
        });
        Self {
            addr,
            shared,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the proxy at another server (a restarted one).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self
            .shared
            .upstream
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = upstream;
    }

    /// What it did so far.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            requests: c.requests.load(Ordering::Relaxed),
            forwarded: c.forwarded.load(Ordering::Relaxed),
            dropped_before: c.dropped_before.load(Ordering::Relaxed),
            dropped_after: c.dropped_after.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            request_bytes: c.request_bytes.load(Ordering::Relaxed),
            answer_bytes: c.answer_bytes.load(Ordering::Relaxed),
        }
    }
}

/// What happens to one request.
enum Fate {
    DropBefore,
    DropAfter,
    Error,
    Forward,
}

impl Shared {
    fn fate(&self) -> Fate {
        let (roll, half) = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            (rng.f64(), rng.bool())
        };
        if roll < self.faults.drop_rate {
            if half {
                Fate::DropBefore
            } else {
                Fate::DropAfter
            }
        } else if roll < self.faults.drop_rate + self.faults.error_rate {
            Fate::Error
        } else {
            Fate::Forward
        }
    }
}

/// Why a connection is closed without an answer (a drop fault, or no server to forward to).
#[derive(Debug)]
struct Closed(String);

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Closed {}

/// Serves one client connection, request after request; an `Err` from a request closes it.
async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let counted = Counted {
        inner: client,
        shared: shared.clone(),
    };
    let service = service_fn(move |request| handle(shared.clone(), request));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(counted), service)
        .await;
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Closed> {
    let counters = &shared.counters;
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let fate = shared.fate();
    // The whole request is read before anything happens to it.
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| Closed(format!("client body: {e}")))?
        .to_bytes();
    match fate {
        Fate::DropBefore => {
            counters.dropped_before.fetch_add(1, Ordering::Relaxed);
            Err(Closed("dropped before forwarding".into()))
        }
        Fate::Error => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            let body = r#"{"__type":"ServiceUnavailable","message":"injected by the fault proxy"}"#;
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "ServiceUnavailable")
                .header("connection", "close")
                .body(Full::new(Bytes::from_static(body.as_bytes())))
                .map_err(|e| Closed(e.to_string()))
        }
        fate @ (Fate::DropAfter | Fate::Forward) => {
            counters.forwarded.fetch_add(1, Ordering::Relaxed);
            let upstream = *shared.upstream.lock().unwrap_or_else(|e| e.into_inner());
            // Detached: a client that goes away (a killed phone) does not cut the request to
            // the server short, as a real network would not.
            let request = Request::from_parts(parts, Full::new(body));
            let answer = tokio::spawn(forward(upstream, request))
                .await
                .map_err(|e| Closed(format!("forward task: {e}")))??;
            if matches!(fate, Fate::DropAfter) {
                counters.dropped_after.fetch_add(1, Ordering::Relaxed);
                return Err(Closed("dropped after the server answered".into()));
            }
            Ok(answer)
        }
    }
}

/// Sends `request` as it came (same head, same body) to `upstream` on a new connection and
/// reads the whole answer.
async fn forward(
    upstream: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, Closed> {
    let closed = |what: &str, e: &dyn std::fmt::Display| Closed(format!("{what}: {e}"));
    let server = TcpStream::connect(upstream)
        .await
        .map_err(|e| closed("connect", &e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(server))
        .await
        .map_err(|e| closed("handshake", &e))?;
    tokio::spawn(connection);
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| closed("forward", &e))?;
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| closed("server body", &e))?
        .to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The client's connection, counting the bytes read from it (requests) and written to it
/// (answers).
struct Counted {
    inner: TcpStream,
    shared: Arc<Shared>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.shared
            .counters
            .request_bytes
            .fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

impl Counted {
    fn wrote(&self, polled: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &polled {
            self.shared
                .counters
                .answer_bytes
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
