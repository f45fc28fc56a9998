package com.omniinspector.sample

import com.omniinspector.ffi.InternalException
import com.omniinspector.ffi.OmniException
import com.omniinspector.ffi.OpenSummary
import com.omniinspector.ffi.SyncEvent
import com.omniinspector.ffi.core.DetectionResult
import com.omniinspector.ffi.core.InspectionDetail
import com.omniinspector.ffi.core.InspectionSummary
import com.omniinspector.ffi.core.PhotoDetail
import com.omniinspector.ffi.core.Verdict
import java.util.Locale

// One-line texts for the sample's views. Plain Kotlin (no Android imports): compiled with the
// generated bindings and tested on the JVM against the real library by bindings/tests/kotlin.

fun describe(e: Throwable): String = when (e) {
    is OmniException.InvalidInput -> e.reason // e.g. a mistyped container number
    // A Rust panic in a blocking call (UniFFI's InternalException): the call failed, the core
    // goes on working.
    is InternalException -> "Internal error in the core: ${e.message}"
    else -> e.message ?: e.toString()
}

fun describe(result: DetectionResult): String {
    val found = result.detections
    val top = found.detections.sortedByDescending { it.score }.take(3)
        .joinToString { String.format(Locale.ROOT, "%s %.2f", it.label, it.score) }
    val head = "${found.source} ${found.model.name} ${found.model.version}: ${found.detections.size} detection(s)"
    return if (top.isEmpty()) head else "$head — $top"
}

fun describe(verdict: Verdict): String =
    describe(verdict.result) + if (verdict.cloudPending) " (cloud verdict pending)" else ""

fun describe(photo: PhotoDetail): String {
    val current = photo.results.firstOrNull { it.detections.source == photo.current }
    return when {
        current != null -> describe(current)
        photo.photo.unreadableReason != null -> "Unreadable: ${photo.photo.unreadableReason}"
        else -> "No verdict yet (${photo.photo.state})"
    }
}

fun describe(summary: InspectionSummary, detail: InspectionDetail): String = buildString {
    append(summary.inspection.containerNumber)
    val p = summary.photos
    append(" · ${p.queued + p.synced + p.failed} photos: ${p.queued} queued, ${p.synced} synced, ${p.failed} failed")
    if (summary.inspection.closedAtMs != null) append(" · closed")
    detail.photos.forEach { append("\n  ").append(describe(it)) }
}

fun describe(opened: OpenSummary): String {
    val repaired = opened.orphansQuarantined + opened.filesRestored + opened.quarantined +
        opened.tempFilesRemoved + opened.missingFiles
    return if (repaired == 0uL) "Ready" else "Ready (recovered at open: $opened)"
}

/** Null for events the sample does not show. */
fun describe(event: SyncEvent): String? = when (event) {
    is SyncEvent.QueueCounts ->
        "Queue: ${event.queued} queued, ${event.inFlight} in flight, ${event.synced} synced, ${event.failed} failed"
    is SyncEvent.Paused -> "Sync paused (${event.cause}): ${event.reason}"
    is SyncEvent.PhotoFailed -> "Photo failed: ${event.reason}"
    else -> null
}
