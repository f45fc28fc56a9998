//! The PDF, read back with poppler's pdftotext: the container number, every damage line, the
//! verdict, in English and in Spanish (accents included).

use std::process::Command;

use omni_report::pdf::PhotoBytes;
use omni_report::{CedexTable, Eir, KindTable, Language, build_report, render_pdf};

use crate::common::sample_with_photos;

/// The text of a PDF; a missing pdftotext fails the test unless `OMNI_SKIP_PDFTOTEXT_TESTS`
/// is set (then `None`, with a note).
fn pdftotext(pdf: &[u8]) -> Option<String> {
    use crate::needs;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eir.pdf");
    std::fs::write(&path, pdf).unwrap();
    let run = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .map_err(|e| format!("cannot run pdftotext: {e}"));
    let out = needs::require(
        run,
        "poppler's pdftotext",
        "`apt-get install poppler-utils` (bash scripts/test.sh does)",
        &[needs::SKIP_PDFTOTEXT],
    )?;
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

fn sample() -> (Eir, Vec<(String, Vec<u8>)>) {
    let input = sample_with_photos();
    let eir = build_report(
        &input,
        &KindTable::builtin(),
        &CedexTable::builtin(),
        1_780_001_000_000,
    )
    .unwrap();
    let photos = input
        .photos
        .iter()
        .map(|p| (p.id.clone(), p.bytes.clone().unwrap()))
        .collect();
    (eir, photos)
}

fn render(eir: &Eir, photos: &[(String, Vec<u8>)], lang: Language) -> Vec<u8> {
    let bytes: Vec<PhotoBytes<'_>> = photos
        .iter()
        .map(|(id, b)| PhotoBytes { id, bytes: b })
        .collect();
    render_pdf(eir, &bytes, lang).unwrap()
}

#[test]
fn the_pdf_reads_back_in_english_and_spanish() {
    let (eir, photos) = sample();
    for lang in Language::ALL {
        let pdf = render(&eir, &photos, lang);
        assert!(pdf.starts_with(b"%PDF-"));
        let Some(text) = pdftotext(&pdf) else { return };
        assert!(text.contains("CSQU3054383"), "{text}");
        assert!(text.contains("EIR-2026-000123"));
        for line in &eir.lines {
            let row = text
                .lines()
                .find(|l| {
                    l.trim_start().starts_with(&format!("{} ", line.number))
                        && l.contains(&line.photo_id)
                })
                .unwrap_or_else(|| panic!("line {} missing in:\n{text}", line.number));
            assert!(row.contains(&line.location.to_string()), "{row}");
            assert!(row.contains(&line.repair_code), "{row}");
            if let Some(code) = &line.damage_code {
                assert!(row.contains(code.as_str()), "{row}");
            }
        }
        let verdict = eir.verdict.status.name(lang);
        assert!(text.contains(verdict), "{verdict} missing");
        match lang {
            Language::En => {
                assert!(text.contains("EQUIPMENT INTERCHANGE RECEIPT"));
                assert!(text.contains("Faces missing: L, T"));
                assert!(text.contains("Signature"));
            }
            Language::Es => {
                assert!(text.contains("RECIBO DE INTERCAMBIO DE EQUIPO"));
                assert!(text.contains("Caras sin fotografiar: L, T"));
                assert!(text.contains("José Núñez"), "accents read back");
                assert!(text.contains("Inspección"));
            }
        }
        // The photo pages: one caption per photo, boxes labelled with the line numbers.
        assert!(text.contains("p-right"));
        assert!(text.contains("1 dent") || text.contains("1 abolladura"));
    }
}

#[test]
fn a_pdf_without_photos_and_a_long_narrative_paginates() {
    let (mut eir, _) = sample();
    eir.narrative.en = "Long narrative sentence for pagination. ".repeat(150);
    for i in 0..60 {
        let mut line = eir.lines[0].clone();
        line.number = 10 + i;
        eir.lines.push(line);
    }
    let pdf = render_pdf(&eir, &[], Language::En).unwrap();
    let Some(text) = pdftotext(&pdf) else { return };
    assert!(text.contains("69 "), "the last line is on a later page");
    assert!(text.matches('\u{c}').count() >= 1, "more than one page");
}
