//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for servers without fault knobs (the yard
//! office): per request, it drops the client's connection (before forwarding, or after the
//! server answered, so the answer is lost), answers `503 ServiceUnavailable` itself, or
//! forwards the request and relays the answer. Runs on its own thread; stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request or answer head read.
const MAX_HEAD: usize = 64 << 10;

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
                tokio::spawn(async move {
                    let _ = serve(client, shared).await;
                });
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

/// Serves one client connection, request after request.
async fn serve(mut client: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut buffered = Vec::new();
    loop {
        let Some(request) = read_message(&mut client, &mut buffered, false).await? else {
            return Ok(());
        };
        let counters = &shared.counters;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        counters
            .request_bytes
            .fetch_add(request.len() as u64, Ordering::Relaxed);
        match shared.fate() {
            Fate::DropBefore => {
                counters.dropped_before.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Fate::Error => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                let body =
                    br#"{"__type":"ServiceUnavailable","message":"injected by the fault proxy"}"#;
                let head = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
                     x-amzn-errortype: ServiceUnavailable\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n",
                    body.len()
                );
                counters
                    .answer_bytes
                    .fetch_add((head.len() + body.len()) as u64, Ordering::Relaxed);
                client.write_all(head.as_bytes()).await?;
                client.write_all(body).await?;
                client.shutdown().await?;
                return Ok(());
            }
            fate @ (Fate::DropAfter | Fate::Forward) => {
                counters.forwarded.fetch_add(1, Ordering::Relaxed);
                let upstream = *shared.upstream.lock().unwrap_or_else(|e| e.into_inner());
                let mut server = TcpStream::connect(upstream).await?;
                server.write_all(&request).await?;
                let mut rest = Vec::new();
                let Some(answer) = read_message(&mut server, &mut rest, true).await? else {
                    return Ok(());
                };
                if matches!(fate, Fate::DropAfter) {
                    counters.dropped_after.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                counters
                    .answer_bytes
                    .fetch_add(answer.len() as u64, Ordering::Relaxed);
                client.write_all(&answer).await?;
            }
        }
    }
}

/// Reads one HTTP/1.1 message (head and a `content-length` or chunked body; an answer with
/// neither runs to the end of the stream) from `stream`, `buffered` holding bytes already
/// read past the previous one. `None`: the stream ended before a message.
async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffered: &mut Vec<u8>,
    answer: bool,
) -> std::io::Result<Option<Vec<u8>>> {
    let head_end = loop {
        if let Some(end) = find(buffered, b"\r\n\r\n") {
            break end + 4;
        }
        if buffered.len() > MAX_HEAD || !fill(stream, buffered).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffered[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let body_len = if let Some(len) = header("content-length:") {
        len.parse::<usize>().map_err(std::io::Error::other)?
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        loop {
            if let Some(end) = find(&buffered[head_end..], b"0\r\n\r\n") {
                break end + 5;
            }
            if !fill(stream, buffered).await? {
                return Ok(None);
            }
        }
    } else if answer && !head.starts_with("http/1.1 204") && !head.starts_with("http/1.1 304") {
        while fill(stream, buffered).await? {}
        buffered.len() - head_end
    } else {
        0
    };
    while buffered.len() < head_end + body_len {
        if !fill(stream, buffered).await? {
            return Ok(None);
        }
    }
    let rest = buffered.split_off(head_end + body_len);
    Ok(Some(std::mem::replace(buffered, rest)))
}

/// Reads more bytes into `buffer`; false at the end of the stream.
async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 << 10];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
