import BackgroundTasks
import Foundation
import OmniFFI

/// Drains the upload queue (and checks for a model update) in a BGProcessingTask that iOS
/// runs when the network is available. The identifier is listed in Info.plist under
/// BGTaskSchedulerPermittedIdentifiers, with UIBackgroundModes "processing".
nonisolated enum BackgroundSync {
    static let identifier = "com.omniinspector.sample.sync"

    /// Must run before the app finishes launching.
    static func register() {
        let registered = BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            run(task)
        }
        if !registered { print("BackgroundSync: \(identifier) is missing from BGTaskSchedulerPermittedIdentifiers") }
    }

    static func schedule() {
        guard Integration.cloud != nil || Integration.modelRefresh != nil else { return }
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        do {
            try BGTaskScheduler.shared.submit(request)
        } catch {
            print("BackgroundSync: cannot schedule: \(error)")
        }
    }

    private static func run(_ task: BGTask) {
        schedule()  // the next run
        let completion = Completion(task)
        let work = Task {
            do {
                let core = try await CoreStore.shared.core()
                var success = true
                if Integration.cloud != nil {
                    success = try await core.syncNow().stopped == .idle
                }
                if Integration.modelRefresh != nil {
                    // On an expensive or constrained network the core answers .deferred.
                    _ = try await core.updateModel()
                }
                completion.finish(success: success)
            } catch {
                completion.finish(success: false)
            }
        }
        task.expirationHandler = {
            work.cancel()
            completion.finish(success: false)
        }
    }
}

/// Calls setTaskCompleted exactly once: from the work, or from the expiration handler. A Rust
/// future keeps running after its Swift task is cancelled; the queue is durable, so unfinished
/// uploads resume on the next run.
nonisolated private final class Completion: @unchecked Sendable {
    private let task: BGTask
    private let lock = NSLock()
    private var done = false

    init(_ task: BGTask) {
        self.task = task
    }

    func finish(success: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        done = true
        task.setTaskCompleted(success: success)
    }
}
