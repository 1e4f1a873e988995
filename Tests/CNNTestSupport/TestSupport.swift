// Helpers shared by the test targets: repository paths, temporary folders, running the CLI.
import CNNFixtures
import CNNGraph
import Foundation

public enum Repository {
    /// The package root, found from this file's location.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func fixture(_ name: String) -> String { root + "/fixtures/" + name }
}

/// A fresh folder under the system's temporary directory, removed on deinit.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String
    public init() {
        path = NSTemporaryDirectory() + "cnnconv-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func file(_ name: String) -> String { path + "/" + name }
    public func write(_ bytes: [UInt8], to name: String) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

public func readBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

/// The result of running the built `cnnconv` executable.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum CLI {
    /// The `cnnconv` binary in the build folder this test bundle was built into.
    public static let executable: String = {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("cnnconv").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        for dir in Bundle.allBundles.map({ $0.bundleURL.deletingLastPathComponent() }) {
            let p = dir.appendingPathComponent("cnnconv").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return Repository.root + "/.build/debug/cnnconv"
    }()

    public static func run(_ arguments: [String], environment: [String: String] = [:], currentDirectory: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so a large output cannot block the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }
}
