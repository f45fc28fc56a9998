//! The deterministic report: severities from the class and the box's share of the photo, the
//! verdict from the severities, a narrative from templates, in English and Spanish. Nova's
//! report goes through the same assembly, with its severities and narrative.

use crate::ReportError;
use crate::cedex::CedexTable;
use crate::class::DamageClass;
use crate::damage::{self, Damage};
use crate::eir::{
    DamageLine, Eir, Faces, Header, SCHEMA_VERSION, Severity, Verdict, VerdictStatus, WrittenBy,
};
use crate::face::Face;
use crate::input::ReportInput;
use crate::kinds::{InspectionKind, KindTable};
use crate::lang::{Language, Localized};
use crate::time::format_utc;

/// The rules' severity for a damage (the thresholds are shares of the photo's area).
pub fn severity(d: &Damage) -> Severity {
    let f = d.area_fraction;
    match d.class {
        DamageClass::Dent if f >= 0.05 => Severity::Major,
        DamageClass::Dent if f >= 0.01 => Severity::Moderate,
        DamageClass::Rust if f >= 0.10 => Severity::Major,
        DamageClass::Rust if f >= 0.02 => Severity::Moderate,
        DamageClass::Scratch if f >= 0.05 => Severity::Moderate,
        DamageClass::Spoiled => Severity::Moderate,
        DamageClass::Mold => Severity::Major,
        _ => Severity::Minor,
    }
}

/// Writes the report by rules alone.
pub fn build(
    input: &ReportInput,
    kinds: &KindTable,
    cedex: &CedexTable,
    generated_at_ms: i64,
) -> Result<Eir, ReportError> {
    let prepared = Prepared::new(input, kinds, cedex)?;
    let severities: Vec<Severity> = prepared.damages.iter().map(severity).collect();
    Ok(prepared.assemble(&severities, None, WrittenBy::rules(), generated_at_ms))
}

/// A validated input with its damages collected: what both writers start from.
pub(crate) struct Prepared<'a> {
    pub(crate) input: &'a ReportInput,
    pub(crate) kind: &'a InspectionKind,
    pub(crate) cedex: &'a CedexTable,
    pub(crate) damages: Vec<Damage>,
    pub(crate) missing: Vec<Face>,
}

impl<'a> Prepared<'a> {
    pub(crate) fn new(
        input: &'a ReportInput,
        kinds: &'a KindTable,
        cedex: &'a CedexTable,
    ) -> Result<Prepared<'a>, ReportError> {
        input.validate()?;
        let kind = kinds.get(&input.kind)?;
        let damages = damage::collect(input);
        for d in &damages {
            if !cedex.location_allowed(&d.location) {
                return Err(ReportError::Location {
                    damage: d.id.clone(),
                    code: d.location.to_string(),
                });
            }
        }
        let missing = kind.missing_faces(input.photos.iter().map(|p| p.face));
        Ok(Prepared {
            input,
            kind,
            cedex,
            damages,
            missing,
        })
    }

    /// The EIR from per-damage severities (same order as `damages`), an optional narrative
    /// (the rules write one when `None`) and the authorship record.
    pub(crate) fn assemble(
        &self,
        severities: &[Severity],
        narrative: Option<Localized>,
        written_by: WrittenBy,
        generated_at_ms: i64,
    ) -> Eir {
        let lines: Vec<DamageLine> = self
            .damages
            .iter()
            .zip(severities)
            .enumerate()
            .map(|(i, (d, &severity))| self.line(i, d, severity))
            .collect();
        let mut photographed: Vec<Face> = self.input.photos.iter().map(|p| p.face).collect();
        photographed.sort();
        photographed.dedup();
        let faces = Faces {
            required: self.kind.required.clone(),
            photographed,
            missing: self.missing.clone(),
        };
        let verdict = verdict(&lines, &faces.missing);
        let narrative = narrative.unwrap_or_else(|| self.narrative(&lines, &verdict));
        let i = self.input;
        Eir {
            schema_version: SCHEMA_VERSION,
            header: Header {
                eir_number: i.eir_number.clone(),
                inspection_id: i.inspection_id.clone(),
                revision: i.revision,
                reviews: i.reviews,
                container_number: i.container_number.clone(),
                kind: self.kind.id.clone(),
                kind_name: self.kind.name.clone(),
                inspector: i.inspector.clone(),
                started_at_ms: i.started_at_ms,
                closed_at_ms: i.closed_at_ms,
                location: i.location.clone(),
                generated_at_ms,
            },
            lines,
            faces,
            verdict,
            narrative,
            written_by,
        }
    }

    fn line(&self, i: usize, d: &Damage, severity: Severity) -> DamageLine {
        let mapping = self.cedex.mapping(d.class);
        self.line_with_repair(i, d, severity, &mapping.repair_code)
    }

    /// A line with a given repair code (one of the closed list).
    pub(crate) fn line_with_repair(
        &self,
        i: usize,
        d: &Damage,
        severity: Severity,
        repair_code: &str,
    ) -> DamageLine {
        let mapping = self.cedex.mapping(d.class);
        let damage = mapping
            .damage_code
            .as_deref()
            .and_then(|c| self.cedex.damage_code(c))
            .map(|e| e.meaning())
            .unwrap_or_else(|| {
                Localized::new(d.class.name(Language::En), d.class.name(Language::Es))
            });
        let repair = self
            .cedex
            .repair_code(repair_code)
            .map(|e| e.meaning())
            .unwrap_or_default();
        DamageLine {
            number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            damage_id: d.id.clone(),
            photo_id: d.photo_id.clone(),
            face: d.face,
            location: d.location,
            class: d.class,
            damage_code: mapping.damage_code.clone(),
            damage,
            repair_code: repair_code.to_owned(),
            repair,
            severity,
            confidence: d.confidence,
            bbox: d.bbox,
            cites: d.cites.clone(),
        }
    }

    fn narrative(&self, lines: &[DamageLine], verdict: &Verdict) -> Localized {
        let i = self.input;
        let faces = face_list(&i.photos.iter().map(|p| p.face).collect::<Vec<_>>());
        let write = |lang: Language| {
            // (none found, N lines found, "of container", "by", "on", photos, verdict, missing)
            let w: [&str; 8] = match lang {
                Language::En => [
                    "no damage was found",
                    "damage line(s) were recorded",
                    "of container",
                    "by",
                    "on",
                    "photo(s) of faces",
                    "Verdict",
                    "Faces not photographed",
                ],
                Language::Es => [
                    "no se encontraron daños",
                    "línea(s) de daño registradas",
                    "del contenedor",
                    "por",
                    "el",
                    "foto(s) de las caras",
                    "Veredicto",
                    "Caras sin fotografiar",
                ],
            };
            let found = if lines.is_empty() {
                w[0].to_owned()
            } else {
                format!("{} {} ({})", lines.len(), w[1], class_counts(lines, lang))
            };
            let mut s = format!(
                "{} {} {} {} {} {} {}: {} {} {faces}; {found}. {}: {}.",
                self.kind.name(lang),
                w[2],
                i.container_number,
                w[3],
                i.inspector,
                w[4],
                format_utc(i.closed_at_ms),
                i.photos.len(),
                w[5],
                w[6],
                verdict.status.name(lang).to_lowercase(),
            );
            if !self.missing.is_empty() {
                s.push_str(&format!(" {}: {}.", w[7], face_list(&self.missing)));
            }
            s
        };
        Localized::new(write(Language::En), write(Language::Es))
    }
}

/// Face letters, deduplicated, in EIR order, comma-separated (`-` when none).
pub(crate) fn face_list(faces: &[Face]) -> String {
    let mut f: Vec<Face> = faces.to_vec();
    f.sort();
    f.dedup();
    if f.is_empty() {
        return "-".to_owned();
    }
    f.iter().map(Face::to_string).collect::<Vec<_>>().join(", ")
}

fn class_counts(lines: &[DamageLine], lang: Language) -> String {
    let mut parts = Vec::new();
    for class in DamageClass::ALL {
        let n = lines.iter().filter(|l| l.class == class).count();
        if n > 0 {
            parts.push(format!("{n} {}", class.name(lang)));
        }
    }
    parts.join(", ")
}

/// The verdict: sound with no lines, not fit with any major line, repair needed otherwise;
/// the reason names the lines that decide it and the faces the verdict does not cover.
pub fn verdict(lines: &[DamageLine], missing: &[Face]) -> Verdict {
    let worst = lines.iter().map(|l| l.severity).max();
    let status = match worst {
        None => VerdictStatus::Sound,
        Some(Severity::Major) => VerdictStatus::NotFit,
        Some(_) => VerdictStatus::RepairNeeded,
    };
    let deciding: Vec<String> = lines
        .iter()
        .filter(|l| Some(l.severity) == worst)
        .map(|l| l.number.to_string())
        .collect();
    let deciding = deciding.join(", ");
    let mut reason = match status {
        VerdictStatus::Sound => Localized::new(
            "No damage on the faces photographed.",
            "Sin daños en las caras fotografiadas.",
        ),
        VerdictStatus::NotFit => Localized::new(
            format!("Major damage on line(s) {deciding}."),
            format!("Daño grave en la(s) línea(s) {deciding}."),
        ),
        VerdictStatus::RepairNeeded => Localized::new(
            format!("Damage to repair or clean on line(s) {deciding}; none major."),
            format!("Daños a reparar o limpiar en la(s) línea(s) {deciding}; ninguno grave."),
        ),
    };
    if !missing.is_empty() {
        let faces = face_list(missing);
        reason.en.push_str(&format!(
            " Faces {faces} were not photographed: the verdict does not cover them."
        ));
        reason.es.push_str(&format!(
            " Las caras {faces} no se fotografiaron: el veredicto no las cubre."
        ));
    }
    Verdict { status, reason }
}
