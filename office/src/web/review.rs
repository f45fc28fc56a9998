//! The review step: the review form rebuilt into a [`Review`] (the server computes the
//! changes against the state the page showed, [`super::state`]), and the handlers of the two
//! review forms: a photo's review and the inspection's reviewed mark. Reviewers only, each form with its
//! session's CSRF token; a stale review is a conflict (409), never an overwrite.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use omni_protocol::DAMAGE_CLASSES;

use super::accounts::{Role, now_ms};
use super::i18n::Texts;
use super::pages::{CsrfForm, csrf_ok, failure, message, message_with_link};
use super::state::{PhotoState, latest, state_at};
use super::{SignedIn, Web};
use crate::store::StoreError;
use crate::wire::review::{MAX_REVIEW_BOXES, MIN_BOX_SIDE};
use crate::wire::{Review, ReviewBox, ReviewChange, Verdict};

/// Largest review form body accepted: a review of [`MAX_REVIEW_BOXES`] boxes takes a fraction
/// of it; anything larger is refused (413) before it is parsed.
pub(super) const MAX_FORM_BYTES: usize = 64 * 1024;

/// Longest piece of a refused form quoted back.
const ECHO_CHARS: usize = 40;

/// At most [`ECHO_CHARS`] characters of something a browser sent.
fn echo(text: &str) -> String {
    text.chars().take(ECHO_CHARS).collect()
}

/// The review form as sent.
#[derive(Debug, Default, PartialEq)]
struct ReviewForm {
    base_revision: u64,
    based_on: String,
    /// Per shown box (index): keep (true) or delete, and the class chosen.
    shown: BTreeMap<usize, (Option<bool>, Option<u32>)>,
    /// The added boxes.
    drawn: Vec<ReviewBox>,
}

/// Why the server refuses a review form; said in the reader's language ([`Refusal::text`]).
#[derive(Clone, Debug, PartialEq)]
enum Refusal {
    /// A class id that is not one of ours (the value sent, bounded).
    Class(String),
    /// A coordinate or revision that is not a number.
    Number(String),
    /// A field the form does not have.
    Field(String),
    /// A shown box (from 1) with neither keep nor delete.
    Keep(usize),
    /// An added box without its class or one of its coordinates.
    Incomplete,
    /// More than [`MAX_REVIEW_BOXES`] boxes.
    TooMany,
    /// A coordinate outside the photo.
    Outside,
    /// Right not right of left, bottom not below top (or a side thinner than allowed).
    Inverted,
    /// A box (from 1) the photo does not show.
    NamesBox(usize, usize),
    /// A form starting from a review the photo does not have yet.
    Ahead(u64, u64),
    /// What the wire's or the store's check said (English).
    Other(String),
}

impl Refusal {
    fn text(&self, t: &Texts) -> String {
        let w = &t.why;
        match self {
            Refusal::Class(v) => w.class.replace("{v}", &format!("{v:?}")),
            Refusal::Number(v) => w.number.replace("{v}", &format!("{v:?}")),
            Refusal::Field(v) => w.field.replace("{v}", &format!("{v:?}")),
            Refusal::Keep(n) => w.keep.replace("{n}", &n.to_string()),
            Refusal::Incomplete => w.incomplete.to_owned(),
            Refusal::TooMany => w.too_many.replace("{max}", &MAX_REVIEW_BOXES.to_string()),
            Refusal::Outside => w.outside.to_owned(),
            Refusal::Inverted => w.inverted.replace("{min}", &MIN_BOX_SIDE.to_string()),
            Refusal::NamesBox(n, shown) => w
                .names_box
                .replace("{n}", &n.to_string())
                .replace("{shown}", &shown.to_string()),
            Refusal::Ahead(base, latest) => w
                .ahead
                .replace("{base}", &base.to_string())
                .replace("{latest}", &latest.to_string()),
            Refusal::Other(reason) => reason.chars().take(300).collect(),
        }
    }
}

fn class_field(value: &str) -> Result<u32, Refusal> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|c| (*c as usize) < DAMAGE_CLASSES.len())
        .ok_or_else(|| Refusal::Class(echo(value)))
}

/// A coordinate typed as a fraction (`0.25`, `0,25`) or a percentage (`25%`).
fn coordinate(value: &str) -> Result<f32, Refusal> {
    let text = value.trim().replace(',', ".");
    let (number, scale) = match text.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (text.as_str(), 1.0),
    };
    number
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v / scale)
        .ok_or_else(|| Refusal::Number(echo(value)))
}

/// Parses the review form's fields (the CSRF token is checked before).
fn parse_form(pairs: &[(String, String)]) -> Result<ReviewForm, Refusal> {
    let mut form = ReviewForm::default();
    let mut base = None;
    // new_class, new_x1, new_y1, new_x2, new_y2: one of each per added box.
    let mut added: [Vec<&str>; 5] = Default::default();
    let names = ["new_class", "new_x1", "new_y1", "new_x2", "new_y2"];
    for (name, value) in pairs {
        if let Some(k) = names.iter().position(|n| n == name) {
            added[k].push(value);
            if added[k].len() > MAX_REVIEW_BOXES {
                return Err(Refusal::TooMany);
            }
            continue;
        }
        match name.as_str() {
            "csrf" => {}
            "base_revision" => {
                base = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| Refusal::Number(echo(value)))?,
                );
            }
            // `edge:` or `cloud:` and a SHA-256: longer is no verdict of ours.
            "based_on" => form.based_on = value.chars().take(80).collect(),
            other => {
                let (index, is_act) =
                    match (other.strip_prefix("act_"), other.strip_prefix("class_")) {
                        (Some(i), _) => (i, true),
                        (_, Some(i)) => (i, false),
                        _ => return Err(Refusal::Field(echo(other))),
                    };
                let index = index
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < MAX_REVIEW_BOXES)
                    .ok_or_else(|| Refusal::Field(echo(other)))?;
                let entry = form.shown.entry(index).or_default();
                if is_act {
                    entry.0 = Some(match value.as_str() {
                        "keep" => true,
                        "delete" => false,
                        _ => return Err(Refusal::Keep(index + 1)),
                    });
                } else {
                    entry.1 = Some(class_field(value)?);
                }
            }
        }
    }
    form.base_revision = base.ok_or(Refusal::Field("base_revision".into()))?;
    if added.iter().any(|a| a.len() != added[0].len()) {
        return Err(Refusal::Incomplete);
    }
    let [classes, x1s, y1s, x2s, y2s] = &added;
    let groups = classes.iter().zip(x1s).zip(y1s).zip(x2s).zip(y2s);
    for ((((class, x1), y1), x2), y2) in groups {
        let coords = [*x1, *y1, *x2, *y2];
        if coords.iter().all(|c| c.trim().is_empty()) {
            continue; // The add-a-box fields left empty.
        }
        let mut c = [0f32; 4];
        for (slot, text) in c.iter_mut().zip(coords) {
            *slot = coordinate(text)?;
        }
        let drawn = ReviewBox {
            class_id: class_field(class)?,
            x1: c[0],
            y1: c[1],
            x2: c[2],
            y2: c[3],
        };
        if c.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Refusal::Outside);
        }
        if c[2] - c[0] < MIN_BOX_SIDE || c[3] - c[1] < MIN_BOX_SIDE {
            return Err(Refusal::Inverted);
        }
        drawn.validate().map_err(|e| Refusal::Other(e.0))?;
        form.drawn.push(drawn);
    }
    Ok(form)
}

/// The boxes and changes of a review of `state` as the form says.
fn rebuild(
    state: &PhotoState,
    form: &ReviewForm,
) -> Result<(Vec<ReviewBox>, Vec<ReviewChange>), Refusal> {
    if let Some(i) = form.shown.keys().find(|i| **i >= state.boxes.len()) {
        return Err(Refusal::NamesBox(i + 1, state.boxes.len()));
    }
    if state.boxes.len() + form.drawn.len() > MAX_REVIEW_BOXES {
        return Err(Refusal::TooMany);
    }
    let mut boxes = Vec::new();
    let mut changes = Vec::new();
    for (i, before) in state.boxes.iter().enumerate() {
        let (act, class) = form.shown.get(&i).copied().unwrap_or_default();
        let keep = act.ok_or(Refusal::Keep(i + 1))?;
        let box_index = u32::try_from(i).map_err(|_| Refusal::TooMany)?;
        if !keep {
            changes.push(ReviewChange::Deleted {
                box_index,
                class_id: before.class_id,
            });
            continue;
        }
        let to = class.unwrap_or(before.class_id);
        boxes.push(ReviewBox {
            class_id: to,
            ..*before
        });
        changes.push(if to == before.class_id {
            ReviewChange::Accepted {
                box_index,
                class_id: to,
            }
        } else {
            ReviewChange::Reclassified {
                box_index,
                from: before.class_id,
                to,
            }
        });
    }
    for b in &form.drawn {
        boxes.push(*b);
        changes.push(ReviewChange::Drawn {
            class_id: b.class_id,
        });
    }
    Ok((boxes, changes))
}

/// Back to the photo on its inspection's page.
fn back_to(id: &str, photo_id: &str) -> Response {
    Redirect::to(&format!("/inspections/{id}#photo-{photo_id}")).into_response()
}

fn refused(s: &SignedIn, why: &Refusal) -> Response {
    let text = format!("{}: {}", s.t.bad_review, why.text(s.t));
    message(s, StatusCode::BAD_REQUEST, &text)
}

fn stale(s: &SignedIn, id: &str, photo_id: &str) -> Response {
    message_with_link(
        s,
        StatusCode::CONFLICT,
        s.t.stale_review,
        format!("/inspections/{id}#photo-{photo_id}"),
        s.t.reload,
    )
}

/// `POST /inspections/{id}/photos/{photo_id}/review`: a reviewer's review of one photo.
pub(super) async fn review(
    State(web): State<Web>,
    signed: SignedIn,
    Path((id, photo_id)): Path<(String, String)>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let t = signed.t;
    let pairs = match form {
        Ok(Form(pairs)) => pairs,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return message(&signed, StatusCode::PAYLOAD_TOO_LARGE, t.too_large);
        }
        Err(e) => return refused(&signed, &Refusal::Other(e.body_text())),
    };
    let csrf = pairs.iter().find(|(n, _)| n == "csrf").map(|(_, v)| v);
    if csrf != Some(&signed.session.csrf) {
        return message(&signed, StatusCode::FORBIDDEN, t.stale_form);
    }
    if signed.session.role != Role::Reviewer {
        return message(&signed, StatusCode::FORBIDDEN, t.forbidden);
    }
    let valid = crate::validate::id("inspection id", &id).is_ok()
        && crate::validate::id("photo id", &photo_id).is_ok();
    let found = match valid {
        true => web.store.photo(&id, &photo_id).await,
        false => Ok(None),
    };
    match found {
        Ok(Some(_)) => {}
        Ok(None) => return message(&signed, StatusCode::NOT_FOUND, t.not_found),
        Err(e) => return failure(t, &e.to_string()),
    }
    let form = match parse_form(&pairs) {
        Ok(f) => f,
        Err(why) => return refused(&signed, &why),
    };
    let (reviews, verdicts) = match (web.store.reviews(&id).await, web.store.verdicts(&id).await) {
        (Ok(r), Ok(v)) => (r, v),
        (Err(e), _) | (_, Err(e)) => return failure(t, &e.to_string()),
    };
    let reviews: Vec<&Review> = reviews.iter().filter(|r| r.photo_id == photo_id).collect();
    let verdicts: Vec<&Verdict> = verdicts.iter().filter(|v| v.photo_id == photo_id).collect();
    let newest = latest(&reviews);
    if form.base_revision > newest {
        return refused(&signed, &Refusal::Ahead(form.base_revision, newest));
    }
    let Some(base) = state_at(form.base_revision, &reviews, &verdicts) else {
        return stale(&signed, &id, &photo_id);
    };
    // A first review's boxes come from a verdict: another verdict since is another page.
    if form.base_revision == 0 && form.based_on != base.based_on_field() {
        return stale(&signed, &id, &photo_id);
    }
    let (boxes, changes) = match rebuild(&base, &form) {
        Ok(built) => built,
        Err(why) => return refused(&signed, &why),
    };
    let review = Review {
        inspection_id: id.clone(),
        photo_id: photo_id.clone(),
        revision: form.base_revision + 1,
        reviewer: signed.session.user.clone(),
        reviewed_at_ms: now_ms(),
        based_on: base.based_on,
        boxes,
        changes,
    };
    if let Err(e) = review.validate() {
        return refused(&signed, &Refusal::Other(e.0));
    }
    // The same form sent twice (a double click, a retried POST): its first copy stands.
    if let Some(stored) = reviews.iter().find(|r| r.revision == review.revision) {
        let same = stored.reviewer == review.reviewer
            && stored.boxes == review.boxes
            && stored.changes == review.changes;
        return match same {
            true => back_to(&id, &photo_id),
            false => stale(&signed, &id, &photo_id),
        };
    }
    match web.store.put_review(&review).await {
        Ok(_) => {
            // A new review state: its report is written in the background.
            crate::report::start(web.store.clone(), web.reports.clone(), id.clone());
            back_to(&id, &photo_id)
        }
        Err(StoreError::Conflict(_)) => stale(&signed, &id, &photo_id),
        Err(StoreError::NotFound(_)) => message(&signed, StatusCode::NOT_FOUND, t.not_found),
        Err(StoreError::Invalid(reason)) => refused(&signed, &Refusal::Other(reason)),
        Err(e) => failure(t, &e.to_string()),
    }
}

/// `POST /inspections/{id}/reviewed`: a reviewer marks the inspection reviewed (the first
/// mark stands).
pub(super) async fn mark_reviewed(
    State(web): State<Web>,
    signed: SignedIn,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let t = signed.t;
    if !csrf_ok(&signed, &form) {
        return message(&signed, StatusCode::FORBIDDEN, t.stale_form);
    }
    if signed.session.role != Role::Reviewer {
        return message(&signed, StatusCode::FORBIDDEN, t.forbidden);
    }
    if crate::validate::id("inspection id", &id).is_err() {
        return message(&signed, StatusCode::NOT_FOUND, t.not_found);
    }
    match web
        .store
        .mark_reviewed(&id, &signed.session.user, now_ms())
        .await
    {
        Ok(_) => {
            // The report of the reviewed state, written in the background if nobody has.
            crate::report::start(web.store.clone(), web.reports.clone(), id.clone());
            Redirect::to(&format!("/inspections/{id}#audit")).into_response()
        }
        Err(StoreError::NotFound(_)) => message(&signed, StatusCode::NOT_FOUND, t.not_found),
        Err(e) => failure(t, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::{EN, ES};

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn state() -> PhotoState {
        let b = |class_id, x1| ReviewBox {
            class_id,
            x1,
            y1: 0.1,
            x2: x1 + 0.2,
            y2: 0.5,
        };
        PhotoState {
            revision: 0,
            based_on: None,
            boxes: vec![b(0, 0.1), b(2, 0.4), b(3, 0.7)],
        }
    }

    #[test]
    fn the_form_becomes_boxes_and_changes() {
        let form = parse_form(&pairs(&[
            ("csrf", "x"),
            ("base_revision", "0"),
            ("based_on", ""),
            ("act_0", "keep"),
            ("class_0", "0"),
            ("act_1", "keep"),
            ("class_1", "4"),
            ("act_2", "delete"),
            ("class_2", "3"),
            ("new_class", "2"),
            ("new_x1", "10%"),
            ("new_y1", "0,5"),
            ("new_x2", " 0.3 "),
            ("new_y2", "75%"),
        ]))
        .unwrap();
        let (boxes, changes) = rebuild(&state(), &form).unwrap();
        assert_eq!(boxes.len(), 3);
        assert_eq!(boxes[1].class_id, 4);
        assert_eq!(
            boxes[2],
            ReviewBox {
                class_id: 2,
                x1: 0.1,
                y1: 0.5,
                x2: 0.3,
                y2: 0.75
            }
        );
        assert_eq!(
            changes,
            [
                ReviewChange::Accepted {
                    box_index: 0,
                    class_id: 0
                },
                ReviewChange::Reclassified {
                    box_index: 1,
                    from: 2,
                    to: 4
                },
                ReviewChange::Deleted {
                    box_index: 2,
                    class_id: 3
                },
                ReviewChange::Drawn { class_id: 2 },
            ]
        );
    }

    #[test]
    fn bad_forms_are_refused_with_a_reason() {
        let base = [
            ("base_revision", "0"),
            ("act_0", "keep"),
            ("act_1", "keep"),
            ("act_2", "keep"),
        ];
        for (extra, want) in [
            (vec![("class_0", "9")], "unknown class"),
            (vec![("act_0", "maybe")], "box 1: keep or delete"),
            (vec![("act_7", "keep")], "names box 8"),
            (vec![("act_999999", "keep")], "unknown field"),
            (vec![("colour", "red")], "unknown field"),
            (vec![("base_revision", "x")], "\"x\" is not a number"),
            (
                vec![
                    ("new_class", "1"),
                    ("new_x1", "0.5"),
                    ("new_y1", "0.1"),
                    ("new_x2", "0.2"),
                    ("new_y2", "0.3"),
                ],
                "left < right",
            ),
            (
                vec![
                    ("new_class", "1"),
                    ("new_x1", "5.0"),
                    ("new_y1", "0.1"),
                    ("new_x2", "0.2"),
                    ("new_y2", "0.3"),
                ],
                "[0, 1]",
            ),
            (
                vec![("new_class", "1"), ("new_x1", "0.1")],
                "four coordinates",
            ),
        ] {
            let mut fields = base.to_vec();
            fields.extend(extra);
            let result = parse_form(&pairs(&fields)).and_then(|f| rebuild(&state(), &f));
            let err = result.expect_err(want).text(&EN);
            assert!(err.contains(want), "{want}: {err}");
        }
        let missing = parse_form(&pairs(&[("base_revision", "0"), ("act_0", "keep")]))
            .and_then(|f| rebuild(&state(), &f));
        assert_eq!(missing, Err(Refusal::Keep(2)));
        assert_eq!(
            Refusal::Class("9".into()).text(&ES),
            "clase desconocida \"9\""
        );
        assert_eq!(
            Refusal::NamesBox(4, 3).text(&ES),
            "el formulario nombra la caja 4 pero la foto muestra 3"
        );
    }
}
