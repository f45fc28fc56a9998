//! The deterministic report from the sample inspection.

use omni_report::eir::Citation;
use omni_report::{
    CedexTable, Eir, Face, KindTable, Language, Method, Severity, VerdictStatus, build_report,
};

use crate::common::{SAMPLE_DAMAGES, sample_input};

fn report() -> Eir {
    build_report(
        &sample_input(),
        &KindTable::builtin(),
        &CedexTable::builtin(),
        1_780_001_000_000,
    )
    .unwrap()
}

#[test]
fn one_line_per_damage_with_cedex_codes_and_citations() {
    let eir = report();
    let ids: Vec<&str> = eir.lines.iter().map(|l| l.damage_id.as_str()).collect();
    assert_eq!(ids, SAMPLE_DAMAGES);
    let dent = &eir.lines[0];
    assert_eq!((dent.number, dent.face), (1, Face::Right));
    assert_eq!(dent.damage_code.as_deref(), Some("DT"));
    assert_eq!(dent.repair_code, "GS");
    assert_eq!(
        dent.location.to_string(),
        "R???",
        "part and section unknown without a review"
    );
    assert_eq!(dent.severity, Severity::Major, "8% of the photo");
    assert!(
        matches!(dent.cites, Citation::Detection { ref source, index: 0, .. } if source == "cloud")
    );
    let rust = &eir.lines[1];
    assert_eq!(
        (rust.damage_code.as_deref(), rust.repair_code.as_str()),
        (None, "PS")
    );
    assert_eq!(rust.severity, Severity::Moderate);
    let scratch = &eir.lines[2];
    assert_eq!(
        scratch.location.to_string(),
        "DB2N",
        "the reviewer's part and section"
    );
    assert!(matches!(scratch.cites, Citation::Review { ref review_id, .. } if review_id == "r1"));
    let mold = &eir.lines[3];
    assert_eq!(
        (mold.face, mold.confidence, mold.severity),
        (Face::Interior, None, Severity::Major)
    );
    assert!(matches!(
        mold.cites,
        Citation::Review {
            detection: None,
            ..
        }
    ));
}

#[test]
fn verdict_faces_and_narrative_in_both_languages() {
    let eir = report();
    assert_eq!(eir.verdict.status, VerdictStatus::NotFit);
    assert!(
        eir.verdict.reason.en.contains("line(s) 1, 4"),
        "{}",
        eir.verdict.reason.en
    );
    assert!(
        eir.verdict.reason.es.contains("Daño grave"),
        "{}",
        eir.verdict.reason.es
    );
    assert_eq!(eir.faces.missing, vec![Face::Left, Face::Roof]);
    assert!(eir.verdict.reason.en.contains("L, T were not photographed"));
    for lang in Language::ALL {
        let n = eir.narrative.get(lang);
        assert!(n.contains("CSQU3054383"), "{n}");
        assert!(n.contains("L, T"), "{n}");
    }
    assert!(eir.narrative.es.contains("Entrada (recepción)"));
    assert_eq!(eir.written_by.method, Method::Rules);
    assert_eq!(eir.written_by.fallback_reason, None);
}

#[test]
fn the_report_is_deterministic_and_round_trips_as_json() {
    let a = report();
    let b = report();
    assert_eq!(a, b);
    let json = a.to_json();
    assert_eq!(Eir::from_json(&json).unwrap(), a);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["lines"][2]["location"], "DB2N");
    assert_eq!(v["verdict"]["status"], "not_fit");
    assert_eq!(v["faces"]["missing"], serde_json::json!(["L", "T"]));
    assert_eq!(v["written_by"]["method"], "rules");
}

#[test]
fn a_sound_box_and_a_yard_override() {
    let mut input = sample_input();
    input.photos.retain(|p| p.id == "p-front");
    let eir = build_report(&input, &KindTable::builtin(), &CedexTable::builtin(), 0).unwrap();
    assert!(eir.lines.is_empty());
    assert_eq!(eir.verdict.status, VerdictStatus::Sound);
    let yard = CedexTable::builtin()
        .with_override("[[mapping]]\nclass = \"dent\"\nrepair_code = \"GW\"\n")
        .unwrap();
    let eir = build_report(&sample_input(), &KindTable::builtin(), &yard, 0).unwrap();
    assert_eq!(eir.lines[0].repair_code, "GW");
    assert_eq!(eir.lines[0].repair.es, "Enderezar y soldar");
}
