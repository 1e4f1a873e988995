// What every command shares: exit codes, the one-line error, terminal detection, number formats.
import ArgumentParser
import CNNConvKit
import CNNFormat
import CNNGraph
import CNNKernels
import CNNRuntime
import Foundation

/// The documented exit codes.
enum ExitStatus: Int32 {
    case ok = 0
    case verificationFailed = 1
    case usage = 2
    case invalidInput = 3

    var code: ExitCode { ExitCode(rawValue) }
}

/// A failure a command reports as `cnnconv: <message>` with an exit code.
struct CLIFailure: Error {
    var message: String
    var exitCode: ExitStatus
    init(_ message: String, exitCode: ExitStatus = .invalidInput) {
        self.message = message
        self.exitCode = exitCode
    }
    /// Any error from the libraries: their descriptions already name file, node or tensor.
    init(_ error: Error, exitCode: ExitStatus = .invalidInput) {
        self.init(String(describing: error), exitCode: exitCode)
    }
}

/// Checks an output path before any work: a regular file (or none yet), not one of `inputs`
/// (by device and inode). Exit 2 otherwise.
func checkOutput(_ path: String, notReplacing inputs: [String]) throws {
    do { _ = try OutputPath(path, notReplacing: inputs) } catch { throw CLIFailure(error, exitCode: .usage) }
}

enum Terminal {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
    static var colorEnabled: Bool {
        isTerminal(STDOUT_FILENO) && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// One line on stderr; names and paths in it are escaped (`displaySafe`): no raw control,
    /// newline or bidi character reaches the terminal.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("cnnconv: " + displaySafe(message) + "\n").utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    static func bold(_ s: String) -> String { colorEnabled ? "\u{1B}[1m\(s)\u{1B}[0m" : s }
    static func yellow(_ s: String) -> String { colorEnabled ? "\u{1B}[33m\(s)\u{1B}[0m" : s }
    static func green(_ s: String) -> String { colorEnabled ? "\u{1B}[32m\(s)\u{1B}[0m" : s }
    static func red(_ s: String) -> String { colorEnabled ? "\u{1B}[31m\(s)\u{1B}[0m" : s }
}

enum Format {
    /// 1.9 MB, 96.4 KB, 812 bytes (decimal units).
    static func bytes<I: BinaryInteger>(_ n: I) -> String {
        let v = Double(n)
        if v >= 1e9 { return String(format: "%.2f GB", v / 1e9) }
        if v >= 1e6 { return String(format: "%.1f MB", v / 1e6) }
        if v >= 1e3 { return String(format: "%.1f KB", v / 1e3) }
        return "\(n) bytes"
    }

    /// 640, 442K, 38.2M, 4.1G.
    static func count<I: BinaryInteger>(_ n: I) -> String {
        let v = Double(n)
        if v >= 1e9 { return String(format: "%.1fG", v / 1e9) }
        if v >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if v >= 1e4 { return String(format: "%.0fK", v / 1e3) }
        return String(n)
    }

    /// The one JSON convention of every `--json`: an object with `schemaVersion` (bumped when a
    /// key changes meaning or goes away), camelCase keys, sorted; NaN and ±infinity — which JSON
    /// cannot hold — as null (the reports count non-finite values beside them).
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite, negativeInfinity: nonFinite, nan: nonFinite)
        let text = String(decoding: try encoder.encode(Versioned(value: value)), as: UTF8.self)
        return text.replacingOccurrences(of: "\"\(nonFinite)\"", with: "null")
    }

    static let jsonSchemaVersion = 1
    /// A string no report contains, replaced by null after encoding.
    private static let nonFinite = "cnnconv:non-finite:5f0c2e"

    /// `value`'s keys plus `schemaVersion`, in one object.
    private struct Versioned<Value: Encodable>: Encodable {
        let value: Value
        enum Key: String, CodingKey { case schemaVersion }
        func encode(to encoder: Encoder) throws {
            try value.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(Format.jsonSchemaVersion, forKey: .schemaVersion)
        }
    }

    /// Left-aligned columns; `rightAligned` holds column indices to right-align.
    static func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        guard let width = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : (i == row.count - 1 ? cell : cell + pad)
            }.joined(separator: "  ").trimmingSpaces
        }
    }
}

/// Loads a model file — cnnconv, or ONNX (imported) when the path ends in .onnx — with the
/// `--input-shape` given, turning a failure into exit code 3 with the library's message (2 for
/// an input shape to give or that contradicts the model).
func loadModel(_ path: String, verifyChecksums: Bool = true, inputShapes: InputShapeOption) throws -> Graph {
    MappedFileGuard.watch(path)
    let shapes = try inputShapes.shapes()
    do { return try ModelFiles.load(path, verifyChecksums: verifyChecksums, inputShapes: shapes) } catch {
        throw CLIFailure(error)
    }
}

/// Input arrays from `.npy` files given as `FILE` (one per graph input, in order) or
/// `NAME=FILE`: the one reading of `run --input` and `recalibrate --inputs`.
func readInputs<S: KernelScalar>(_ items: [String], option: String, for graph: Graph, as _: S.Type) throws -> [String:
    NDArray<S>]
{
    guard items.count == graph.inputs.count else {
        throw CLIFailure(
            "\(items.count) \(option) file(s) for \(graph.inputs.count) graph input(s) (\(graph.inputs.map(\.name).joined(separator: ", ")))",
            exitCode: .usage)
    }
    var arrays: [String: NDArray<S>] = [:]
    for (i, item) in items.enumerated() {
        var name = graph.inputs[i].name, path = item
        if let eq = item.firstIndex(of: "="), graph.inputs.contains(where: { $0.name == String(item[..<eq]) }) {
            name = String(item[..<eq]); path = String(item[item.index(after: eq)...])
        }
        do { arrays[name] = try NPY.read(path).array(as: S.self) } catch { throw CLIFailure(error) }
    }
    return arrays
}
