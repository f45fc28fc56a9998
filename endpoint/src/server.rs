//! The HTTP server: routing, the SigV4 check, serverless behaviour, fault injection,
//! restarts, and counters.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use omni_gateway::body::{Announced, BodyError};
use omni_sigv4::{Credentials, SigV4Scope};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::faults::{Fault, FaultConfig};
use crate::inference::{InferenceError, InferenceModel, ModelChoice};
use crate::serverless::{Admission, Gate};

/// Largest request body read (AWS serverless accepts 4 MB; a bit more is read to answer
/// with a clear error instead of a reset).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Serverless payload limit.
const PAYLOAD_LIMIT: usize = 4 * 1024 * 1024;
/// Seconds of per-second invocation counts kept (a day); later seconds are not recorded.
pub const RATE_SECONDS: usize = 24 * 60 * 60;

/// How to run the endpoint.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The endpoint name served under `/endpoints/{name}/invocations`.
    pub endpoint_name: String,
    /// Region the SigV4 scope must name.
    pub region: String,
    /// Credentials both invocation routes accept (SigV4, service `sagemaker`); `None` serves
    /// them without authentication.
    pub credentials: Option<Credentials>,
    /// The model that answers.
    pub model: ModelChoice,
    /// Faults to inject.
    pub faults: FaultConfig,
}

/// The endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The model does not load.
    #[error("model: {0}")]
    Model(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Counters, as `GET /_omni/stats` returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Every HTTP request received.
    pub requests: u64,
    /// Invocations (either route) received.
    pub invocations: u64,
    /// Invocations answered with a detection result.
    pub answered: u64,
    /// Distinct photo ids answered with a result.
    pub answered_photos: u64,
    /// Results sent for a photo id that had already been answered (client retries after a
    /// lost answer).
    pub duplicate_answers: u64,
    /// Error answers per AWS error type.
    pub errors: BTreeMap<String, u64>,
    /// Connections dropped on purpose.
    pub dropped: u64,
    /// Restarts done.
    pub restarts: u64,
    /// Bytes of request bodies read (every body is read only after its headers passed the
    /// SigV4 check).
    pub body_bytes_read: u64,
    /// Bytes of the bodies of requests refused on their headers, read and thrown away after
    /// the refusal was answered so that the client, still sending, reads it.
    pub body_bytes_discarded: u64,
    /// Invocations answered `400 ThrottlingException` because `max_concurrency` were
    /// already in flight.
    pub throttled: u64,
    /// Warm-ups started (the first invocation, and the first after the idle scale-down
    /// time, on an endpoint with a cold start).
    pub cold_starts: u64,
    /// Invocations that waited for a warm-up (the ones that started it included).
    pub cold_start_waits: u64,
    /// Invocations in flight now (past authentication and the concurrency limit, not yet
    /// answered).
    pub in_flight: u32,
    /// The most invocations ever in flight at once.
    pub max_in_flight: u32,
    /// Invocation requests (either route, whatever their answer) received in each second
    /// since the endpoint started: index 0 is the first second. Seconds after the last
    /// request are not listed; at most [`RATE_SECONDS`] seconds are kept.
    pub invocations_per_second: Vec<u64>,
    /// Of those, the ones answered `ThrottlingException` by the concurrency limit, in the
    /// same buckets.
    pub throttled_per_second: Vec<u64>,
}

struct Shared {
    config: EndpointConfig,
    model: InferenceModel,
    started: Instant,
    rng: Mutex<fastrand::Rng>,
    stats: Mutex<StatsSnapshot>,
    answered: Mutex<HashMap<String, u64>>,
    stop: watch::Sender<u64>,
    addr: SocketAddr,
    gate: Gate,
}

/// A running endpoint. Dropping it stops the server.
pub struct RunningEndpoint {
    shared: Arc<Shared>,
}

impl Drop for RunningEndpoint {
    fn drop(&mut self) {
        // u64::MAX tells every accept loop to end for good.
        self.shared.stop.send_replace(u64::MAX);
    }
}

/// Loads the model, binds, and serves in the current tokio runtime.
pub async fn start(config: EndpointConfig) -> Result<RunningEndpoint, EndpointError> {
    let choice = config.model.clone();
    let model = tokio::task::spawn_blocking(move || InferenceModel::load(&choice))
        .await
        .map_err(|e| EndpointError::Model(e.to_string()))?
        .map_err(EndpointError::Model)?;
    let listener =
        TcpListener::bind(config.listen)
            .await
            .map_err(|source| EndpointError::Bind {
                addr: config.listen,
                source,
            })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EndpointError::Bind {
            addr: config.listen,
            source,
        })?;
    let (stop, _) = watch::channel(0);
    let shared = Arc::new(Shared {
        rng: Mutex::new(fastrand::Rng::with_seed(config.faults.seed)),
        gate: Gate::new(config.faults.serverless.clone()),
        config,
        model,
        started: Instant::now(),
        stats: Mutex::new(StatsSnapshot::default()),
        answered: Mutex::new(HashMap::new()),
        stop,
        addr,
    });
    tokio::spawn(accept_loop(listener, shared.clone(), 0));
    Ok(RunningEndpoint { shared })
}

impl RunningEndpoint {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        snapshot(&self.shared)
    }

    /// Closes the listener and every connection, stays down for `downtime`, then serves
    /// again on the same port.
    pub async fn restart(&self, downtime: Duration) {
        restart(self.shared.clone(), downtime).await;
    }
}

/// Boxed: restarts start accept loops, whose requests can trigger restarts.
fn restart(
    shared: Arc<Shared>,
    downtime: Duration,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(restart_inner(shared, downtime))
}

async fn restart_inner(shared: Arc<Shared>, downtime: Duration) {
    let generation = *shared.stop.borrow() + 1;
    shared.stop.send_replace(generation);
    lock(&shared.stats).restarts += 1;
    tokio::time::sleep(downtime).await;
    // Retry the bind briefly: the old socket may take a moment to close.
    for _ in 0..50 {
        if *shared.stop.borrow() != generation {
            return;
        }
        if let Ok(listener) = TcpListener::bind(shared.addr).await {
            tokio::spawn(accept_loop(listener, shared.clone(), generation));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, generation: u64) {
    let mut stop = shared.stop.subscribe();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stop.wait_for(|g| *g != generation) => {
                let _ = changed;
                break;
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(shared.clone(), request));
                    // An Err from the service (a dropped-connection fault) closes the
                    // connection without an answer.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Dropping the set aborts every open connection; dropping the listener closes the port.
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

type Answer = Result<Response<Full<Bytes>>, DropConnection>;

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Answer {
    lock(&shared.stats).requests += 1;
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    match (method, path.as_str()) {
        (Method::GET, "/ping") => Ok(response(StatusCode::OK, "application/json", "{}")),
        (Method::GET, "/_omni/stats") => Ok(json(StatusCode::OK, &snapshot(&shared))),
        (Method::POST, "/invocations") => invoke(&shared, request, None).await,
        (Method::POST, p) if p.starts_with("/endpoints/") && p.ends_with("/invocations") => {
            let name = p["/endpoints/".len()..p.len() - "/invocations".len()].to_owned();
            invoke(&shared, request, Some(&name)).await
        }
        _ => Ok(aws_error(
            &shared,
            404,
            "UnknownOperationException",
            &format!("no route for {path}"),
        )),
    }
}

/// One invocation on either route: `endpoint_name` is the name in the runtime front's path,
/// `None` on the container route.
async fn invoke(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    endpoint_name: Option<&str>,
) -> Answer {
    count_per_second(shared, |stats| &mut stats.invocations_per_second);
    let (parts, body) = request.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    // Authenticate the headers before reading a byte of the body, as AWS does.
    let scope = SigV4Scope::sagemaker(&shared.config.region);
    let signature = match &shared.config.credentials {
        None => None,
        Some(expected) => {
            match omni_sigv4::check_headers(expected, &scope, &headers, SystemTime::now()) {
                Ok(check) => Some(check),
                Err(e) => {
                    discard_body(shared.clone(), body);
                    return Ok(aws_error(
                        shared,
                        e.status(),
                        e.error_type(),
                        &e.to_string(),
                    ));
                }
            }
        }
    };
    let body = match read_body(shared, body, Announced::from_headers(&parts.headers)).await {
        Ok(body) => body,
        Err(message) => return Ok(aws_error(shared, 400, "ValidationError", message)),
    };
    if let Some(check) = signature {
        let host = header(&headers, "host").unwrap_or_default();
        let url = format!("http://{host}{}", parts.uri.path());
        if let Err(e) = check.verify_signature(parts.method.as_str(), &url, &body) {
            return Ok(aws_error(
                shared,
                e.status(),
                e.error_type(),
                &e.to_string(),
            ));
        }
    }
    if let Some(name) = endpoint_name
        && name != shared.config.endpoint_name
    {
        return Ok(aws_error(
            shared,
            400,
            "ValidationError",
            &format!("Endpoint {name} not found."),
        ));
    }
    let invocation = {
        let mut stats = lock(&shared.stats);
        stats.invocations += 1;
        stats.invocations
    };
    let faults = &shared.config.faults;
    if faults.restart_after == Some(invocation) {
        tokio::spawn(restart(shared.clone(), faults.restart_downtime));
        lock(&shared.stats).dropped += 1;
        return Err(DropConnection);
    }
    if shared.started.elapsed() < faults.not_ready_for {
        return Ok(aws_error(
            shared,
            429,
            "ModelNotReadyException",
            "Model is not ready yet; the serverless endpoint is still being provisioned.",
        ));
    }
    // Held until this invocation is answered (or abandoned).
    let (admission, _slot) = shared.gate.admit();
    match admission {
        Admission::Throttled { limit } => {
            lock(&shared.stats).throttled += 1;
            count_per_second(shared, |stats| &mut stats.throttled_per_second);
            return Ok(aws_error(
                shared,
                400,
                "ThrottlingException",
                &format!(
                    "Rate exceeded: the serverless endpoint's MaxConcurrency of {limit} invocations is in use."
                ),
            ));
        }
        Admission::Admitted {
            warm_at,
            cold_start,
            in_flight,
        } => {
            {
                let mut stats = lock(&shared.stats);
                stats.max_in_flight = stats.max_in_flight.max(in_flight);
                stats.cold_starts += u64::from(cold_start);
                stats.cold_start_waits += u64::from(warm_at.is_some());
            }
            if let Some(warm_at) = warm_at {
                tokio::time::sleep_until(warm_at.into()).await;
            }
        }
    }
    let fault = faults.roll(&mut lock(&shared.rng));
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    match fault {
        Fault::Drop => {
            lock(&shared.stats).dropped += 1;
            return Err(DropConnection);
        }
        Fault::Error { status, error_type } => {
            let mut answer = aws_error(shared, status, error_type, "injected fault");
            if status == 429 {
                answer
                    .headers_mut()
                    .insert("retry-after", hyper::header::HeaderValue::from_static("0"));
            }
            return Ok(answer);
        }
        Fault::None => {}
    }
    if body.len() > PAYLOAD_LIMIT {
        return Ok(aws_error(
            shared,
            400,
            "ValidationError",
            "Request payload exceeds the 4 MB limit of serverless endpoints.",
        ));
    }
    let photo_id = header(&headers, "x-amzn-sagemaker-custom-attributes")
        .and_then(|v| {
            v.split(',')
                .find_map(|kv| kv.trim().strip_prefix("photo-id="))
        })
        .map(str::to_owned);
    if let Some(kind) = faults.malformed {
        let (width, height) = omni_photo::probe::probe(&body, Default::default())
            .map(|h| h.oriented_size())
            .unwrap_or((1, 1));
        return Ok(response(
            StatusCode::OK,
            "application/json",
            kind.body(width, height),
        ));
    }
    let worker = shared.clone();
    let answered = tokio::task::spawn_blocking(move || worker.model.answer(&body)).await;
    match answered {
        Ok(Ok(result)) => {
            {
                let mut stats = lock(&shared.stats);
                stats.answered += 1;
                if let Some(id) = photo_id {
                    let mut seen = lock(&shared.answered);
                    let count = seen.entry(id).or_insert(0);
                    *count += 1;
                    if *count > 1 {
                        stats.duplicate_answers += 1;
                    }
                    stats.answered_photos = seen.len() as u64;
                }
            }
            Ok(json(StatusCode::OK, &result))
        }
        Ok(Err(InferenceError::Validation(message))) => {
            Ok(aws_error(shared, 400, "ValidationError", &message))
        }
        Ok(Err(InferenceError::Model(message))) => {
            Ok(aws_error(shared, 424, "ModelError", &message))
        }
        Err(e) => Ok(aws_error(shared, 500, "InternalFailure", &e.to_string())),
    }
}

/// Reads a request body, at most `MAX_BODY` bytes, counting the bytes read. A longer body
/// is read on and thrown away (within the gateway's bounds) before the refusal, so that the
/// client reads it.
async fn read_body(
    shared: &Shared,
    body: Incoming,
    announced: Announced,
) -> Result<Bytes, &'static str> {
    let read = omni_gateway::body::read_capped(body, announced, MAX_BODY).await;
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge { .. }) => return Err("request body too large"),
        Err(BodyError::Unreadable(_)) => return Err("request body unreadable"),
    };
    lock(&shared.stats).body_bytes_read += bytes.len() as u64;
    Ok(bytes)
}

/// Reads and throws away, in the background, the body of a request refused on its headers:
/// the refusal is answered at once, and the client, which may still be sending, then reads
/// it instead of a reset connection.
fn discard_body(shared: Arc<Shared>, body: Incoming) {
    tokio::spawn(async move {
        let discarded = omni_gateway::body::drain(body).await;
        lock(&shared.stats).body_bytes_discarded += discarded as u64;
    });
}

/// Adds one to this second's bucket of the per-second series `series` picks.
fn count_per_second(shared: &Shared, series: impl FnOnce(&mut StatsSnapshot) -> &mut Vec<u64>) {
    let second = usize::try_from(shared.started.elapsed().as_secs()).unwrap_or(usize::MAX);
    if second >= RATE_SECONDS {
        return;
    }
    let mut stats = lock(&shared.stats);
    let buckets = series(&mut stats);
    if buckets.len() <= second {
        buckets.resize(second + 1, 0);
    }
    buckets[second] += 1;
}

/// The counters with the gate's current in-flight count.
fn snapshot(shared: &Shared) -> StatsSnapshot {
    let in_flight = shared.gate.in_flight();
    let mut stats = lock(&shared.stats).clone();
    stats.in_flight = in_flight;
    stats
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn aws_error(
    shared: &Shared,
    status: u16,
    error_type: &str,
    message: &str,
) -> Response<Full<Bytes>> {
    *lock(&shared.stats)
        .errors
        .entry(error_type.to_owned())
        .or_insert(0) += 1;
    let body = serde_json::json!({ "message": message }).to_string();
    let mut answer = response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        body,
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(error_type) {
        answer.headers_mut().insert("x-amzn-errortype", value);
    }
    answer
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => response(status, "application/json", body),
        Err(e) => response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            serde_json::json!({ "message": e.to_string() }).to_string(),
        ),
    }
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut answer = Response::new(Full::new(body.into()));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    answer
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
