//! Human-readable and JSON rendering of the core's query results.

use omni_core::evaluation::Metrics;
use omni_core::{
    ClosedInspection, DetectOutcome, Detections, Face, FaceCoverage, InspectionDetail,
    InspectionSummary, ModelIdentity, PhotoId, QuarantinedFile, RecoverReport, Stats,
};
use serde::Serialize;

use crate::error::CliResult;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> CliResult {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(())
}

/// One line per inspection.
pub fn print_summaries(summaries: &[InspectionSummary]) {
    if summaries.is_empty() {
        println!("no inspections");
        return;
    }
    println!(
        "{:<36}  {:<11}  {:<24}  {:>6}  {:>6}  {:>6}",
        "ID", "CONTAINER", "CREATED", "QUEUED", "SYNCED", "FAILED"
    );
    for s in summaries {
        println!(
            "{:<36}  {:<11}  {:<24}  {:>6}  {:>6}  {:>6}",
            s.inspection.id,
            s.inspection.container_number,
            s.inspection.created_at,
            s.photos.queued,
            s.photos.synced,
            s.photos.failed
        );
    }
}

/// The files waiting in `photos/orphans/`.
pub fn print_quarantined(files: &[QuarantinedFile]) {
    if files.is_empty() {
        println!("no files in quarantine");
        return;
    }
    println!("{:<24}  {:>10}  FILE", "STORED", "BYTES");
    for f in files {
        let stored = f.stored_at.map(|t| t.to_string()).unwrap_or_default();
        println!("{stored:<24}  {:>10}  {}", f.size_bytes, f.path.display());
    }
    println!(
        "{} file(s); `omni recover --container NUMBER [PHOTO_ID...]` re-adopts them",
        files.len()
    );
}

/// What `omni recover` did.
pub fn print_recover_report(report: &RecoverReport) {
    match &report.inspection {
        Some(inspection) => println!(
            "recovered {} photo(s) into inspection {} of {} (queued for the cloud)",
            report.adopted.len(),
            inspection.id,
            inspection.container_number
        ),
        None => println!("no photo recovered"),
    }
    for skipped in &report.skipped {
        println!(
            "  left in quarantine: {}: {}",
            skipped.path.display(),
            skipped.reason
        );
    }
}

/// Faces as letters, `-` for none.
fn letters(faces: &[Face]) -> String {
    if faces.is_empty() {
        return "-".to_owned();
    }
    faces
        .iter()
        .map(Face::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `photographed F D X; missing L R T I` (or `; none missing`).
fn faces_line(faces: &FaceCoverage) -> String {
    let missing = if faces.missing.is_empty() {
        "none missing".to_owned()
    } else {
        format!("missing {}", letters(&faces.missing))
    };
    format!("photographed {}; {missing}", letters(&faces.photographed))
}

/// After a close: one line naming the required faces no photo shows, when there are any.
pub fn print_missing_faces(closed: &ClosedInspection) {
    if !closed.faces.missing.is_empty() {
        println!(
            "Faces missing ({}): {} (closed anyway)",
            closed.inspection.kind.as_deref().unwrap_or("-"),
            letters(&closed.faces.missing)
        );
    }
}

/// An inspection, its photos and their detections.
pub fn print_detail(detail: &InspectionDetail) {
    let i = &detail.inspection;
    println!("Inspection {}", i.id);
    println!("  container  {}", i.container_number);
    println!("  created    {}", i.created_at);
    if let Some(closed) = i.closed_at {
        println!("  closed     {closed}");
    }
    if let Some(who) = &i.inspector_id {
        println!("  inspector  {who}");
    }
    if let Some(l) = &i.location {
        let accuracy = l
            .accuracy_m
            .map(|a| format!(" (±{a} m)"))
            .unwrap_or_default();
        println!(
            "  location   {:.6}, {:.6}{accuracy}",
            l.latitude, l.longitude
        );
    }
    if let Some(notes) = &i.notes {
        println!("  notes      {notes}");
    }
    if let Some(recovered) = i.recovered_at {
        println!("  recovered  {recovered} (rebuilt from quarantined photo files)");
    }
    if let Some(kind) = &i.kind {
        println!("  kind       {kind}");
    }
    println!("  faces      {}", faces_line(&detail.faces));
    let office = &detail.office;
    println!(
        "  office     {}",
        match office.acknowledged_revision {
            Some(ack) if ack >= office.revision => format!("revision {ack} acknowledged"),
            Some(ack) => format!(
                "revision {ack} acknowledged, revision {} to send",
                office.revision
            ),
            None => format!("not sent (revision {})", office.revision),
        }
    );
    if let Some(v) = &detail.box_verdict {
        // The office's words: single line here (the core refused control characters).
        println!(
            "  verdict    {} (EIR {}, report revision {}, {} damage line(s)): {}",
            v.status.as_str().replace('_', " "),
            v.eir_number,
            v.report_revision,
            v.damage_lines,
            v.reason.en.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    println!("  photos     {}", detail.photos.len());
    for p in &detail.photos {
        let photo = &p.photo;
        println!(
            "  - {}  face {}  {:>5}x{:<5} {:>9} bytes  {}{}",
            photo.id,
            photo.face,
            photo.width,
            photo.height,
            photo.size_bytes,
            photo.state,
            photo
                .failure_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
        println!(
            "      office: {}, {} of {} verdict(s) pushed",
            match p.office_at {
                Some(at) => format!("photo acknowledged {at}"),
                None => "photo not sent".to_owned(),
            },
            p.verdicts_on_office,
            p.results.len()
        );
        for stored in &p.results {
            let result = &stored.detections;
            let current = if p.current_result().is_some_and(|c| std::ptr::eq(c, stored)) {
                " [current]"
            } else {
                ""
            };
            println!(
                "      {}{current} {} {} ({:.0} ms): {} detection(s)",
                result.source.as_str(),
                result.model.name,
                result.model.version,
                result.inference_ms,
                result.detections.len()
            );
            for d in &result.detections {
                println!(
                    "        {:<8} {:>5.1}%  [{:.0}, {:.0}, {:.0}, {:.0}]",
                    d.label,
                    d.score * 100.0,
                    d.bbox.x1,
                    d.bbox.y1,
                    d.bbox.x2,
                    d.bbox.y2
                );
            }
        }
    }
}

/// Totals.
pub fn print_stats(stats: &Stats) {
    println!("inspections  {}", stats.inspections);
    println!("photos       {}", stats.photos.total());
    println!("  queued     {}  (waiting for signal)", stats.photos.queued);
    println!("  synced     {}", stats.photos.synced);
    println!("  failed     {}", stats.photos.failed);
    let office = &stats.office;
    println!("office (acknowledged / pending)");
    println!(
        "  inspections  {} / {}",
        office.inspections_acknowledged, office.inspections_pending
    );
    println!(
        "  photos       {} / {}",
        office.photos_acknowledged, office.photos_pending
    );
    println!(
        "  verdicts     {} / {}",
        office.verdicts_acknowledged, office.verdicts_pending
    );
    if office.wedged > 0 {
        println!(
            "  wedged       {} (omni sync --retry-failed)",
            office.wedged
        );
    }
}

/// What `omni detect` did for one photo.
#[derive(Serialize)]
pub struct DetectReport {
    /// The photo.
    pub photo_id: PhotoId,
    /// Ran, already done, or unreadable.
    #[serde(flatten)]
    pub outcome: DetectOutcome,
    /// The detections of this model (also when already stored).
    #[serde(skip)]
    pub detections: Option<Detections>,
}

/// A table of detections per photo.
pub fn print_detect_reports(reports: &[DetectReport]) {
    for report in reports {
        match (&report.outcome, &report.detections) {
            (DetectOutcome::Unreadable { reason }, _) => {
                println!("photo {}: unreadable ({reason})", report.photo_id);
            }
            (outcome, Some(d)) => {
                let note = if matches!(outcome, DetectOutcome::AlreadyDone) {
                    ", stored earlier"
                } else {
                    ""
                };
                println!(
                    "photo {} ({}x{}): {} {} {}, {:.0} ms{note}",
                    report.photo_id,
                    d.image_width,
                    d.image_height,
                    d.source.as_str(),
                    d.model.name,
                    d.model.version,
                    d.inference_ms
                );
                if d.detections.is_empty() {
                    println!("  no damage detected");
                    continue;
                }
                println!(
                    "  {:<8} {:>6}  {:>6} {:>6} {:>6} {:>6}",
                    "CLASS", "SCORE", "X1", "Y1", "X2", "Y2"
                );
                for det in &d.detections {
                    println!(
                        "  {:<8} {:>5.1}%  {:>6.0} {:>6.0} {:>6.0} {:>6.0}",
                        det.label,
                        det.score * 100.0,
                        det.bbox.x1,
                        det.bbox.y1,
                        det.bbox.x2,
                        det.bbox.y2
                    );
                }
            }
            (_, None) => println!("photo {}: no result", report.photo_id),
        }
    }
}

/// The mAP table of `omni eval`.
pub fn print_metrics(model: &ModelIdentity, metrics: &Metrics) {
    println!(
        "{} {} ({}): {} images, {} instances",
        model.name,
        model.version,
        &model.sha256[..12.min(model.sha256.len())],
        metrics.images,
        metrics.instances
    );
    println!(
        "{:<10} {:>9} {:>7} {:>9}",
        "CLASS", "INSTANCES", "mAP50", "mAP50-95"
    );
    for c in &metrics.per_class {
        println!(
            "{:<10} {:>9} {:>7.3} {:>9.3}",
            c.label, c.instances, c.map50, c.map50_95
        );
    }
    println!(
        "{:<10} {:>9} {:>7.3} {:>9.3}",
        "all", metrics.instances, metrics.map50, metrics.map50_95
    );
}
