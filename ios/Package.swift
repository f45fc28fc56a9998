// swift-tools-version:5.10
// OmniInspector: the Rust core (omni-ffi) for iOS apps, as the Swift module OmniFFI.
// Run scripts/build-ios.sh first: it writes OmniFFIFramework.xcframework and Sources/OmniFFI/.
// 5.10 (Xcode 15.3): the generated Swift uses nonisolated(unsafe).
import PackageDescription

let package = Package(
    name: "OmniInspector",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "OmniFFI", targets: ["OmniFFI"]),
    ],
    targets: [
        // libomni_ffi.a for device and simulator (arm64, x86_64), with the C header and the
        // module map of the low-level module (omni_ffiFFI) that the generated Swift imports.
        // A local binary target's XCFramework is named after the target.
        .binaryTarget(name: "OmniFFIFramework", path: "OmniFFIFramework.xcframework"),
        // The generated Swift bindings (scripts/build-ios.sh copies them here).
        .target(
            name: "OmniFFI",
            dependencies: ["OmniFFIFramework"],
            path: "Sources/OmniFFI",
            // Rust dependencies may call Security.framework (e.g. for random numbers); a static
            // library cannot carry that link itself. Harmless when unused.
            linkerSettings: [.linkedFramework("Security")]
        ),
    ]
)
