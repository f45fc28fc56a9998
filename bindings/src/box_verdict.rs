//! The verdict on the box from the yard office's report (EIR) of a closed inspection, as the
//! phone's office lane read it (`OmniCore::box_verdict`, `SyncEvent::BoxVerdict`).

use omni_core::{BoxVerdict as CoreBoxVerdict, BoxVerdictStatus as CoreStatus};

/// The terminal's verdict on the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BoxVerdictStatus {
    /// No damage found.
    Sound,
    /// Damage to repair or clean; usable after that.
    RepairNeeded,
    /// Major damage: not fit for use.
    NotFit,
}

impl From<CoreStatus> for BoxVerdictStatus {
    fn from(s: CoreStatus) -> Self {
        match s {
            CoreStatus::Sound => Self::Sound,
            CoreStatus::RepairNeeded => Self::RepairNeeded,
            CoreStatus::NotFit => Self::NotFit,
        }
    }
}

/// What the office's report says of the box.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BoxVerdict {
    /// The inspection.
    pub inspection_id: String,
    /// The phone's revision of the inspection the report was read for (2: closed).
    pub revision: u64,
    /// The revision the report's header names.
    pub report_revision: u32,
    /// The EIR number.
    pub eir_number: String,
    /// Sound / repair needed / not fit.
    pub status: BoxVerdictStatus,
    /// Why, in English.
    pub reason_en: String,
    /// Why, in Spanish.
    pub reason_es: String,
    /// How many damage lines the report has.
    pub damage_lines: u32,
    /// When the phone read it, ms since the epoch.
    pub fetched_at_ms: i64,
}

impl From<CoreBoxVerdict> for BoxVerdict {
    fn from(v: CoreBoxVerdict) -> Self {
        Self {
            inspection_id: v.inspection_id.to_string(),
            revision: v.revision,
            report_revision: v.report_revision,
            eir_number: v.eir_number,
            status: v.status.into(),
            reason_en: v.reason.en,
            reason_es: v.reason.es,
            damage_lines: v.damage_lines,
            fetched_at_ms: v.fetched_at.as_millis(),
        }
    }
}
