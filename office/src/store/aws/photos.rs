//! Photos on S3 and DynamoDB: the object first, then the record (a transaction with the
//! inspection's photo count), and the photo's thumbnail, an object beside the photo's
//! (`<photo key>.thumb.jpg`), written once.

use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::codec::{self, Item};
use super::schema::{INSPECTION_SK, inspection_pk, object_key, photo_sk, thumbnail_key};
use super::{AwsStore, backend, cancelled, n, s, sdk};
use crate::store::{Put, StoreError};
use crate::wire::{DetectStatus, Photo};

impl AwsStore {
    /// [`crate::store::Store::put_photo`] on S3 and DynamoDB.
    pub(super) async fn put_photo_item(
        &self,
        photo: &Photo,
        bytes: &[u8],
        detect_status: DetectStatus,
    ) -> Result<Put, StoreError> {
        let pk = inspection_pk(&photo.inspection_id);
        let sk = photo_sk(&photo.id);
        let same = |item: &Item| Ok(codec::stored_photo(item)?.photo.sha256 == photo.sha256);
        let conflict = format!("photo {} is already stored with other content", photo.id);
        let (inspection, existing) = tokio::try_join!(
            self.get(pk.clone(), INSPECTION_SK.into()),
            self.get(pk.clone(), sk.clone())
        )?;
        if let Some(item) = existing {
            return if same(&item)? {
                self.refresh_face(&item, photo).await
            } else {
                Err(StoreError::Conflict(conflict))
            };
        }
        // A refused request writes nothing, not even an unreferenced object.
        if inspection.is_none() {
            return Err(StoreError::NotFound(format!(
                "no inspection {}",
                photo.inspection_id
            )));
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
            .set_item(Some(codec::photo_item(photo, detect_status)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(backend)?;
        let count = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(INSPECTION_SK))
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
            Err(e) if cancelled(&e) => {
                match self.settle(pk.clone(), sk.clone(), same, conflict).await? {
                    // A concurrent upload of the same bytes won: its face may differ.
                    Put::Unchanged => match self.get(pk, sk).await? {
                        Some(item) => self.refresh_face(&item, photo).await,
                        None => Ok(Put::Unchanged),
                    },
                    put => Ok(put),
                }
            }
            Err(e) => Err(sdk(e)),
        }
    }

    /// A repeated upload of the stored bytes (`item`): the phone may have changed the face
    /// before it had the office's answer, so a different face is written (only while the
    /// bytes are the same).
    async fn refresh_face(&self, item: &Item, photo: &Photo) -> Result<Put, StoreError> {
        if codec::stored_photo(item)?.photo.face == photo.face {
            return Ok(Put::Unchanged);
        }
        self.update_photo(photo)
            .update_expression("SET face = :face")
            .condition_expression("sha256 = :sha")
            .expression_attribute_values(":face", s(photo.face.to_string()))
            .expression_attribute_values(":sha", s(photo.sha256.clone()))
            .send()
            .await
            .map_err(sdk)?;
        Ok(Put::Updated)
    }

    /// An object's bytes; `None` when the bucket has no such key.
    pub(super) async fn object(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        let out = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(GetObjectError::is_no_such_key) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk(e)),
        };
        let bytes = out.body.collect().await.map_err(backend)?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// [`crate::store::Store::put_thumbnail`]: the photo's record must name these bytes; the
    /// object is written only if absent (`If-None-Match: *`), so the first one stands.
    pub(super) async fn put_thumbnail_object(
        &self,
        photo: &Photo,
        jpeg: &[u8],
    ) -> Result<Put, StoreError> {
        let stored = self
            .get(inspection_pk(&photo.inspection_id), photo_sk(&photo.id))
            .await?
            .map(|item| codec::stored_photo(&item))
            .transpose()?;
        if stored.is_none_or(|s| s.photo.sha256 != photo.sha256) {
            return Err(StoreError::NotFound(format!(
                "inspection {} has no photo {} with SHA-256 {}",
                photo.inspection_id, photo.id, photo.sha256
            )));
        }
        let written = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(thumbnail_key(photo))
            .content_type("image/jpeg")
            .if_none_match("*")
            .body(jpeg.to_vec().into())
            .send()
            .await;
        match written {
            Ok(_) => Ok(Put::Created),
            // 412: an object is there already.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                Ok(Put::Unchanged)
            }
            Err(e) => Err(sdk(e)),
        }
    }
}
