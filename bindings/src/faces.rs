//! Container faces across the FFI: CEDEX letters as strings (`"F"`, `"D"`, `"L"`, `"R"`,
//! `"T"`, `"U"`, `"I"`, `"X"`), parsed here once; any other string is `InvalidInput` with
//! code `unknown_face` and nothing is stored.

use omni_core::{ApiError, Face};

use crate::error::OmniError;

/// The face for a letter a host sent (`None`: `X`, the whole container).
pub(crate) fn parse_face(letter: Option<&str>) -> Result<Face, OmniError> {
    match letter {
        None => Ok(Face::Whole),
        Some(letter) => Face::parse(letter)
            .map_err(|e| OmniError::from(ApiError::from(omni_core::Error::from(e)))),
    }
}
