//! Container faces across the FFI: CEDEX letters as strings (`"F"`, `"D"`, `"L"`, `"R"`,
//! `"T"`, `"U"`, `"I"`, `"X"`), parsed here once; any other string is `InvalidInput` with
//! code `unknown_face` and nothing is stored.

use omni_core::{ApiError, ClosedInspection as CoreClosedInspection, Face, FaceCoverage};

use crate::error::OmniError;
use crate::types::Inspection;

/// The face for a letter a host sent (`None`: `X`, the whole container).
pub(crate) fn parse_face(letter: Option<&str>) -> Result<Face, OmniError> {
    match letter {
        None => Ok(Face::Whole),
        Some(letter) => Face::parse(letter)
            .map_err(|e| OmniError::from(ApiError::from(omni_core::Error::from(e)))),
    }
}

fn letters(faces: &[Face]) -> Vec<String> {
    faces.iter().map(ToString::to_string).collect()
}

/// The faces of an inspection against what its kind requires, as CEDEX letters.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FaceCoverageRecord {
    /// The faces its kind requires (none without a kind).
    pub required: Vec<String>,
    /// The faces its photos show, each once.
    pub photographed: Vec<String>,
    /// The required faces no photo shows (a whole-container photo, X, stands in for none).
    pub missing: Vec<String>,
}

impl From<FaceCoverage> for FaceCoverageRecord {
    fn from(c: FaceCoverage) -> Self {
        Self {
            required: letters(&c.required),
            photographed: letters(&c.photographed),
            missing: letters(&c.missing),
        }
    }
}

/// A closed inspection and the faces it is missing (closing with faces missing is allowed).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClosedInspection {
    /// The inspection, closed.
    pub inspection: Inspection,
    /// Its faces against its kind.
    pub faces: FaceCoverageRecord,
}

impl From<CoreClosedInspection> for ClosedInspection {
    fn from(c: CoreClosedInspection) -> Self {
        Self {
            inspection: c.inspection.into(),
            faces: c.faces.into(),
        }
    }
}
