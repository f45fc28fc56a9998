package com.omniinspector.sample

import android.content.Context
import android.util.Log
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import com.omniinspector.ffi.InternalException
import com.omniinspector.ffi.ModelUpdate
import com.omniinspector.ffi.OmniException
import java.util.concurrent.TimeUnit

private const val TAG = "OmniWorkers"

object Workers {
    private const val SYNC = "omni-sync"
    private const val MODEL_REFRESH = "omni-model-refresh"

    /** Periodic sync when a cloud endpoint is configured, periodic model refresh when a manifest is. */
    fun schedule(context: Context) {
        val work = WorkManager.getInstance(context)
        if (Integration.cloud != null) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
                .build()
            work.enqueueUniquePeriodicWork(SYNC, ExistingPeriodicWorkPolicy.KEEP, request)
        } else {
            work.cancelUniqueWork(SYNC)
        }
        if (Integration.modelRefresh != null) {
            val request = PeriodicWorkRequestBuilder<ModelRefreshWorker>(24, TimeUnit.HOURS)
                .setConstraints(
                    Constraints.Builder()
                        .setRequiredNetworkType(NetworkType.UNMETERED)
                        .setRequiresBatteryNotLow(true)
                        .build(),
                )
                .build()
            work.enqueueUniquePeriodicWork(MODEL_REFRESH, ExistingPeriodicWorkPolicy.KEEP, request)
        } else {
            work.cancelUniqueWork(MODEL_REFRESH)
        }
    }
}

/**
 * Drains the upload queue once. Stopping the work cancels the Rust future; photos not sent stay
 * queued (the queue is durable) for the next period, whatever `report.stopped` says.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result = try {
        val report = applicationContext.omniCore().syncNow()
        Log.i(TAG, "sync: $report")
        Result.success()
    } catch (e: OmniException) {
        Log.w(TAG, "sync failed", e)
        if (e.isTransient()) Result.retry() else Result.failure()
    } catch (e: InternalException) {
        Log.e(TAG, "sync failed: a Rust panic", e)
        Result.failure()
    }
}

/** Checks the signed manifest and installs a newer model; the core verifies it before use. */
class ModelRefreshWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result = try {
        when (val update = applicationContext.omniCore().updateModel()) {
            is ModelUpdate.UpToDate -> Result.success()
            is ModelUpdate.Installed -> {
                Log.i(TAG, "model ${update.name} ${update.version} installed (replaced ${update.replaced})")
                Result.success()
            }
            // The core still sees a metered network; WorkManager's view may be ahead of it.
            is ModelUpdate.Deferred -> Result.retry()
        }
    } catch (e: OmniException) {
        Log.w(TAG, "model refresh failed", e)
        if (e.isTransient()) Result.retry() else Result.failure()
    } catch (e: InternalException) {
        Log.e(TAG, "model refresh failed: a Rust panic", e)
        Result.failure()
    }
}
