// swift-tools-version:6.1
// A libFuzzer target for the model file reader, kept out of the main package because it has
// no `main` of its own (libFuzzer provides it). Run: Fuzz/run.sh [SECONDS]
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
    ]
)
