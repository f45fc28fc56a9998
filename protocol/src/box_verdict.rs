//! What a phone reads back from the office's report (`GET /v1/inspections/{id}/report`, the
//! EIR JSON of `omni-report`, schema v1): the verdict on the box, why, the EIR number, the
//! report's revision and how many damage lines it has. Every other field is ignored.
//!
//! The office is remote input: the body, the texts and the line count are bounded, the verdict
//! must be one of the three known values, and the report must be of the inspection asked for.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::lang::Localized;

/// The EIR schema version this reader understands.
pub const EIR_SCHEMA_VERSION: u32 = 1;
/// Largest report body read (the office's stored EIR is at most 350 KB).
pub const MAX_REPORT_BYTES: usize = 1 << 20;
/// Longest EIR number, in characters.
pub const MAX_EIR_NUMBER_CHARS: usize = 64;
/// Longest reason, in characters, per language.
pub const MAX_REASON_CHARS: usize = 2_000;
/// Most damage lines one report may have.
pub const MAX_DAMAGE_LINES: usize = 10_000;

/// The terminal's verdict on the box (the EIR's `verdict.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BoxVerdictStatus {
    /// No damage found.
    Sound,
    /// Damage to repair or clean; usable after that.
    RepairNeeded,
    /// Major damage: not fit for use.
    NotFit,
}

impl BoxVerdictStatus {
    /// The wire and storage name (`sound`, `repair_needed`, `not_fit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sound => "sound",
            Self::RepairNeeded => "repair_needed",
            Self::NotFit => "not_fit",
        }
    }
}

impl std::fmt::Display for BoxVerdictStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BoxVerdictStatus {
    type Err = BoxVerdictError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sound" => Ok(Self::Sound),
            "repair_needed" => Ok(Self::RepairNeeded),
            "not_fit" => Ok(Self::NotFit),
            other => Err(BoxVerdictError::Invalid(format!(
                "unknown verdict {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// The parts of a report a phone keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportVerdict {
    /// The EIR number.
    pub eir_number: String,
    /// The inspection revision the report is of.
    pub revision: u32,
    /// Sound / repair needed / not fit.
    pub status: BoxVerdictStatus,
    /// Why, in English and Spanish.
    pub reason: Localized,
    /// How many damage lines the report has.
    pub damage_lines: u32,
}

/// Why a report body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BoxVerdictError {
    /// Larger than [`MAX_REPORT_BYTES`].
    #[error("report body of {0} bytes is over the {MAX_REPORT_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON, or not the EIR's shape (an unknown verdict included).
    #[error("report is not a valid EIR: {0}")]
    Malformed(String),
    /// The shape is right but a value is not acceptable.
    #[error("report refused: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Wire {
    schema_version: u32,
    header: WireHeader,
    lines: Vec<IgnoredAny>,
    verdict: WireVerdict,
}

#[derive(Deserialize)]
struct WireHeader {
    eir_number: String,
    inspection_id: String,
    revision: u32,
}

#[derive(Deserialize)]
struct WireVerdict {
    status: BoxVerdictStatus,
    reason: Localized,
}

/// Reads the verdict of the report `body`, which must be of `inspection_id`.
pub fn parse_report_verdict(
    body: &[u8],
    inspection_id: &str,
) -> Result<ReportVerdict, BoxVerdictError> {
    if body.len() > MAX_REPORT_BYTES {
        return Err(BoxVerdictError::TooLarge(body.len()));
    }
    let wire: Wire = serde_json::from_slice(body)
        .map_err(|e| BoxVerdictError::Malformed(e.to_string().chars().take(300).collect()))?;
    if wire.schema_version != EIR_SCHEMA_VERSION {
        return Err(BoxVerdictError::Invalid(format!(
            "EIR schema version {} (this phone reads {EIR_SCHEMA_VERSION})",
            wire.schema_version
        )));
    }
    if wire.header.inspection_id != inspection_id {
        return Err(BoxVerdictError::Invalid(
            "the report is of another inspection".to_owned(),
        ));
    }
    if wire.header.revision == 0 {
        return Err(BoxVerdictError::Invalid("revision 0".to_owned()));
    }
    check_text(
        "EIR number",
        &wire.header.eir_number,
        MAX_EIR_NUMBER_CHARS,
        false,
    )?;
    check_text(
        "reason (en)",
        &wire.verdict.reason.en,
        MAX_REASON_CHARS,
        true,
    )?;
    check_text(
        "reason (es)",
        &wire.verdict.reason.es,
        MAX_REASON_CHARS,
        true,
    )?;
    if wire.lines.len() > MAX_DAMAGE_LINES {
        return Err(BoxVerdictError::Invalid(format!(
            "{} damage lines (at most {MAX_DAMAGE_LINES})",
            wire.lines.len()
        )));
    }
    Ok(ReportVerdict {
        eir_number: wire.header.eir_number,
        revision: wire.header.revision,
        status: wire.verdict.status,
        reason: wire.verdict.reason,
        damage_lines: u32::try_from(wire.lines.len()).unwrap_or(u32::MAX),
    })
}

/// A non-empty text of at most `max` characters, without control characters (line breaks
/// allowed where `multiline`).
fn check_text(what: &str, text: &str, max: usize, multiline: bool) -> Result<(), BoxVerdictError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > max {
        return Err(BoxVerdictError::Invalid(format!(
            "{what} of {chars} characters (1 to {max})"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(BoxVerdictError::Invalid(format!(
            "{what} has control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eir(status: &str, lines: usize, reason: &str) -> String {
        let line = r#"{"number":1,"face":"D","severity":"minor"}"#;
        let lines = vec![line; lines].join(",");
        format!(
            r#"{{"schema_version":1,"header":{{"eir_number":"EIR-1","inspection_id":"abc",
            "revision":2,"container_number":"CSQU3054383"}},"lines":[{lines}],
            "faces":{{"required":[],"photographed":[],"missing":[]}},
            "verdict":{{"status":"{status}","reason":{{"en":"{reason}","es":"motivo"}}}},
            "narrative":{{"en":"n","es":"n"}},"written_by":{{"method":"rules"}}}}"#
        )
    }

    #[test]
    fn reads_the_verdict_and_ignores_the_rest() {
        let verdict = parse_report_verdict(eir("repair_needed", 3, "dent").as_bytes(), "abc")
            .expect("parses");
        assert_eq!(
            verdict,
            ReportVerdict {
                eir_number: "EIR-1".to_owned(),
                revision: 2,
                status: BoxVerdictStatus::RepairNeeded,
                reason: Localized::new("dent", "motivo"),
                damage_lines: 3,
            }
        );
    }

    #[test]
    fn refuses_bad_reports() {
        let unknown = parse_report_verdict(eir("scrap", 0, "x").as_bytes(), "abc");
        assert!(
            matches!(unknown, Err(BoxVerdictError::Malformed(m)) if m.contains("unknown variant"))
        );
        let other = parse_report_verdict(eir("sound", 0, "x").as_bytes(), "other");
        assert!(matches!(other, Err(BoxVerdictError::Invalid(_))));
        let long = "a".repeat(MAX_REASON_CHARS + 1);
        let long = parse_report_verdict(eir("sound", 0, &long).as_bytes(), "abc");
        assert!(matches!(long, Err(BoxVerdictError::Invalid(m)) if m.contains("reason (en)")));
        let empty = parse_report_verdict(eir("sound", 0, " ").as_bytes(), "abc");
        assert!(matches!(empty, Err(BoxVerdictError::Invalid(_))));
        let lines = parse_report_verdict(eir("sound", MAX_DAMAGE_LINES + 1, "x").as_bytes(), "abc");
        assert!(matches!(lines, Err(BoxVerdictError::Invalid(m)) if m.contains("damage lines")));
        let big = vec![b' '; MAX_REPORT_BYTES + 1];
        assert_eq!(
            parse_report_verdict(&big, "abc"),
            Err(BoxVerdictError::TooLarge(MAX_REPORT_BYTES + 1))
        );
        assert!(matches!(
            parse_report_verdict(b"{\"schema_version\":1", "abc"),
            Err(BoxVerdictError::Malformed(_))
        ));
        let v2 = eir("sound", 0, "x").replace("\"schema_version\":1", "\"schema_version\":2");
        assert!(matches!(
            parse_report_verdict(v2.as_bytes(), "abc"),
            Err(BoxVerdictError::Invalid(m)) if m.contains("schema version 2")
        ));
        assert!("scrap".parse::<BoxVerdictStatus>().is_err());
        assert_eq!("not_fit".parse(), Ok(BoxVerdictStatus::NotFit));
    }
}
