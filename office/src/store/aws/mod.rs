//! The AWS store: DynamoDB records (one table, a GSI by container number and date) and S3
//! photos. Design and reasons in `docs/office.md`, "DynamoDB design"; the keys and the table
//! in [`schema`], the items in `codec` (serde records through `serde_dynamo`).
//!
//! Every write is conditional: an inspection is created only if absent and updated only from
//! a lower revision; a photo or verdict record is created only if absent, in one transaction
//! with the inspection's counters. A refused write is read back and compared, so a retried
//! request is `Unchanged` and a different one a conflict.

mod codec;
mod photos;
mod reports;
mod reviews;
pub mod schema;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use aws_sdk_s3::presigning::PresigningConfig;

use self::codec::{INSPECTION_CREATE_ONLY, INSPECTION_OPTIONAL, Item};
pub use self::schema::CONTAINER_INDEX;
use self::schema::{
    DATE_KEY_END_MS, INSPECTION_SK, PHOTO_PREFIX, VERDICT_PREFIX, date_key, inspection_pk,
    object_key, photo_sk, thumbnail_key, verdict_sk,
};
use super::{ListQuery, Put, ReportKey, Store, StoreError, StoredPhoto, newest_first};
use crate::wire::{DetectStatus, Inspection, InspectionSummary, Photo, Review, Verdict};

/// DynamoDB table + S3 bucket.
#[derive(Clone, Debug)]
pub struct AwsStore {
    dynamo: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    table: String,
    bucket: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn sdk<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl AwsStore {
    /// A store on `table` and `bucket` through the given clients.
    pub fn new(
        dynamo: aws_sdk_dynamodb::Client,
        s3: aws_sdk_s3::Client,
        table: &str,
        bucket: &str,
    ) -> Self {
        Self {
            dynamo,
            s3,
            table: table.to_owned(),
            bucket: bucket.to_owned(),
        }
    }

    /// A store from the SDK's configuration chain (environment, profile, instance role);
    /// `endpoint_url` points both services at an emulator.
    pub async fn from_env(
        region: &str,
        endpoint_url: Option<&str>,
        table: &str,
        bucket: &str,
    ) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()));
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(endpoint_url.is_some())
            .build();
        Self::new(
            aws_sdk_dynamodb::Client::new(&config),
            aws_sdk_s3::Client::from_conf(s3_config),
            table,
            bucket,
        )
    }

    /// Creates the table as `office/template.yaml` declares it (on-demand, the
    /// [`CONTAINER_INDEX`] GSI); for emulators and first runs.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        schema::create_table(&self.dynamo, &self.table).await
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item)
    }

    /// Every item of an inspection's partition whose sort key starts with `prefix`, decoded.
    async fn query_prefix<T>(
        &self,
        id: &str,
        prefix: &str,
        decode: fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(inspection_pk(id)))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            for item in out.items.unwrap_or_default() {
                items.push(decode(&item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Reads a record a conditional write was refused for and compares it with `same`.
    async fn settle(
        &self,
        pk: String,
        sk: String,
        same: impl Fn(&Item) -> Result<bool, StoreError>,
        conflict: String,
    ) -> Result<Put, StoreError> {
        match self.get(pk, sk).await? {
            Some(item) if same(&item)? => Ok(Put::Unchanged),
            Some(_) => Err(StoreError::Conflict(conflict)),
            None => Err(backend(
                "a conditional write was refused for an absent item",
            )),
        }
    }

    /// An update of `photo`'s item.
    fn update_photo(&self, photo: &Photo) -> UpdateItemFluentBuilder {
        self.dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", s(inspection_pk(&photo.inspection_id)))
            .key("sk", s(photo_sk(&photo.id)))
    }

    /// One page of a listing: a container's inspections from the GSI, newest first within
    /// the dates, or a page of the filtered scan.
    async fn list_page(
        &self,
        query: &ListQuery,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        match &query.container {
            Some(container) => {
                let from = date_key(query.since_ms.unwrap_or(0), "");
                let to = date_key(query.until_ms.unwrap_or(DATE_KEY_END_MS), "");
                let page = self
                    .dynamo
                    .query()
                    .table_name(&self.table)
                    .index_name(CONTAINER_INDEX)
                    .key_condition_expression(
                        "gsi1pk = :container AND gsi1sk BETWEEN :from AND :to",
                    )
                    .expression_attribute_values(":container", s(container))
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to))
                    .scan_index_forward(false)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(sdk)?;
                Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
            }
            // No container: a filtered scan (the office's volume; see docs/office.md).
            None => {
                let page = self
                    .dynamo
                    .scan()
                    .table_name(&self.table)
                    .filter_expression("sk = :inspection")
                    .expression_attribute_values(":inspection", s(INSPECTION_SK))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(sdk)?;
                Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
            }
        }
    }
}

/// Whether an update's condition failed.
fn condition_failed<R>(e: &SdkError<UpdateItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

/// Whether a transaction was cancelled (one of its conditions failed).
fn cancelled<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    e.as_service_error()
        .is_some_and(TransactWriteItemsError::is_transaction_canceled_exception)
}

#[async_trait]
impl Store for AwsStore {
    async fn put_inspection(&self, i: &Inspection) -> Result<Put, StoreError> {
        let mut fields: Vec<(String, AttributeValue)> =
            codec::inspection_item(i)?.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut request = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", s(inspection_pk(&i.id)))
            .key("sk", s(INSPECTION_SK));
        let mut sets = Vec::new();
        for (k, (name, value)) in fields.into_iter().enumerate() {
            // The first write's receive time and counters stay; everything else is replaced.
            sets.push(if INSPECTION_CREATE_ONLY.contains(&name.as_str()) {
                format!("#a{k} = if_not_exists(#a{k}, :v{k})")
            } else {
                format!("#a{k} = :v{k}")
            });
            request = request
                .expression_attribute_names(format!("#a{k}"), name)
                .expression_attribute_values(format!(":v{k}"), value);
        }
        let mut expression = format!("SET {}", sets.join(", "));
        let removes: Vec<&str> = INSPECTION_OPTIONAL
            .into_iter()
            .filter(|name| match *name {
                "kind" => i.kind.is_none(),
                _ => match i.location {
                    None => true,
                    Some(l) => *name == "accuracy_m" && l.accuracy_m.is_none(),
                },
            })
            .collect();
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let out = request
            .update_expression(expression)
            .condition_expression("attribute_not_exists(pk) OR revision < :rev")
            .expression_attribute_values(":rev", n(i.revision))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) if out.attributes.as_ref().is_none_or(HashMap::is_empty) => Ok(Put::Created),
            Ok(_) => Ok(Put::Updated),
            Err(e) if condition_failed(&e) => {
                let item = self
                    .get(inspection_pk(&i.id), INSPECTION_SK.into())
                    .await?
                    .ok_or_else(|| backend("a refused inspection update found no item"))?;
                let old = codec::summary(&item)?.inspection;
                let same = Inspection {
                    received_at_ms: old.received_at_ms,
                    ..i.clone()
                };
                if old == same {
                    Ok(Put::Unchanged)
                } else {
                    Err(StoreError::Conflict(format!(
                        "inspection {} is at revision {}; revision {} is older or differs",
                        i.id, old.revision, i.revision
                    )))
                }
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn inspection(&self, id: &str) -> Result<Option<InspectionSummary>, StoreError> {
        self.get(inspection_pk(id), INSPECTION_SK.into())
            .await?
            .map(|item| codec::summary(&item))
            .transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<InspectionSummary>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.list_page(query, start).await?;
            let mut oldest_read = None;
            for item in &items {
                let summary = codec::summary(item)?;
                oldest_read = Some(summary.inspection.created_at_ms);
                if query.matches(&summary) {
                    out.push(summary);
                }
            }
            start = next;
            if start.is_none() {
                break;
            }
            // The GSI reads newest first: stop once nothing further can enter the newest
            // `limit` (the later pages are strictly older than the limit-th, whose ties may
            // still be ahead: their ids sort either way).
            if query.container.is_some() && out.len() >= query.limit {
                out.sort_by(newest_first);
                let kth = out
                    .get(query.limit.saturating_sub(1))
                    .map(|s| s.inspection.created_at_ms);
                if query.limit == 0 || oldest_read.zip(kth).is_some_and(|(o, k)| o < k) {
                    break;
                }
            }
        }
        out.sort_by(newest_first);
        out.truncate(query.limit);
        Ok(out)
    }

    async fn put_photo(
        &self,
        photo: &Photo,
        bytes: &[u8],
        detect_status: DetectStatus,
    ) -> Result<Put, StoreError> {
        self.put_photo_item(photo, bytes, detect_status).await
    }

    async fn photo(
        &self,
        inspection_id: &str,
        photo_id: &str,
    ) -> Result<Option<StoredPhoto>, StoreError> {
        self.get(inspection_pk(inspection_id), photo_sk(photo_id))
            .await?
            .map(|item| codec::stored_photo(&item))
            .transpose()
    }

    async fn photos(&self, inspection_id: &str) -> Result<Vec<StoredPhoto>, StoreError> {
        let mut photos = self
            .query_prefix(inspection_id, PHOTO_PREFIX, codec::stored_photo)
            .await?;
        photos.sort_by(super::oldest_first);
        Ok(photos)
    }

    async fn photo_bytes(&self, photo: &Photo) -> Result<Vec<u8>, StoreError> {
        self.object(object_key(photo))
            .await?
            .ok_or_else(|| backend(format!("no object for photo {}", photo.id)))
    }

    async fn put_thumbnail(&self, photo: &Photo, jpeg: &[u8]) -> Result<Put, StoreError> {
        self.put_thumbnail_object(photo, jpeg).await
    }

    async fn thumbnail_bytes(&self, photo: &Photo) -> Result<Option<Vec<u8>>, StoreError> {
        self.object(thumbnail_key(photo)).await
    }

    async fn set_detect_status(
        &self,
        photo: &Photo,
        status: DetectStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let request = self
            .update_photo(photo)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":status", s(status.as_str()));
        let request = match error {
            Some(message) => request
                .update_expression("SET detect_status = :status, detect_error = :error")
                .expression_attribute_values(":error", s(message)),
            None => request.update_expression("SET detect_status = :status REMOVE detect_error"),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound(format!(
                "inspection {} has no photo {}",
                photo.inspection_id, photo.id
            ))),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn claim_stale_detection(
        &self,
        photo: &Photo,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .update_photo(photo)
            .update_expression("SET detect_claimed_at_ms = :now")
            .condition_expression(
                "detect_status = :pending AND (detect_claimed_at_ms < :stale \
                 OR (attribute_not_exists(detect_claimed_at_ms) AND received_at_ms < :stale))",
            )
            .expression_attribute_values(":pending", s(DetectStatus::Pending.as_str()))
            .expression_attribute_values(":stale", n(stale_before_ms))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn put_verdict(&self, inspection_id: &str, v: &Verdict) -> Result<Put, StoreError> {
        if self.photo(inspection_id, &v.photo_id).await?.is_none() {
            return Err(StoreError::NotFound(format!(
                "inspection {inspection_id} has no photo {}",
                v.photo_id
            )));
        }
        let pk = inspection_pk(inspection_id);
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(codec::verdict_item(inspection_id, v)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(backend)?;
        let mut write = self
            .dynamo
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build());
        if v.has_damage {
            let damaged = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .key("pk", s(pk.clone()))
                .key("sk", s(INSPECTION_SK))
                .update_expression("SET has_damage = :true")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .build()
                .map_err(backend)?;
            write = write.transact_items(TransactWriteItem::builder().update(damaged).build());
        }
        match write.send().await {
            Ok(_) => Ok(Put::Created),
            Err(e) if cancelled(&e) => {
                let same =
                    |item: &Item| Ok(codec::verdict(item)?.response.get() == v.response.get());
                let conflict = format!(
                    "photo {} already has another {} verdict of model {}",
                    v.photo_id,
                    v.source.as_str(),
                    v.model_sha256
                );
                let sk = verdict_sk(&v.photo_id, v.source, &v.model_sha256);
                self.settle(pk, sk, same, conflict).await
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn verdicts(&self, inspection_id: &str) -> Result<Vec<Verdict>, StoreError> {
        let mut verdicts = self
            .query_prefix(inspection_id, VERDICT_PREFIX, codec::verdict)
            .await?;
        verdicts.sort_by(super::verdict_order);
        Ok(verdicts)
    }

    async fn report(
        &self,
        inspection_id: &str,
        key: ReportKey,
    ) -> Result<Option<String>, StoreError> {
        self.stored_report(inspection_id, key).await
    }

    async fn claim_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.claim_report_item(inspection_id, key, stale_before_ms, now_ms)
            .await
    }

    async fn put_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
        eir_json: &str,
    ) -> Result<Put, StoreError> {
        self.put_report_item(inspection_id, key, eir_json).await
    }

    async fn put_review(&self, review: &Review) -> Result<Put, StoreError> {
        review.validate()?;
        self.put_review_item(review).await
    }

    async fn reviews(&self, inspection_id: &str) -> Result<Vec<Review>, StoreError> {
        self.review_items(inspection_id).await
    }

    async fn mark_reviewed(
        &self,
        inspection_id: &str,
        reviewer: &str,
        at_ms: i64,
    ) -> Result<Put, StoreError> {
        self.mark_reviewed_item(inspection_id, reviewer, at_ms)
            .await
    }

    async fn presigned_url(
        &self,
        photo: &Photo,
        ttl: Duration,
    ) -> Result<Option<(String, i64)>, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(backend)?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(object_key(photo))
            .presigned(config)
            .await
            .map_err(sdk)?;
        let expires = SystemTime::now() + ttl;
        let expires_ms = expires
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Ok(Some((request.uri().to_owned(), expires_ms)))
    }
}
