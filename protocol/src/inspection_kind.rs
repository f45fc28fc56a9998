//! Inspection kinds (gate-in, gate-out, damage survey, …) and the faces each requires, from one
//! data table (`protocol/data/inspection_kinds.toml`) that a yard can replace with its own. The
//! phone (closing an inspection), the office and the report read the same table.

use serde::{Deserialize, Serialize};

use crate::face::Face;
use crate::lang::{Language, Localized};

/// The bundled table.
const BUILTIN: &str = include_str!("../data/inspection_kinds.toml");
/// Bounds on a yard's table: kinds, and characters of an id or a name.
const MAX_KINDS: usize = 64;
const MAX_TEXT: usize = 120;

/// One kind of inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectionKind {
    /// Stable id, e.g. `gate-in`.
    pub id: String,
    /// Its name in both languages.
    pub name: Localized,
    /// The faces an inspection of this kind must photograph.
    pub required: Vec<Face>,
}

/// Why a kinds table (or a kind id) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// Not TOML of the table's shape.
    #[error("inspection kinds table: {0}")]
    Parse(String),
    /// A required face that is not a CEDEX face letter.
    #[error(
        "inspection kind {kind:?}: unknown container face {face:?} (expected F, D, L, R, T, U, I, X)"
    )]
    UnknownFace {
        /// The kind naming it.
        kind: String,
        /// The letter as written.
        face: String,
    },
    /// Two kinds with one id.
    #[error("inspection kind {0:?} is defined twice")]
    Duplicate(String),
    /// An id or name that is empty, too long or not plain.
    #[error(
        "inspection kind {0:?}: id must be 1-120 characters of a-z, 0-9 and '-', names 1-120 characters"
    )]
    BadText(String),
    /// No kinds, or more than 64.
    #[error("inspection kinds table must define 1 to 64 kinds")]
    Count,
    /// A kind id the table does not define.
    #[error("unknown inspection kind {0:?}")]
    Unknown(String),
}

/// The kinds a yard uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindTable {
    kinds: Vec<InspectionKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    kind: Vec<RawKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    id: String,
    name_en: String,
    name_es: String,
    required: Vec<String>,
}

impl KindTable {
    /// The bundled table (gate-in, gate-out, damage-survey, off-hire).
    pub fn builtin() -> KindTable {
        // The bundled file is checked by the unit tests; it cannot fail at run time.
        KindTable::from_toml(BUILTIN).expect("the bundled inspection kinds table is valid")
    }

    /// A yard's table, validated: unknown face letters, repeated ids and odd text are refused.
    pub fn from_toml(text: &str) -> Result<KindTable, KindError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| KindError::Parse(e.to_string()))?;
        if raw.kind.is_empty() || raw.kind.len() > MAX_KINDS {
            return Err(KindError::Count);
        }
        let mut kinds: Vec<InspectionKind> = Vec::with_capacity(raw.kind.len());
        for k in raw.kind {
            let plain_id = !k.id.is_empty()
                && k.id.len() <= MAX_TEXT
                && k.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            let names_ok = [&k.name_en, &k.name_es]
                .iter()
                .all(|n| !n.trim().is_empty() && n.chars().count() <= MAX_TEXT);
            if !plain_id || !names_ok {
                return Err(KindError::BadText(k.id.chars().take(MAX_TEXT).collect()));
            }
            if kinds.iter().any(|existing| existing.id == k.id) {
                return Err(KindError::Duplicate(k.id));
            }
            let mut required = Vec::with_capacity(k.required.len());
            for letter in &k.required {
                let face = Face::parse(letter).map_err(|_| KindError::UnknownFace {
                    kind: k.id.clone(),
                    face: letter.chars().take(16).collect(),
                })?;
                if !required.contains(&face) {
                    required.push(face);
                }
            }
            required.sort();
            kinds.push(InspectionKind {
                id: k.id,
                name: Localized::new(k.name_en, k.name_es),
                required,
            });
        }
        Ok(KindTable { kinds })
    }

    /// The kind with this id.
    pub fn get(&self, id: &str) -> Result<&InspectionKind, KindError> {
        self.kinds
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| KindError::Unknown(id.chars().take(MAX_TEXT).collect()))
    }

    /// Every kind, in the file's order.
    pub fn kinds(&self) -> &[InspectionKind] {
        &self.kinds
    }
}

/// The faces of one inspection against what its kind requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "FaceCoverageRecord"))]
pub struct FaceCoverage {
    /// The faces the kind requires, in EIR order (none without a kind, or for a kind the
    /// table does not define).
    pub required: Vec<Face>,
    /// The faces the photos show, each once, in EIR order (X included when photographed).
    pub photographed: Vec<Face>,
    /// The required faces no photo shows; a whole-container photo (X) stands in for none.
    pub missing: Vec<Face>,
}

impl KindTable {
    /// The coverage of `photographed` faces for the kind `kind`. No kind, or a kind this
    /// table does not define (a yard's phones may know kinds its office does not), requires
    /// nothing.
    pub fn coverage(
        &self,
        kind: Option<&str>,
        photographed: impl IntoIterator<Item = Face>,
    ) -> FaceCoverage {
        let mut seen: Vec<Face> = photographed.into_iter().collect();
        seen.sort();
        seen.dedup();
        let (required, missing) = match kind.map(|k| self.get(k)) {
            Some(Ok(k)) => (k.required.clone(), k.missing_faces(seen.iter().copied())),
            _ => (Vec::new(), Vec::new()),
        };
        FaceCoverage {
            required,
            photographed: seen,
            missing,
        }
    }
}

impl InspectionKind {
    /// The required faces that none of `photographed` shows (a whole-container photo stands in
    /// for none), in EIR order.
    pub fn missing_faces(&self, photographed: impl IntoIterator<Item = Face>) -> Vec<Face> {
        let seen: Vec<Face> = photographed.into_iter().collect();
        self.required
            .iter()
            .copied()
            .filter(|f| !seen.contains(f))
            .collect()
    }

    /// Its name in `lang`.
    pub fn name(&self, lang: Language) -> &str {
        self.name.get(lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses() {
        let table = KindTable::builtin();
        let gate_in = table.get("gate-in").expect("gate-in");
        assert!(gate_in.required.contains(&Face::Door));
        assert_eq!(
            gate_in.missing_faces([Face::Front, Face::Door, Face::Whole]),
            vec![Face::Left, Face::Right, Face::Roof, Face::Interior]
        );
        assert!(matches!(table.get("nope"), Err(KindError::Unknown(_))));
    }

    #[test]
    fn coverage_follows_the_kind_and_x_stands_in_for_none() {
        let kinds = KindTable::builtin();
        let c = kinds.coverage(
            Some("gate-out"),
            [Face::Door, Face::Whole, Face::Front, Face::Door],
        );
        assert_eq!(
            c.required,
            vec![Face::Front, Face::Door, Face::Left, Face::Right, Face::Roof]
        );
        assert_eq!(c.photographed, vec![Face::Front, Face::Door, Face::Whole]);
        assert_eq!(c.missing, vec![Face::Left, Face::Right, Face::Roof]);
        for kind in [None, Some("not-in-the-table")] {
            let c = kinds.coverage(kind, [Face::Front]);
            assert!(c.required.is_empty() && c.missing.is_empty());
            assert_eq!(c.photographed, vec![Face::Front]);
        }
    }

    #[test]
    fn a_yard_table_with_an_unknown_face_is_refused() {
        let text = "[[kind]]\nid = \"gate-in\"\nname_en = \"In\"\nname_es = \"Entrada\"\nrequired = [\"F\", \"Q\"]\n";
        let err = KindTable::from_toml(text).expect_err("unknown face");
        assert_eq!(
            err,
            KindError::UnknownFace {
                kind: "gate-in".into(),
                face: "Q".into()
            }
        );
        assert!(err.to_string().contains("\"Q\""));
    }

    #[test]
    fn duplicates_and_garbage_are_refused() {
        let one = "[[kind]]\nid = \"a\"\nname_en = \"A\"\nname_es = \"A\"\nrequired = [\"F\"]\n";
        let two = format!("{one}{one}");
        assert_eq!(
            KindTable::from_toml(&two),
            Err(KindError::Duplicate("a".into()))
        );
        assert!(matches!(
            KindTable::from_toml("kind = 3"),
            Err(KindError::Parse(_))
        ));
        let bad_id = one.replace("id = \"a\"", "id = \"A B\"");
        assert!(matches!(
            KindTable::from_toml(&bad_id),
            Err(KindError::BadText(_))
        ));
    }
}
