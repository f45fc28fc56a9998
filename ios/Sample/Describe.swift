import Foundation
import OmniFFI

// One-line texts for the sample's views. Called off the main actor too: nonisolated.

/// A Rust panic in a blocking call reaches Swift as UniFFI's internal `rustPanic` error (a
/// `LocalizedError` whose description carries the panic message), not as `OmniError`; a panic
/// in an async call arrives as `OmniError.Internal` with code `panic`.
nonisolated func describe(_ error: Error) -> String {
    if let error = error as? OmniError, case let .InvalidInput(_, reason) = error {
        return reason  // e.g. a mistyped container number
    }
    return (error as? LocalizedError)?.errorDescription ?? String(describing: error)
}

nonisolated func describe(_ result: DetectionResult) -> String {
    let found = result.detections
    let top = found.detections
        .sorted { $0.score > $1.score }
        .prefix(3)
        .map { "\($0.label) " + String(format: "%.2f", $0.score) }
        .joined(separator: ", ")
    let head = "\(found.source) \(found.model.name) \(found.model.version): \(found.detections.count) detection(s)"
    return top.isEmpty ? head : "\(head) — \(top)"
}

nonisolated func describe(_ verdict: Verdict) -> String {
    describe(verdict.result) + (verdict.cloudPending ? " (cloud verdict pending)" : "")
}

nonisolated func describe(_ photo: PhotoDetail) -> String {
    if let current = photo.results.first(where: { $0.detections.source == photo.current }) {
        return describe(current)
    }
    if let reason = photo.photo.unreadableReason {
        return "Unreadable: \(reason)"
    }
    return "No verdict yet (\(photo.photo.state))"
}

nonisolated func describe(_ opened: OpenSummary) -> String {
    let repaired = opened.orphansQuarantined + opened.filesRestored + opened.quarantined
        + opened.tempFilesRemoved + opened.missingFiles
    return repaired == 0 ? "Ready" : "Ready (recovered at open: \(opened))"
}

/// nil for events the sample does not show.
nonisolated func describe(_ event: SyncEvent) -> String? {
    switch event {
    case let .queueCounts(queued, synced, failed, inFlight):
        return "Queue: \(queued) queued, \(inFlight) in flight, \(synced) synced, \(failed) failed"
    case let .paused(cause, reason, _):
        return "Sync paused (\(cause)): \(reason)"
    case let .photoFailed(_, reason):
        return "Photo failed: \(reason)"
    default:
        return nil
    }
}

/// An inspection with its photos' current verdicts.
nonisolated struct InspectionRow: Identifiable, Sendable {
    let id: String
    let containerNumber: String
    let title: String
    let photos: [String]
}

/// Blocking (SQLite): call off the main actor.
nonisolated func loadRows(_ core: OmniCore) throws -> [InspectionRow] {
    let query = InspectionQuery(state: nil, containerNumber: nil, limit: 20, offset: 0)
    return try core.listInspections(query: query).map { summary in
        let inspection = summary.inspection
        let detail = try core.inspection(inspectionId: inspection.id)
        let closed = inspection.closedAtMs == nil ? "" : " · closed"
        return InspectionRow(
            id: inspection.id,
            containerNumber: inspection.containerNumber,
            title: "\(inspection.containerNumber) · \(summary.photos.queued + summary.photos.synced + summary.photos.failed) photos: "
                + "\(summary.photos.queued) queued, \(summary.photos.synced) synced, \(summary.photos.failed) failed\(closed)",
            photos: detail.photos.map { describe($0) }
        )
    }
}
