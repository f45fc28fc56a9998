import AVFoundation

/// The back camera, capturing JPEG (not the HEIF default: the core decodes JPEG and PNG).
/// All session state is confined to `queue`.
nonisolated final class Camera: @unchecked Sendable {
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
                // A portrait photo: the sensor's landscape picture turned 90° (the JPEG's EXIF
                // orientation says so; the core reads it).
                if #available(iOS 17, *) {
                    if connection.isVideoRotationAngleSupported(90) { connection.videoRotationAngle = 90 }
                } else if connection.isVideoOrientationSupported {
                    connection.videoOrientation = .portrait  // iOS 15 and 16 only: deprecated from 17
                }
                let settings = AVCapturePhotoSettings(format: [AVVideoCodecKey: AVVideoCodecType.jpeg])
                // Called on AVFoundation's queue. `self` is unwrapped once: the inner @Sendable
                // closure captures a constant, not the weak (mutable) capture.
                let delegate = PhotoCapture(continuation) { [weak self] id in
                    guard let self else { return }
                    self.queue.async { self.inFlight[id] = nil }
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

nonisolated enum CameraError: LocalizedError {
    case notRunning, noPhoto

    var errorDescription: String? {
        switch self {
        case .notRunning: return "The camera is not running"
        case .noPhoto: return "The camera returned no photo"
        }
    }
}

/// One capture: keeps the processed photo, resumes the caller when the capture finishes.
/// AVFoundation calls it on its own queue, one callback at a time.
nonisolated private final class PhotoCapture: NSObject, AVCapturePhotoCaptureDelegate {
    private let continuation: CheckedContinuation<Data, Error>
    private let finished: @Sendable (Int64) -> Void
    private var result: Result<Data, Error> = .failure(CameraError.noPhoto)

    init(_ continuation: CheckedContinuation<Data, Error>, finished: @escaping @Sendable (Int64) -> Void) {
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
