//! Container faces on the phone: chosen at capture, changed until synced, covered against the
//! inspection kind; an unknown kind is refused by the front door with nothing stored.

use crate::common;

use omni_core::{
    ApiError, ContainerNumber, Error, Face, KindTable, NewInspection, OmniConfig, OmniCore,
    PhotoId, Timestamp,
};

#[test]
fn a_face_is_kept_changed_and_covered_against_the_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = common::open_inspector(dir.path());
    let mut new = common::new_inspection("CSQU3054383");
    new.kind = Some("gate-out".into());
    let inspection = inspector.create_inspection(new).expect("create");
    let now = Timestamp::now();
    let front = inspector
        .add_photo(inspection.id, &common::jpeg(64, 48, 1), now, Face::Front)
        .expect("photo");
    assert_eq!(front.face, Face::Front);
    let whole = inspector
        .add_photo(inspection.id, &common::jpeg(64, 48, 2), now, Face::Whole)
        .expect("photo");
    let changed = inspector
        .set_photo_face(whole.id, Face::Door)
        .expect("change");
    assert_eq!(changed.face, Face::Door);
    assert_eq!(
        inspector.photo(whole.id).expect("read").face,
        Face::Door,
        "stored"
    );
    assert!(matches!(
        inspector.set_photo_face(PhotoId::new(), Face::Roof),
        Err(Error::PhotoNotFound(_))
    ));

    let coverage = inspector
        .face_coverage(inspection.id, &KindTable::builtin())
        .expect("coverage");
    assert_eq!(coverage.photographed, vec![Face::Front, Face::Door]);
    assert_eq!(coverage.missing, vec![Face::Left, Face::Right, Face::Roof]);
    let closed = inspector.close_inspection(inspection.id).expect("close");
    assert!(
        closed.closed_at.is_some(),
        "closing with faces missing is allowed"
    );
}

#[test]
fn the_front_door_reports_missing_faces_at_close_and_refuses_unknown_kinds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let core = OmniCore::open(OmniConfig::new(dir.path())).expect("open");
    let number = ContainerNumber::parse("CSQU3054383").expect("number");
    let mut bad = NewInspection::new(number.clone());
    bad.kind = Some("gate-sideways".into());
    let err = core.create_inspection(bad).expect_err("unknown kind");
    assert!(
        matches!(
            &err,
            ApiError::InvalidInput {
                code: "unknown_inspection_kind",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        core.stats().expect("stats").inspections,
        0,
        "nothing stored"
    );

    let mut new = NewInspection::new(number);
    new.kind = Some("gate-in".into());
    let inspection = core.create_inspection(new).expect("create");
    core.add_photo(
        inspection.id,
        &common::jpeg(64, 48, 3),
        Timestamp::now(),
        Face::Interior,
    )
    .expect("photo");
    let closed = core.close_inspection(inspection.id).expect("close");
    assert_eq!(
        closed.faces.missing,
        vec![Face::Front, Face::Door, Face::Left, Face::Right, Face::Roof]
    );
    let detail = core.inspection(inspection.id).expect("detail");
    assert_eq!(detail.faces, closed.faces);
    let json = serde_json::to_value(&closed).expect("json");
    assert_eq!(
        json["faces"]["missing"],
        serde_json::json!(["F", "D", "L", "R", "T"])
    );
}
