//! The pages: sign-in and sign-out, the inspections list with its filters, and a
//! container's history (each visit with its photos' thumbnails).

use std::collections::BTreeSet;

use askama::Template;
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use omni_protocol::ContainerNumber;
use serde::Deserialize;

use super::accounts::AccountError;
use super::i18n::Texts;
use super::state::{latest, state_at};
use super::{LOGIN_COOKIE, Lang, SESSION_COOKIE, SignedIn, Web, client, cookie, page, set_cookie};
use crate::store::ListQuery;
use crate::wire::{InspectionState, InspectionSummary, Review, Verdict};

/// Inspections per list page.
const PAGE_SIZE: usize = 50;
/// Visits shown on a container's page.
const MAX_VISITS: usize = 100;

/// The signed-in person, as the header shows them.
pub(super) struct UserView {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
}

pub(super) fn user_view(s: &SignedIn) -> Option<UserView> {
    Some(UserView {
        name: s.session.user.clone(),
        role: s.session.role.as_str(),
        csrf: s.session.csrf.clone(),
    })
}

/// `YYYY-MM-DD HH:MM` (UTC) of milliseconds since the epoch.
pub(super) fn time_text(ms: i64) -> String {
    let Ok(ms) = u64::try_from(ms) else {
        return "—".into();
    };
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(time).to_string();
    text.get(..16).unwrap_or(&text).replace('T', " ")
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    t: &'static Texts,
    user: Option<UserView>,
    title: String,
    message: String,
    href: String,
    label: &'static str,
}

/// A page saying what failed (store or template), status 500.
pub(super) fn failure(t: &'static Texts, message: &str) -> Response {
    let html = MessagePage {
        t,
        user: None,
        title: "500".into(),
        message: message.to_owned(),
        href: "/inspections".into(),
        label: t.inspections,
    }
    .render();
    page(StatusCode::INTERNAL_SERVER_ERROR, html)
}

/// A page with `text`, answered with `status`, linking back to the list.
pub(super) fn message(s: &SignedIn, status: StatusCode, text: &str) -> Response {
    message_with_link(s, status, text, "/inspections".into(), s.t.inspections)
}

/// A page with `text`, answered with `status`, linking to `href`.
pub(super) fn message_with_link(
    s: &SignedIn,
    status: StatusCode,
    text: &str,
    href: String,
    label: &'static str,
) -> Response {
    let html = MessagePage {
        t: s.t,
        user: user_view(s),
        title: status.as_u16().to_string(),
        message: text.to_owned(),
        href,
        label,
    }
    .render();
    page(status, html)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: &'static Texts,
    user: Option<UserView>,
    csrf: String,
    name: String,
    message: Option<&'static str>,
}

/// The sign-in form with a fresh double-submit token (cookie and hidden field).
fn login_page(
    t: &'static Texts,
    web: &Web,
    status: StatusCode,
    name: &str,
    message: Option<&'static str>,
) -> Response {
    let mut token = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut token) {
        return failure(t, &format!("no randomness: {e}"));
    }
    let csrf = hex::encode(token);
    let html = LoginPage {
        t,
        user: None,
        csrf: csrf.clone(),
        name: name.chars().take(64).collect(),
        message,
    }
    .render();
    let mut response = page(status, html);
    if let Ok(value) = set_cookie(LOGIN_COOKIE, &csrf, 900, web.secure_cookies).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn login_form(State(web): State<Web>, Lang(t): Lang) -> Response {
    login_page(t, &web, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

pub(super) async fn login(State(web): State<Web>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let Lang(t) = Lang::from_request_parts(&mut parts, &web)
        .await
        .unwrap_or(super::Lang(&super::i18n::EN));
    let address = client(&parts);
    let expected = cookie(&parts.headers, LOGIN_COOKIE).map(str::to_owned);
    let request = Request::from_parts(parts, body);
    let Ok(Form(form)) = Form::<LoginForm>::from_request(request, &web).await else {
        return login_page(t, &web, StatusCode::BAD_REQUEST, "", Some(t.stale_form));
    };
    if expected.as_deref() != Some(form.csrf.as_str()) || form.csrf.len() != 64 {
        return login_page(
            t,
            &web,
            StatusCode::FORBIDDEN,
            &form.user,
            Some(t.stale_form),
        );
    }
    let signed = web
        .accounts
        .sign_in(&form.user, &form.password, &address)
        .await;
    match signed {
        Ok(opened) => {
            let mut response = Redirect::to("/inspections").into_response();
            let cookies = [
                set_cookie(
                    SESSION_COOKIE,
                    &opened.cookie,
                    opened.max_age.as_secs(),
                    web.secure_cookies,
                ),
                set_cookie(LOGIN_COOKIE, "", 0, web.secure_cookies),
            ];
            for c in cookies {
                if let Ok(value) = c.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(AccountError::Refused) => login_page(
            t,
            &web,
            StatusCode::UNAUTHORIZED,
            &form.user,
            Some(t.refused),
        ),
        Err(AccountError::Challenge(_)) => login_page(
            t,
            &web,
            StatusCode::UNAUTHORIZED,
            &form.user,
            Some(t.challenge),
        ),
        Err(AccountError::RateLimited(wait)) => {
            let mut response = login_page(
                t,
                &web,
                StatusCode::TOO_MANY_REQUESTS,
                &form.user,
                Some(t.too_many),
            );
            if let Ok(value) = wait.as_secs().max(1).to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(e) => failure(t, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// Whether a form carries its session's token.
pub(super) fn csrf_ok(
    s: &SignedIn,
    form: &Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> bool {
    matches!(form, Ok(Form(f)) if f.csrf == s.session.csrf)
}

pub(super) async fn logout(
    State(web): State<Web>,
    signed: SignedIn,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !csrf_ok(&signed, &form) {
        return message(&signed, StatusCode::FORBIDDEN, signed.t.stale_form);
    }
    if let Err(e) = web.accounts.sign_out(&signed.token).await {
        return failure(signed.t, &e.to_string());
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = set_cookie(SESSION_COOKIE, "", 0, web.secure_cookies).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The list's filters as the form shows them back.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    container: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    damage: String,
    #[serde(default)]
    reviewed: String,
    #[serde(default)]
    inspector: String,
    /// Keyset paging: only inspections started before this (ms).
    before: Option<i64>,
}

/// Longest inspector id a filter takes (phones send ids far shorter).
const MAX_INSPECTOR_CHARS: usize = 128;

/// A yes/no/any filter: `yes`, `no` or empty.
fn yes_no(what: &str, value: &str) -> Result<Option<bool>, String> {
    match value {
        "" => Ok(None),
        "yes" => Ok(Some(true)),
        "no" => Ok(Some(false)),
        other => Err(format!(
            "{what} {:?}",
            other.chars().take(16).collect::<String>()
        )),
    }
}

/// The store query of the form's filters.
fn list_query(f: &Filters) -> Result<ListQuery, String> {
    let container = match f.container.trim() {
        "" => None,
        text => Some(
            ContainerNumber::parse(text)
                .map_err(|e| format!("{}: {e}", text.chars().take(32).collect::<String>()))?
                .as_str()
                .to_owned(),
        ),
    };
    let since_ms = (!f.from.is_empty())
        .then(|| crate::validate::time_ms(&f.from))
        .transpose()?;
    let to_ms = (!f.to.is_empty())
        .then(|| crate::validate::time_ms(&f.to).map(|ms| ms.saturating_add(86_400_000)))
        .transpose()?;
    let until_ms = match (to_ms, f.before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let state = match f.state.as_str() {
        "" => None,
        "open" => Some(InspectionState::Open),
        "closed" => Some(InspectionState::Closed),
        other => {
            return Err(format!(
                "state {:?}",
                other.chars().take(16).collect::<String>()
            ));
        }
    };
    let has_damage = yes_no("damage", &f.damage)?;
    let reviewed = yes_no("reviewed", &f.reviewed)?;
    let inspector = match f.inspector.trim() {
        "" => None,
        text if text.chars().count() > MAX_INSPECTOR_CHARS => {
            return Err(format!(
                "inspector: at most {MAX_INSPECTOR_CHARS} characters"
            ));
        }
        text => Some(text.to_owned()),
    };
    Ok(ListQuery {
        container,
        since_ms,
        until_ms,
        state,
        has_damage,
        reviewed,
        inspector,
        limit: PAGE_SIZE + 1,
    })
}

struct Row {
    id: String,
    container: String,
    inspector: String,
    started: String,
    closed: bool,
    photos: u64,
    damaged: bool,
    reviewed_by: Option<String>,
}

fn row(s: &InspectionSummary) -> Row {
    let i = &s.inspection;
    Row {
        id: i.id.clone(),
        container: i.container_number.clone(),
        inspector: i.inspector_id.clone(),
        started: time_text(i.created_at_ms),
        closed: i.state == InspectionState::Closed,
        photos: s.photo_count,
        damaged: s.has_damage,
        reviewed_by: s
            .reviewed_at_ms
            .map(|_| s.reviewed_by.clone().unwrap_or_default()),
    }
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    t: &'static Texts,
    user: Option<UserView>,
    filters: Filters,
    error: Option<String>,
    rows: Vec<Row>,
    older: Option<String>,
}

pub(super) async fn list(
    State(web): State<Web>,
    signed: SignedIn,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let t = signed.t;
    let (filters, query) = match filters {
        Ok(Query(f)) => {
            let q = list_query(&f);
            (f, q)
        }
        Err(e) => (Filters::default(), Err(e.body_text())),
    };
    let (mut summaries, error) = match query {
        Ok(q) => match web.store.list(&q).await {
            Ok(found) => (found, None),
            Err(e) => return failure(t, &e.to_string()),
        },
        // The message quotes what was typed: bounded (it is escaped by the template).
        Err(e) => (Vec::new(), Some(e.chars().take(200).collect())),
    };
    let older = (summaries.len() > PAGE_SIZE).then(|| {
        summaries.truncate(PAGE_SIZE);
        let last = summaries.last().map_or(0, |s| s.inspection.created_at_ms);
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("container", &filters.container)
            .append_pair("from", &filters.from)
            .append_pair("to", &filters.to)
            .append_pair("state", &filters.state)
            .append_pair("damage", &filters.damage)
            .append_pair("reviewed", &filters.reviewed)
            .append_pair("inspector", &filters.inspector)
            .append_pair("before", &last.to_string())
            .finish()
    });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html = ListPage {
        t,
        user: user_view(&signed),
        filters,
        error,
        rows: summaries.iter().map(row).collect(),
        older,
    }
    .render();
    page(status, html)
}

struct Visit {
    id: String,
    inspector: String,
    started: String,
    closed: bool,
    photos: u64,
    boxes: usize,
    damaged: bool,
    /// Its photos (oldest first), shown as thumbnails.
    thumbnails: Vec<Thumbnail>,
}

/// A photo of a visit, as its thumbnail shows it.
struct Thumbnail {
    id: String,
    face: char,
}

#[derive(Template)]
#[template(path = "container.html")]
struct ContainerPage {
    t: &'static Texts,
    user: Option<UserView>,
    container: String,
    visits: Vec<Visit>,
}

/// Damage boxes an inspection's photos show now: per photo, its latest review's, else the
/// cloud verdict's when readable, else the phone's.
fn box_count(verdicts: &[Verdict], reviews: &[Review]) -> usize {
    let photos: BTreeSet<&str> = verdicts
        .iter()
        .map(|v| v.photo_id.as_str())
        .chain(reviews.iter().map(|r| r.photo_id.as_str()))
        .collect();
    photos
        .into_iter()
        .map(|photo| {
            let vs: Vec<&Verdict> = verdicts.iter().filter(|v| v.photo_id == photo).collect();
            let rs: Vec<&Review> = reviews.iter().filter(|r| r.photo_id == photo).collect();
            state_at(latest(&rs), &rs, &vs).map_or(0, |state| state.boxes.len())
        })
        .sum()
}

pub(super) async fn container(
    State(web): State<Web>,
    signed: SignedIn,
    Path(number): Path<String>,
) -> Response {
    let t = signed.t;
    let Ok(number) = ContainerNumber::parse(&number) else {
        return message(&signed, StatusCode::NOT_FOUND, t.not_found);
    };
    let query = ListQuery {
        container: Some(number.as_str().to_owned()),
        limit: MAX_VISITS,
        ..ListQuery::default()
    };
    let summaries = match web.store.list(&query).await {
        Ok(s) => s,
        Err(e) => return failure(t, &e.to_string()),
    };
    let mut visits = Vec::with_capacity(summaries.len());
    for s in &summaries {
        let id = &s.inspection.id;
        let read = tokio::try_join!(
            web.store.verdicts(id),
            web.store.reviews(id),
            web.store.photos(id)
        );
        let (verdicts, reviews, photos) = match read {
            Ok(read) => read,
            Err(e) => return failure(t, &e.to_string()),
        };
        let r = row(s);
        visits.push(Visit {
            id: r.id,
            inspector: r.inspector,
            started: r.started,
            closed: r.closed,
            photos: r.photos,
            boxes: box_count(&verdicts, &reviews),
            damaged: r.damaged,
            thumbnails: photos
                .into_iter()
                .map(|p| Thumbnail {
                    id: p.photo.id,
                    face: p.photo.face.letter(),
                })
                .collect(),
        });
    }
    let html = ContainerPage {
        t,
        user: user_view(&signed),
        container: number.as_str().to_owned(),
        visits,
    }
    .render();
    page(StatusCode::OK, html)
}
