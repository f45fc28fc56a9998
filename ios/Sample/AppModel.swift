import Foundation
import OmniFFI

/// The screen's state. Blocking core calls run in detached tasks; only strings and ids come
/// back to the main actor. While the app is in the foreground the core syncs in the
/// background (`startSync`); `BackgroundSync` covers the time it is not.
@MainActor
final class AppModel: ObservableObject {
    @Published var containerNumber = ""
    /// The CEDEX face the next photo shows (`X`: the whole container).
    @Published var face = "X"
    @Published private(set) var status = "Opening the core…"
    @Published private(set) var syncLine = ""
    @Published private(set) var rows: [InspectionRow] = []
    @Published private(set) var current: (id: String, containerNumber: String)?
    @Published private(set) var busy = false

    let camera = Camera()
    private var core: OmniCore?
    private var active = false
    private var sync: TaskHandle?

    func start() async {
        guard core == nil else { return }
        do {
            let core = try await CoreStore.shared.core()
            self.core = core
            status = describe(core.openReport())
            do {
                // Called on a Rust thread. `self` is unwrapped before the main-actor task: a
                // @Sendable closure must not capture the weak (mutable) reference itself.
                try core.setSyncListener(listener: SyncEvents { [weak self] event in
                    guard let self else { return }
                    Task { @MainActor in self.handle(event) }
                })
            } catch {
                syncLine = "No sync events: " + describe(error)
            }
            updateSync()
            await refresh()
        } catch {
            status = "Cannot open the core: " + describe(error)
        }
        let cameraReady = await camera.start()
        if !cameraReady {
            status = "Camera unavailable or access denied"
        }
    }

    /// The scene came to the foreground (true) or left it (false).
    func setActive(_ active: Bool) {
        self.active = active
        updateSync()
    }

    /// Background sync while active and a cloud endpoint is configured; stopped otherwise.
    private func updateSync() {
        guard let core, Integration.cloud != nil else { return }
        if active, sync == nil {
            do {
                sync = try core.startSync()
            } catch {
                syncLine = describe(error)
            }
        } else if !active, let running = sync {
            running.cancel()  // requests in flight are abandoned; their photos stay queued
            sync = nil
        }
    }

    func createInspection() async {
        guard let core else { return }
        let number = containerNumber.trimmingCharacters(in: .whitespaces)
        let input = NewInspection(containerNumber: number, inspectorId: nil, notes: nil, location: nil)
        do {
            let id = try await offMainActor { try core.createInspection(input: input).id }
            select(id: id, containerNumber: number)
            await refresh()
        } catch {
            status = describe(error)
        }
    }

    func select(id: String, containerNumber: String) {
        current = (id, containerNumber)
        status = "Inspection \(containerNumber): capture photos"
    }

    /// Capture → addPhoto (with the picked face) → on-device verdict at once → cloud-or-edge verdict.
    func capture() async {
        guard let core, let inspectionId = current?.id else { return }
        busy = true
        defer { busy = false }
        let capturedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
        let face = self.face
        do {
            let jpeg = try await camera.capture()
            let photoId = try await offMainActor {
                try core.addPhoto(inspectionId: inspectionId, bytes: jpeg, capturedAtMs: capturedAtMs, face: face).id
            }
            status = "Photo saved, analysing…"
            // On-device inference: CPU-bound and blocking.
            status = try await offMainActor { try describe(core.edgeVerdict(photoId: photoId)) }
            // The cloud verdict when the endpoint answers within the budget, else the edge one.
            status = try await describe(core.verdict(photoId: photoId))
        } catch {
            status = describe(error)
        }
        await refresh()
    }

    func refresh() async {
        guard let core else { return }
        do {
            rows = try await offMainActor { try loadRows(core) }
        } catch {
            status = describe(error)
        }
    }

    private func handle(_ event: SyncEvent) {
        if let line = describe(event) { syncLine = line }
        if case .photoSynced = event { Task { await refresh() } }
    }
}

/// Runs blocking work (SQLite, file I/O, inference) off the main actor.
nonisolated func offMainActor<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await Task.detached(priority: .userInitiated, operation: work).value
}

/// Forwards the core's sync events to a closure. Called on the core's threads.
nonisolated final class SyncEvents: SyncListener {
    private let handler: @Sendable (SyncEvent) -> Void

    init(_ handler: @escaping @Sendable (SyncEvent) -> Void) {
        self.handler = handler
    }

    func onEvent(event: SyncEvent) {
        handler(event)
    }
}

/// A CEDEX face the picker offers: its letter and name.
struct ContainerFace: Identifiable, Sendable {
    let letter: String
    let name: String
    var id: String { letter }

    static let all: [ContainerFace] = [
        ContainerFace(letter: "F", name: "Front"), ContainerFace(letter: "D", name: "Door"),
        ContainerFace(letter: "L", name: "Left side"), ContainerFace(letter: "R", name: "Right side"),
        ContainerFace(letter: "T", name: "Roof"), ContainerFace(letter: "U", name: "Understructure"),
        ContainerFace(letter: "I", name: "Interior"), ContainerFace(letter: "X", name: "Whole container"),
    ]
}
