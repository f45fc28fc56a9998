//! Reports on DynamoDB: one item per inspection revision and review state ([`ReportKey`]),
//! `sk = REPORT#<revision, 20 digits>` for a report of no review (the key items written
//! before reviews counted still have, so they stay readable without a migration) and
//! `REPORT#<revision>#REVIEWS#<count, 20 digits>` after reviews, with the writer's claim
//! (`claimed_at_ms`) and, once written, the EIR JSON (`eir`), set by a conditional write that
//! never replaces it.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{AwsStore, condition_failed, inspection_pk, n, s, sdk};
use crate::store::{Put, ReportKey, StoreError};

/// A DynamoDB item holds at most 400 KB: a report above this is refused, not cut.
pub(super) const MAX_EIR_BYTES: usize = 350 * 1024;

fn report_sk(key: ReportKey) -> String {
    match key.reviews {
        0 => format!("REPORT#{:020}", key.revision),
        n => format!("REPORT#{:020}#REVIEWS#{n:020}", key.revision),
    }
}

impl AwsStore {
    /// The stored EIR of a key.
    pub(super) async fn stored_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
    ) -> Result<Option<String>, StoreError> {
        let item = self
            .get(inspection_pk(inspection_id), report_sk(key))
            .await?;
        Ok(item.and_then(|item| match item.get("eir") {
            Some(AttributeValue::S(eir)) => Some(eir.clone()),
            _ => None,
        }))
    }

    /// An update of a key's report item.
    fn update_report(&self, inspection_id: &str, key: ReportKey) -> UpdateItemFluentBuilder {
        self.dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", s(inspection_pk(inspection_id)))
            .key("sk", s(report_sk(key)))
    }

    /// The conditional claim of a key's writing.
    pub(super) async fn claim_report_item(
        &self,
        inspection_id: &str,
        key: ReportKey,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let out = self
            .update_report(inspection_id, key)
            .update_expression("SET claimed_at_ms = :now")
            .condition_expression(
                "attribute_not_exists(pk) OR (attribute_not_exists(eir) AND claimed_at_ms < :stale)",
            )
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":stale", n(stale_before_ms))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }

    /// The write-once store of a key's EIR.
    pub(super) async fn put_report_item(
        &self,
        inspection_id: &str,
        key: ReportKey,
        eir_json: &str,
    ) -> Result<Put, StoreError> {
        if eir_json.len() > MAX_EIR_BYTES {
            return Err(StoreError::Backend(format!(
                "the report is {} bytes, over the {MAX_EIR_BYTES} bytes a DynamoDB item holds",
                eir_json.len()
            )));
        }
        let out = self
            .update_report(inspection_id, key)
            .update_expression("SET eir = :eir")
            .condition_expression("attribute_not_exists(eir)")
            .expression_attribute_values(":eir", s(eir_json))
            .send()
            .await;
        match out {
            Ok(_) => Ok(Put::Created),
            Err(e) if condition_failed(&e) => Ok(Put::Unchanged),
            Err(e) => Err(sdk(e)),
        }
    }
}
