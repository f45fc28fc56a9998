//! A closed inspection's EIR on its page, and as a PDF (`/inspections/{id}/report.pdf`), in
//! the reader's language. Both come from the one stored report of the revision and review
//! state (`crate::report::stored_or_start`, what `GET /v1/inspections/{id}/report` answers);
//! while it is being written in the background the page says so and the PDF answers 202 with
//! `Retry-After`: neither waits for the writer. The PDF comes from `crate::report::pdf` (what
//! `omni-office report --pdf` writes). Everything in a report may come from Nova or a phone, so it is shown
//! as text (askama escapes it) and each text is cut to a bound.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omni_report::eir::Citation;
use omni_report::{Eir, Face, Language, Method, Severity, VerdictStatus};

use super::i18n::Texts;
use super::pages::{failure, message, time_text};
use super::{SignedIn, Web};
use crate::error::ApiError;
use crate::report::Stage;

/// Lines shown on the page (the PDF has them all; a report holds at most 64 × 300 + reviews).
pub(super) const MAX_LINES_SHOWN: usize = 500;
/// Characters shown of a narrative or the verdict's reason (Nova's are ≤ 1,200).
const MAX_TEXT: usize = 2_000;
/// Characters shown of a short field: a code, an id, a model, a damage's words.
const MAX_SHORT: usize = 200;
/// Characters shown of a fallback reason or an error.
const MAX_REASON: usize = 500;
/// Characters of the PDF's file name (before `-EN.pdf`).
const MAX_FILE_NAME: usize = 100;

/// One damage line, as shown.
pub(super) struct LineView {
    pub number: u32,
    pub photo: String,
    pub face: String,
    pub face_name: &'static str,
    pub location: String,
    pub damage_code: String,
    pub damage: String,
    pub repair_code: String,
    pub repair: String,
    /// `minor`, `moderate` or `major` (the CSS class).
    pub severity_key: &'static str,
    pub severity: &'static str,
    pub confidence: String,
    pub source: String,
}

/// The report, as shown.
pub(super) struct ReportView {
    pub eir_number: String,
    pub revision: u32,
    pub generated: String,
    /// `sound`, `repair_needed` or `not_fit` (the CSS class).
    pub status_key: &'static str,
    pub status: &'static str,
    pub reason: String,
    pub required: String,
    pub photographed: String,
    pub missing: String,
    pub lines: Vec<LineView>,
    /// Lines not shown (over [`MAX_LINES_SHOWN`]).
    pub more_lines: Option<String>,
    pub narrative: String,
    pub written_by: String,
    pub fallback: Option<String>,
    pub tokens: Option<String>,
    pub pdf_href: String,
}

/// The page's report section: the report, or a note saying why there is none (yet).
pub(super) struct ReportSection {
    pub view: Option<ReportView>,
    pub note: Option<String>,
}

/// The report's language for a page's catalog (the CLI's `--lang`).
pub(super) fn language(t: &Texts) -> Language {
    if t.lang == "es" {
        Language::Es
    } else {
        Language::En
    }
}

/// At most `max` characters of `text`, with `…` where it was cut.
pub(super) fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Why there is no report, in the reader's words.
fn explain(t: &Texts, e: &ApiError) -> String {
    match e.error_type {
        "InspectionOpenException" => t.report.when_closed.to_owned(),
        "InspectionKindMissingException" => t.report.no_kind.to_owned(),
        "ReportPendingException" => t.report.in_progress.to_owned(),
        _ => format!("{}: {}", t.report.failed, bounded(&e.message, MAX_REASON)),
    }
}

/// The report section of inspection `id`: for a closed one the stored report of its revision
/// and review state, or a note that it is being written (the writer started in the
/// background when nobody had).
pub(super) async fn section(web: &Web, t: &Texts, id: &str, closed: bool) -> ReportSection {
    if !closed {
        return ReportSection {
            view: None,
            note: Some(t.report.when_closed.to_owned()),
        };
    }
    match crate::report::stored_or_start(&web.store, &web.reports, id).await {
        Ok(Stage::Written(eir)) => ReportSection {
            view: Some(view(t, &eir, id)),
            note: None,
        },
        Ok(Stage::Pending(_)) => ReportSection {
            view: None,
            note: Some(t.report.in_progress.to_owned()),
        },
        Err(e) => ReportSection {
            view: None,
            note: Some(explain(t, &e)),
        },
    }
}

fn faces_text(faces: &[Face], lang: Language) -> String {
    if faces.is_empty() {
        return "—".to_owned();
    }
    faces
        .iter()
        .map(|f| format!("{} ({})", f.letter(), f.name(lang)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn source_text(t: &Texts, cites: &Citation) -> String {
    let text = match cites {
        Citation::Detection { source, model, .. } => {
            let source = match source.as_str() {
                "cloud" => t.cloud,
                "edge" => t.edge,
                other => other,
            };
            format!("{source} · {model}")
        }
        Citation::Review { reviewer, .. } => format!("{} {reviewer}", t.report.review_by),
    };
    bounded(&text, MAX_SHORT)
}

/// `eir` as the page shows it, in the page's language.
pub(super) fn view(t: &Texts, eir: &Eir, id: &str) -> ReportView {
    let lang = language(t);
    let short = |s: &str| bounded(s, MAX_SHORT);
    let lines = eir
        .lines
        .iter()
        .take(MAX_LINES_SHOWN)
        .map(|l| LineView {
            number: l.number,
            photo: short(&l.photo_id),
            face: l.face.letter().to_string(),
            face_name: l.face.name(lang),
            location: short(&l.location.to_string()),
            damage_code: l.damage_code.as_deref().map_or_else(|| "—".into(), short),
            damage: short(l.damage.get(lang)),
            repair_code: short(&l.repair_code),
            repair: short(l.repair.get(lang)),
            severity_key: match l.severity {
                Severity::Minor => "minor",
                Severity::Moderate => "moderate",
                Severity::Major => "major",
            },
            severity: l.severity.name(lang),
            confidence: l
                .confidence
                .filter(|c| c.is_finite())
                .map_or_else(|| "—".into(), |c| format!("{:.0} %", c * 100.0)),
            source: source_text(t, &l.cites),
        })
        .collect();
    let hidden = eir.lines.len().saturating_sub(MAX_LINES_SHOWN);
    let written = &eir.written_by;
    let written_by = match (written.method, &written.model_id) {
        (Method::Nova, Some(model)) => format!("{} ({})", t.report.nova, short(model)),
        (Method::Nova, None) => t.report.nova.to_owned(),
        (Method::Rules, _) => t.report.rules.to_owned(),
    };
    ReportView {
        eir_number: short(&eir.header.eir_number),
        revision: eir.header.revision,
        generated: time_text(eir.header.generated_at_ms),
        status_key: match eir.verdict.status {
            VerdictStatus::Sound => "sound",
            VerdictStatus::RepairNeeded => "repair_needed",
            VerdictStatus::NotFit => "not_fit",
        },
        status: eir.verdict.status.name(lang),
        reason: bounded(eir.verdict.reason.get(lang), MAX_TEXT),
        required: faces_text(&eir.faces.required, lang),
        photographed: faces_text(&eir.faces.photographed, lang),
        missing: faces_text(&eir.faces.missing, lang),
        lines,
        more_lines: (hidden > 0).then(|| t.report.more_lines.replace("{n}", &hidden.to_string())),
        narrative: bounded(eir.narrative.get(lang), MAX_TEXT),
        written_by,
        fallback: written
            .fallback_reason
            .as_deref()
            .map(|r| bounded(r, MAX_REASON)),
        tokens: written.usage.map(|u| {
            format!(
                "{} {} ({} + {})",
                u.total_tokens, t.report.tokens, u.input_tokens, u.output_tokens
            )
        }),
        pdf_href: format!("/inspections/{id}/report.pdf"),
    }
}

/// The PDF's file name: the EIR number with only `A`–`Z`, `0`–`9` and `-` kept (the container
/// number in it comes from a phone), bounded, and the language.
pub(super) fn file_name(eir_number: &str, lang: Language) -> String {
    let kept: String = eir_number
        .chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-')
        .take(MAX_FILE_NAME)
        .collect();
    let kept = if kept.trim_matches('-').is_empty() {
        "EIR".to_owned()
    } else {
        kept
    };
    let lang = match lang {
        Language::En => "EN",
        Language::Es => "ES",
    };
    format!("{kept}-{lang}.pdf")
}

/// `GET /inspections/{id}/report.pdf`: the EIR of the inspection's current revision and
/// review state as the CLI's PDF, in the reader's language, as a download; 202 with a page
/// saying it is being written (and `Retry-After`) while it is not stored yet.
pub(super) async fn pdf(
    State(web): State<Web>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let t = signed.t;
    if crate::validate::id("inspection id", &id).is_err() {
        return message(&signed, StatusCode::NOT_FOUND, t.not_found);
    }
    let eir = match crate::report::stored_or_start(&web.store, &web.reports, &id).await {
        Ok(Stage::Written(eir)) => eir,
        Ok(Stage::Pending(_)) => {
            let mut response = message(&signed, StatusCode::ACCEPTED, t.report.in_progress);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::report::RETRY_AFTER.as_secs()),
            );
            return response;
        }
        Err(e) if e.status == 404 => {
            return message(&signed, StatusCode::NOT_FOUND, t.not_found);
        }
        Err(e) if e.status == 409 => {
            return message(&signed, StatusCode::CONFLICT, &explain(t, &e));
        }
        Err(e) => return failure(t, &explain(t, &e)),
    };
    let lang = language(t);
    let bytes = match crate::report::pdf(web.store.as_ref(), &eir, &id, lang).await {
        Ok(bytes) => bytes,
        Err(e) => return failure(t, &bounded(&e, MAX_REASON)),
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file_name(&eir.header.eir_number, lang)
    );
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_keeps_only_capitals_digits_and_dashes() {
        assert_eq!(
            file_name("EIR-CSQU3054383-AB12CD34-R2", Language::En),
            "EIR-CSQU3054383-AB12CD34-R2-EN.pdf"
        );
        assert_eq!(
            file_name("EIR-\"; x=<script>\r\n../é-R1", Language::Es),
            "EIR--R1-ES.pdf"
        );
        assert_eq!(file_name("\"\r\n", Language::En), "EIR-EN.pdf");
        assert_eq!(file_name(&"A".repeat(5_000), Language::En).len(), 107);
    }

    #[test]
    fn texts_are_cut_on_characters() {
        assert_eq!(bounded("añb", 2), "añ…");
        assert_eq!(bounded("añb", 3), "añb");
        assert_eq!(bounded("", 0), "");
    }
}
