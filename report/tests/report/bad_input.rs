//! Bad input: clear, typed errors and no report.

use omni_report::input::{ReviewAction, ReviewedLocation};
use omni_report::{
    CedexError, CedexTable, DamageClass, Face, InputError, KindTable, ReportError, ReportInput,
    build_report,
};

use crate::common::sample_input;

fn build(input: &ReportInput) -> Result<omni_report::Eir, ReportError> {
    build_report(input, &KindTable::builtin(), &CedexTable::builtin(), 0)
}

#[test]
fn an_unknown_face_letter_in_the_input_is_refused() {
    let mut v = serde_json::to_value(sample_input()).unwrap();
    v["photos"][0]["face"] = "Q".into();
    let err = serde_json::from_value::<ReportInput>(v).unwrap_err();
    assert!(
        err.to_string().contains("unknown container face \"Q\""),
        "{err}"
    );
    assert_eq!(
        Face::parse("Q").unwrap_err().to_string(),
        "unknown container face \"Q\": expected one of F, D, L, R, T, U, I, X"
    );
}

#[test]
fn a_yard_mapping_file_with_an_unknown_code_is_refused() {
    let err = CedexTable::builtin()
        .with_override("[[mapping]]\nclass = \"dirt\"\ndamage_code = \"DY\"\n")
        .unwrap_err();
    assert_eq!(
        err,
        CedexError::UnknownDamageCode {
            class: DamageClass::Dirt,
            code: "DY".into()
        }
    );
    // A whole replacement table that maps a class to a code outside its own lists.
    let text = include_str!("../../data/cedex.toml")
        .replace("repair_code = \"WW\"", "repair_code = \"W9\"");
    let err = CedexTable::from_toml(&text).unwrap_err();
    assert!(
        matches!(
            err,
            CedexError::UnknownRepairCode {
                class: DamageClass::Dirt,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn references_bounds_and_kinds_are_checked() {
    let mut input = sample_input();
    input.photos[0].verdict.as_mut().unwrap().detections[0].class_id = 9;
    assert!(matches!(
        build(&input),
        Err(ReportError::Input(InputError::Class { class_id: 9, .. }))
    ));

    let mut input = sample_input();
    input.photos[1].reviews[0].action = ReviewAction::Confirm { detection: 7 };
    assert!(matches!(
        build(&input),
        Err(ReportError::Input(InputError::Review { detection: 7, .. }))
    ));

    let mut input = sample_input();
    input.photos[0].verdict.as_mut().unwrap().detections[0]
        .bbox
        .x2 = 9_000.0;
    assert!(matches!(
        build(&input),
        Err(ReportError::Input(InputError::Geometry(_)))
    ));

    let mut input = sample_input();
    input.container_number = "X".repeat(5000);
    assert!(matches!(
        build(&input),
        Err(ReportError::Input(InputError::Text("container_number")))
    ));

    let mut input = sample_input();
    input.kind = "gate-sideways".into();
    assert!(matches!(build(&input), Err(ReportError::Kind(_))));

    // A roof cannot have a bottom half: the reviewer's location is refused, not kept.
    let mut input = sample_input();
    input.photos[1].face = Face::Roof;
    input.photos[1].reviews[0].location = Some(ReviewedLocation {
        part: 'B',
        sections: ['2', 'N'],
    });
    assert!(matches!(build(&input), Err(ReportError::Location { ref code, .. }) if code == "TB2N"));
}
