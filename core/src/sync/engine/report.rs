//! The office lane's last record kind: once the office has a closed inspection whole (its
//! closed revision, every photo and verdict acknowledged), read the verdict on the box from
//! its report (`GET /v1/inspections/{id}/report`) and store it, once per revision.
//!
//! 200: stored (an invalid body is a malformed answer: retried, then wedged, nothing stored);
//! 202: the office is writing it, asked again with the lane's backoff (`Retry-After` a floor);
//! 404: the office lost the inspection, which is sent again; 409 (open, no kind): wedged.

use super::{SyncEngine, blocking, lock};
use crate::error::Result;
use crate::inspection::InspectionId;
use crate::store::office::RecordKind;
use crate::sync::events::SyncEvent;
use omni_cloud::office_client::{OfficeClient, ReportAnswer};

impl SyncEngine {
    /// Reads the report of `revision` of the inspection and stores its verdict on the box.
    pub(super) async fn read_report(
        &self,
        office: &OfficeClient,
        id: InspectionId,
        revision: u64,
    ) -> Result<()> {
        let item = id.to_string();
        self.count_request();
        let verdict = match office.report_verdict(&item).await {
            Ok(ReportAnswer::Written(verdict)) => verdict,
            Ok(ReportAnswer::Pending { retry_after }) => {
                self.office_answered();
                let message = "the office is writing the report".to_owned();
                return self
                    .retry_record(RecordKind::Report, &item, message, retry_after)
                    .await;
            }
            Err(e) => return self.record_failed(RecordKind::Report, id, &item, e).await,
        };
        self.office_answered();
        let inspector = self.inner.inspector.clone();
        match blocking(move || {
            inspector
                .office_queue()
                .store_box_verdict(id, revision, &verdict)
        })
        .await
        {
            Ok(Some(stored)) => {
                lock(&self.inner.state).counters.office_records += 1;
                self.emit(SyncEvent::BoxVerdict {
                    inspection_id: id,
                    status: stored.status,
                    eir_number: stored.eir_number,
                });
            }
            Ok(None) => {}
            Err(e) => {
                self.storage_failed(&e)?;
            }
        }
        Ok(())
    }
}
