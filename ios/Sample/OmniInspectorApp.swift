import SwiftUI

@main
struct OmniInspectorApp: App {
    @StateObject private var model = AppModel()

    init() {
        // Before launch finishes, as BGTaskScheduler requires.
        BackgroundSync.register()
    }

    var body: some Scene {
        // ContentView follows the scene phase: background sync while active, the
        // BGProcessingTask scheduled when the app goes to the background.
        WindowGroup {
            ContentView(model: model)
        }
    }
}
