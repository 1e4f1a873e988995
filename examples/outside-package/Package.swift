// swift-tools-version:6.1
// A package outside cnnconv's tree that depends on it by path, as a Swift runtime would:
// scripts/check-outside-package.sh builds and runs it on a fixture.
import PackageDescription

let package = Package(
    name: "outside",
    dependencies: [.package(name: "cnnconv", path: "../..")],
    targets: [
        .executableTarget(name: "fold-and-verify", dependencies: [.product(name: "CNNConvKit", package: "cnnconv")])
    ]
)
