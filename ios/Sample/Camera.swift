import AVFoundation

/// The back camera, capturing JPEG (not the HEIF default: the core decodes JPEG and PNG).
/// All session state is confined to `queue`.
final class Camera: @unchecked Sendable {
    let session = AVCaptureSession()
    private let output = AVCapturePhotoOutput()
    private let queue = DispatchQueue(label: "com.omniinspector.sample.camera")
    /// AVCapturePhotoOutput does not keep its delegates alive.
    private var inFlight: [Int64: PhotoCapture] = [:]

    /// Asks for camera access, then configures and starts the session. False if denied or unavailable.
    func start() async -> Bool {
        guard await AVCaptureDevice.requestAccess(for: .video) else { return false }
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.configureAndRun()) }
        }
    }

    /// The photo as JPEG bytes, with its EXIF orientation.
    func capture() async throws -> Data {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                guard self.session.isRunning, let connection = self.output.connection(with: .video) else {
                    continuation.resume(throwing: CameraError.notRunning)
                    return
                }
                if connection.isVideoOrientationSupported { connection.videoOrientation = .portrait }
                let settings = AVCapturePhotoSettings(format: [AVVideoCodecKey: AVVideoCodecType.jpeg])
                let delegate = PhotoCapture(continuation) { [weak self] id in
                    self?.queue.async { self?.inFlight[id] = nil }
                }
                self.inFlight[settings.uniqueID] = delegate
                self.output.capturePhoto(with: settings, delegate: delegate)
            }
        }
    }

    private func configureAndRun() -> Bool {
        if session.inputs.isEmpty {
            session.beginConfiguration()
            defer { session.commitConfiguration() }
            session.sessionPreset = .photo
            guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
                  let input = try? AVCaptureDeviceInput(device: device),
                  session.canAddInput(input), session.canAddOutput(output)
            else { return false }
            session.addInput(input)
            session.addOutput(output)
        }
        if !session.isRunning { session.startRunning() }
        return true
    }
}

enum CameraError: LocalizedError {
    case notRunning, noPhoto

    var errorDescription: String? {
        switch self {
        case .notRunning: return "The camera is not running"
        case .noPhoto: return "The camera returned no photo"
        }
    }
}

/// One capture: keeps the processed photo, resumes the caller when the capture finishes.
private final class PhotoCapture: NSObject, AVCapturePhotoCaptureDelegate {
    private let continuation: CheckedContinuation<Data, Error>
    private let finished: (Int64) -> Void
    private var result: Result<Data, Error> = .failure(CameraError.noPhoto)

    init(_ continuation: CheckedContinuation<Data, Error>, finished: @escaping (Int64) -> Void) {
        self.continuation = continuation
        self.finished = finished
    }

    func photoOutput(_ output: AVCapturePhotoOutput, didFinishProcessingPhoto photo: AVCapturePhoto, error: Error?) {
        if let error {
            result = .failure(error)
        } else if let data = photo.fileDataRepresentation() {
            result = .success(data)
        }
    }

    /// Always called, last, exactly once per capture.
    func photoOutput(_ output: AVCapturePhotoOutput, didFinishCaptureFor resolvedSettings: AVCaptureResolvedPhotoSettings, error: Error?) {
        if let error, case .failure = result { result = .failure(error) }
        continuation.resume(with: result)
        finished(resolvedSettings.uniqueID)
    }
}
