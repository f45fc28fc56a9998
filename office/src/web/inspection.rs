//! An inspection's page: every photo with its layers (the edge and cloud verdicts, and the
//! latest review) switchable without script, for reviewers the review form of each photo and
//! the reviewed mark, the audit log, and once it is closed its report (EIR, `super::report`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::accounts::Role;
use super::audit::{self, Entry, Mark};
use super::i18n::Texts;
use super::pages::{UserView, failure, message, time_text, user_view};
use super::report::{self as eir, ReportSection};
use super::state::{PhotoState, latest, state_at, verdict_layer};
use super::verdicts::{BoxView, Layer, layer};
use super::{SignedIn, Web, page};
use crate::wire::{InspectionState, Review, Verdict, VerdictSource};

/// The latest review of a photo, drawn.
struct ReviewLayer {
    /// The drawing's units (the verdict's image size when known, so labels keep their shape).
    width: u32,
    /// Height.
    height: u32,
    /// The review's number.
    revision: u64,
    /// Who reviewed.
    reviewer: String,
    /// When.
    when: String,
    /// The boxes, in the drawing's units.
    boxes: Vec<BoxView>,
}

/// One box row of a review form.
struct FormRow {
    /// Index in the shown state.
    index: usize,
    /// Its class now.
    class_id: u32,
    /// Its class's name.
    label: String,
}

/// A photo's review form (reviewers only).
struct ReviewForm {
    /// The revision the page shows (0: none).
    base_revision: u64,
    /// The verdict a first review starts from (`source:sha256`), empty otherwise.
    based_on: String,
    /// The boxes shown.
    rows: Vec<FormRow>,
}

struct PhotoView {
    id: String,
    inspection_id: String,
    received: String,
    detect_status: String,
    /// The layer shown first: `review`, `cloud` or `edge`.
    first: &'static str,
    layers: Vec<Layer>,
    review: Option<ReviewLayer>,
    form: Option<ReviewForm>,
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct InspectionPage {
    t: &'static Texts,
    user: Option<UserView>,
    id: String,
    container: String,
    inspector: String,
    started: String,
    closed: bool,
    location: String,
    damaged: bool,
    reviewer: bool,
    photos: Vec<PhotoView>,
    audit: Vec<Entry>,
    mark: Option<Mark>,
    report: ReportSection,
}

fn review_layer(t: &Texts, review: &Review, verdicts: &[&Verdict]) -> ReviewLayer {
    let (width, height) =
        verdict_layer(verdicts).map_or((1000, 1000), |(_, l)| (l.width, l.height));
    let (w, h) = (width as f32, height as f32);
    let font = w.max(h) / 45.0;
    ReviewLayer {
        width,
        height,
        revision: review.revision,
        reviewer: review.reviewer.clone(),
        when: time_text(review.reviewed_at_ms),
        boxes: review
            .boxes
            .iter()
            .map(|b| BoxView {
                class_id: b.class_id,
                label: t.class_name(b.class_id),
                score_pct: 100,
                x: b.x1 * w,
                y: b.y1 * h,
                w: (b.x2 - b.x1) * w,
                h: (b.y2 - b.y1) * h,
                font,
            })
            .collect(),
    }
}

fn review_form(t: &Texts, state: &PhotoState) -> ReviewForm {
    ReviewForm {
        base_revision: state.revision,
        based_on: state.based_on_field(),
        rows: state
            .boxes
            .iter()
            .enumerate()
            .map(|(index, b)| FormRow {
                index,
                class_id: b.class_id,
                label: t.class_name(b.class_id),
            })
            .collect(),
    }
}

pub(super) async fn inspection(
    State(web): State<Web>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let t = signed.t;
    if crate::validate::id("inspection id", &id).is_err() {
        return message(&signed, StatusCode::NOT_FOUND, t.not_found);
    }
    let summary = match web.store.inspection(&id).await {
        Ok(Some(s)) => s,
        Ok(None) => return message(&signed, StatusCode::NOT_FOUND, t.not_found),
        Err(e) => return failure(t, &e.to_string()),
    };
    let (photos, verdicts, reviews) = match (
        web.store.photos(&id).await,
        web.store.verdicts(&id).await,
        web.store.reviews(&id).await,
    ) {
        (Ok(p), Ok(v), Ok(r)) => (p, v, r),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return failure(t, &e.to_string()),
    };
    let reviewer = signed.session.role == Role::Reviewer;
    let photos = photos
        .iter()
        .map(|p| {
            let mine: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| v.photo_id == p.photo.id)
                .collect();
            let reviewed: Vec<&Review> = reviews
                .iter()
                .filter(|r| r.photo_id == p.photo.id)
                .collect();
            let edge = layer(&mine, VerdictSource::Edge);
            let cloud = layer(&mine, VerdictSource::Cloud);
            let newest = latest(&reviewed);
            let review = reviewed
                .iter()
                .find(|r| r.revision == newest)
                .map(|r| review_layer(t, r, &mine));
            let first = match (&review, cloud.readable) {
                (Some(_), _) => "review",
                (None, true) => "cloud",
                (None, false) => "edge",
            };
            let form = reviewer
                .then(|| state_at(newest, &reviewed, &mine))
                .flatten()
                .map(|state| review_form(t, &state));
            PhotoView {
                id: p.photo.id.clone(),
                inspection_id: p.photo.inspection_id.clone(),
                received: time_text(p.photo.received_at_ms),
                detect_status: format!("{:?}", p.detect_status).to_lowercase(),
                first,
                layers: vec![edge, cloud],
                review,
                form,
            }
        })
        .collect();
    let i = &summary.inspection;
    let location = i.location.as_ref().map_or_else(
        || "—".to_owned(),
        |l| format!("{:.5}, {:.5}", l.latitude, l.longitude),
    );
    let closed = i.state == InspectionState::Closed;
    let report = eir::section(&web, t, &i.id, closed).await;
    let html = InspectionPage {
        t,
        user: user_view(&signed),
        id: i.id.clone(),
        container: i.container_number.clone(),
        inspector: i.inspector_id.clone(),
        started: time_text(i.created_at_ms),
        closed,
        location,
        damaged: summary.has_damage,
        reviewer,
        photos,
        audit: audit::entries(t, &reviews, &summary),
        mark: audit::mark(&summary),
        report,
    }
    .render();
    page(StatusCode::OK, html)
}
