//! A small static file server on 127.0.0.1 for the model refresh tests (the core's updater
//! and `omni model`), on hyper: ETag and `If-None-Match` (304), `Range: bytes=N-` (206 with
//! `Content-Range`), 404 for missing files, a request log, a one-shot "cut the body halfway"
//! fault, an optional slow body, and redirects (307 with `Location`).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Pieces a body is sent in (the slow body pauses between them).
const PIECE: usize = 64 * 1024;
/// How long a cut body waits, after its half, before the connection is closed: the half is
/// on the wire by then.
const CUT_AFTER: Duration = Duration::from_millis(50);

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    /// The path asked for, without the leading `/` and the query.
    pub path: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// The `If-None-Match` header.
    pub if_none_match: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The `Authorization` header (SigV4 for S3 sources).
    pub authorization: Option<String>,
    /// The `x-amz-content-sha256` header.
    pub content_sha256: Option<String>,
    /// Body bytes actually sent.
    pub sent: usize,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    log: Vec<Logged>,
    cut_next: HashSet<String>,
    chunk_delay: Option<Duration>,
    redirects: HashMap<String, String>,
    /// Send no `ETag` (as `python -m http.server` does).
    no_etags: bool,
    /// Requests read whose answer is not logged yet.
    in_flight: usize,
}

/// The server; it runs until the test process ends.
#[derive(Clone)]
pub struct StaticServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl StaticServer {
    /// Starts the server on a free port of 127.0.0.1 (its own runtime on its own thread).
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("static server runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            runtime.block_on(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let state = shared.clone();
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |request| std::future::ready(answer(&state, request)));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        Self { addr, state }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:port/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Serves `bytes` at `path` (replacing what was there).
    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.state()
            .files
            .insert(path.trim_start_matches('/').to_owned(), bytes);
    }

    /// Stops serving `path` (404).
    pub fn remove(&self, path: &str) {
        self.state().files.remove(path.trim_start_matches('/'));
    }

    /// The next GET of `path` sends half its body, then closes the connection.
    pub fn cut_next(&self, path: &str) {
        self.state()
            .cut_next
            .insert(path.trim_start_matches('/').to_owned());
    }

    /// Answer GETs of `path` with `307 Temporary Redirect` to `location`.
    pub fn redirect(&self, path: &str, location: &str) {
        self.state()
            .redirects
            .insert(path.trim_start_matches('/').to_owned(), location.to_owned());
    }

    /// Sends `ETag`s (the default) or none.
    pub fn set_etags(&self, on: bool) {
        self.state().no_etags = !on;
    }

    /// Stops every redirect.
    pub fn clear_redirects(&self) {
        self.state().redirects.clear();
    }

    /// Send bodies in 64 KiB pieces with this pause between them.
    pub fn set_chunk_delay(&self, delay: Option<Duration>) {
        self.state().chunk_delay = delay;
    }

    /// Every request answered so far, in order. A request is logged just after its answer
    /// is sent: this waits (up to 5 s) for the requests being answered to be logged.
    pub fn log(&self) -> Vec<Logged> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let state = self.state();
            if state.in_flight == 0 || std::time::Instant::now() >= deadline {
                return state.log.clone();
            }
            drop(state);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    /// Requests for `path` logged so far.
    pub fn requests_for(&self, path: &str) -> Vec<Logged> {
        let path = path.trim_start_matches('/');
        self.log().into_iter().filter(|l| l.path == path).collect()
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The ETag the server gives `bytes`.
pub fn etag_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Answers one request. The request is counted in flight until its body is done (sent,
/// cut or abandoned), when it is logged, so a client that has its answer finds the request
/// either logged or still counted.
fn answer(
    state: &Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Pieces>, hyper::http::Error> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = request.uri().path().trim_start_matches('/').to_owned();
    let range = header("range");
    let if_none_match = header("if-none-match");
    let (file, cut, delay, redirect, etags) = {
        let mut s = lock(state);
        s.in_flight += 1;
        let cut = s.cut_next.remove(&path);
        (
            s.files.get(&path).cloned(),
            cut,
            s.chunk_delay,
            s.redirects.get(&path).cloned(),
            !s.no_etags,
        )
    };
    let mut answer = Response::builder();
    let mut status = 200;
    let mut body: Vec<u8> = Vec::new();
    match (request.method().as_str(), file) {
        ("GET", _) if redirect.is_some() => {
            status = 307;
            answer = answer.header("location", redirect.unwrap_or_default());
        }
        ("GET", Some(bytes)) => {
            let etag = etag_of(&bytes);
            if etags {
                answer = answer.header("etag", &etag);
            }
            answer = answer.header("accept-ranges", "bytes");
            if etags && if_none_match.as_deref() == Some(etag.as_str()) {
                status = 304;
            } else if let Some(range) = &range {
                let start: Option<usize> = range
                    .strip_prefix("bytes=")
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse().ok());
                match start {
                    Some(start) if start < bytes.len() => {
                        status = 206;
                        answer = answer.header(
                            "content-range",
                            format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len()),
                        );
                        body = bytes[start..].to_vec();
                    }
                    _ => {
                        status = 416;
                        answer = answer.header("content-range", format!("bytes */{}", bytes.len()));
                    }
                }
            } else {
                body = bytes;
            }
        }
        ("GET", None) => {
            status = 404;
            body = b"not found".to_vec();
        }
        _ => status = 405,
    }
    if status == 304 {
        body.clear();
    } else {
        answer = answer.header("content-length", body.len());
    }
    let full = body.len();
    let mut data = Bytes::from(body);
    if cut {
        data.truncate(full / 2);
    }
    let logged = Logged {
        path,
        range,
        if_none_match,
        status,
        authorization: header("authorization"),
        content_sha256: header("x-amz-content-sha256"),
        sent: 0,
    };
    answer
        .status(status)
        .header("connection", "close")
        .body(Pieces {
            data,
            cut,
            delay,
            sleep: None,
            cutting: false,
            log: Some((state.clone(), logged)),
        })
}

/// An answer's body, sent in [`PIECE`]s with the configured pause between them; a cut body
/// stops halfway and then fails, which closes the connection short of its `Content-Length`.
/// Logs its request when dropped, with the bytes sent.
struct Pieces {
    /// What is left to send.
    data: Bytes,
    cut: bool,
    delay: Option<Duration>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    cutting: bool,
    log: Option<(Arc<Mutex<State>>, Logged)>,
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        if !self.data.is_empty() {
            let n = self.data.len().min(PIECE);
            let piece = self.data.split_to(n);
            if let Some((_, logged)) = self.log.as_mut() {
                logged.sent += n;
            }
            if let Some(delay) = self.delay {
                self.sleep = Some(Box::pin(tokio::time::sleep(delay)));
            }
            return Poll::Ready(Some(Ok(Frame::data(piece))));
        }
        if !self.cut {
            return Poll::Ready(None);
        }
        if !self.cutting {
            self.cutting = true;
            self.sleep = Some(Box::pin(tokio::time::sleep(CUT_AFTER)));
            return self.poll_frame(cx);
        }
        Poll::Ready(Some(Err(std::io::Error::other("body cut halfway"))))
    }
}

impl Drop for Pieces {
    fn drop(&mut self) {
        if let Some((state, logged)) = self.log.take() {
            let mut state = lock(&state);
            state.log.push(logged);
            state.in_flight -= 1;
        }
    }
}
