// Helpers shared by the test targets: repository paths, temporary folders, running the CLI.
import CNNFixtures
import CNNGraph
import Foundation

/// The checkout the tests run from, so fixtures are found wherever the package lives.
public enum Repository {
    /// The package root, found from this file's location.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The path of a file under `fixtures/`.
    public static func fixture(_ name: String) -> String { root + "/fixtures/" + name }
}

/// A fresh folder under the system's temporary directory, removed on deinit.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The folder, which exists until the object goes away.
    public let path: String
    /// Creates a uniquely named folder, so parallel tests never share files.
    public init() {
        path = NSTemporaryDirectory() + "cnnconv-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    /// A path inside the folder (not created).
    public func file(_ name: String) -> String { path + "/" + name }
    /// Writes `bytes` to a new file in the folder and returns its path.
    public func write(_ bytes: [UInt8], to name: String) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A file's bytes, or none when it cannot be read (tests then fail on the content).
public func readBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

/// The result of running the built `cnnconv` executable.
public struct CommandResult: Sendable {
    /// The exit status, which the CLI's contract fixes (0, 1, 2, 3).
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// Runs the built CLI as a user would, so tests hold its exit codes and output.
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

    /// Runs `cnnconv` with `arguments` (and `NO_COLOR=1`) and waits for it.
    public static func run(_ arguments: [String], environment: [String: String] = [:], currentDirectory: String? = nil)
        throws -> CommandResult
    {
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
        return CommandResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// Tables generated from the code and committed under `schema/`: each is checked by a test that
/// compares the committed text with what the code renders now.
public enum GeneratedDocs {
    /// The committed text of `relativePath` (nil when it is missing), after rewriting it with
    /// `wanted` first when `CNNCONV_REGENERATE_DOCS=1` is set: the one way such a table is updated.
    public static func committed(_ relativePath: String, wanted: String) throws -> String? {
        let path = Repository.root + "/" + relativePath
        if ProcessInfo.processInfo.environment["CNNCONV_REGENERATE_DOCS"] == "1" {
            try wanted.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }
}
