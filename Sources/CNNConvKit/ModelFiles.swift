// Model files by what they are, not by which module reads them: a `.onnx` path is ONNX, any
// other path a cnnconv model file. Every command that takes or writes a model goes through here,
// so `fold model.onnx -o model.folded.onnx` and `verify a.onnx b.cnnm` just work.
import Foundation

/// One entry point for reading and writing any model file, so that every command accepts ONNX
/// and cnnconv files alike without choosing a module itself.
public enum ModelFiles {
    /// The kinds of model file cnnconv reads and writes.
    public enum Kind: String, Sendable {
        case cnnm, onnx
        /// By extension: `.onnx` (any case) is ONNX; everything else is a cnnconv model file,
        /// whose reader checks the magic and says so when it is not one.
        public init(path: String) {
            self = URL(fileURLWithPath: path).pathExtension.lowercased() == "onnx" ? .onnx : .cnnm
        }
    }

    /// Why a model file could not be read or written; the description names the file.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The reader's or writer's message, already naming the file.
        public let description: String
    }

    /// Reads a model: ONNX is imported (constant sub-graphs computed, exporters' patterns
    /// recognised); a cnnconv file is mapped and checked.
    ///
    /// - Parameter inputShape: for an ONNX model that leaves its input shape open.
    public static func load(_ path: String, verifyChecksums: Bool = true, inputShape: [Int]? = nil) throws(Failure)
        -> Graph
    {
        switch Kind(path: path) {
        case .onnx:
            do { return try ONNXImporter.importModel(path: path, inputShape: inputShape).0 } catch {
                throw Failure(description: error.description)
            }
        case .cnnm:
            do { return try Graph(contentsOf: path, verifyChecksums: verifyChecksums) } catch {
                throw Failure(description: String(describing: error))
            }
        }
    }

    /// Writes `graph` as the kind `path` names (atomically either way).
    public static func write(_ graph: Graph, to path: String) throws(Failure) {
        switch Kind(path: path) {
        case .onnx:
            do { try ONNXExporter.write(graph, to: path) } catch { throw Failure(description: error.description) }
        case .cnnm:
            do { try graph.write(to: path) } catch { throw Failure(description: String(describing: error)) }
        }
    }
}
