// Cost of one FFI round trip from Kotlin on the JVM (JNA): `openReport()` (no I/O: the
// bindings' own cost) and `stats()` (one SQLite read), 20 batches of 1000 calls after a
// JIT warm-up; prints a markdown table row each. Run by bindings/benches/ffi.sh.

import com.omniinspector.ffi.*
import java.nio.file.Files

fun perCallUs(fn: () -> Unit): Pair<Double, Double> {
    repeat(5000) { fn() }
    val samples = (0 until 20).map {
        val t = System.nanoTime()
        repeat(1000) { fn() }
        (System.nanoTime() - t) / 1000.0 / 1000.0
    }.sorted()
    return samples[samples.size / 2] to samples.last()
}

fun main() {
    val dir = Files.createTempDirectory("omni-ffi-bench")
    OmniCore.open(CoreConfig(dataDir = dir.toString(), bundledModelPath = System.getenv("OMNI_BUNDLED_MODEL")), null).use { core ->
        for ((name, fn) in listOf<Pair<String, () -> Unit>>("openReport()" to { core.openReport() }, "stats()" to { core.stats() })) {
            val (median, worst) = perCallUs(fn)
            println("| Kotlin (JVM, JNA) | $name | ${"%.1f".format(median)} | ${"%.1f".format(worst)} |")
        }
    }
    dir.toFile().deleteRecursively()
}
