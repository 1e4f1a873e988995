// swift-tools-version:6.1
// libFuzzer targets for the readers of untrusted files: the model file reader (FormatFuzzer), the
// ONNX importer (ONNXFuzzer) and the .npy reader (NPYFuzzer). Kept out of the main package
// because they have no `main` of their own (libFuzzer provides it).
// Run: Fuzz/run.sh [TARGET] [SECONDS]; all targets briefly: Fuzz/ci.sh
import Foundation
import PackageDescription

/// The main package's identity is its folder's name, whatever the clone is called.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "cnnconv-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FormatFuzzer",
            dependencies: [.product(name: "CNNGraph", package: root), .product(name: "CNNFormat", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "ONNXFuzzer",
            dependencies: [.product(name: "CNNONNX", package: root), .product(name: "CNNGraph", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "NPYFuzzer",
            dependencies: [.product(name: "CNNRuntime", package: root)],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
