import SwiftUI

@main
struct OmniInspectorApp: App {
    @StateObject private var model = AppModel()
    @Environment(\.scenePhase) private var scenePhase

    init() {
        // Before launch finishes, as BGTaskScheduler requires.
        BackgroundSync.register()
    }

    var body: some Scene {
        WindowGroup {
            ContentView(model: model)
        }
        .onChange(of: scenePhase) { phase in
            if phase == .background { BackgroundSync.schedule() }
        }
    }
}
