//! The HTTP API, `/v1` (schema in `docs/office.md`): one axum router for `omni-office
//! serve` and for the Lambda behind API Gateway.
//!
//! Every request passes [`guard`] first: at most [`MAX_REQUEST_BYTES`] of body, and, when
//! [`AppConfig::auth`] is set (the local server; on AWS, API Gateway's IAM authorizer checks
//! it instead), a SigV4 signature of service `execute-api`, headers before the body is read.
//! Errors are AWS-shaped ([`ApiError`]). Writes are idempotent: a retried request answers
//! as the first did and writes nothing.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use hmac::{Hmac, Mac};
use omni_gateway::body::BodyError;
use omni_gateway::sigv4::{self, Refusal, SigV4Gate};
use omni_protocol::{ContainerNumber, Timestamp};
use omni_sigv4::{Credentials, SigV4Scope};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use crate::detect::Detector;
use crate::error::ApiError;
use crate::report::{ReportSettings, Stage};
use crate::store::{ListQuery, Put, Store};
use crate::validate;
use crate::wire::{
    DETECT_HEADER, DetectStatus, FACE_HEADER, InspectionDetail, InspectionList, InspectionState,
    MAX_REQUEST_BYTES, PHOTO_SHA256_HEADER, Photo, PhotoDetail, PhotoUploaded, PutInspection,
    PutVerdict, VerdictSource,
};

/// Why a photo asked to be detected on upload has no verdict on an office without an
/// endpoint (`omni-office serve` without `--endpoint-url`).
pub const NO_DETECTOR: &str = "detection on upload is not configured on this office: the photo is archived without a cloud verdict";

/// Most inspections one listing returns.
pub const MAX_LIST: usize = 1000;

/// The signing service API Gateway uses, and the local server checks.
pub const SERVICE: &str = "execute-api";

/// Who may call the local server: requests must be SigV4-signed with these credentials for
/// `region` and service [`SERVICE`].
#[derive(Clone, Debug)]
pub struct Auth {
    /// The expected credentials (access key, secret, session token when set).
    pub credentials: Credentials,
    /// The signing region.
    pub region: String,
}

/// Everything the router needs.
#[derive(Clone)]
pub struct AppConfig {
    /// Where inspections live.
    pub store: Arc<dyn Store>,
    /// SigV4 check; `None` only behind API Gateway's IAM authorizer.
    pub auth: Option<Auth>,
    /// Detection on upload, when configured.
    pub detector: Option<Detector>,
    /// HMAC key of the local photo URLs (for stores without presigned URLs).
    pub url_key: Vec<u8>,
    /// How long photo URLs work.
    pub url_ttl: Duration,
    /// The kinds and CEDEX tables, and how reports are written.
    pub reports: Arc<ReportSettings>,
}

type App = Arc<AppConfig>;

/// The router of the whole API.
pub fn router(config: AppConfig) -> Router {
    let app: App = Arc::new(config);
    Router::new()
        .route("/v1/inspections", get(list_inspections))
        .route(
            "/v1/inspections/{id}",
            put(put_inspection).get(get_inspection),
        )
        .route("/v1/inspections/{id}/photos/{photo_id}", put(put_photo))
        .route("/v1/inspections/{id}/report", get(get_report))
        .route(
            "/v1/inspections/{id}/photos/{photo_id}/verdicts/{source}",
            put(put_verdict),
        )
        .route("/v1/photo-urls/{id}/{photo_id}", get(get_photo_by_url))
        .fallback(|| async { ApiError::new(404, "UnknownOperationException", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                405,
                "MethodNotAllowedException",
                "method not allowed on this route",
            )
        })
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        // The guard reads and caps the body itself.
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: AppConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The body cap and the SigV4 check, before any handler.
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    match checked(&app, request).await {
        Ok(request) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

async fn checked(app: &AppConfig, request: Request) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    // Photo URLs carry their own (HMAC) signature.
    let signed = !parts.uri.path().starts_with("/v1/photo-urls/");
    let scope = app.auth.as_ref().map(|a| SigV4Scope {
        region: a.region.clone(),
        service: SERVICE.to_owned(),
    });
    let gate = match (&app.auth, &scope) {
        (Some(auth), Some(scope)) if signed => Some(SigV4Gate {
            credentials: &auth.credentials,
            scope,
        }),
        _ => None,
    };
    let bytes = sigv4::pass(gate, &parts, body, MAX_REQUEST_BYTES, |_| {})
        .await
        .map_err(|refusal| match refusal {
            Refusal::Headers(e) | Refusal::Signature(e) => {
                ApiError::new(e.status(), e.error_type(), e.to_string())
            }
            Refusal::Body(e @ BodyError::TooLarge { .. }) => ApiError::too_large(e.to_string()),
            Refusal::Body(e @ BodyError::Unreadable(_)) => ApiError::validation(e.to_string()),
        })?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::new(500, "InternalFailure", e.to_string()).into_response(),
    }
}

fn status_of(put: Put) -> StatusCode {
    match put {
        Put::Created => StatusCode::CREATED,
        Put::Updated | Put::Unchanged => StatusCode::OK,
    }
}

async fn put_inspection(
    State(app): State<App>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: PutInspection = ApiError::parse_json(&body)?;
    let inspection = validate::inspection(&id, request, Timestamp::now().as_millis())?;
    let put = app.store.put_inspection(&inspection).await?;
    let stored = app
        .store
        .inspection(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no inspection {id}")))?;
    // No report is started here: a phone sends a closed revision before its photos and
    // verdicts (its lane's order), so a report written now would miss them under a key that
    // never changes. The phone asks for the report once the office has everything.
    Ok(json(status_of(put), &stored.inspection))
}

/// Query of `GET /v1/inspections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    container: Option<String>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    state: Option<InspectionState>,
    has_damage: Option<bool>,
    reviewed: Option<bool>,
    inspector: Option<String>,
    limit: Option<usize>,
}

async fn list_inspections(
    State(app): State<App>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::validation(e.body_text()))?;
    let container = params
        .container
        .map(|c| {
            ContainerNumber::parse(&c)
                .map(|n| n.as_str().to_owned())
                .map_err(|e| ApiError::validation(format!("container {c:?}: {e}")))
        })
        .transpose()?;
    if let Some(inspector) = &params.inspector {
        validate::inspector_id(inspector)?;
    }
    let query = ListQuery {
        container,
        since_ms: params.since_ms,
        until_ms: params.until_ms,
        state: params.state,
        has_damage: params.has_damage,
        reviewed: params.reviewed,
        inspector: params.inspector,
        limit: params.limit.unwrap_or(MAX_LIST).clamp(1, MAX_LIST),
    };
    let inspections = app.store.list(&query).await?;
    Ok(json(StatusCode::OK, &InspectionList { inspections }))
}

async fn get_inspection(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate::id("inspection id", &id)?;
    let mut stored_photos = app.store.photos(&id).await?;
    if let Some(detector) = &app.detector
        && detector.resume_stale(&app.store, &stored_photos).await?
    {
        // Detections cut off earlier ran again: read what they came to.
        stored_photos = app.store.photos(&id).await?;
    }
    let summary = app
        .store
        .inspection(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no inspection {id}")))?;
    let mut verdicts: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for v in app.store.verdicts(&id).await? {
        verdicts.entry(v.photo_id.clone()).or_default().push(v);
    }
    let host = header_str(&headers, "host").unwrap_or("127.0.0.1");
    let mut photos = Vec::new();
    for stored in stored_photos {
        let (url, url_expires_at_ms) = photo_url(&app, host, &stored.photo).await?;
        photos.push(PhotoDetail {
            verdicts: verdicts.remove(&stored.photo.id).unwrap_or_default(),
            url,
            url_expires_at_ms,
            detect_status: stored.detect_status,
            detect_error: stored.detect_error,
            photo: stored.photo,
        });
    }
    let faces = app.reports.kinds.coverage(
        summary.inspection.kind.as_deref(),
        photos.iter().map(|p| p.photo.face),
    );
    Ok(json(
        StatusCode::OK,
        &InspectionDetail {
            faces,
            has_damage: summary.has_damage,
            reviewed_at_ms: summary.reviewed_at_ms,
            reviewed_by: summary.reviewed_by,
            inspection: summary.inspection,
            photos,
        },
    ))
}

/// `GET /v1/inspections/{id}/report`: the stored EIR of the inspection's current revision and
/// review state (200, the EIR JSON), or, while it is not written yet, 202
/// `ReportPendingException` with `Retry-After` after starting (or resuming) the writer in the
/// background (`crate::report`): it never waits for the writer, nor for Bedrock.
async fn get_report(State(app): State<App>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match crate::report::stored_or_start(&app.store, &app.reports, &id).await? {
        Stage::Written(eir) => Ok(json(StatusCode::OK, &eir)),
        Stage::Pending(key) => {
            let mut response = crate::report::pending(&id, key).into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::report::RETRY_AFTER.as_secs()),
            );
            Ok(response)
        }
    }
}

fn url_signature(key: &[u8], inspection_id: &str, photo_id: &str, expires_ms: i64) -> Hmac<Sha256> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(format!("{inspection_id}/{photo_id}/{expires_ms}").as_bytes());
    mac
}

/// A short-lived URL for a photo: the store's presigned one (S3), or a local URL with an
/// HMAC signature and expiry served by [`get_photo_by_url`].
async fn photo_url(app: &AppConfig, host: &str, photo: &Photo) -> Result<(String, i64), ApiError> {
    if let Some(presigned) = app.store.presigned_url(photo, app.url_ttl).await? {
        return Ok(presigned);
    }
    let ttl = i64::try_from(app.url_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires = Timestamp::now().as_millis().saturating_add(ttl);
    let signature = url_signature(&app.url_key, &photo.inspection_id, &photo.id, expires)
        .finalize()
        .into_bytes();
    Ok((
        format!(
            "http://{host}/v1/photo-urls/{}/{}?expires_ms={expires}&signature={}",
            photo.inspection_id,
            photo.id,
            hex::encode(signature)
        ),
        expires,
    ))
}

/// Query of a local photo URL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UrlParams {
    expires_ms: i64,
    signature: String,
}

async fn get_photo_by_url(
    State(app): State<App>,
    Path((id, photo_id)): Path<(String, String)>,
    params: Result<Query<UrlParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::validation(e.body_text()))?;
    let denied = |m: &str| ApiError::new(403, "AccessDeniedException", m);
    let signature = hex::decode(&params.signature).map_err(|_| denied("bad signature"))?;
    url_signature(&app.url_key, &id, &photo_id, params.expires_ms)
        .verify_slice(&signature)
        .map_err(|_| denied("bad signature"))?;
    if params.expires_ms < Timestamp::now().as_millis() {
        return Err(denied("the URL has expired"));
    }
    let stored = app
        .store
        .photo(&id, &photo_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no photo {photo_id}")))?;
    let bytes = app.store.photo_bytes(&stored.photo).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, stored.photo.content_type)],
        bytes,
    )
        .into_response())
}

async fn put_photo(
    State(app): State<App>,
    Path((id, photo_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    validate::id("inspection id", &id)?;
    validate::id("photo id", &photo_id)?;
    let claimed = header_str(&headers, PHOTO_SHA256_HEADER)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            ApiError::validation(format!(
                "{PHOTO_SHA256_HEADER} must be the body's SHA-256, 64 hex digits"
            ))
        })?
        .to_ascii_lowercase();
    let sha256 = hex::encode(Sha256::digest(&body));
    if sha256 != claimed {
        return Err(ApiError::new(
            400,
            "BadDigest",
            format!("the body's SHA-256 is {sha256}, not {claimed}"),
        ));
    }
    // A header that is not text is a bad letter, not an absent one.
    let face = validate::face(
        headers
            .get(FACE_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{fffd}")),
    )?;
    let photo_header = validate::photo(&body)?;
    let detect = match header_str(&headers, DETECT_HEADER) {
        None => app.detector.as_ref().is_some_and(|d| d.by_default),
        Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "{DETECT_HEADER} must be true or false, not {other:?}"
            )));
        }
    };
    // Asked for detection that this office cannot do: the photo is archived all the same
    // (it is evidence), and the answer says why it has no verdict.
    let detector = app.detector.as_ref().filter(|_| detect);
    let not_detected = (detect && detector.is_none()).then_some(NO_DETECTOR);
    if app.store.inspection(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no inspection {id}")));
    }
    let photo = Photo {
        id: photo_id.clone(),
        inspection_id: id.clone(),
        sha256,
        size_bytes: body.len() as u64,
        content_type: photo_header.format.mime_type().to_owned(),
        received_at_ms: Timestamp::now().as_millis(),
        face,
    };
    let status = if detector.is_some() {
        DetectStatus::Pending
    } else {
        DetectStatus::None
    };
    let put = app.store.put_photo(&photo, &body, status).await?;
    if put == Put::Created
        && let Some(reason) = not_detected
    {
        app.store
            .set_detect_status(&photo, DetectStatus::None, Some(reason))
            .await?;
    }
    // The thumbnail is made by the upload that stored the photo (beside its detection), or by
    // a retry of it when that upload stopped before making one (the phone retries until
    // answered, so a crash between the two is mended by its next try).
    let thumbnail = async {
        if put == Put::Created || crate::thumbnail::missing(app.store.as_ref(), &photo).await {
            crate::thumbnail::make(app.store.as_ref(), &photo, body.clone()).await;
        }
    };
    if put == Put::Created
        && let Some(detector) = detector
    {
        let detection = detector.detect(
            app.store.clone(),
            photo.clone(),
            body.to_vec(),
            photo_header,
        );
        let ((), outcome) = tokio::join!(thumbnail, detection);
        let answer = PhotoUploaded {
            photo,
            created: true,
            detect_status: outcome.status,
            verdict: outcome.verdict,
            detect_error: outcome.error,
        };
        return Ok(json(StatusCode::CREATED, &answer));
    }
    thumbnail.await;
    // Created without detection, or a repeat: answer what is stored, after detecting again
    // a detection that was cut off.
    let lookup = || async {
        app.store
            .photo(&id, &photo_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no photo {photo_id}")))
    };
    let mut stored = lookup().await?;
    if let Some(detector) = &app.detector
        && detector
            .resume_stale(&app.store, std::slice::from_ref(&stored))
            .await?
    {
        stored = lookup().await?;
    }
    let verdict = app
        .store
        .verdicts(&id)
        .await?
        .into_iter()
        .find(|v| v.photo_id == photo_id && v.source == VerdictSource::Cloud);
    let answer = PhotoUploaded {
        photo: stored.photo,
        created: put == Put::Created,
        detect_status: stored.detect_status,
        verdict,
        detect_error: stored.detect_error,
    };
    Ok(json(status_of(put), &answer))
}

async fn put_verdict(
    State(app): State<App>,
    Path((id, photo_id, source)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    validate::id("inspection id", &id)?;
    validate::id("photo id", &photo_id)?;
    let source = VerdictSource::parse(&source).ok_or_else(|| {
        ApiError::validation(format!(
            "verdict source must be edge or cloud, not {source:?}"
        ))
    })?;
    let request: PutVerdict = ApiError::parse_json(&body)?;
    let verdict = validate::verdict(
        &photo_id,
        source,
        request.response,
        Timestamp::now().as_millis(),
    )?;
    let put = app.store.put_verdict(&id, &verdict).await?;
    Ok(json(status_of(put), &verdict))
}
