//! The office's web view for people: sign in, find inspections, see each photo with its
//! damage boxes, review them (reviewers), read the audit log and a closed inspection's EIR
//! (on the page, and as the PDF). Server-rendered HTML (askama
//! templates, escaped), plain CSS; the edge/cloud/review switch is CSS, and the one script
//! (`static/review.js`, served from here) only helps draw a box: every form works without
//! it. Phones never come here; people never use the SigV4 API.
//!
//! Every answer carries a strict Content-Security-Policy (nothing inline, nothing from
//! elsewhere, no framing). A request without a live session sees only the sign-in page;
//! every state-changing form carries a CSRF token (the session's, or for the sign-in form a
//! double-submitted cookie). [`router`] serves these pages and hands every other path to
//! the API router, so one listener serves both.

pub mod accounts;
mod audit;
pub mod auth;
pub mod cognito;
pub mod i18n;
mod inspection;
mod pages;
mod photos;
mod report;
mod review;
mod state;
pub mod users;
mod verdicts;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::report::ReportSettings;
use crate::store::Store;
use accounts::Session;
use auth::AccountBackend;
use i18n::Texts;

/// The Content-Security-Policy of every page.
/// Scripts come only from the office itself (`/static/review.js`, the box editor): nothing
/// inline, no `eval`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The session cookie.
pub const SESSION_COOKIE: &str = "omni_session";
/// The sign-in form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "omni_login";

/// What the pages need.
#[derive(Clone)]
pub struct WebConfig {
    /// Where inspections live (the API's store).
    pub store: Arc<dyn Store>,
    /// Who signs people in: the embedded accounts, or a Cognito user pool.
    pub accounts: Arc<dyn AccountBackend>,
    /// Mark cookies `Secure` (the office is reached over https, e.g. behind a proxy).
    pub secure_cookies: bool,
    /// How reports are written: the API's own settings (`AppConfig::reports`), so the page
    /// and `GET /v1/inspections/{id}/report` store and show one report per revision.
    pub reports: Arc<ReportSettings>,
}

type Web = Arc<WebConfig>;

/// The pages, with `api` (the `/v1` router) answering every other path.
pub fn router(config: WebConfig, api: Router) -> Router {
    let web: Web = Arc::new(config);
    Router::new()
        .route("/", get(|| async { Redirect::to("/inspections") }))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/inspections", get(pages::list))
        .route("/inspections/{id}", get(inspection::inspection))
        .route("/inspections/{id}/report.pdf", get(report::pdf))
        .route(
            "/inspections/{id}/photos/{photo_id}/review",
            post(review::review).layer(DefaultBodyLimit::max(review::MAX_FORM_BYTES)),
        )
        .route("/inspections/{id}/reviewed", post(review::mark_reviewed))
        .route("/containers/{number}", get(pages::container))
        .route("/photos/{id}/{photo_id}", get(photos::photo))
        .route("/thumbs/{id}/{photo_id}", get(photos::thumbnail))
        .route("/static/office.css", get(stylesheet))
        .route("/static/review.js", get(script))
        .layer(middleware::from_fn(security_headers))
        .with_state(web)
        .fallback_service(api)
}

/// Serves `router` (which needs the peer's address: sign-in limits count per client).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/office.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/review.js"),
    )
        .into_response()
}

async fn security_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`, `Secure` when asked;
/// `max_age_s` 0 deletes it.
fn set_cookie(name: &str, value: &str, max_age_s: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// The language of the request's browser.
struct Lang(&'static Texts);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(i18n::texts(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )))
    }
}

/// A request from a signed-in person; anyone else is sent to the sign-in page.
struct SignedIn {
    session: Session,
    token: String,
    t: &'static Texts,
}

impl FromRequestParts<Web> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        let Lang(t) = Lang::from_request_parts(parts, web)
            .await
            .unwrap_or(Lang(&i18n::EN));
        let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default();
        match web.accounts.session(token).await {
            Ok(Some(session)) => Ok(SignedIn {
                session,
                token: token.to_owned(),
                t,
            }),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(pages::failure(t, &e.to_string())),
        }
    }
}

/// The client's address (for sign-in limits), or `unknown` behind a proxy that hides it.
fn client(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// A page answered with `status`.
fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("template failed: {e}"),
        )
            .into_response(),
    }
}
