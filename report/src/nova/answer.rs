//! Checks the model's tool input before anything of it is used: it is untrusted. Every line
//! must cite a damage of the input, once; every damage must have a line; severities and codes
//! come from the closed lists; the narratives are bounded plain text.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::eir::Severity;
use crate::lang::Localized;
use crate::nova::request::MAX_NARRATIVE_CHARS;
use crate::rules::Prepared;

/// The tool input, as the schema says it must be.
#[derive(Debug, Deserialize)]
struct ToolInput {
    narrative_en: String,
    narrative_es: String,
    lines: Vec<ToolLine>,
}

#[derive(Debug, Deserialize)]
struct ToolLine {
    damage_id: String,
    severity: Severity,
    #[serde(default)]
    repair_code: Option<String>,
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not the tool's schema.
    Schema(String),
    /// A line for a damage the input does not have.
    InventedDamage(String),
    /// A damage with two lines.
    DuplicateLine(String),
    /// A damage with no line.
    MissingLine(String),
    /// A repair code outside the closed list.
    UnknownCode(String),
    /// A narrative over the bound, or with control characters.
    Narrative {
        /// `en` or `es`.
        lang: &'static str,
        /// Its length in characters.
        chars: usize,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clip = |s: &str| s.chars().take(80).collect::<String>();
        match self {
            Rejection::Schema(e) => {
                write!(f, "the answer does not match the tool schema: {}", clip(e))
            }
            Rejection::InventedDamage(id) => {
                write!(
                    f,
                    "the answer cites damage {:?}, which the input does not have",
                    clip(id)
                )
            }
            Rejection::DuplicateLine(id) => {
                write!(f, "the answer gives damage {:?} two lines", clip(id))
            }
            Rejection::MissingLine(id) => {
                write!(f, "the answer gives damage {:?} no line", clip(id))
            }
            Rejection::UnknownCode(c) => {
                write!(
                    f,
                    "the answer names repair code {:?}, not in the closed list",
                    clip(c)
                )
            }
            Rejection::Narrative { lang, chars } => write!(
                f,
                "the {lang} narrative is {chars} characters or has control characters (at most {MAX_NARRATIVE_CHARS} plain characters)"
            ),
        }
    }
}

/// What an accepted answer gives the report: per-damage severity and repair code (in the
/// order of the prepared damages) and the narrative.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Severity per damage.
    pub severities: Vec<Severity>,
    /// Repair code per damage.
    pub repair_codes: Vec<String>,
    /// The narrative.
    pub narrative: Localized,
}

fn narrative_ok(s: &str) -> Option<usize> {
    let n = s.chars().count();
    let plain = s.chars().all(|c| c == '\n' || !c.is_control());
    (n > 0 && n <= MAX_NARRATIVE_CHARS && plain).then_some(n)
}

/// Checks a tool input against the prepared input.
pub(crate) fn check(value: Value, prepared: &Prepared<'_>) -> Result<Accepted, Rejection> {
    let input: ToolInput =
        serde_json::from_value(value).map_err(|e| Rejection::Schema(e.to_string()))?;
    for (lang, text) in [("en", &input.narrative_en), ("es", &input.narrative_es)] {
        if narrative_ok(text).is_none() {
            return Err(Rejection::Narrative {
                lang,
                chars: text.chars().count(),
            });
        }
    }
    if input.lines.len() > prepared.damages.len() {
        // More lines than damages: at least one is invented or repeated; find which.
        for l in &input.lines {
            if !prepared.damages.iter().any(|d| d.id == l.damage_id) {
                return Err(Rejection::InventedDamage(l.damage_id.clone()));
            }
        }
    }
    let mut severities: Vec<Option<Severity>> = vec![None; prepared.damages.len()];
    let mut repair_codes: Vec<String> = prepared
        .damages
        .iter()
        .map(|d| prepared.cedex.mapping(d.class).repair_code.clone())
        .collect();
    for l in &input.lines {
        let Some(i) = prepared.damages.iter().position(|d| d.id == l.damage_id) else {
            return Err(Rejection::InventedDamage(l.damage_id.clone()));
        };
        if severities[i].is_some() {
            return Err(Rejection::DuplicateLine(l.damage_id.clone()));
        }
        severities[i] = Some(l.severity);
        if let Some(code) = &l.repair_code {
            if prepared.cedex.repair_code(code).is_none() {
                return Err(Rejection::UnknownCode(code.clone()));
            }
            repair_codes[i] = code.clone();
        }
    }
    let severities = severities
        .into_iter()
        .zip(&prepared.damages)
        .map(|(s, d)| s.ok_or_else(|| Rejection::MissingLine(d.id.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Accepted {
        severities,
        repair_codes,
        narrative: Localized::new(input.narrative_en, input.narrative_es),
    })
}
