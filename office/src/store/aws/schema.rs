//! Where the AWS store keeps things: the table's keys and index, the bucket's object keys, and
//! the table definition itself (as `office/template.yaml` declares it). Design and reasons in
//! `docs/office.md`, "DynamoDB design".
//!
//! Items share a partition per inspection, `pk = INSPECTION#<id>`:
//! - `sk = INSPECTION`: the inspection, with the GSI keys `gsi1pk` (container number) and
//!   `gsi1sk` (`<created_at_ms, 13 digits>#<id>`);
//! - `sk = PHOTO#<photo id>`: a photo's record (a photo id is scoped to its inspection);
//! - `sk = VERDICT#<photo id>#<source>#<model sha256>`: a verdict;
//! - `sk = REPORT#<revision>[#REVIEWS#<count>]`: a report and its writer's claim
//!   (`reports.rs`).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use super::{backend, sdk};
use crate::store::StoreError;
use crate::wire::{Photo, VerdictSource};

/// The GSI that finds a container's inspections by date.
pub const CONTAINER_INDEX: &str = "by-container";

/// The sort key of an inspection's own item.
pub(super) const INSPECTION_SK: &str = "INSPECTION";

/// The sort-key prefix of an inspection's photos.
pub(super) const PHOTO_PREFIX: &str = "PHOTO#";

/// The sort-key prefix of an inspection's verdicts.
pub(super) const VERDICT_PREFIX: &str = "VERDICT#";

/// The partition of an inspection and everything under it.
pub(super) fn inspection_pk(id: &str) -> String {
    format!("INSPECTION#{id}")
}

/// The sort key of a photo within its inspection's partition.
pub(super) fn photo_sk(photo_id: &str) -> String {
    format!("{PHOTO_PREFIX}{photo_id}")
}

/// The sort key of a verdict: photo, source and model SHA-256 make the idempotency key.
pub(super) fn verdict_sk(photo_id: &str, source: VerdictSource, model_sha256: &str) -> String {
    format!(
        "{VERDICT_PREFIX}{photo_id}#{}#{model_sha256}",
        source.as_str()
    )
}

/// The GSI sort key: zero-padded so that string order is date order.
pub(super) fn date_key(created_at_ms: i64, id: &str) -> String {
    format!("{:013}#{id}", created_at_ms.max(0))
}

/// The upper end of the GSI's date range when a listing has no `until`.
pub(super) const DATE_KEY_END_MS: i64 = 9_999_999_999_999;

/// Where a photo's bytes live in the bucket: its SHA-256 in the key, so a racing upload of
/// other bytes under the same id can never replace the object a record names.
pub(super) fn object_key(photo: &Photo) -> String {
    format!(
        "photos/{}/{}/{}",
        photo.inspection_id, photo.id, photo.sha256
    )
}

/// The S3 key of a photo's thumbnail, beside the photo's object.
pub(super) fn thumbnail_key(photo: &Photo) -> String {
    format!("{}.thumb.jpg", object_key(photo))
}

/// Creates `table` as `office/template.yaml` declares it: on demand, string keys `pk`/`sk`,
/// and the [`CONTAINER_INDEX`] GSI (`gsi1pk` HASH, `gsi1sk` RANGE, projection ALL).
pub(super) async fn create_table(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(backend)
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(backend)
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(CONTAINER_INDEX)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(backend)?;
    dynamo
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .send()
        .await
        .map_err(sdk)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_keys_sort_as_dates_and_bound_the_ids_of_a_millisecond() {
        assert_eq!(date_key(1_700_000_000_000, "a"), "1700000000000#a");
        assert_eq!(date_key(5, "a"), "0000000000005#a");
        assert!(date_key(99, "z") < date_key(100, "a"));
        // A range `[date_key(t, ""), date_key(u, "")]` holds every id of t and none of u.
        assert!(date_key(100, "") < date_key(100, "a"));
        assert!(date_key(100, "zzz") < date_key(101, ""));
        assert_eq!(
            verdict_sk("p1", VerdictSource::Edge, "ab"),
            "VERDICT#p1#edge#ab"
        );
    }
}
