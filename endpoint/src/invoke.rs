//! One invocation, in the order a SageMaker endpoint takes its steps: the SigV4 gate
//! (headers, body, signature: `omni_gateway::sigv4`), the endpoint name, the fault plan
//! (restart, not-ready window), serverless admission (concurrency, cold start), injected
//! faults and latency, then inference.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use omni_gateway::body::BodyError;
use omni_gateway::sigv4::{self, Refusal, SigV4Gate};
use omni_sigv4::SigV4Scope;

use crate::faults::Fault;
use crate::inference::InferenceError;
use crate::routes::{aws_error, drop_connection, json, json_text};
use crate::server::{Shared, restart};
use crate::serverless::{Admission, Slot};
use crate::stats::Series;

/// Largest request body read (AWS serverless accepts 4 MB; a bit more is read to answer
/// with a clear error instead of a reset).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Serverless payload limit.
const PAYLOAD_LIMIT: usize = 4 * 1024 * 1024;

/// One invocation on either route: `endpoint_name` is the name in the runtime front's path,
/// `None` on the container route.
pub(crate) async fn invoke(
    shared: &Arc<Shared>,
    request: Request,
    endpoint_name: Option<&str>,
) -> Response {
    shared.stats.per_second(Series::Invocations);
    let (parts, body) = request.into_parts();
    let scope = SigV4Scope::sagemaker(&shared.config.region);
    let gate = shared
        .config
        .credentials
        .as_ref()
        .map(|credentials| SigV4Gate {
            credentials,
            scope: &scope,
        });
    let discarding = shared.clone();
    let passed = sigv4::pass(gate, &parts, body, MAX_BODY, move |bytes| {
        discarding.stats.counters().body_bytes_discarded += bytes as u64;
    })
    .await;
    let body = match passed {
        Ok(body) => body,
        Err(Refusal::Headers(e) | Refusal::Signature(e)) => {
            return aws_error(&shared.stats, e.status(), e.error_type(), &e.to_string());
        }
        Err(Refusal::Body(e)) => {
            let message = match e {
                BodyError::TooLarge { .. } => "request body too large",
                BodyError::Unreadable(_) => "request body unreadable",
            };
            return aws_error(&shared.stats, 400, "ValidationError", message);
        }
    };
    shared.stats.counters().body_bytes_read += body.len() as u64;
    if let Some(name) = endpoint_name
        && name != shared.config.endpoint_name
    {
        return aws_error(
            &shared.stats,
            400,
            "ValidationError",
            &format!("Endpoint {name} not found."),
        );
    }
    // Held until this invocation is answered (or abandoned).
    let _slot = match admit(shared).await {
        Ok(slot) => slot,
        Err(answer) => return answer,
    };
    if let Err(answer) = inject(shared).await {
        return answer;
    }
    answer(shared, &parts.headers, body).await
}

/// The fault plan and serverless admission: the slot this invocation holds, or the answer
/// that ends it (a restart's dropped connection, not ready, throttled).
async fn admit(shared: &Arc<Shared>) -> Result<Option<Slot<'_>>, Response> {
    let invocation = {
        let mut counters = shared.stats.counters();
        counters.invocations += 1;
        counters.invocations
    };
    let faults = &shared.config.faults;
    if faults.restart_after == Some(invocation) {
        tokio::spawn(restart(shared.clone(), faults.restart_downtime));
        shared.stats.counters().dropped += 1;
        return Err(drop_connection());
    }
    if shared.started.elapsed() < faults.not_ready_for {
        return Err(aws_error(
            &shared.stats,
            429,
            "ModelNotReadyException",
            "Model is not ready yet; the serverless endpoint is still being provisioned.",
        ));
    }
    let (admission, slot) = shared.gate.admit();
    match admission {
        Admission::Throttled { limit } => {
            shared.stats.counters().throttled += 1;
            shared.stats.per_second(Series::Throttled);
            Err(aws_error(
                &shared.stats,
                400,
                "ThrottlingException",
                &format!(
                    "Rate exceeded: the serverless endpoint's MaxConcurrency of {limit} invocations is in use."
                ),
            ))
        }
        Admission::Admitted {
            warm_at,
            cold_start,
            in_flight,
        } => {
            {
                let mut counters = shared.stats.counters();
                counters.max_in_flight = counters.max_in_flight.max(in_flight);
                counters.cold_starts += u64::from(cold_start);
                counters.cold_start_waits += u64::from(warm_at.is_some());
            }
            if let Some(warm_at) = warm_at {
                tokio::time::sleep_until(warm_at.into()).await;
            }
            Ok(slot)
        }
    }
}

/// Latency and the injected fault rolled for this invocation.
async fn inject(shared: &Shared) -> Result<(), Response> {
    let faults = &shared.config.faults;
    let fault = faults.roll(&mut crate::stats::lock(&shared.rng));
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    match fault {
        Fault::Drop => {
            shared.stats.counters().dropped += 1;
            Err(drop_connection())
        }
        Fault::Error { status, error_type } => {
            let mut answer = aws_error(&shared.stats, status, error_type, "injected fault");
            if status == 429 {
                answer
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("0"));
            }
            Err(answer)
        }
        Fault::None => Ok(()),
    }
}

/// The payload limit, then the model's answer (or the configured malformed one).
async fn answer(shared: &Arc<Shared>, headers: &HeaderMap, body: Bytes) -> Response {
    if body.len() > PAYLOAD_LIMIT {
        return aws_error(
            &shared.stats,
            400,
            "ValidationError",
            "Request payload exceeds the 4 MB limit of serverless endpoints.",
        );
    }
    let photo_id = headers
        .get("x-amzn-sagemaker-custom-attributes")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|kv| kv.trim().strip_prefix("photo-id="))
        })
        .map(str::to_owned);
    if let Some(kind) = shared.config.faults.malformed {
        let (width, height) = omni_photo::probe::probe(&body, Default::default())
            .map(|h| h.oriented_size())
            .unwrap_or((1, 1));
        return json_text(StatusCode::OK, kind.body(width, height));
    }
    let worker = shared.clone();
    let answered = tokio::task::spawn_blocking(move || worker.model.answer(&body)).await;
    match answered {
        Ok(Ok(result)) => {
            shared.stats.answered(photo_id);
            json(StatusCode::OK, &result)
        }
        Ok(Err(InferenceError::Validation(message))) => {
            aws_error(&shared.stats, 400, "ValidationError", &message)
        }
        Ok(Err(InferenceError::Model(message))) => {
            aws_error(&shared.stats, 424, "ModelError", &message)
        }
        Err(e) => aws_error(&shared.stats, 500, "InternalFailure", &e.to_string()),
    }
}
