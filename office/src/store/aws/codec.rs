//! The DynamoDB items of the AWS store, as serde records encoded by `serde_dynamo`: one record
//! per item kind whose field names are the attribute names. The records, not the wire types,
//! fix what is stored, so a change to the JSON API cannot change the table's layout (the tests
//! below pin it, attribute by attribute).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use serde_json::value::RawValue;

use super::backend;
use super::schema::{date_key, inspection_pk, object_key, photo_sk, verdict_sk};
use crate::store::{StoreError, StoredPhoto};
use crate::wire::{
    DetectStatus, Face, Inspection, InspectionState, InspectionSummary, Location, Photo, Verdict,
    VerdictSource,
};

/// A DynamoDB item.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The attributes of an inspection that only its first write sets (`if_not_exists`): a later
/// revision keeps the first receive time, and the counters are the photos' and verdicts'.
pub(super) const INSPECTION_CREATE_ONLY: [&str; 3] =
    ["received_at_ms", "photo_count", "has_damage"];

/// The optional attributes of an inspection: removed by an update that lacks them.
pub(super) const INSPECTION_OPTIONAL: [&str; 4] = ["latitude", "longitude", "accuracy_m", "kind"];

/// The inspection item (`sk = INSPECTION`), less its key.
#[derive(Debug, Serialize, Deserialize)]
struct InspectionRecord {
    id: String,
    container_number: String,
    inspector_id: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    accuracy_m: Option<f64>,
    state: InspectionState,
    revision: u64,
    received_at_ms: i64,
    /// The inspection kind's id (absent: none given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    /// Counted by the photo writes (`ADD photo_count :one`).
    #[serde(default)]
    photo_count: u64,
    /// Set by a verdict that found damage.
    #[serde(default)]
    has_damage: bool,
    /// Set once by the first mark as reviewed (`attribute_not_exists`), never by a revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reviewed_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reviewed_by: Option<String>,
    /// The GSI's keys: container number, and date then id.
    #[serde(default, skip_deserializing)]
    gsi1pk: String,
    #[serde(default, skip_deserializing)]
    gsi1sk: String,
}

/// A photo's item (`sk = PHOTO#<photo id>`).
#[derive(Debug, Serialize, Deserialize)]
struct PhotoRecord {
    #[serde(default, skip_deserializing)]
    pk: String,
    #[serde(default, skip_deserializing)]
    sk: String,
    id: String,
    inspection_id: String,
    sha256: String,
    size_bytes: u64,
    content_type: String,
    received_at_ms: i64,
    /// Its object in the bucket.
    #[serde(default, skip_deserializing)]
    s3_key: String,
    detect_status: DetectStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detect_error: Option<String>,
    /// When the running detection of a `pending` photo was last claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detect_claimed_at_ms: Option<i64>,
    /// The container face it shows (items written before faces existed read as `X`).
    #[serde(default)]
    face: Face,
}

/// A verdict's item (`sk = VERDICT#<photo id>#<source>#<model sha256>`).
#[derive(Debug, Serialize, Deserialize)]
struct VerdictRecord {
    #[serde(default, skip_deserializing)]
    pk: String,
    #[serde(default, skip_deserializing)]
    sk: String,
    photo_id: String,
    source: VerdictSource,
    model_name: String,
    model_version: String,
    model_sha256: String,
    has_damage: bool,
    /// The schema v1 response, as JSON text.
    response: String,
    received_at_ms: i64,
}

pub(super) fn encode(record: impl Serialize) -> Result<Item, StoreError> {
    to_item(record).map_err(|e| backend(format!("cannot encode an item: {e}")))
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    item: &Item,
    what: &str,
) -> Result<T, StoreError> {
    from_item(item.clone()).map_err(|e| backend(format!("stored {what} item: {e}")))
}

/// The attributes of `i`'s item with the create-only ones at their first values (no photos,
/// no damage), for the conditional update that writes it.
pub(super) fn inspection_item(i: &Inspection) -> Result<Item, StoreError> {
    encode(InspectionRecord {
        id: i.id.clone(),
        container_number: i.container_number.clone(),
        inspector_id: i.inspector_id.clone(),
        created_at_ms: i.created_at_ms,
        updated_at_ms: i.updated_at_ms,
        latitude: i.location.map(|l| l.latitude),
        longitude: i.location.map(|l| l.longitude),
        accuracy_m: i.location.and_then(|l| l.accuracy_m),
        state: i.state,
        revision: i.revision,
        received_at_ms: i.received_at_ms,
        kind: i.kind.clone(),
        photo_count: 0,
        has_damage: false,
        reviewed_at_ms: None,
        reviewed_by: None,
        gsi1pk: i.container_number.clone(),
        gsi1sk: date_key(i.created_at_ms, &i.id),
    })
}

/// An inspection item read back.
pub(super) fn summary(item: &Item) -> Result<InspectionSummary, StoreError> {
    let r: InspectionRecord = decode(item, "inspection")?;
    let location = match (r.latitude, r.longitude) {
        (Some(latitude), Some(longitude)) => Some(Location {
            latitude,
            longitude,
            accuracy_m: r.accuracy_m,
        }),
        _ => None,
    };
    Ok(InspectionSummary {
        inspection: Inspection {
            id: r.id,
            container_number: r.container_number,
            inspector_id: r.inspector_id,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
            location,
            state: r.state,
            revision: r.revision,
            received_at_ms: r.received_at_ms,
            kind: r.kind,
        },
        photo_count: r.photo_count,
        has_damage: r.has_damage,
        reviewed_at_ms: r.reviewed_at_ms,
        reviewed_by: r.reviewed_by,
    })
}

/// A new photo's item; a `pending` upload holds the first claim on its detection.
pub(super) fn photo_item(photo: &Photo, status: DetectStatus) -> Result<Item, StoreError> {
    encode(PhotoRecord {
        pk: inspection_pk(&photo.inspection_id),
        sk: photo_sk(&photo.id),
        id: photo.id.clone(),
        inspection_id: photo.inspection_id.clone(),
        sha256: photo.sha256.clone(),
        size_bytes: photo.size_bytes,
        content_type: photo.content_type.clone(),
        received_at_ms: photo.received_at_ms,
        s3_key: object_key(photo),
        detect_status: status,
        detect_error: None,
        detect_claimed_at_ms: (status == DetectStatus::Pending).then_some(photo.received_at_ms),
        face: photo.face,
    })
}

/// A photo item read back.
pub(super) fn stored_photo(item: &Item) -> Result<StoredPhoto, StoreError> {
    let r: PhotoRecord = decode(item, "photo")?;
    Ok(StoredPhoto {
        photo: Photo {
            id: r.id,
            inspection_id: r.inspection_id,
            sha256: r.sha256,
            size_bytes: r.size_bytes,
            content_type: r.content_type,
            received_at_ms: r.received_at_ms,
            face: r.face,
        },
        detect_status: r.detect_status,
        detect_error: r.detect_error,
    })
}

/// A verdict's item under `inspection_id`.
pub(super) fn verdict_item(inspection_id: &str, v: &Verdict) -> Result<Item, StoreError> {
    encode(VerdictRecord {
        pk: inspection_pk(inspection_id),
        sk: verdict_sk(&v.photo_id, v.source, &v.model_sha256),
        photo_id: v.photo_id.clone(),
        source: v.source,
        model_name: v.model_name.clone(),
        model_version: v.model_version.clone(),
        model_sha256: v.model_sha256.clone(),
        has_damage: v.has_damage,
        response: v.response.get().to_owned(),
        received_at_ms: v.received_at_ms,
    })
}

/// A verdict item read back.
pub(super) fn verdict(item: &Item) -> Result<Verdict, StoreError> {
    let r: VerdictRecord = decode(item, "verdict")?;
    Ok(Verdict {
        photo_id: r.photo_id,
        source: r.source,
        model_name: r.model_name,
        model_version: r.model_version,
        model_sha256: r.model_sha256,
        has_damage: r.has_damage,
        response: RawValue::from_string(r.response).map_err(backend)?,
        received_at_ms: r.received_at_ms,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn inspection(location: Option<Location>) -> Inspection {
        Inspection {
            id: "insp-1".into(),
            container_number: "CSQU3054383".into(),
            inspector_id: "inspector-7".into(),
            created_at_ms: 1_700_000_000_000,
            updated_at_ms: 1_700_000_060_000,
            location,
            state: InspectionState::Closed,
            revision: 2,
            received_at_ms: 1_700_000_061_000,
            kind: None,
        }
    }

    /// The layout the hand-written codec wrote (docs/office.md, "DynamoDB design"): items
    /// already in a table read back, and new ones are written the same way.
    #[test]
    fn an_inspection_item_keeps_the_layout_of_the_table() {
        let located = inspection(Some(Location {
            latitude: 36.13,
            longitude: -5.35,
            accuracy_m: Some(8.5),
        }));
        let expected = item(&[
            ("id", s("insp-1")),
            ("container_number", s("CSQU3054383")),
            ("inspector_id", s("inspector-7")),
            ("created_at_ms", n("1700000000000")),
            ("updated_at_ms", n("1700000060000")),
            ("latitude", n("36.13")),
            ("longitude", n("-5.35")),
            ("accuracy_m", n("8.5")),
            ("state", s("closed")),
            ("revision", n("2")),
            ("received_at_ms", n("1700000061000")),
            ("photo_count", n("0")),
            ("has_damage", AttributeValue::Bool(false)),
            ("gsi1pk", s("CSQU3054383")),
            ("gsi1sk", s("1700000000000#insp-1")),
        ]);
        assert_eq!(inspection_item(&located).unwrap(), expected);
        let mut stored = expected.clone();
        stored.insert("pk".into(), s("INSPECTION#insp-1"));
        stored.insert("sk".into(), s("INSPECTION"));
        stored.insert("photo_count".into(), n("3"));
        stored.insert("has_damage".into(), AttributeValue::Bool(true));
        let read = summary(&stored).unwrap();
        assert_eq!(read.inspection, located);
        assert_eq!((read.photo_count, read.has_damage), (3, true));
        let kinded = Inspection {
            kind: Some("gate-in".into()),
            ..located.clone()
        };
        let written = inspection_item(&kinded).unwrap();
        assert_eq!(written.get("kind"), Some(&s("gate-in")));
        assert_eq!(summary(&written).unwrap().inspection, kinded);

        // No location: no attributes (an update removes them); counters absent read as zero.
        let bare = inspection(None);
        let written = inspection_item(&bare).unwrap();
        for name in INSPECTION_OPTIONAL {
            assert!(!written.contains_key(name), "{name}");
        }
        let mut stored = written;
        stored.remove("photo_count");
        stored.remove("has_damage");
        let read = summary(&stored).unwrap();
        assert_eq!(read.inspection, bare);
        assert_eq!((read.photo_count, read.has_damage), (0, false));
    }

    #[test]
    fn photo_and_verdict_items_keep_the_layout_of_the_table() {
        let photo = Photo {
            id: "p1".into(),
            inspection_id: "insp-1".into(),
            sha256: "ab".repeat(32),
            size_bytes: 53_211,
            content_type: "image/jpeg".into(),
            received_at_ms: 1_700_000_061_000,
            face: Face::Door,
        };
        let sha = "ab".repeat(32);
        let mut expected = item(&[
            ("pk", s("INSPECTION#insp-1")),
            ("sk", s("PHOTO#p1")),
            ("id", s("p1")),
            ("inspection_id", s("insp-1")),
            ("sha256", s(&sha)),
            ("size_bytes", n("53211")),
            ("content_type", s("image/jpeg")),
            ("received_at_ms", n("1700000061000")),
            ("s3_key", s(&format!("photos/insp-1/p1/{sha}"))),
            ("detect_status", s("none")),
            ("face", s("D")),
        ]);
        assert_eq!(photo_item(&photo, DetectStatus::None).unwrap(), expected);
        expected.insert("detect_status".into(), s("pending"));
        expected.insert("detect_claimed_at_ms".into(), n("1700000061000"));
        assert_eq!(photo_item(&photo, DetectStatus::Pending).unwrap(), expected);
        expected.insert("detect_status".into(), s("failed"));
        expected.insert("detect_error".into(), s("endpoint down"));
        let read = stored_photo(&expected).unwrap();
        assert_eq!(read.photo, photo);
        assert_eq!(read.detect_status, DetectStatus::Failed);
        assert_eq!(read.detect_error.as_deref(), Some("endpoint down"));
        // Items written before faces existed show the whole container; a bad letter is an
        // error, not a default.
        expected.remove("face");
        assert_eq!(stored_photo(&expected).unwrap().photo.face, Face::Whole);
        expected.insert("face".into(), s("Q"));
        assert!(matches!(
            stored_photo(&expected),
            Err(StoreError::Backend(_))
        ));

        let response = r#"{"schema_version":1,"detections":[]}"#;
        let v = Verdict {
            photo_id: "p1".into(),
            source: VerdictSource::Cloud,
            model_name: "m".into(),
            model_version: "1".into(),
            model_sha256: "cd".into(),
            has_damage: true,
            response: RawValue::from_string(response.into()).unwrap(),
            received_at_ms: 1_700_000_062_000,
        };
        let expected = item(&[
            ("pk", s("INSPECTION#insp-1")),
            ("sk", s("VERDICT#p1#cloud#cd")),
            ("photo_id", s("p1")),
            ("source", s("cloud")),
            ("model_name", s("m")),
            ("model_version", s("1")),
            ("model_sha256", s("cd")),
            ("has_damage", AttributeValue::Bool(true)),
            ("response", s(response)),
            ("received_at_ms", n("1700000062000")),
        ]);
        assert_eq!(verdict_item("insp-1", &v).unwrap(), expected);
        let read = verdict(&expected).unwrap();
        assert_eq!(
            (read.photo_id.as_str(), read.source, read.response.get()),
            ("p1", VerdictSource::Cloud, response)
        );
        assert!(read.has_damage);
    }

    #[test]
    fn a_damaged_item_is_an_error_not_a_default() {
        let mut bad = inspection_item(&inspection(None)).unwrap();
        bad.insert("state".into(), s("lost"));
        assert!(matches!(summary(&bad), Err(StoreError::Backend(_))));
        bad.remove("state");
        assert!(matches!(summary(&bad), Err(StoreError::Backend(_))));
    }
}
