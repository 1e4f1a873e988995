// swift-tools-version:6.1
// cnnconv: a compact CNN model format, BatchNorm/Dropout folding, and a verifier.
// Module map and dependencies: ../shared/DESIGN.md (copied into README.md, "Layout").
import PackageDescription

// No unchecked-arithmetic optimization flag: it turns an integer overflow into a silent wrap (a hostile ConvTranspose
// stride became a wild memset). Hot loops run on unsafe pointers over sizes the geometry
// initializers prove in range; everything else keeps Swift's checks (issue 12).

let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")

let package = Package(
    name: "cnnconv",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnnconv", targets: ["cnnconv"]),
        .library(name: "CNNConvKit", targets: ["CNNConvKit"]),
        .library(name: "CNNFormat", targets: ["CNNFormat"]),
        .library(name: "CNNGraph", targets: ["CNNGraph"]),
        .library(name: "CNNPasses", targets: ["CNNPasses"]),
        .library(name: "CNNRuntime", targets: ["CNNRuntime"]),
        .library(name: "CNNVerify", targets: ["CNNVerify"]),
        .library(name: "CNNONNX", targets: ["CNNONNX"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CDeflate",
            pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        .target(
            name: "CNNFormat",
            dependencies: [
                "CZlib", "CDeflate", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "CNNGraph", dependencies: ["CNNFormat", "CNNKernels"],
            exclude: ["TensorOps/README.md", "Ops/README.md"]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        // oneDNN (libdnnl-dev: dnnl.h at build time), loaded with dlopen at run time.
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CNNKernels", dependencies: ["CBLAS", "CDNNL"]),
        .target(name: "CNNRuntime", dependencies: ["CNNGraph", "CNNKernels"]),
        .target(name: "CNNPasses", dependencies: ["CNNFormat", "CNNGraph", "CNNKernels"]),
        .target(name: "CNNVerify", dependencies: ["CNNFormat", "CNNGraph", "CNNRuntime", "CNNKernels"]),
        .target(
            name: "CCNNLoader",
            // generated/ (protoc-c output) is compiled in but is not a public header; the rest are
            // the standalone build's files (make -C Sources/CCNNLoader).
            exclude: ["Makefile", "README.md", "tools", "examples", "build", "libcnnm.map", "cnnm.pc.in"],
            cSettings: [.unsafeFlags(["-std=c99"]), .headerSearchPath("generated")],
            linkerSettings: [.linkedLibrary("protobuf-c"), .linkedLibrary("z"), .linkedLibrary("m")]
        ),
        .target(
            name: "CNNONNX",
            dependencies: ["CNNFormat", "CNNGraph", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "CNNConvKit",
            dependencies: ["CNNFormat", "CNNGraph", "CNNONNX", "CNNPasses", "CNNRuntime", "CNNVerify"]
        ),
        .executableTarget(
            name: "cnnconv",
            dependencies: [
                "CNNConvKit", "CNNFormat", "CNNGraph", "CNNKernels", "CNNONNX", "CNNRuntime", "CNNPasses", "CNNVerify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "CNNFixtures", dependencies: ["CNNGraph", "CNNKernels"]),
        .executableTarget(name: "make-fixtures", dependencies: ["CNNFixtures"]),
        .target(
            name: "CNNTestSupport", dependencies: ["CNNFormat", "CNNGraph", "CNNFixtures", protobuf],
            path: "Tests/CNNTestSupport"),
        .testTarget(name: "CNNFormatTests", dependencies: ["CNNFormat", "CNNTestSupport", protobuf]),
        .testTarget(name: "CNNGraphTests", dependencies: ["CNNGraph", "CNNFixtures", "CNNTestSupport", protobuf]),
        .testTarget(
            name: "CCNNLoaderTests",
            dependencies: [
                "CCNNLoader", "CNNFormat", "CNNGraph", "CNNPasses", "CNNRuntime", "CNNFixtures", "CNNONNX",
                "CNNTestSupport",
            ]),
        .testTarget(
            name: "CNNONNXTests", dependencies: ["CNNONNX", "CNNGraph", "CNNRuntime", "CNNPasses", "CNNTestSupport"]),
        .testTarget(
            name: "CNNRuntimeTests",
            dependencies: ["CNNRuntime", "CNNFixtures", "CNNONNX", "CNNPasses", "CNNTestSupport"]),
        .executableTarget(
            name: "cnnconv-bench", dependencies: ["CNNFormat", "CNNRuntime", "CNNGraph", "CNNKernels", "CNNONNX"],
            path: "Benchmarks/Sources"),
        .testTarget(
            name: "CNNPassesTests",
            dependencies: ["CNNPasses", "CNNVerify", "CNNRuntime", "CNNFixtures", "CNNTestSupport"]),
        .testTarget(
            name: "TrainedModelTests", dependencies: ["CNNPasses", "CNNVerify", "CNNRuntime", "CNNTestSupport"]),
        .testTarget(name: "CNNKernelsTests", dependencies: ["CNNKernels", "CNNTestSupport"]),
        .testTarget(name: "CNNConvKitTests", dependencies: ["CNNConvKit", "CNNTestSupport"]),
        .testTarget(
            name: "cnnconvTests", dependencies: ["cnnconv", "CNNGraph", "CNNONNX", "CNNRuntime", "CNNTestSupport"]),
    ]
)
