//! The Equipment Interchange Receipt: the report's one schema (serde, JSON), whether rules or
//! Nova wrote it.

use serde::{Deserialize, Serialize};

use crate::cedex::LocationCode;
use crate::class::DamageClass;
use crate::face::Face;
use crate::input::{BoxPx, Place};
use crate::lang::{Language, Localized};

/// The EIR JSON schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// One EIR: one inspection revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eir {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Who, what, when, where.
    pub header: Header,
    /// One line per damage.
    pub lines: Vec<DamageLine>,
    /// Faces required, photographed and missing.
    pub faces: Faces,
    /// The terminal's verdict on the box.
    pub verdict: Verdict,
    /// A short narrative.
    pub narrative: Localized,
    /// How the report was written.
    pub written_by: WrittenBy,
}

/// The EIR's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The EIR number.
    pub eir_number: String,
    /// The inspection.
    pub inspection_id: String,
    /// Its revision.
    pub revision: u32,
    /// The review state it covers: how many reviews of the inspection the office had
    /// (0: the verdicts alone; reports written before this field read as 0).
    #[serde(default)]
    pub reviews: u32,
    /// ISO 6346 container number.
    pub container_number: String,
    /// Inspection kind id.
    pub kind: String,
    /// Its name.
    pub kind_name: Localized,
    /// Who inspected.
    pub inspector: String,
    /// When the inspection began (ms, UTC).
    pub started_at_ms: i64,
    /// When it was closed.
    pub closed_at_ms: i64,
    /// Where.
    pub location: Option<Place>,
    /// When this report was generated.
    pub generated_at_ms: i64,
}

/// One damage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DamageLine {
    /// 1-based line number.
    pub number: u32,
    /// The damage's id in the input (`photo/dN` for a detection, `photo/rID` for a review).
    pub damage_id: String,
    /// The photo.
    pub photo_id: String,
    /// The face the photo shows.
    pub face: Face,
    /// The 4-character CEDEX location (`?` where no reviewer said).
    pub location: LocationCode,
    /// Our class.
    pub class: DamageClass,
    /// The CEDEX damage code, when the table has one for the class.
    pub damage_code: Option<String>,
    /// The damage in words.
    pub damage: Localized,
    /// The CEDEX repair code.
    pub repair_code: String,
    /// The repair in words.
    pub repair: Localized,
    /// How bad.
    pub severity: Severity,
    /// The detection's confidence (none for damage a reviewer added).
    pub confidence: Option<f32>,
    /// Where on the photo.
    #[serde(rename = "box")]
    pub bbox: BoxPx,
    /// The detection or review behind the line.
    pub cites: Citation,
}

/// What a line rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Citation {
    /// A detector's verdict.
    Detection {
        /// `cloud` or `edge`.
        source: String,
        /// The model.
        model: String,
        /// Index among the verdict's detections.
        index: usize,
    },
    /// A reviewer's record (confirming, reclassing or adding).
    Review {
        /// The review's id.
        review_id: String,
        /// Who.
        reviewer: String,
        /// When.
        at_ms: i64,
        /// The detection it is about, if any.
        detection: Option<usize>,
    },
}

/// How bad a damage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Cosmetic or cleaning.
    Minor,
    /// Needs repair before the next load.
    Moderate,
    /// Structural or unhygienic: not fit until repaired.
    Major,
}

impl Severity {
    /// Its name in `lang`.
    pub fn name(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Severity::Minor, Language::En) => "minor",
            (Severity::Moderate, Language::En) => "moderate",
            (Severity::Major, Language::En) => "major",
            (Severity::Minor, Language::Es) => "leve",
            (Severity::Moderate, Language::Es) => "moderado",
            (Severity::Major, Language::Es) => "grave",
        }
    }
}

/// Faces required by the kind, photographed, and missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faces {
    /// What the kind requires.
    pub required: Vec<Face>,
    /// What the photos show.
    pub photographed: Vec<Face>,
    /// Required and not photographed.
    pub missing: Vec<Face>,
}

/// The verdict on the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// No damage found.
    Sound,
    /// Damage to repair or clean; usable after that.
    RepairNeeded,
    /// Major damage: not fit for use.
    NotFit,
}

impl VerdictStatus {
    /// Its name in `lang`.
    pub fn name(self, lang: Language) -> &'static str {
        match (self, lang) {
            (VerdictStatus::Sound, Language::En) => "SOUND",
            (VerdictStatus::RepairNeeded, Language::En) => "REPAIR NEEDED",
            (VerdictStatus::NotFit, Language::En) => "NOT FIT",
            (VerdictStatus::Sound, Language::Es) => "EN BUEN ESTADO",
            (VerdictStatus::RepairNeeded, Language::Es) => "REQUIERE REPARACIÓN",
            (VerdictStatus::NotFit, Language::Es) => "NO APTO",
        }
    }
}

/// The verdict and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Sound / repair needed / not fit.
    pub status: VerdictStatus,
    /// Why, in both languages.
    pub reason: Localized,
}

/// Who wrote the severities and the narrative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The deterministic rules.
    Rules,
    /// Amazon Nova, its answer checked.
    Nova,
}

/// How the report was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenBy {
    /// Rules or Nova.
    pub method: Method,
    /// The Bedrock model id, when Nova was asked.
    pub model_id: Option<String>,
    /// Why Nova's answer was not used, when it was asked and the rules wrote the report.
    pub fallback_reason: Option<String>,
    /// Tokens the Nova calls used (all attempts that got an answer).
    pub usage: Option<TokenUsage>,
    /// Converse calls made.
    pub attempts: u32,
}

impl WrittenBy {
    /// Written by the rules, Nova not asked.
    pub fn rules() -> WrittenBy {
        WrittenBy {
            method: Method::Rules,
            model_id: None,
            fallback_reason: None,
            usage: None,
            attempts: 0,
        }
    }
}

/// Bedrock's token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Their sum, as Bedrock reports it.
    pub total_tokens: u32,
}

impl TokenUsage {
    /// The sum of two usages.
    pub fn plus(self, other: TokenUsage) -> TokenUsage {
        TokenUsage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            total_tokens: self.total_tokens.saturating_add(other.total_tokens),
        }
    }
}

impl Eir {
    /// The EIR as JSON.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// An EIR read back from JSON.
    pub fn from_json(text: &str) -> Result<Eir, serde_json::Error> {
        serde_json::from_str(text)
    }
}
