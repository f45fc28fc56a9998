//! The AWS store: DynamoDB records (one table, a GSI by container number and date) and S3
//! photos. Design and reasons in `docs/office.md`, "DynamoDB design".
//!
//! Items share a partition per inspection, `pk = INSPECTION#<id>`:
//! - `sk = INSPECTION`: the inspection, with `photo_count`, `has_damage`, and the GSI keys
//!   `gsi1pk` (container number) and `gsi1sk` (`<created_at_ms, 13 digits>#<id>`);
//! - `sk = PHOTO#<photo id>`: a photo's record, its object at `photos/<id>/<photo id>/<sha256>`;
//! - `sk = VERDICT#<photo id>#<source>#<model sha256>`: a verdict.
//!
//! Every write is conditional: an inspection is created only if absent and updated only from
//! a lower revision; a photo or verdict record is created only if absent, in one transaction
//! with the inspection's counters. A refused write is read back and compared, so a retried
//! request is `Unchanged` and a different one a conflict.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnValue, ScalarAttributeType, TransactWriteItem,
};
use aws_sdk_s3::presigning::PresigningConfig;
use serde_json::value::RawValue;

use super::{ListQuery, Put, Store, StoreError, StoredPhoto};
use crate::wire::{
    DetectStatus, Inspection, InspectionState, InspectionSummary, Location, Photo, Verdict,
    VerdictSource,
};

/// The GSI that finds a container's inspections by date.
pub const CONTAINER_INDEX: &str = "by-container";

type Item = HashMap<String, AttributeValue>;

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

fn inspection_pk(id: &str) -> AttributeValue {
    s(format!("INSPECTION#{id}"))
}

fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(backend(format!("item lacks string attribute {name}"))),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| backend(format!("attribute {name} is not a number: {v}"))),
        _ => Err(backend(format!("item lacks number attribute {name}"))),
    }
}

fn opt_n(item: &Item, name: &str) -> Result<Option<f64>, StoreError> {
    item.get(name).map(|_| get_n(item, name)).transpose()
}

fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

/// The GSI sort key: zero-padded so that string order is date order.
fn date_key(created_at_ms: i64, id: &str) -> String {
    format!("{:013}#{id}", created_at_ms.max(0))
}

fn summary(item: &Item) -> Result<InspectionSummary, StoreError> {
    let state = get_s(item, "state")?;
    let location = match (opt_n(item, "latitude")?, opt_n(item, "longitude")?) {
        (Some(latitude), Some(longitude)) => Some(Location {
            latitude,
            longitude,
            accuracy_m: opt_n(item, "accuracy_m")?,
        }),
        _ => None,
    };
    Ok(InspectionSummary {
        inspection: Inspection {
            id: get_s(item, "id")?,
            container_number: get_s(item, "container_number")?,
            inspector_id: get_s(item, "inspector_id")?,
            created_at_ms: get_n(item, "created_at_ms")?,
            updated_at_ms: get_n(item, "updated_at_ms")?,
            location,
            state: InspectionState::parse(&state)
                .ok_or_else(|| backend(format!("stored state {state:?}")))?,
            revision: get_n(item, "revision")?,
            received_at_ms: get_n(item, "received_at_ms")?,
        },
        photo_count: get_n(item, "photo_count").unwrap_or(0),
        has_damage: get_bool(item, "has_damage"),
    })
}

fn photo_item(photo: &Photo, status: DetectStatus) -> Item {
    let mut item = HashMap::from([
        ("pk".into(), inspection_pk(&photo.inspection_id)),
        ("sk".into(), s(format!("PHOTO#{}", photo.id))),
        ("id".into(), s(&photo.id)),
        ("inspection_id".into(), s(&photo.inspection_id)),
        ("sha256".into(), s(&photo.sha256)),
        ("size_bytes".into(), n(photo.size_bytes)),
        ("content_type".into(), s(&photo.content_type)),
        ("received_at_ms".into(), n(photo.received_at_ms)),
        ("s3_key".into(), s(object_key(photo))),
        ("detect_status".into(), s(status.as_str())),
    ]);
    if status == DetectStatus::Pending {
        // The upload holds the first claim on the detection.
        item.insert("detect_claimed_at_ms".into(), n(photo.received_at_ms));
    }
    item
}

fn stored_photo(item: &Item) -> Result<StoredPhoto, StoreError> {
    let status = get_s(item, "detect_status")?;
    Ok(StoredPhoto {
        photo: Photo {
            id: get_s(item, "id")?,
            inspection_id: get_s(item, "inspection_id")?,
            sha256: get_s(item, "sha256")?,
            size_bytes: get_n(item, "size_bytes")?,
            content_type: get_s(item, "content_type")?,
            received_at_ms: get_n(item, "received_at_ms")?,
        },
        detect_status: DetectStatus::parse(&status)
            .ok_or_else(|| backend(format!("stored detect status {status:?}")))?,
        detect_error: get_s(item, "detect_error").ok(),
    })
}

fn verdict_sk(v: &Verdict) -> String {
    format!(
        "VERDICT#{}#{}#{}",
        v.photo_id,
        v.source.as_str(),
        v.model_sha256
    )
}

fn verdict_item(inspection_id: &str, v: &Verdict) -> Item {
    HashMap::from([
        ("pk".into(), inspection_pk(inspection_id)),
        ("sk".into(), s(verdict_sk(v))),
        ("photo_id".into(), s(&v.photo_id)),
        ("source".into(), s(v.source.as_str())),
        ("model_name".into(), s(&v.model_name)),
        ("model_version".into(), s(&v.model_version)),
        ("model_sha256".into(), s(&v.model_sha256)),
        ("has_damage".into(), AttributeValue::Bool(v.has_damage)),
        ("response".into(), s(v.response.get())),
        ("received_at_ms".into(), n(v.received_at_ms)),
    ])
}

fn verdict(item: &Item) -> Result<Verdict, StoreError> {
    let source = get_s(item, "source")?;
    Ok(Verdict {
        photo_id: get_s(item, "photo_id")?,
        source: VerdictSource::parse(&source)
            .ok_or_else(|| backend(format!("stored verdict source {source:?}")))?,
        model_name: get_s(item, "model_name")?,
        model_version: get_s(item, "model_version")?,
        model_sha256: get_s(item, "model_sha256")?,
        has_damage: get_bool(item, "has_damage"),
        response: RawValue::from_string(get_s(item, "response")?).map_err(backend)?,
        received_at_ms: get_n(item, "received_at_ms")?,
    })
}

/// Where a photo's bytes live in the bucket: its SHA-256 in the key, so a racing upload of
/// other bytes under the same id can never replace the object a record names.
fn object_key(photo: &Photo) -> String {
    format!(
        "photos/{}/{}/{}",
        photo.inspection_id, photo.id, photo.sha256
    )
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
        self.dynamo
            .create_table()
            .table_name(&self.table)
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

    async fn get(&self, pk: AttributeValue, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", pk)
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item)
    }

    /// Every item of an inspection's partition whose sort key starts with `prefix`.
    async fn query_prefix(&self, id: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", inspection_pk(id))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Reads a record a conditional write was refused for and compares it with `same`.
    async fn settle(
        &self,
        pk: AttributeValue,
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
}

#[async_trait]
impl Store for AwsStore {
    async fn put_inspection(&self, i: &Inspection) -> Result<Put, StoreError> {
        let mut sets = vec![
            ("id", s(&i.id)),
            ("container_number", s(&i.container_number)),
            ("inspector_id", s(&i.inspector_id)),
            ("created_at_ms", n(i.created_at_ms)),
            ("updated_at_ms", n(i.updated_at_ms)),
            ("state", s(i.state.as_str())),
            ("revision", n(i.revision)),
            ("gsi1pk", s(&i.container_number)),
            ("gsi1sk", s(date_key(i.created_at_ms, &i.id))),
        ];
        let mut removes = Vec::new();
        match i.location {
            Some(l) => {
                sets.push(("latitude", n(l.latitude)));
                sets.push(("longitude", n(l.longitude)));
                match l.accuracy_m {
                    Some(a) => sets.push(("accuracy_m", n(a))),
                    None => removes.push("accuracy_m"),
                }
            }
            None => removes.extend(["latitude", "longitude", "accuracy_m"]),
        }
        let mut expression = String::from("SET ");
        let mut request = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", inspection_pk(&i.id))
            .key("sk", s("INSPECTION"));
        for (k, (name, value)) in sets.into_iter().enumerate() {
            expression.push_str(&format!("#a{k} = :v{k}, "));
            request = request
                .expression_attribute_names(format!("#a{k}"), name)
                .expression_attribute_values(format!(":v{k}"), value);
        }
        expression.push_str(
            "received_at_ms = if_not_exists(received_at_ms, :now), \
             photo_count = if_not_exists(photo_count, :zero), \
             has_damage = if_not_exists(has_damage, :false)",
        );
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let out = request
            .update_expression(expression)
            .condition_expression("attribute_not_exists(pk) OR revision < :rev")
            .expression_attribute_values(":rev", n(i.revision))
            .expression_attribute_values(":now", n(i.received_at_ms))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) if out.attributes.as_ref().is_none_or(HashMap::is_empty) => Ok(Put::Created),
            Ok(_) => Ok(Put::Updated),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                let item = self
                    .get(inspection_pk(&i.id), "INSPECTION".into())
                    .await?
                    .ok_or_else(|| backend("a refused inspection update found no item"))?;
                let old = summary(&item)?.inspection;
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
        self.get(inspection_pk(id), "INSPECTION".into())
            .await?
            .map(|item| summary(&item))
            .transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<InspectionSummary>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = match &query.container {
                // The GSI: one container's inspections, newest first, within the dates.
                Some(container) => {
                    let from = date_key(query.since_ms.unwrap_or(0), "");
                    let to = date_key(query.until_ms.unwrap_or(9_999_999_999_999), "");
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
                    (page.items.unwrap_or_default(), page.last_evaluated_key)
                }
                // No container: a filtered scan (the office's volume; see docs/office.md).
                None => {
                    let page = self
                        .dynamo
                        .scan()
                        .table_name(&self.table)
                        .filter_expression("sk = :inspection")
                        .expression_attribute_values(":inspection", s("INSPECTION"))
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(sdk)?;
                    (page.items.unwrap_or_default(), page.last_evaluated_key)
                }
            };
            for item in &items {
                let summary = summary(item)?;
                if query.matches(&summary) {
                    out.push(summary);
                }
            }
            start = next;
            if start.is_none() || (query.container.is_some() && out.len() >= query.limit) {
                break;
            }
        }
        out.sort_by(|a, b| {
            (b.inspection.created_at_ms, &a.inspection.id)
                .cmp(&(a.inspection.created_at_ms, &b.inspection.id))
        });
        out.truncate(query.limit);
        Ok(out)
    }

    async fn put_photo(
        &self,
        photo: &Photo,
        bytes: &[u8],
        detect_status: DetectStatus,
    ) -> Result<Put, StoreError> {
        let pk = inspection_pk(&photo.inspection_id);
        let sk = format!("PHOTO#{}", photo.id);
        let same = |item: &Item| Ok(stored_photo(item)?.photo.sha256 == photo.sha256);
        let conflict = format!("photo {} is already stored with other content", photo.id);
        if let Some(item) = self.get(pk.clone(), sk.clone()).await? {
            return if same(&item)? {
                Ok(Put::Unchanged)
            } else {
                Err(StoreError::Conflict(conflict))
            };
        }
        // The object first: a record only ever names a complete object.
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(object_key(photo))
            .content_type(&photo.content_type)
            .body(bytes.to_vec().into())
            .send()
            .await
            .map_err(sdk)?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(photo_item(photo, detect_status)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(backend)?;
        let count = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("pk", pk.clone())
            .key("sk", s("INSPECTION"))
            .update_expression("ADD photo_count :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(backend)?;
        let written = self
            .dynamo
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(Put::Created),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                if self.inspection(&photo.inspection_id).await?.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "no inspection {}",
                        photo.inspection_id
                    )));
                }
                self.settle(pk, sk, same, conflict).await
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn photo(
        &self,
        inspection_id: &str,
        photo_id: &str,
    ) -> Result<Option<StoredPhoto>, StoreError> {
        self.get(inspection_pk(inspection_id), format!("PHOTO#{photo_id}"))
            .await?
            .map(|item| stored_photo(&item))
            .transpose()
    }

    async fn photos(&self, inspection_id: &str) -> Result<Vec<StoredPhoto>, StoreError> {
        let mut photos = self
            .query_prefix(inspection_id, "PHOTO#")
            .await?
            .iter()
            .map(stored_photo)
            .collect::<Result<Vec<_>, _>>()?;
        photos.sort_by(|a, b| {
            (a.photo.received_at_ms, &a.photo.id).cmp(&(b.photo.received_at_ms, &b.photo.id))
        });
        Ok(photos)
    }

    async fn photo_bytes(&self, photo: &Photo) -> Result<Vec<u8>, StoreError> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(object_key(photo))
            .send()
            .await
            .map_err(sdk)?;
        let bytes = out.body.collect().await.map_err(backend)?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn set_detect_status(
        &self,
        photo: &Photo,
        status: DetectStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let request = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", inspection_pk(&photo.inspection_id))
            .key("sk", s(format!("PHOTO#{}", photo.id)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":status", s(status.as_str()));
        let request = match error {
            Some(message) => request
                .update_expression("SET detect_status = :status, detect_error = :error")
                .expression_attribute_values(":error", s(message)),
            None => request.update_expression("SET detect_status = :status REMOVE detect_error"),
        };
        request.send().await.map_err(sdk)?;
        Ok(())
    }

    async fn claim_stale_detection(
        &self,
        photo: &Photo,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", inspection_pk(&photo.inspection_id))
            .key("sk", s(format!("PHOTO#{}", photo.id)))
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
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
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
            .set_item(Some(verdict_item(inspection_id, v)))
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
                .key("pk", pk.clone())
                .key("sk", s("INSPECTION"))
                .update_expression("SET has_damage = :true")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .build()
                .map_err(backend)?;
            write = write.transact_items(TransactWriteItem::builder().update(damaged).build());
        }
        match write.send().await {
            Ok(_) => Ok(Put::Created),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                let same = |item: &Item| Ok(get_s(item, "response")? == v.response.get());
                let conflict = format!(
                    "photo {} already has another {} verdict of model {}",
                    v.photo_id,
                    v.source.as_str(),
                    v.model_sha256
                );
                self.settle(pk, verdict_sk(v), same, conflict).await
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn verdicts(&self, inspection_id: &str) -> Result<Vec<Verdict>, StoreError> {
        let mut verdicts = self
            .query_prefix(inspection_id, "VERDICT#")
            .await?
            .iter()
            .map(verdict)
            .collect::<Result<Vec<_>, _>>()?;
        verdicts.sort_by_key(|v| v.received_at_ms);
        Ok(verdicts)
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
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        Ok(Some((
            request.uri().to_owned(),
            omni_core::Timestamp::now()
                .as_millis()
                .saturating_add(ttl_ms),
        )))
    }
}
