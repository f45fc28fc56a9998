// The Android sample's plain-Kotlin logic (android/sample/.../Describe.kt and CoreCalls.kt: no
// Android imports) on the JVM, against the real library and the fixture servers: the texts the
// screens show for real photos, inspections and sync events, and how a failed core call (a
// Rust panic included) becomes a status line. Cases of BindingsTest.kt's suite.

import com.omniinspector.ffi.*
import com.omniinspector.ffi.core.*
import com.omniinspector.ffi.protocol.*
// Each generated package has its own runtime helpers (InternalException, use, Disposable…):
// the explicit imports pick omni_ffi's over the star imports.
import com.omniinspector.ffi.Disposable
import com.omniinspector.ffi.InternalException
import com.omniinspector.ffi.use
import com.omniinspector.sample.coreCall
import com.omniinspector.sample.describe
import com.omniinspector.sample.isTransient
import java.io.IOException
import java.nio.file.Path
import kotlin.coroutines.cancellation.CancellationException
import kotlinx.coroutines.runBlocking

fun Suite.sampleTexts(dir: Path) = runBlocking {
    val (core, _) = open(dir)
    core.use {
        check(describe(core.openReport()) == "Ready") { "fresh data directory: ${describe(core.openReport())}" }
        val inspection = inspection(core)
        val photo = core.addPhoto(inspection.id, jpeg(20), null)
        val queued = describe(core.photo(photo.id))
        check(queued == "No verdict yet (QUEUED)") { "before any verdict: $queued" }
        val edge = describe(core.edgeVerdict(photo.id))
        check(edge.startsWith("EDGE ") && edge.contains("detection(s)")) { "edge verdict: $edge" }
        check(describe(core.photo(photo.id)) == edge) { "the photo shows its current (edge) verdict" }
        val verdict = describe(core.verdict(photo.id))
        check(verdict.startsWith("CLOUD ") && !verdict.contains("pending")) { "cloud verdict: $verdict" }
        val summary = core.listInspections(InspectionQuery(state = null, containerNumber = null, limit = 20u, offset = 0u)).single()
        val row = describe(summary, core.inspection(summary.inspection.id))
        check(row.startsWith("$CONTAINER · 1 photos: ") && row.contains(" failed\n  CLOUD ")) { "inspection row: $row" }
    }
}

fun Suite.sampleSyncLines(dir: Path) = runBlocking {
    val (core, _) = open(dir)
    core.use {
        val events = SyncEvents()
        core.setSyncListener(events)
        core.addPhoto(inspection(core).id, jpeg(21), null)
        check(core.syncNow().synced == 1uL) { "one photo synced" }
        val lines = events.events.mapNotNull { describe(it) }
        check(lines.any { it.startsWith("Queue: ") && it.contains("1 synced") }) { "queue counts line among $lines" }
    }
    val (refused, _) = open(dir.resolve("refused"), secret = "not-the-secret")
    refused.use {
        val events = SyncEvents()
        refused.setSyncListener(events)
        refused.addPhoto(inspection(refused).id, jpeg(22), null)
        val task = refused.startSync()
        waitFor("a credentials pause") { events.events.any { it is SyncEvent.Paused } }
        task.cancel()
        val paused = describe(events.events.first { it is SyncEvent.Paused })
        check(paused?.startsWith("Sync paused (CREDENTIALS): ") == true) { "pause line: $paused" }
    }
}

fun Suite.sampleCoreCall(dir: Path) {
    val shown = mutableListOf<String>()
    // A Rust panic in a blocking call: UniFFI's InternalException, shown, not thrown.
    check(coreCall(shown::add) { debugPanic("probe panic in the sample") } == null) { "a panic gives no value" }
    check(shown.single().let { it.startsWith("Internal error in the core: ") && it.contains("probe panic in the sample") }) {
        "panic line: $shown"
    }
    val (core, _) = open(dir)
    core.use {
        shown.clear()
        check(coreCall(shown::add) { inspection(core, "CSQU3054384") } == null) { "a refused number gives no value" }
        check(shown.single().contains("check digit")) { "invalid input shows its reason: $shown" }
        shown.clear()
        val created = coreCall(shown::add) { inspection(core) }
        check(created?.containerNumber == CONTAINER && shown.isEmpty()) { "success: $created, $shown" }
        coreCall(shown::add) { throw IOException("capture file gone") }
        check(shown.last() == "capture file gone") { "I/O error line: $shown" }
        // Cancellation and programming errors are not the screen's business.
        expectThrows<CancellationException> { coreCall(shown::add) { throw CancellationException("left the screen") } }
        expectThrows<IllegalStateException> { coreCall(shown::add) { error("a bug") } }
        // Which failures the workers retry: a busy data directory yes, bad input no.
        val busy = expectThrows<OmniException.Busy> { open(dir) }
        check(busy.isTransient()) { "Busy is retried" }
        val bad = expectThrows<OmniException.InvalidInput> { inspection(core, "CSQU3054384") }
        check(!bad.isTransient()) { "InvalidInput is not retried" }
    }
}
