//! A small static file server on 127.0.0.1 for the model refresh tests (the core's updater
//! and `omni model`): ETag and
//! `If-None-Match` (304), `Range: bytes=N-` (206 with `Content-Range`), 404 for missing files,
//! a request log, a one-shot "cut the body halfway" fault, an optional slow body, and
//! redirects (307 with `Location`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Connections accepted whose request is not logged yet.
    in_flight: usize,
}

/// The server; it runs until the test process ends.
#[derive(Clone)]
pub struct StaticServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl StaticServer {
    /// Starts the server on a free port of 127.0.0.1.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                // Counted before the request is answered, so a client that has its answer
                // finds the request either logged or still counted here.
                lock(&state).in_flight += 1;
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                    lock(&state).in_flight -= 1;
                });
            }
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

fn serve(stream: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let path = target
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    let range = headers.get("range").cloned();
    let if_none_match = headers.get("if-none-match").cloned();
    let (file, cut, delay, redirect, etags) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let cut = s.cut_next.remove(&path);
        (
            s.files.get(&path).cloned(),
            cut,
            s.chunk_delay,
            s.redirects.get(&path).cloned(),
            !s.no_etags,
        )
    };
    let mut status = 200;
    let mut extra = Vec::new();
    let mut body: Vec<u8> = Vec::new();
    match (method.as_str(), file) {
        ("GET", _) if redirect.is_some() => {
            status = 307;
            extra.push(format!("Location: {}", redirect.unwrap_or_default()));
        }
        ("GET", Some(bytes)) => {
            let etag = etag_of(&bytes);
            if etags {
                extra.push(format!("ETag: {etag}"));
            }
            extra.push("Accept-Ranges: bytes".to_owned());
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
                        extra.push(format!(
                            "Content-Range: bytes {start}-{}/{}",
                            bytes.len() - 1,
                            bytes.len()
                        ));
                        body = bytes[start..].to_vec();
                    }
                    _ => {
                        status = 416;
                        extra.push(format!("Content-Range: bytes */{}", bytes.len()));
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
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Method Not Allowed",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        if status == 304 { 0 } else { body.len() }
    );
    for h in &extra {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    let to_send = if cut { body.len() / 2 } else { body.len() };
    let mut sent = 0;
    if status != 304 {
        for piece in body[..to_send].chunks(64 * 1024) {
            if stream.write_all(piece).is_err() {
                break;
            }
            sent += piece.len();
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
        }
    }
    stream.flush()?;
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .log
        .push(Logged {
            path,
            range,
            if_none_match,
            status,
            authorization: headers.get("authorization").cloned(),
            content_sha256: headers.get("x-amz-content-sha256").cloned(),
            sent,
        });
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
