package com.omniinspector.sample

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import android.util.Log
import com.omniinspector.ffi.core.NetworkKind
import com.omniinspector.ffi.OmniCore

/**
 * Feeds the default network's state into the core: online or not (sync pauses offline), and
 * metered or not (model downloads wait for an unmetered network unless allowMetered).
 */
class NetworkWatcher(private val core: OmniCore) : ConnectivityManager.NetworkCallback() {

    fun register(context: Context) {
        val connectivity = context.getSystemService(ConnectivityManager::class.java)
        // The current state first, so a worker starting now does not see a stale default.
        update(connectivity.activeNetwork?.let { connectivity.getNetworkCapabilities(it) })
        connectivity.registerDefaultNetworkCallback(this)
    }

    override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) =
        update(capabilities)

    override fun onLost(network: Network) = update(null)

    /** Called on ConnectivityManager's thread: a failure is logged, never thrown there. */
    private fun update(capabilities: NetworkCapabilities?) {
        coreCall({ Log.w("NetworkWatcher", it) }) {
            core.setOnline(capabilities?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true)
            if (capabilities != null) {
                core.setNetwork(if (isUnmetered(capabilities)) NetworkKind.UNMETERED else NetworkKind.METERED)
            }
        }
    }

    private fun isUnmetered(capabilities: NetworkCapabilities): Boolean =
        capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) ||
            (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R &&
                capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_TEMPORARILY_NOT_METERED))
}
