// The generated Kotlin bindings of omni-ffi on the JVM, end to end against real servers on
// 127.0.0.1 (started from OMNI_BINDING_FIXTURES). Run by bindings/tests/kotlin/run.sh; exits
// non-zero when a check fails.

import com.omniinspector.ffi.*
import com.omniinspector.ffi.core.*
import com.omniinspector.ffi.protocol.*
// Each generated package has its own runtime helpers (InternalException, use, Disposable…):
// the explicit imports pick omni_ffi's over the star imports.
import com.omniinspector.ffi.Disposable
import com.omniinspector.ffi.InternalException
import com.omniinspector.ffi.use
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import javax.imageio.ImageIO
import kotlin.random.Random
import kotlin.system.exitProcess
import kotlinx.coroutines.*

const val CONTAINER = "CSQU3054383"

class Servers(private val process: Process, val info: Map<String, String>) : AutoCloseable {
    override fun close() {
        process.outputStream.close()
        process.waitFor()
    }

    companion object {
        fun start(): Servers {
            val process = ProcessBuilder(System.getenv("OMNI_BINDING_FIXTURES"))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start()
            val line = process.inputStream.bufferedReader().readLine()
                ?: error("the fixture servers printed nothing")
            val info = Regex("\"([a-z_]+)\":\"([^\"]*)\"").findAll(line)
                .associate { it.groupValues[1] to it.groupValues[2] }
            return Servers(process, info)
        }
    }
}

class StaticCredentials(
    private val key: String,
    private val secret: String,
    private val token: String? = null,
) : CredentialsProvider {
    @Volatile var calls = 0
    override suspend fun credentials(): AwsCredentials {
        calls += 1
        delay(1) // a real provider suspends on Cognito here
        return AwsCredentials(accessKeyId = key, secretAccessKey = secret, sessionToken = token)
    }
}

class SyncEvents : SyncListener {
    val events = CopyOnWriteArrayList<SyncEvent>()
    override fun onEvent(event: SyncEvent) { events.add(event) }
}

class ModelEvents : ModelListener {
    val events = CopyOnWriteArrayList<ModelEvent>()
    override fun onEvent(event: ModelEvent) { events.add(event) }
}

fun jpeg(seed: Int): ByteArray {
    val rng = Random(seed)
    val img = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
    for (y in 0 until 240) for (x in 0 until 320) img.setRGB(x, y, if ((x / 20 + y / 20) % 2 == 0) rng.nextInt(0xFFFFFF) else 0x808080)
    val out = ByteArrayOutputStream()
    ImageIO.write(img, "jpg", out)
    return out.toByteArray()
}

fun check(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

fun waitFor(what: String, timeoutMs: Long = 30_000, predicate: () -> Boolean) {
    val deadline = System.currentTimeMillis() + timeoutMs
    while (System.currentTimeMillis() < deadline) {
        if (predicate()) return
        Thread.sleep(50)
    }
    throw AssertionError("timed out waiting for $what")
}

inline fun <reified E : Throwable> expectThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

class Suite(val servers: Servers) {
    private val s = servers.info

    fun open(dir: Path, secret: String = s.getValue("secret_access_key"), refresh: Boolean = false): Pair<OmniCore, StaticCredentials> {
        val credentials = StaticCredentials(s.getValue("access_key_id"), secret)
        val config = CoreConfig(
            dataDir = dir.resolve("data").toString(),
            bundledModelPath = System.getenv("OMNI_BUNDLED_MODEL"),
            cloud = CloudTarget(s.getValue("endpoint_url"), s.getValue("endpoint_name"), s.getValue("region")),
            modelRefresh = if (refresh) ModelRefreshSettings(
                manifestUrl = s.getValue("manifest_url"),
                region = s.getValue("region"),
                trustedKeys = listOf(s.getValue("public_key")),
            ) else null,
        )
        return OmniCore.open(config, credentials) to credentials
    }

    fun inspection(core: OmniCore, container: String = CONTAINER) = core.createInspection(
        NewInspection(containerNumber = container, inspectorId = "inspector-7", notes = null,
            location = GeoLocation(latitude = 36.13, longitude = -5.35, accuracyM = 8.0)))

    fun captureAndVerdicts(dir: Path) = runBlocking {
        val (core, credentials) = open(dir)
        core.use {
            val inspection = inspection(core)
            check(inspection.containerNumber == CONTAINER) { "container number ${inspection.containerNumber}" }
            val photos = (0 until 3).map { core.addPhoto(inspection.id, jpeg(it), 1_700_000_000_000L + it) }
            check(photos.all { it.state == PhotoState.QUEUED }) { "photos queued" }
            val edge = core.edgeVerdict(photos[0].id)
            check(edge.detections.source == DetectionSource.EDGE && edge.detections.imageWidth == 320u) { "edge verdict $edge" }
            val verdict = core.verdict(photos[1].id)
            check(verdict.result.detections.source == DetectionSource.CLOUD && !verdict.cloudPending) { "cloud verdict $verdict" }
            check(credentials.calls >= 1) { "the Kotlin credentials provider was asked" }
            val report = core.syncNow()
            check(report.stopped == StopReason.Idle && report.synced == 2uL) { "sync report $report" }
            val stats = core.stats()
            check(stats == Stats(inspections = 1uL, queued = 0uL, synced = 3uL, failed = 0uL, office = null)) { "stats $stats" }
            val detail = core.inspection(inspection.id)
            check(detail.photos.all { it.current == DetectionSource.CLOUD }) { "cloud is current: $detail" }
            check(core.integrityCheck() == listOf("ok")) { "integrity" }
        }
    }

    fun backgroundSyncFollowsConnectivity(dir: Path) {
        val (core, _) = open(dir)
        core.use {
            val events = SyncEvents()
            core.setSyncListener(events)
            core.setOnline(false)
            val inspection = inspection(core)
            val ids = (0 until 4).map { core.addPhoto(inspection.id, jpeg(10 + it), null).id }.toSet()
            val task = core.startSync()
            Thread.sleep(500)
            check(core.stats().queued == 4uL) { "nothing is sent while offline" }
            core.setOnline(true)
            waitFor("4 photos synced") { core.stats().synced == 4uL }
            val synced = events.events.filterIsInstance<SyncEvent.PhotoSynced>().map { it.photoId }.toSet()
            check(synced == ids) { "PhotoSynced events for every photo: $synced" }
            task.cancel()
            check(task.isFinished()) { "cancelled task is finished" }
        }
    }

    fun badInput(dir: Path) {
        val (core, _) = open(dir)
        core.use {
            val bad = expectThrows<OmniException.InvalidInput> { inspection(core, "CSQU3054384") }
            check(bad.code == "invalid_container_number" && bad.reason.contains("check digit")) { "bad number: $bad" }
            val inspection = inspection(core)
            val notImage = expectThrows<OmniException.InvalidInput> { core.addPhoto(inspection.id, "%PDF-1.7".toByteArray(), null) }
            check(notImage.code == "photo_unsupported_format") { "not an image: $notImage" }
            for (letter in listOf("Q", "f", "FD", "")) {
                val badFace = expectThrows<OmniException.InvalidInput> { core.addPhoto(inspection.id, jpeg(70), null, letter) }
                check(badFace.code == "unknown_face" && badFace.reason.contains("expected one of F, D, L, R, T, U, I, X")) {
                    "bad face $letter: $badFace"
                }
            }
            val badKind = expectThrows<OmniException.InvalidInput> {
                core.createInspection(NewInspection(containerNumber = CONTAINER, inspectorId = null, notes = null,
                    location = null, kind = "gate-sideways"))
            }
            check(badKind.code == "unknown_inspection_kind") { "bad kind: $badKind" }
            check(core.stats().queued == 0uL && core.stats().inspections == 1uL) { "nothing stored" }
            val busy = expectThrows<OmniException.Busy> { open(dir) }
            check(busy.code == "data_dir_locked") { "busy: $busy" }
        }
    }

    fun wrongSecretPausesSync(dir: Path) {
        val (core, _) = open(dir, secret = "not-the-secret")
        core.use {
            val events = SyncEvents()
            core.setSyncListener(events)
            core.addPhoto(inspection(core).id, jpeg(5), null)
            val task = core.startSync()
            waitFor("a credentials pause") {
                events.events.any { it is SyncEvent.Paused && it.cause == PauseCause.CREDENTIALS }
            }
            task.cancel()
            check(core.stats().queued == 1uL) { "the photo stays queued" }
        }
    }

    fun cancellingSyncNow(dir: Path) = runBlocking {
        val (core, _) = open(dir, secret = "not-the-secret")
        core.use {
            core.addPhoto(inspection(core).id, jpeg(6), null)
            val job = launch(Dispatchers.Default) { core.syncNow() }
            delay(500)
            check(job.isActive) { "syncNow keeps trying while credentials are refused" }
            withTimeout(10_000) { job.cancelAndJoin() }
            check(core.stats().queued == 1uL) { "the photo stays queued" }
        }
    }

    fun modelUpdateAndRollback(dir: Path) = runBlocking {
        val (core, _) = open(dir, refresh = true)
        core.use {
            val events = ModelEvents()
            core.setModelListener(events)
            val bundled = core.modelStatus()
            check(bundled.inUse == ModelSlot.BUNDLED) { "bundled in use: $bundled" }
            val available = core.checkModelUpdate()
            check(available is ModelCheck.Available && available.version == "0.2.0") { "check: $available" }
            core.setNetwork(NetworkKind.METERED)
            val deferred = core.updateModel()
            check(deferred is ModelUpdate.Deferred) { "metered defers: $deferred" }
            core.setNetwork(NetworkKind.UNMETERED)
            val installed = core.updateModel()
            check(installed is ModelUpdate.Installed && installed.version == "0.2.0") { "installed: $installed" }
            check(core.modelStatus().inUse == ModelSlot.ACTIVE) { "active in use" }
            val inspection = inspection(core)
            val photo = core.addPhoto(inspection.id, jpeg(7), null)
            check(core.edgeVerdict(photo.id).detections.model.version == "0.2.0") { "new model runs" }
            val rolled = core.rollbackModel()
            check(rolled.fromVersion == "0.2.0" && rolled.toVersion == "bundled") { "rollback: $rolled" }
            val photo2 = core.addPhoto(inspection.id, jpeg(8), null)
            check(core.edgeVerdict(photo2.id).detections.model.version == bundled.version) { "bundled model runs again" }
            check(events.events.any { it is ModelEvent.Installed } && events.events.any { it is ModelEvent.RolledBack }) {
                "model events: ${events.events}"
            }
        }
    }
}

fun Suite.officeSync(dir: Path) = runBlocking {
    val s = servers.info
    val credentials = StaticCredentials(
        s.getValue("office_access_key_id"), s.getValue("office_secret_access_key"), s.getValue("office_session_token"))
    val config = CoreConfig(
        dataDir = dir.resolve("data").toString(),
        bundledModelPath = System.getenv("OMNI_BUNDLED_MODEL"),
        office = OfficeTarget(baseUrl = s.getValue("office_url"), region = s.getValue("region")),
    )
    OmniCore.open(config, credentials).use { core ->
        val inspection = core.createInspection(NewInspection(containerNumber = CONTAINER, inspectorId = "inspector-7",
            notes = null, location = null, kind = "gate-out"))
        val photo = core.addPhoto(inspection.id, jpeg(60), null, "F")
        check(photo.face == "F") { "face at capture: ${photo.face}" }
        check(core.setPhotoFace(photo.id, "D").face == "D") { "face changed before sync" }
        val closed = core.closeInspection(inspection.id)
        check(closed.faces.photographed == listOf("D") && closed.faces.missing == listOf("F", "L", "R", "T")) {
            "faces at close: ${closed.faces}"
        }
        val pending = core.stats().office
        check(pending?.inspectionsPending == 1uL && pending.photosPending == 1uL) { "before sync: $pending" }
        val report = core.syncNow()
        check(report.stopped == StopReason.Idle && report.synced == 1uL) { "sync report $report" }
        val office = core.stats().office
        check(office == OfficeStats(inspectionsAcknowledged = 1uL, inspectionsPending = 0uL,
            photosAcknowledged = 1uL, photosPending = 0uL, verdictsAcknowledged = 1uL, verdictsPending = 0uL,
            wedged = 0uL)) { "office stats $office" }
        check(core.photo(photo.id).photo.state == PhotoState.SYNCED) { "the cloud verdict came from the office" }
        // The office wrote the closed inspection's report; the sync read its verdict on the box.
        val verdict = core.boxVerdict(inspection.id)
        check(verdict != null && verdict.revision == 2uL && verdict.eirNumber.isNotEmpty() &&
            verdict.reason.en.isNotEmpty() && verdict.reason.es.isNotEmpty()) { "verdict on the box $verdict" }
        val synced = expectThrows<OmniException.InvalidInput> { core.setPhotoFace(photo.id, "T") }
        check(synced.code == "photo_already_synced") { "synced face: $synced" }
    }
}

fun Suite.panicIsAnException(dir: Path) {
    val panicked = expectThrows<InternalException> { debugPanic("probe panic") }
    check(panicked.message?.contains("probe panic") == true) { "panic message: $panicked" }
    val (core, _) = open(dir)
    core.use { check(core.stats().inspections == 0uL) { "the library still works after the panic" } }
}

fun main() {
    var failures = 0
    Servers.start().use { servers ->
        val suite = Suite(servers)
        val cases = listOf<Pair<String, (Path) -> Unit>>(
            "capture, edge and cloud verdicts" to { d -> suite.captureAndVerdicts(d) },
            "background sync follows connectivity" to { d -> suite.backgroundSyncFollowsConnectivity(d) },
            "bad input is refused" to { d -> suite.badInput(d) },
            "a wrong secret pauses sync" to { d -> suite.wrongSecretPausesSync(d) },
            "cancelling syncNow" to { d -> suite.cancellingSyncNow(d) },
            "model update and rollback" to { d -> suite.modelUpdateAndRollback(d) },
            "a Rust panic is an exception" to { d -> suite.panicIsAnException(d) },
            "an inspection reaches the yard office" to { d -> suite.officeSync(d) },
            // SampleTest.kt: the Android sample's plain-Kotlin logic.
            "sample: photo, verdict and inspection texts" to { d -> suite.sampleTexts(d) },
            "sample: sync event lines" to { d -> suite.sampleSyncLines(d) },
            "sample: coreCall turns failures and panics into a status line" to { d -> suite.sampleCoreCall(d) },
        )
        for ((name, case) in cases) {
            val dir = Files.createTempDirectory("omni-kotlin")
            try {
                case(dir)
                println("ok   $name")
            } catch (e: Throwable) {
                failures += 1
                println("FAIL $name: $e")
                e.printStackTrace()
            } finally {
                dir.toFile().deleteRecursively()
            }
        }
    }
    println(if (failures == 0) "all Kotlin binding tests passed" else "$failures Kotlin binding test(s) failed")
    exitProcess(if (failures == 0) 0 else 1)
}
