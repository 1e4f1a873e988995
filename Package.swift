// swift-tools-version:6.1
// cnnconv: a compact CNN model format, BatchNorm/Dropout folding, and a verifier.
// Module map and dependencies: ../shared/DESIGN.md (copied into README.md, "Layout").
import PackageDescription

/// The executor's hot loops are array- and pointer-indexed; bounds checks there cost 2-10x.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")

let package = Package(
    name: "cnnconv",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnnconv", targets: ["cnnconv"]),
        .library(name: "CNNFormat", targets: ["CNNFormat"]),
        .library(name: "CNNGraph", targets: ["CNNGraph"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "CNNFormat",
            dependencies: ["CZlib", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(name: "CNNGraph", dependencies: ["CNNFormat"]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CNNKernels", dependencies: ["CBLAS"], swiftSettings: fastMath),
        .target(name: "CNNRuntime", dependencies: ["CNNGraph", "CNNKernels"], swiftSettings: fastMath),
        .target(name: "CNNPasses", dependencies: ["CNNGraph"]),
        .target(name: "CNNVerify", dependencies: ["CNNGraph", "CNNRuntime", "CNNKernels"]),
        .target(
            name: "CCNNLoader",
            exclude: ["Makefile", "README.md", "tools", "build"],
            cSettings: [.unsafeFlags(["-std=c99"])],
            linkerSettings: [.linkedLibrary("protobuf-c"), .linkedLibrary("z"), .linkedLibrary("m")]
        ),
        .target(
            name: "CNNONNX",
            dependencies: ["CNNGraph", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .executableTarget(
            name: "cnnconv",
            dependencies: [
                "CNNFormat", "CNNGraph", "CNNONNX", "CNNRuntime", "CNNPasses", "CNNVerify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "CNNFixtures", dependencies: ["CNNGraph", "CNNKernels"]),
        .executableTarget(name: "make-fixtures", dependencies: ["CNNFixtures"]),
        .target(name: "CNNTestSupport", dependencies: ["CNNFormat", "CNNGraph", "CNNFixtures", protobuf], path: "Tests/CNNTestSupport"),
        .testTarget(name: "CNNFormatTests", dependencies: ["CNNFormat", "CNNTestSupport", protobuf]),
        .testTarget(name: "CNNGraphTests", dependencies: ["CNNGraph", "CNNFixtures", "CNNTestSupport", protobuf]),
        .testTarget(name: "CCNNLoaderTests", dependencies: ["CCNNLoader", "CNNFormat", "CNNGraph", "CNNPasses", "CNNRuntime", "CNNFixtures", "CNNTestSupport"]),
        .testTarget(name: "CNNONNXTests", dependencies: ["CNNONNX", "CNNGraph", "CNNRuntime", "CNNPasses", "CNNTestSupport"]),
        .testTarget(name: "CNNRuntimeTests", dependencies: ["CNNRuntime", "CNNFixtures", "CNNONNX", "CNNPasses", "CNNTestSupport"]),
        .executableTarget(name: "cnnconv-bench", dependencies: ["CNNRuntime", "CNNGraph", "CNNONNX"], path: "Benchmarks/Sources"),
        .testTarget(name: "CNNPassesTests", dependencies: ["CNNPasses", "CNNVerify", "CNNRuntime", "CNNFixtures", "CNNTestSupport"]),
        .testTarget(name: "TrainedModelTests", dependencies: ["CNNPasses", "CNNVerify", "CNNRuntime", "CNNTestSupport"]),
        .testTarget(name: "CNNKernelsTests", dependencies: ["CNNKernels", "CNNTestSupport"]),
        .testTarget(name: "cnnconvTests", dependencies: ["cnnconv", "CNNGraph", "CNNTestSupport"]),
    ]
)
