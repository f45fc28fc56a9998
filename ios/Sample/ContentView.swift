import SwiftUI

struct ContentView: View {
    @ObservedObject var model: AppModel
    @Environment(\.scenePhase) private var scenePhase

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            CameraPreview(session: model.camera.session)
                .frame(maxWidth: .infinity)
                .frame(height: 280)
                .clipped()
            HStack {
                TextField("Container number (ISO 6346)", text: $model.containerNumber)
                    .textInputAutocapitalization(.characters)
                    .disableAutocorrection(true)
                    .textFieldStyle(.roundedBorder)
                Button("New") { Task { await model.createInspection() } }
            }
            Picker("Face", selection: $model.face) {
                ForEach(ContainerFace.all) { face in
                    Text("\(face.name) (\(face.letter))").tag(face.letter)
                }
            }
            .pickerStyle(.menu)
            Button("Capture") { Task { await model.capture() } }
                .buttonStyle(.borderedProminent)
                .frame(maxWidth: .infinity)
                .disabled(model.current == nil || model.busy)
            Text(model.status).font(.footnote)
            Text(model.syncLine).font(.footnote).foregroundColor(.secondary)
            List(model.rows) { row in
                Button {
                    model.select(id: row.id, containerNumber: row.containerNumber)
                } label: {
                    VStack(alignment: .leading, spacing: 2) {
                        Text(row.title).font(.subheadline)
                        ForEach(Array(row.photos.enumerated()), id: \.offset) { _, photo in
                            Text(photo).font(.caption).foregroundColor(.secondary)
                        }
                    }
                }
            }
            .listStyle(.plain)
        }
        .padding()
        .task { await model.start() }
        // Runs at first appearance and at every change of phase (iOS 15+; no onChange needed).
        .task(id: scenePhase) {
            model.setActive(scenePhase == .active)
            if scenePhase == .background { BackgroundSync.schedule() }
        }
    }
}
