package com.omniinspector.sample

import android.app.Application
import android.content.Context
import android.util.Log
import com.omniinspector.ffi.CoreConfig
import com.omniinspector.ffi.LogLevel
import com.omniinspector.ffi.LogRecord
import com.omniinspector.ffi.LogSink
import com.omniinspector.ffi.OmniCore
import com.omniinspector.ffi.SyncEvent
import com.omniinspector.ffi.SyncListener
import com.omniinspector.ffi.setLogSink
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import java.io.File

/** Holds the one [OmniCore] of the process, shared by the activity and the workers. */
class OmniApp : Application() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    /**
     * Opened once, off the main thread: the first call into the bindings loads libomni_ffi.so,
     * and [OmniCore.open] blocks (SQLite, crash recovery, model load). A failure (e.g.
     * OmniException.Busy, Storage) is kept and rethrown by every await.
     */
    val core: Deferred<OmniCore> = scope.async(Dispatchers.IO, start = CoroutineStart.LAZY) {
        // The core's logs (captures, every sync attempt, model refresh) to logcat, tag "omni".
        coreCall({ Log.w(TAG, "core logs are not forwarded to logcat: $it") }) {
            setLogSink(Logcat, LogLevel.INFO)
        }
        openCore()
    }

    /** Where sync events go while a screen shows them. Called on a Rust thread. */
    @Volatile
    var syncEvents: ((SyncEvent) -> Unit)? = null

    override fun onCreate() {
        super.onCreate()
        // Runs at every process start, WorkManager wake-ups included: nothing here touches the
        // library on the main thread; the log sink and the core are set up on Dispatchers.IO.
        core.start()
        Workers.schedule(this)
    }

    private fun openCore(): OmniCore {
        val dataDir = File(filesDir, "omni").apply { mkdirs() }
        val config = CoreConfig(
            dataDir = dataDir.path,
            bundledModelPath = installModel().path,
            threads = Runtime.getRuntime().availableProcessors().coerceIn(1, 4).toUInt(),
            cloud = Integration.cloud,
            sync = null, // the core's defaults
            modelRefresh = Integration.modelRefresh,
        )
        val credentials = Integration.cognitoSession?.let { CognitoCredentialsProvider(it) }
        val opened = OmniCore.open(config = config, credentials = credentials)
        NetworkWatcher(opened).register(this)
        if (Integration.cloud != null) {
            // Once per process; screens come and go through [syncEvents].
            coreCall({ Log.w(TAG, "no sync events: $it") }) {
                opened.setSyncListener(object : SyncListener {
                    override fun onEvent(event: SyncEvent) {
                        syncEvents?.invoke(event)
                    }
                })
            }
        }
        return opened
    }

    /**
     * The mobile library does not compile the model in: the demo model ships as the asset
     * edge-model.onnx and the core reads it from a file. Copied at first start and again after
     * an app update (which may bring a new asset); written to a temp file, then renamed.
     */
    private fun installModel(): File {
        val target = File(filesDir, MODEL_ASSET)
        @Suppress("DEPRECATION") // getPackageInfo(String, int): the flags overload needs API 33
        val installedAt = packageManager.getPackageInfo(packageName, 0).lastUpdateTime
        if (!target.isFile || target.lastModified() < installedAt) {
            val temp = File(filesDir, "$MODEL_ASSET.tmp")
            assets.open(MODEL_ASSET).use { input -> temp.outputStream().use { input.copyTo(it) } }
            check(temp.renameTo(target)) { "cannot install $target" }
        }
        return target
    }

    /** Writes the core's log lines to logcat. Called on Rust threads. */
    private object Logcat : LogSink {
        override fun log(record: LogRecord) {
            val priority = when (record.level) {
                LogLevel.ERROR -> Log.ERROR
                LogLevel.WARN -> Log.WARN
                LogLevel.INFO -> Log.INFO
                LogLevel.DEBUG -> Log.DEBUG
                LogLevel.TRACE -> Log.VERBOSE
            }
            Log.println(priority, "omni", "${record.target}: ${record.message}")
        }
    }

    private companion object {
        const val MODEL_ASSET = "edge-model.onnx"
        const val TAG = "OmniApp"
    }
}

/** The process's core, once open. */
suspend fun Context.omniCore(): OmniCore = (applicationContext as OmniApp).core.await()
