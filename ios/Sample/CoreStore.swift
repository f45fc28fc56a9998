import Foundation
import OmniFFI
import os

// Types and functions the core calls, or that run off the main actor, are `nonisolated`: the
// sample builds with Xcode 26's default MainActor isolation (project.yml) as well as without it.

/// Writes the core's log lines (captures, every sync attempt, model refresh) to the unified
/// log, subsystem "com.omniinspector", category = the core module. Called on Rust threads.
nonisolated final class UnifiedLog: LogSink {
    func log(record: LogRecord) {
        let logger = Logger(subsystem: "com.omniinspector", category: record.target)
        let type: OSLogType
        switch record.level {
        case .error: type = .error
        case .warn: type = .default
        case .info: type = .info
        case .debug, .trace: type = .debug
        }
        logger.log(level: type, "\(record.message, privacy: .public)")
    }
}

/// The one `OmniCore` of the process, shared by the UI and the background task.
/// `OmniCore.open` blocks (SQLite, crash recovery, model load), so it runs once, off the main thread.
actor CoreStore {
    static let shared = CoreStore()

    private var opening: Task<OmniCore, Error>?
    private let network = NetworkWatcher()

    func core() async throws -> OmniCore {
        let task = opening ?? Task.detached(priority: .userInitiated) { try CoreStore.open() }
        opening = task
        do {
            let core = try await task.value
            network.start(core)
            return core
        } catch {
            opening = nil  // e.g. OmniError.Busy or Storage: a later call tries again
            throw error
        }
    }

    /// Off the main thread (a detached task): the first call into the library, and a blocking open.
    private static func open() throws -> OmniCore {
        do {
            try setLogSink(sink: UnifiedLog(), level: .info)
        } catch {
            Logger(subsystem: "com.omniinspector", category: "sample")
                .error("core logs are not forwarded: \(describe(error), privacy: .public)")
        }
        // Bundle resources are plain files on iOS: the core reads the model in place.
        guard let model = Bundle.main.path(forResource: "edge-model", ofType: "onnx") else {
            throw SetupError.modelNotBundled
        }
        let files = FileManager.default
        var dataDir = try files
            .url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("omni", isDirectory: true)
        try files.createDirectory(at: dataDir, withIntermediateDirectories: true)
        // The SQLite queue and the photos belong to this install: not in iCloud or computer
        // backups, nor restored onto another device (a restored queue would sync photos twice).
        var notBackedUp = URLResourceValues()
        notBackedUp.isExcludedFromBackup = true
        try dataDir.setResourceValues(notBackedUp)
        let config = CoreConfig(
            dataDir: dataDir.path,
            bundledModelPath: model,
            threads: UInt32(min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))),
            cloud: Integration.cloud,
            sync: nil,  // the core's defaults
            modelRefresh: Integration.modelRefresh
        )
        let credentials = Integration.cognitoSession.map { CognitoCredentialsProvider(session: $0) }
        return try OmniCore.open(config: config, credentials: credentials)
    }
}

nonisolated enum SetupError: LocalizedError {
    case modelNotBundled

    var errorDescription: String? {
        "edge-model.onnx is not in the app bundle: add core/models/edge-model.onnx to the app target"
    }
}
