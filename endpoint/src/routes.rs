//! The routes (an axum router): the runtime front `POST /endpoints/{name}/invocations` and
//! the container contract `POST /invocations` (both through [`crate::invoke`]), `GET /ping`,
//! `GET /_omni/stats`; every other request is AWS's `UnknownOperationException`.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::invoke::invoke;
use crate::server::Shared;
use crate::stats::Stats;

/// Marks an answer that must not be sent: the server closes the connection instead (a
/// dropped-connection fault).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

/// An answer that the server turns into a closed connection.
pub(crate) fn drop_connection() -> Response {
    let mut answer = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    answer.extensions_mut().insert(DropConnection);
    answer
}

/// The endpoint's routes over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ping", get(|| async { json_text(StatusCode::OK, "{}") }))
        .route("/_omni/stats", get(stats))
        .route("/invocations", post(container))
        .route("/endpoints/{name}/invocations", post(runtime))
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            count_request,
        ))
        // The SigV4 gate reads and caps the body itself.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

async fn count_request(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    shared.stats.counters().requests += 1;
    next.run(request).await
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    json(StatusCode::OK, &shared.snapshot())
}

async fn container(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    invoke(&shared, request, None).await
}

async fn runtime(
    State(shared): State<Arc<Shared>>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    match name {
        Ok(Path(name)) => invoke(&shared, request, Some(&name)).await,
        Err(e) => aws_error(&shared.stats, 400, "ValidationError", &e.body_text()),
    }
}

async fn unknown(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    aws_error(
        &shared.stats,
        404,
        "UnknownOperationException",
        &format!("no route for {}", uri.path()),
    )
}

/// An AWS-shaped error answer (`x-amzn-ErrorType`, JSON `message`), counted per type.
pub(crate) fn aws_error(stats: &Stats, status: u16, error_type: &str, message: &str) -> Response {
    stats.error(error_type);
    let body = serde_json::json!({ "message": message }).to_string();
    let mut answer = json_text(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        answer.headers_mut().insert("x-amzn-errortype", value);
    }
    answer
}

/// `value` as a JSON answer.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_text(status, body),
        Err(e) => json_text(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "message": e.to_string() }).to_string(),
        ),
    }
}

/// A body that is JSON already.
pub(crate) fn json_text(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut answer = Response::new(body.into());
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    answer
}
