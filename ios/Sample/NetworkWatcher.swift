import Network
import OmniFFI

/// Feeds the network path into the core: online when the path is satisfied (sync pauses
/// offline); metered when it is expensive (cellular, hotspot) or constrained (Low Data Mode),
/// which defers model downloads.
nonisolated final class NetworkWatcher {
    private var monitor: NWPathMonitor?

    /// Idempotent. The monitor reports the current path right after it starts.
    func start(_ core: OmniCore) {
        guard monitor == nil else { return }
        let monitor = NWPathMonitor()
        monitor.pathUpdateHandler = { path in
            core.setOnline(online: path.status == .satisfied)
            core.setNetwork(network: path.isExpensive || path.isConstrained ? .metered : .unmetered)
        }
        monitor.start(queue: DispatchQueue(label: "com.omniinspector.sample.network"))
        self.monitor = monitor
    }
}
