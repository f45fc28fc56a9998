// swift-tools-version:5.9
// OmniInspector: the Rust core (omni-ffi) for iOS apps, as the Swift module OmniFFI.
// Run scripts/build-ios.sh first: it writes OmniFFI.xcframework and Sources/OmniFFI/.
import PackageDescription

let package = Package(
    name: "OmniInspector",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "OmniFFI", targets: ["OmniFFI"]),
    ],
    targets: [
        // libomni_ffi.a for device and simulator, with the C header and the module map of the
        // low-level module (omni_ffiFFI) that the generated Swift imports.
        .binaryTarget(name: "OmniFFIFramework", path: "OmniFFI.xcframework"),
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
