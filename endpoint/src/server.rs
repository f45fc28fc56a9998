//! The server: the listener and its connections (hyper, serving the axum router of
//! [`crate::routes`]), restarts on the same port, and closing a connection without an answer
//! when a fault says so.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use omni_sigv4::Credentials;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::faults::FaultConfig;
use crate::inference::{InferenceModel, ModelChoice};
use crate::routes::{self, DropConnection};
use crate::serverless::Gate;
use crate::stats::{Stats, StatsSnapshot};

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

/// What every connection, route and restart of one endpoint shares.
pub(crate) struct Shared {
    pub(crate) config: EndpointConfig,
    pub(crate) model: InferenceModel,
    pub(crate) started: Instant,
    pub(crate) rng: Mutex<fastrand::Rng>,
    pub(crate) stats: Stats,
    stop: watch::Sender<u64>,
    addr: SocketAddr,
    pub(crate) gate: Gate,
}

impl Shared {
    /// The counters with the gate's current in-flight count.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.stats.snapshot(self.gate.in_flight())
    }
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
    let started = Instant::now();
    let shared = Arc::new(Shared {
        rng: Mutex::new(fastrand::Rng::with_seed(config.faults.seed)),
        gate: Gate::new(config.faults.serverless.clone()),
        config,
        model,
        started,
        stats: Stats::new(started),
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
        self.shared.snapshot()
    }

    /// Closes the listener and every connection, stays down for `downtime`, then serves
    /// again on the same port.
    pub async fn restart(&self, downtime: Duration) {
        restart(self.shared.clone(), downtime).await;
    }
}

/// Boxed: restarts start accept loops, whose requests can trigger restarts.
pub(crate) fn restart(
    shared: Arc<Shared>,
    downtime: Duration,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(restart_inner(shared, downtime))
}

async fn restart_inner(shared: Arc<Shared>, downtime: Duration) {
    let generation = *shared.stop.borrow() + 1;
    shared.stop.send_replace(generation);
    shared.stats.counters().restarts += 1;
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
    let router = routes::router(shared.clone());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stop.wait_for(|g| *g != generation) => {
                let _ = changed;
                break;
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let mut router = router.clone();
                        async move {
                            let Ok(answer) = router.call(request).await;
                            if answer.extensions().get::<DropConnection>().is_some() {
                                return Err(DropConnection);
                            }
                            Ok(answer)
                        }
                    });
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

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}
