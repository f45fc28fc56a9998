//! Our classes mapped to ISO 9897 (CEDEX) damage and repair codes, from one data table with its
//! sources (`data/cedex.toml`), the closed code lists every code is checked against, and a
//! yard's override.

mod location;

pub use location::{LocationCode, LocationError, Part, Sections, UNKNOWN};

use serde::{Deserialize, Serialize};

use crate::class::DamageClass;
use crate::lang::Localized;

const BUILTIN: &str = include_str!("../../data/cedex.toml");
/// Bounds on a yard's file: codes per list, characters of a text.
const MAX_CODES: usize = 500;
const MAX_TEXT: usize = 400;

/// One code of a closed list, with its meaning and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    /// Two upper-case letters.
    pub code: String,
    /// Meaning in English.
    pub en: String,
    /// Meaning in Spanish.
    pub es: String,
    /// Id of the source it was read in.
    pub source: String,
    /// Where sources disagree, which one this follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CodeEntry {
    /// The meaning in both languages.
    pub fn meaning(&self) -> Localized {
        Localized::new(self.en.clone(), self.es.clone())
    }
}

/// A public source the table cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Short id the entries cite.
    pub id: String,
    /// What it is.
    pub title: String,
    /// Where it is (empty for the product's own specification).
    pub url: String,
    /// What it says that the table uses.
    pub says: String,
}

/// The codes one class maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassMapping {
    /// Our class.
    pub class: DamageClass,
    /// The CEDEX damage code, when a source gives one.
    #[serde(default)]
    pub damage_code: Option<String>,
    /// The CEDEX repair code.
    pub repair_code: String,
    /// Ids of the sources.
    pub source: String,
    /// Why a code is missing or which source it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a CEDEX table or override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CedexError {
    /// Not TOML of the table's shape.
    #[error("CEDEX table: {0}")]
    Parse(String),
    /// A code in a closed list that is not two upper-case letters, or is listed twice.
    #[error("CEDEX table: bad or repeated {list} code {code:?}")]
    BadCode {
        /// Which list.
        list: &'static str,
        /// The code as written.
        code: String,
    },
    /// A mapping or an answer naming a damage code outside the closed list.
    #[error("unknown CEDEX damage code {code:?} for {class}: not in the table's damage code list")]
    UnknownDamageCode {
        /// The class mapped.
        class: DamageClass,
        /// The code as written.
        code: String,
    },
    /// A mapping naming a repair code outside the closed list.
    #[error("unknown CEDEX repair code {code:?} for {class}: not in the table's repair code list")]
    UnknownRepairCode {
        /// The class mapped.
        class: DamageClass,
        /// The code as written.
        code: String,
    },
    /// An entry citing a source the table does not define.
    #[error("CEDEX table: {0:?} cites an unknown source")]
    UnknownSource(String),
    /// A class mapped twice, or not at all.
    #[error("CEDEX table: class {0} must be mapped exactly once")]
    Mapping(DamageClass),
    /// A location prefix that is not a face letter and a part letter.
    #[error("CEDEX table: bad location prefix {0:?}")]
    BadPrefix(String),
    /// A text that is empty or longer than 400 characters.
    #[error("CEDEX table: a text is empty or too long near {0:?}")]
    BadText(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    source: Vec<Source>,
    damage_code: Vec<CodeEntry>,
    repair_code: Vec<CodeEntry>,
    location_prefixes: Vec<String>,
    mapping: Vec<ClassMapping>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    #[serde(default)]
    mapping: Vec<RawOverrideMapping>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverrideMapping {
    class: DamageClass,
    #[serde(default)]
    damage_code: Option<String>,
    #[serde(default)]
    repair_code: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// The mapping and its closed lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedexTable {
    sources: Vec<Source>,
    damage_codes: Vec<CodeEntry>,
    repair_codes: Vec<CodeEntry>,
    location_prefixes: Vec<String>,
    mapping: Vec<ClassMapping>,
}

fn is_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn text_ok(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= MAX_TEXT
}

impl CedexTable {
    /// The bundled table.
    pub fn builtin() -> CedexTable {
        // Checked by the unit tests; the bundled file cannot fail at run time.
        CedexTable::from_toml(BUILTIN).expect("the bundled CEDEX table is valid")
    }

    /// A whole table (a yard's replacement), validated: every code well-formed and listed once,
    /// every mapping's codes in the closed lists, every source cited defined, every class mapped
    /// once.
    pub fn from_toml(text: &str) -> Result<CedexTable, CedexError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| CedexError::Parse(e.to_string()))?;
        let table = CedexTable {
            sources: raw.source,
            damage_codes: raw.damage_code,
            repair_codes: raw.repair_code,
            location_prefixes: raw.location_prefixes,
            mapping: raw.mapping,
        };
        table.validate()?;
        Ok(table)
    }

    /// This table with a yard's partial override (`[[mapping]]` entries with `class` and any of
    /// `damage_code`, `repair_code`, `source`, `note`), checked against the closed lists.
    pub fn with_override(&self, text: &str) -> Result<CedexTable, CedexError> {
        let raw: RawOverride =
            toml::from_str(text).map_err(|e| CedexError::Parse(e.to_string()))?;
        let mut table = self.clone();
        for o in raw.mapping {
            let entry = table
                .mapping
                .iter_mut()
                .find(|m| m.class == o.class)
                .ok_or(CedexError::Mapping(o.class))?;
            if let Some(code) = o.damage_code {
                entry.damage_code = Some(code);
            }
            if let Some(code) = o.repair_code {
                entry.repair_code = code;
            }
            entry.source = o.source.unwrap_or_else(|| "yard override".to_owned());
            entry.note = o.note;
        }
        // An override's sources are the yard's own: they need not be in the source list.
        table.validate_lists()?;
        table.validate_mapping(false)?;
        Ok(table)
    }

    fn validate(&self) -> Result<(), CedexError> {
        for s in &self.sources {
            if !text_ok(&s.id) || !text_ok(&s.title) || !text_ok(&s.says) {
                return Err(CedexError::BadText(s.id.chars().take(40).collect()));
            }
        }
        self.validate_lists()?;
        self.validate_mapping(true)
    }

    fn validate_lists(&self) -> Result<(), CedexError> {
        for (list, entries) in [
            ("damage", &self.damage_codes),
            ("repair", &self.repair_codes),
        ] {
            if entries.len() > MAX_CODES {
                return Err(CedexError::BadCode {
                    list,
                    code: format!("({} codes)", entries.len()),
                });
            }
            for (i, e) in entries.iter().enumerate() {
                let repeated = entries[..i].iter().any(|o| o.code == e.code);
                if !is_code(&e.code) || repeated {
                    return Err(CedexError::BadCode {
                        list,
                        code: e.code.chars().take(16).collect(),
                    });
                }
                if !text_ok(&e.en) || !text_ok(&e.es) {
                    return Err(CedexError::BadText(e.code.clone()));
                }
                if !self.cites_known(&e.source) {
                    return Err(CedexError::UnknownSource(e.source.clone()));
                }
            }
        }
        for p in &self.location_prefixes {
            let mut chars = p.chars();
            let face_ok = chars.next().is_some_and(|c| "BDEFILRTUX".contains(c));
            let part_ok = chars.next().and_then(Part::from_letter).is_some();
            if !face_ok || !part_ok || chars.next().is_some() {
                return Err(CedexError::BadPrefix(p.chars().take(16).collect()));
            }
        }
        Ok(())
    }

    fn validate_mapping(&self, sources_must_be_known: bool) -> Result<(), CedexError> {
        for class in DamageClass::ALL {
            let count = self.mapping.iter().filter(|m| m.class == class).count();
            if count != 1 {
                return Err(CedexError::Mapping(class));
            }
        }
        for m in &self.mapping {
            if let Some(code) = &m.damage_code
                && self.damage_code(code).is_none()
            {
                return Err(CedexError::UnknownDamageCode {
                    class: m.class,
                    code: code.chars().take(16).collect(),
                });
            }
            if self.repair_code(&m.repair_code).is_none() {
                return Err(CedexError::UnknownRepairCode {
                    class: m.class,
                    code: m.repair_code.chars().take(16).collect(),
                });
            }
            if sources_must_be_known && !self.cites_known(&m.source) {
                return Err(CedexError::UnknownSource(m.source.clone()));
            }
        }
        Ok(())
    }

    /// Whether every id in a comma-separated `source` is a defined source.
    fn cites_known(&self, source: &str) -> bool {
        source
            .split(',')
            .map(str::trim)
            .all(|id| self.sources.iter().any(|s| s.id == id))
    }

    /// The codes `class` maps to.
    pub fn mapping(&self, class: DamageClass) -> &ClassMapping {
        // validate() guarantees exactly one mapping per class.
        self.mapping
            .iter()
            .find(|m| m.class == class)
            .unwrap_or(&self.mapping[0])
    }

    /// A damage code of the closed list.
    pub fn damage_code(&self, code: &str) -> Option<&CodeEntry> {
        self.damage_codes.iter().find(|e| e.code == code)
    }

    /// A repair code of the closed list.
    pub fn repair_code(&self, code: &str) -> Option<&CodeEntry> {
        self.repair_codes.iter().find(|e| e.code == code)
    }

    /// The closed damage code list.
    pub fn damage_codes(&self) -> &[CodeEntry] {
        &self.damage_codes
    }

    /// The closed repair code list.
    pub fn repair_codes(&self) -> &[CodeEntry] {
        &self.repair_codes
    }

    /// The sources the table cites.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Whether a location's face and part are a combination the table lists (an unknown part
    /// is always allowed: it says nothing).
    pub fn location_allowed(&self, code: &LocationCode) -> bool {
        match code.part {
            None => true,
            Some(part) => {
                let prefix: String = [code.face.letter(), part.letter()].into_iter().collect();
                self.location_prefixes.contains(&prefix)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Face;

    #[test]
    fn the_bundled_table_is_valid_and_maps_every_class() {
        let t = CedexTable::builtin();
        assert_eq!(
            t.mapping(DamageClass::Dent).damage_code.as_deref(),
            Some("DT")
        );
        assert_eq!(t.mapping(DamageClass::Dent).repair_code, "GS");
        assert_eq!(t.mapping(DamageClass::Dirt).repair_code, "WW");
        for class in DamageClass::ALL {
            let m = t.mapping(class);
            assert!(t.repair_code(&m.repair_code).is_some());
        }
        assert!(t.location_allowed(&LocationCode::parse("RB5N").expect("code")));
        assert!(!t.location_allowed(&LocationCode::parse("TB5N").expect("code")));
        assert!(t.location_allowed(&LocationCode::from_face(Face::Roof)));
    }

    #[test]
    fn a_yard_override_with_an_unknown_code_is_refused() {
        let t = CedexTable::builtin();
        let err = t
            .with_override("[[mapping]]\nclass = \"rust\"\ndamage_code = \"ZZ\"\n")
            .expect_err("unknown damage code");
        assert_eq!(
            err,
            CedexError::UnknownDamageCode {
                class: DamageClass::Rust,
                code: "ZZ".into()
            }
        );
        assert!(err.to_string().contains("\"ZZ\""));
        let err = t
            .with_override("[[mapping]]\nclass = \"dent\"\nrepair_code = \"XQ\"\n")
            .expect_err("unknown repair code");
        assert!(matches!(err, CedexError::UnknownRepairCode { .. }));
        let err = t
            .with_override("[[mapping]]\nclass = \"rust2\"\n")
            .expect_err("unknown class");
        assert!(matches!(err, CedexError::Parse(_)));
    }

    #[test]
    fn a_yard_override_with_listed_codes_applies() {
        let t = CedexTable::builtin()
            .with_override("[[mapping]]\nclass = \"dent\"\nrepair_code = \"GW\"\nsource = \"Yard manual 4.2\"\n")
            .expect("valid override");
        assert_eq!(t.mapping(DamageClass::Dent).repair_code, "GW");
        assert_eq!(
            t.mapping(DamageClass::Dent).damage_code.as_deref(),
            Some("DT")
        );
    }
}
