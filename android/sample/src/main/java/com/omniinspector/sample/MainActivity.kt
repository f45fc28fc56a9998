package com.omniinspector.sample

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.ListView
import android.widget.Spinner
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import androidx.core.view.updatePadding
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import com.omniinspector.ffi.core.Inspection
import com.omniinspector.ffi.InspectionQuery
import com.omniinspector.ffi.core.InspectionSummary
import com.omniinspector.ffi.NewInspection
import com.omniinspector.ffi.OmniCore
import com.omniinspector.ffi.SyncEvent
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.File
import kotlin.coroutines.cancellation.CancellationException

/** The CEDEX face letters, in the order of the `faces` string array (the face picker). */
private val FACE_LETTERS = listOf("F", "D", "L", "R", "T", "U", "I", "X")

/**
 * Create or pick an inspection, pick the face, photograph the container: the photo is stored
 * with its face (addPhoto), gets an on-device verdict at once (edgeVerdict), then the
 * cloud-or-edge verdict (verdict). While
 * the screen is started the core syncs in the background (startSync). Every core call goes
 * through [coreCall]: a failure, a Rust panic included, becomes the status line.
 */
class MainActivity : ComponentActivity() {
    private lateinit var status: TextView
    private lateinit var syncLine: TextView
    private lateinit var captureButton: Button
    private lateinit var face: Spinner
    private lateinit var adapter: ArrayAdapter<String>

    private var core: OmniCore? = null
    private var imageCapture: ImageCapture? = null
    private var current: Inspection? = null
    private var listed: List<InspectionSummary> = emptyList()
    private var analysing = false

    private val cameraPermission =
        registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            if (granted) startCamera() else status.setText(R.string.camera_denied)
        }

    override fun onCreate(savedInstanceState: Bundle?) {
        // targetSdk 35+ draws edge to edge on Android 15+; the same on older versions here, and
        // the system bars' (and keyboard's) insets become padding of the root view.
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        padForSystemBars(findViewById(R.id.root))
        status = findViewById(R.id.status)
        syncLine = findViewById(R.id.sync)
        captureButton = findViewById(R.id.capture)
        face = findViewById(R.id.face)
        face.setSelection(FACE_LETTERS.indexOf("X"))
        adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1, mutableListOf<String>())
        val containerNumber = findViewById<EditText>(R.id.container_number)
        val list = findViewById<ListView>(R.id.inspections)
        list.adapter = adapter
        list.setOnItemClickListener { _, _, position, _ -> select(listed[position].inspection) }
        findViewById<Button>(R.id.create).setOnClickListener {
            createInspection(containerNumber.text.toString().trim())
        }
        captureButton.setOnClickListener { capture() }

        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            cameraPermission.launch(Manifest.permission.CAMERA)
        }

        lifecycleScope.launch {
            val opened = try {
                omniCore()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                status.text = getString(R.string.open_failed, describe(e))
                return@launch
            }
            core = opened
            coreCall(::showStatus) { showStatus(describe(withContext(Dispatchers.IO) { opened.openReport() })) }
            updateButtons()
            // While the activity is started: sync events, a fresh list, and background sync
            // (photos go out as soon as they are queued and the device is online; the periodic
            // SyncWorker covers the time the app is not on screen).
            val app = application as OmniApp
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                app.syncEvents = { event -> runOnUiThread { onSyncEvent(event) } }
                val sync = if (Integration.cloud != null) coreCall(::showStatus) { opened.startSync() } else null
                try {
                    refresh()
                    awaitCancellation()
                } finally {
                    sync?.cancel() // requests in flight are abandoned; their photos stay queued
                    sync?.close()
                    app.syncEvents = null
                }
            }
        }
    }

    private fun showStatus(line: String) {
        status.text = line
    }

    private fun padForSystemBars(root: View) {
        val left = root.paddingLeft
        val top = root.paddingTop
        val right = root.paddingRight
        val bottom = root.paddingBottom
        ViewCompat.setOnApplyWindowInsetsListener(root) { view, insets ->
            val bars = insets.getInsets(
                WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout() or
                    WindowInsetsCompat.Type.ime(),
            )
            view.updatePadding(left + bars.left, top + bars.top, right + bars.right, bottom + bars.bottom)
            WindowInsetsCompat.CONSUMED
        }
    }

    private fun onSyncEvent(event: SyncEvent) {
        describe(event)?.let { syncLine.text = it }
        if (event is SyncEvent.PhotoSynced) lifecycleScope.launch { refresh() }
    }

    private fun startCamera() {
        val providerFuture = ProcessCameraProvider.getInstance(this)
        providerFuture.addListener({
            try {
                val preview = Preview.Builder().build()
                preview.setSurfaceProvider(findViewById<PreviewView>(R.id.preview).surfaceProvider)
                val capture = ImageCapture.Builder()
                    .setCaptureMode(ImageCapture.CAPTURE_MODE_MINIMIZE_LATENCY)
                    .build()
                val provider = providerFuture.get()
                provider.unbindAll()
                provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, capture)
                imageCapture = capture
                updateButtons()
            } catch (e: Exception) {
                status.text = getString(R.string.camera_failed, describe(e))
            }
        }, ContextCompat.getMainExecutor(this))
    }

    private fun createInspection(containerNumber: String) {
        val core = core ?: return
        lifecycleScope.launch {
            val input = NewInspection(
                containerNumber = containerNumber,
                inspectorId = null,
                notes = null,
                location = null,
            )
            val created = coreCall(::showStatus) { withContext(Dispatchers.IO) { core.createInspection(input) } }
            if (created != null) {
                select(created)
                refresh()
            }
        }
    }

    private fun select(inspection: Inspection) {
        current = inspection
        status.text = getString(R.string.selected, inspection.containerNumber)
        updateButtons()
    }

    /**
     * Captures to a JPEG file (CameraX writes the EXIF orientation), hands its bytes to the
     * core, and deletes it: the core keeps its own copy in its data directory.
     */
    private fun capture() {
        val core = core ?: return
        val capture = imageCapture ?: return
        val inspection = current ?: return
        val capturedAtMs = System.currentTimeMillis()
        val letter = FACE_LETTERS[face.selectedItemPosition]
        val file = File(cacheDir, "capture-$capturedAtMs.jpg")
        analysing = true
        updateButtons()
        capture.takePicture(
            ImageCapture.OutputFileOptions.Builder(file).build(),
            ContextCompat.getMainExecutor(this),
            object : ImageCapture.OnImageSavedCallback {
                override fun onImageSaved(output: ImageCapture.OutputFileResults) {
                    lifecycleScope.launch { analyse(core, inspection.id, file, capturedAtMs, letter) }
                }

                override fun onError(exception: ImageCaptureException) {
                    status.text = getString(R.string.camera_failed, describe(exception))
                    analysing = false
                    updateButtons()
                }
            },
        )
    }

    private suspend fun analyse(core: OmniCore, inspectionId: String, file: File, capturedAtMs: Long, face: String) {
        try {
            coreCall(::showStatus) {
                val photo = withContext(Dispatchers.IO) {
                    try {
                        core.addPhoto(inspectionId, file.readBytes(), capturedAtMs, face)
                    } finally {
                        file.delete()
                    }
                }
                status.setText(R.string.analysing)
                // On-device inference: CPU-bound and blocking.
                val edge = withContext(Dispatchers.Default) { core.edgeVerdict(photo.id) }
                showStatus(describe(edge))
                // Cloud verdict when the endpoint answers within the budget, else the edge one.
                showStatus(describe(core.verdict(photo.id)))
            }
        } finally {
            analysing = false
            updateButtons()
        }
        refresh()
    }

    /** The latest inspections, each with its photos' current verdicts. */
    private suspend fun refresh() {
        val core = core ?: return
        val rows = coreCall(::showStatus) {
            withContext(Dispatchers.IO) {
                val query = InspectionQuery(state = null, containerNumber = null, limit = 20u, offset = 0u)
                core.listInspections(query).map { it to core.inspection(it.inspection.id) }
            }
        } ?: return
        listed = rows.map { it.first }
        adapter.clear()
        adapter.addAll(rows.map { (summary, detail) -> describe(summary, detail) })
    }

    private fun updateButtons() {
        captureButton.isEnabled =
            core != null && imageCapture != null && current != null && !analysing
    }
}
