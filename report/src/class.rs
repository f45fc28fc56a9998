//! Our six damage classes (class id = index): `dent, dirt, rust, scratch, spoiled, mold`, as the
//! detection response schema v1 numbers them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lang::Language;

/// A damage class the detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DamageClass {
    /// 0: dent.
    Dent,
    /// 1: dirt.
    Dirt,
    /// 2: rust.
    Rust,
    /// 3: scratch.
    Scratch,
    /// 4: spoiled (cargo residue, contamination).
    Spoiled,
    /// 5: mold.
    Mold,
}

impl DamageClass {
    /// Every class, in class-id order.
    pub const ALL: [DamageClass; 6] = [
        DamageClass::Dent,
        DamageClass::Dirt,
        DamageClass::Rust,
        DamageClass::Scratch,
        DamageClass::Spoiled,
        DamageClass::Mold,
    ];

    /// The class for a schema-v1 class id.
    pub fn from_id(id: u32) -> Option<DamageClass> {
        usize::try_from(id)
            .ok()
            .and_then(|i| DamageClass::ALL.get(i))
            .copied()
    }

    /// Its schema-v1 class id.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// Its schema-v1 label.
    pub fn label(self) -> &'static str {
        match self {
            DamageClass::Dent => "dent",
            DamageClass::Dirt => "dirt",
            DamageClass::Rust => "rust",
            DamageClass::Scratch => "scratch",
            DamageClass::Spoiled => "spoiled",
            DamageClass::Mold => "mold",
        }
    }

    /// The class for a label.
    pub fn from_label(label: &str) -> Option<DamageClass> {
        DamageClass::ALL.into_iter().find(|c| c.label() == label)
    }

    /// Its name in `lang`, for the EIR's text.
    pub fn name(self, lang: Language) -> &'static str {
        match (self, lang) {
            (DamageClass::Dent, Language::En) => "dent",
            (DamageClass::Dirt, Language::En) => "dirt",
            (DamageClass::Rust, Language::En) => "rust",
            (DamageClass::Scratch, Language::En) => "scratch",
            (DamageClass::Spoiled, Language::En) => "spoiled (residue)",
            (DamageClass::Mold, Language::En) => "mould",
            (DamageClass::Dent, Language::Es) => "abolladura",
            (DamageClass::Dirt, Language::Es) => "suciedad",
            (DamageClass::Rust, Language::Es) => "óxido",
            (DamageClass::Scratch, Language::Es) => "rayón",
            (DamageClass::Spoiled, Language::Es) => "residuos (contaminado)",
            (DamageClass::Mold, Language::Es) => "moho",
        }
    }
}

impl fmt::Display for DamageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
