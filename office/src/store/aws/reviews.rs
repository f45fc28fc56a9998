//! Reviews on DynamoDB: one item per review, `sk = REVIEW#<photo id>#<revision, 20 digits>`,
//! holding the record as JSON. The photo's item keeps its latest review revision
//! (`review_revision`); a review is written in one transaction with the bump of that counter
//! from `revision - 1`, each conditional, so of two writers of a revision exactly one wins,
//! and a review that skips revisions is refused.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::codec::{Item, decode, encode};
use super::{AwsStore, INSPECTION_SK, backend, cancelled, condition_failed, inspection_pk};
use super::{n, photo_sk, s, sdk};
use crate::store::{Put, StoreError, review_gap, review_order, same_review, stale_review};
use crate::wire::Review;

/// The sort-key prefix of an inspection's reviews.
const REVIEW_PREFIX: &str = "REVIEW#";

/// The photo item's attribute holding its latest review revision (absent: none).
const REVIEW_REVISION: &str = "review_revision";

/// How often a write cancelled by a concurrent transaction (with nothing stored yet that
/// refuses it) is tried again.
const CONTENDED_TRIES: usize = 4;

fn review_sk(photo_id: &str, revision: u64) -> String {
    format!("{REVIEW_PREFIX}{photo_id}#{revision:020}")
}

/// A review's item.
#[derive(Debug, Serialize, Deserialize)]
struct ReviewRecord {
    #[serde(default, skip_deserializing)]
    pk: String,
    #[serde(default, skip_deserializing)]
    sk: String,
    photo_id: String,
    revision: u64,
    reviewer: String,
    reviewed_at_ms: i64,
    /// The whole record, as JSON text.
    review: String,
}

fn review_item(review: &Review) -> Result<Item, StoreError> {
    encode(ReviewRecord {
        pk: inspection_pk(&review.inspection_id),
        sk: review_sk(&review.photo_id, review.revision),
        photo_id: review.photo_id.clone(),
        revision: review.revision,
        reviewer: review.reviewer.clone(),
        reviewed_at_ms: review.reviewed_at_ms,
        review: serde_json::to_string(review).map_err(backend)?,
    })
}

fn review(item: &Item) -> Result<Review, StoreError> {
    let r: ReviewRecord = decode(item, "review")?;
    serde_json::from_str(&r.review).map_err(|e| backend(format!("stored review: {e}")))
}

/// A photo item's latest review revision.
fn latest_revision(photo: &Item) -> Result<u64, StoreError> {
    match photo.get(REVIEW_REVISION) {
        None => Ok(0),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|e| backend(format!("stored {REVIEW_REVISION} {v:?}: {e}"))),
        Some(other) => Err(backend(format!("stored {REVIEW_REVISION} is {other:?}"))),
    }
}

impl AwsStore {
    /// The conditional append of a review (already validated).
    pub(super) async fn put_review_item(&self, r: &Review) -> Result<Put, StoreError> {
        for _ in 0..CONTENDED_TRIES {
            if self.write_review(r).await? {
                return Ok(Put::Created);
            }
            if let Some(settled) = self.settle_review(r).await? {
                return settled;
            }
        }
        Err(backend(format!(
            "photo {}'s review revision {} stayed contended; try again",
            r.photo_id, r.revision
        )))
    }

    /// The review's item and its photo's counter in one transaction: true when written,
    /// false when a condition (or a concurrent transaction) cancelled it.
    async fn write_review(&self, r: &Review) -> Result<bool, StoreError> {
        let pk = inspection_pk(&r.inspection_id);
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(review_item(r)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(backend)?;
        let counter = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(photo_sk(&r.photo_id)))
            .update_expression("SET #rev = :rev")
            .expression_attribute_names("#rev", REVIEW_REVISION)
            .expression_attribute_values(":rev", n(r.revision));
        // The photo must exist, and its latest review be the one before this.
        let counter = if r.revision <= 1 {
            counter.condition_expression("attribute_exists(pk) AND attribute_not_exists(#rev)")
        } else {
            counter
                .condition_expression("#rev = :prev")
                .expression_attribute_values(":prev", n(r.revision - 1))
        };
        let written = self
            .dynamo
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(counter.build().map_err(backend)?)
                    .build(),
            )
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) if cancelled(&e) => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }

    /// Why a review's write was cancelled, read back: `None` when nothing stored refuses it
    /// (a concurrent transaction on the same items cancelled it; the write may be tried again).
    async fn settle_review(
        &self,
        r: &Review,
    ) -> Result<Option<Result<Put, StoreError>>, StoreError> {
        let pk = inspection_pk(&r.inspection_id);
        let (stored, photo) = tokio::try_join!(
            self.get(pk.clone(), review_sk(&r.photo_id, r.revision)),
            self.get(pk, photo_sk(&r.photo_id)),
        )?;
        if let Some(item) = stored {
            let stored = review(&item)?;
            return Ok(Some(if same_review(&stored, r) {
                Ok(Put::Unchanged)
            } else {
                Err(stale_review(&stored))
            }));
        }
        let Some(photo) = photo else {
            return Ok(Some(Err(StoreError::NotFound(format!(
                "inspection {} has no photo {}",
                r.inspection_id, r.photo_id
            )))));
        };
        let latest = latest_revision(&photo)?;
        if r.revision == latest + 1 {
            return Ok(None);
        }
        if r.revision <= latest {
            // Its item was read before the counter: a concurrent writer of this revision
            // committed in between. Read again.
            return Ok(None);
        }
        Ok(Some(Err(review_gap(r, latest))))
    }

    /// Every review of an inspection, in [`review_order`].
    pub(super) async fn review_items(
        &self,
        inspection_id: &str,
    ) -> Result<Vec<Review>, StoreError> {
        let mut reviews = self
            .query_prefix(inspection_id, REVIEW_PREFIX, review)
            .await?;
        reviews.sort_by(review_order);
        Ok(reviews)
    }

    /// The first mark of an inspection as reviewed; a later one changes nothing.
    pub(super) async fn mark_reviewed_item(
        &self,
        inspection_id: &str,
        reviewer: &str,
        at_ms: i64,
    ) -> Result<Put, StoreError> {
        let marked = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", s(inspection_pk(inspection_id)))
            .key("sk", s(INSPECTION_SK))
            .update_expression("SET reviewed_at_ms = :at, reviewed_by = :by")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(reviewed_at_ms)")
            .expression_attribute_values(":at", n(at_ms))
            .expression_attribute_values(":by", s(reviewer))
            .send()
            .await;
        match marked {
            Ok(_) => Ok(Put::Created),
            Err(e) if condition_failed(&e) => {
                match self
                    .get(inspection_pk(inspection_id), INSPECTION_SK.into())
                    .await?
                {
                    Some(_) => Ok(Put::Unchanged),
                    None => Err(StoreError::NotFound(format!(
                        "no inspection {inspection_id}"
                    ))),
                }
            }
            Err(e) => Err(sdk(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::wire::ReviewBox;

    /// The review item's layout (docs/office.md, "DynamoDB design"): its key sorts a photo's
    /// revisions in order, and the record reads back whole.
    #[test]
    fn a_review_item_keeps_its_layout_and_reads_back() {
        let r = Review {
            inspection_id: "insp-1".into(),
            photo_id: "p1".into(),
            revision: 2,
            reviewer: "ana".into(),
            reviewed_at_ms: 1_700_000_000_000,
            based_on: None,
            boxes: vec![ReviewBox {
                class_id: 1,
                x1: 0.1,
                y1: 0.2,
                x2: 0.3,
                y2: 0.4,
            }],
            changes: vec![crate::wire::ReviewChange::Drawn { class_id: 1 }],
        };
        let item = review_item(&r).unwrap();
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "photo_id",
                "pk",
                "review",
                "reviewed_at_ms",
                "reviewer",
                "revision",
                "sk"
            ]
        );
        assert_eq!(item["pk"], s("INSPECTION#insp-1"));
        assert_eq!(item["sk"], s("REVIEW#p1#00000000000000000002"));
        assert_eq!(item["revision"], n(2));
        assert_eq!(review(&item).unwrap(), r);
        assert!(review_sk("p1", 9) < review_sk("p1", 10));

        let mut photo = Item::new();
        assert_eq!(latest_revision(&photo).unwrap(), 0);
        photo.insert(REVIEW_REVISION.into(), n(7));
        assert_eq!(latest_revision(&photo).unwrap(), 7);
        photo.insert(REVIEW_REVISION.into(), s("7"));
        assert!(matches!(
            latest_revision(&photo),
            Err(StoreError::Backend(_))
        ));
    }
}
