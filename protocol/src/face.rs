//! The CEDEX container faces a photo can show: front F, door D, left L, right R, roof T,
//! understructure U, interior I, whole container X.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lang::Language;

/// A container face, by its CEDEX letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Face {
    /// F: the front end (opposite the doors).
    Front,
    /// D: the door end.
    Door,
    /// L: the left side, seen from the door end.
    Left,
    /// R: the right side, seen from the door end.
    Right,
    /// T: the roof (top).
    Roof,
    /// U: the understructure.
    Understructure,
    /// I: the interior.
    Interior,
    /// X: the whole container (an overview; it stands in for no single face).
    Whole,
}

/// A face letter that is not one of F, D, L, R, T, U, I, X.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown container face {0:?}: expected one of F, D, L, R, T, U, I, X")]
pub struct FaceError(pub String);

impl Face {
    /// Every face, in the order the EIR lists them.
    pub const ALL: [Face; 8] = [
        Face::Front,
        Face::Door,
        Face::Left,
        Face::Right,
        Face::Roof,
        Face::Understructure,
        Face::Interior,
        Face::Whole,
    ];

    /// The CEDEX letter.
    pub fn letter(self) -> char {
        match self {
            Face::Front => 'F',
            Face::Door => 'D',
            Face::Left => 'L',
            Face::Right => 'R',
            Face::Roof => 'T',
            Face::Understructure => 'U',
            Face::Interior => 'I',
            Face::Whole => 'X',
        }
    }

    /// The face for a letter (exactly one character, upper case).
    pub fn parse(s: &str) -> Result<Face, FaceError> {
        let mut chars = s.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(FaceError(s.chars().take(16).collect()));
        };
        Face::ALL
            .into_iter()
            .find(|f| f.letter() == c)
            .ok_or_else(|| FaceError(s.to_owned()))
    }

    /// The face's name in `lang`.
    pub fn name(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Face::Front, Language::En) => "front",
            (Face::Door, Language::En) => "door end",
            (Face::Left, Language::En) => "left side",
            (Face::Right, Language::En) => "right side",
            (Face::Roof, Language::En) => "roof",
            (Face::Understructure, Language::En) => "understructure",
            (Face::Interior, Language::En) => "interior",
            (Face::Whole, Language::En) => "whole container",
            (Face::Front, Language::Es) => "frontal",
            (Face::Door, Language::Es) => "puertas",
            (Face::Left, Language::Es) => "lateral izquierdo",
            (Face::Right, Language::Es) => "lateral derecho",
            (Face::Roof, Language::Es) => "techo",
            (Face::Understructure, Language::Es) => "bajos",
            (Face::Interior, Language::Es) => "interior",
            (Face::Whole, Language::Es) => "contenedor completo",
        }
    }
}

/// A photo whose face nobody chose shows the whole container (photos stored before faces
/// existed are `X`).
impl Default for Face {
    fn default() -> Self {
        Face::Whole
    }
}

impl fmt::Display for Face {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl FromStr for Face {
    type Err = FaceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Face::parse(s)
    }
}

impl Serialize for Face {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Face {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Face::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_round_trips() {
        for face in Face::ALL {
            assert_eq!(Face::parse(&face.to_string()), Ok(face));
        }
    }

    #[test]
    fn unknown_letters_are_typed_errors() {
        for bad in ["Q", "f", "", "FD", "B", "E", "é"] {
            let err = Face::parse(bad).expect_err(bad);
            assert!(
                err.to_string()
                    .contains("expected one of F, D, L, R, T, U, I, X")
            );
        }
        let json: Result<Face, _> = serde_json::from_str("\"Z\"");
        assert!(json.is_err());
    }
}
