//! The verdict on the box the office's report gives a closed inspection, as the office lane
//! stores it and hosts read it.

use super::Inspector;
use crate::error::{Error, Result};
use crate::inspection::InspectionId;
use crate::store::box_verdicts::{self, BoxVerdict};
use crate::store::inspections;
use omni_protocol::box_verdict::ReportVerdict;
use omni_protocol::timestamp::Timestamp;

impl Inspector {
    /// The verdict on the box read from the office's report (`None`: not read yet).
    pub fn box_verdict(&self, id: InspectionId) -> Result<Option<BoxVerdict>> {
        self.store.read(|tx| {
            if inspections::get(tx, id)?.is_none() {
                return Ok(Err(Error::InspectionNotFound(id)));
            }
            Ok(Ok(box_verdicts::get(tx, id)?))
        })?
    }

    /// Stores the report's verdict read for `revision`; `None` when one of that revision or
    /// a newer one was stored already.
    pub(crate) fn store_box_verdict(
        &self,
        id: InspectionId,
        revision: u64,
        verdict: &ReportVerdict,
    ) -> Result<Option<BoxVerdict>> {
        Ok(self
            .store
            .write(|tx| box_verdicts::put(tx, id, revision, verdict, Timestamp::now()))?)
    }
}
