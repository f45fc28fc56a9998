//! The 4-character CEDEX location code: face, part of the face, first section, last section (or
//! `N` for one section). The face comes from the photo; the part and the sections come from a
//! reviewer or are unknown (`?`), never guessed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::face::Face;

/// The character written where a reviewer has not said.
pub const UNKNOWN: char = '?';

/// Where on the face: the second character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// T: top half.
    Top,
    /// B: bottom half.
    Bottom,
    /// H: upper component.
    Upper,
    /// G: lower component.
    Lower,
    /// L: left half.
    Left,
    /// R: right half.
    Right,
    /// X: both halves.
    Both,
}

impl Part {
    const ALL: [Part; 7] = [
        Part::Top,
        Part::Bottom,
        Part::Upper,
        Part::Lower,
        Part::Left,
        Part::Right,
        Part::Both,
    ];

    /// The CEDEX letter.
    pub fn letter(self) -> char {
        match self {
            Part::Top => 'T',
            Part::Bottom => 'B',
            Part::Upper => 'H',
            Part::Lower => 'G',
            Part::Left => 'L',
            Part::Right => 'R',
            Part::Both => 'X',
        }
    }

    /// The part for a letter.
    pub fn from_letter(c: char) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.letter() == c)
    }
}

/// Which 4 ft sections: the third and fourth characters (`5N`: section 5 only; `34`: 3 to 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sections {
    first: char,
    last: char,
}

impl Sections {
    /// Sections from the two characters: the first a digit (or `X`, every section), the second a
    /// digit, `N` (one section) or `X`.
    pub fn new(first: char, last: char) -> Option<Sections> {
        let ok_first = first.is_ascii_digit() || first == 'X';
        let ok_last = last.is_ascii_digit() || last == 'N' || last == 'X';
        (ok_first && ok_last).then_some(Sections { first, last })
    }

    /// The two characters.
    pub fn chars(self) -> [char; 2] {
        [self.first, self.last]
    }
}

/// A location code; `part` and `sections` are `None` until a reviewer gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocationCode {
    /// From the photo.
    pub face: Face,
    /// From a reviewer, or unknown.
    pub part: Option<Part>,
    /// From a reviewer, or unknown.
    pub sections: Option<Sections>,
}

/// A location code that is not 4 characters of the right kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad CEDEX location code {0:?}: expected face (F D L R T U I X), part (T B H G L R X or ?), two section characters (digits, N, X, or ??)"
)]
pub struct LocationError(pub String);

impl LocationCode {
    /// What a photo alone says: its face; part and sections unknown.
    pub fn from_face(face: Face) -> LocationCode {
        LocationCode {
            face,
            part: None,
            sections: None,
        }
    }

    /// Whether a reviewer gave the whole code.
    pub fn is_complete(&self) -> bool {
        self.part.is_some() && self.sections.is_some()
    }

    /// Parses `RB5N`, `R???` or `RB??`.
    pub fn parse(s: &str) -> Result<LocationCode, LocationError> {
        let bad = || LocationError(s.chars().take(16).collect());
        let chars: Vec<char> = s.chars().collect();
        let [f, p, s1, s2] = chars[..] else {
            return Err(bad());
        };
        let face = Face::parse(&f.to_string()).map_err(|_| bad())?;
        let part = match p {
            UNKNOWN => None,
            c => Some(Part::from_letter(c).ok_or_else(bad)?),
        };
        let sections = match (s1, s2) {
            (UNKNOWN, UNKNOWN) => None,
            (a, b) => Some(Sections::new(a, b).ok_or_else(bad)?),
        };
        Ok(LocationCode {
            face,
            part,
            sections,
        })
    }
}

impl fmt::Display for LocationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = self.part.map_or(UNKNOWN, Part::letter);
        let [a, b] = self.sections.map_or([UNKNOWN, UNKNOWN], Sections::chars);
        write!(f, "{}{part}{a}{b}", self.face.letter())
    }
}

impl Serialize for LocationCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocationCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        LocationCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parts_are_marked_not_guessed() {
        let code = LocationCode::from_face(Face::Right);
        assert_eq!(code.to_string(), "R???");
        assert!(!code.is_complete());
        let reviewed = LocationCode::parse("RB5N").expect("valid");
        assert_eq!(reviewed.part, Some(Part::Bottom));
        assert_eq!(reviewed.to_string(), "RB5N");
        assert!(reviewed.is_complete());
    }

    #[test]
    fn bad_codes_are_refused() {
        for bad in ["", "RB5", "QB5N", "RZ5N", "RBAN", "RB5NN", "R?5?"] {
            assert!(LocationCode::parse(bad).is_err(), "{bad}");
        }
    }
}
