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
        /// What went wrong, for the caller to choose an exit code or a remedy.
        public enum Cause: Sendable, Equatable {
            /// The file cannot be read, or is not a valid model.
            case invalidModel
            /// An ONNX input's shape is open and no shape was given for it; `example` is a value
            /// `--input-shape` could take.
            case needsInputShape(path: String, input: String, declared: String, example: String)
            /// A given input shape contradicts the model: rank, a fixed dimension, no such input.
            case inputShapeMismatch
        }
        /// The reader's or writer's message, already naming the file.
        public let description: String
        /// What went wrong.
        public var cause = Cause.invalidModel

        /// An ONNX import's failure, by its cause (one mapping for every command that imports).
        public init(_ error: ONNXError, path: String) {
            switch error {
            case .unknownInputShape(let input, let declared, let example):
                self.init(
                    description: "\(path): \(error)",
                    cause: .needsInputShape(path: path, input: input, declared: declared, example: example))
            case .inputShapeMismatch: self.init(description: "\(path): \(error)", cause: .inputShapeMismatch)
            default: self.init(description: error.description)
            }
        }

        /// A failure with its message and cause.
        public init(description: String, cause: Cause = .invalidModel) {
            self.description = description; self.cause = cause
        }
    }

    /// Reads a model: ONNX is imported (constant sub-graphs computed, exporters' patterns
    /// recognised); a cnnconv file is mapped and checked.
    ///
    /// - Parameter inputShapes: input shapes (`--input-shape`): for an ONNX model that leaves
    ///   them open; on a cnnconv file, a symbolic batch becomes the given one (`applying`).
    public static func load(_ path: String, verifyChecksums: Bool = true, inputShapes: InputShapes = InputShapes())
        throws(Failure) -> Graph
    {
        switch Kind(path: path) {
        case .onnx:
            do {
                return try ONNXImporter.importModel(
                    path: path, inputShape: inputShapes.unnamed, inputShapes: inputShapes.named
                ).0
            } catch {
                throw Failure(error, path: path)
            }
        case .cnnm:
            let graph: Graph
            do { graph = try Graph(contentsOf: path, verifyChecksums: verifyChecksums) } catch {
                throw Failure(description: String(describing: error))
            }
            return try applying(inputShapes, to: graph, path: path)
        }
    }

    /// `graph` with the given input shapes: each must have the input's rank and agree with every
    /// fixed dimension; what they give a symbolic dimension (the batch) becomes that batch,
    /// fixed, on every input and output. Nothing given: `graph` as it is.
    public static func applying(_ shapes: InputShapes, to graph: Graph, path: String) throws(Failure) -> Graph {
        guard !shapes.isEmpty else { return graph }
        func mismatch(_ input: String, _ given: [Int], _ message: String) -> Failure {
            Failure(
                description:
                    "\(path): --input-shape \(given.map(String.init).joined(separator: ",")) for input '\(input)': \(message)",
                cause: .inputShapeMismatch)
        }
        let names = graph.inputs.map(\.name)
        for (name, given) in shapes.named.sorted(by: { $0.key < $1.key }) where !names.contains(name) {
            throw mismatch(name, given, "the model has no such input (inputs: \(names.joined(separator: ", ")))")
        }
        if let given = shapes.unnamed, names.count > 1, shapes.named.isEmpty {
            throw mismatch(names[0], given, "the model has \(names.count) inputs; name the one meant (name=shape)")
        }
        var batch: (value: Int, input: String)? = nil
        for input in graph.inputs {
            guard let given = shapes.named[input.name] ?? (names.count == 1 ? shapes.unnamed : nil) else { continue }
            let declared = "[" + input.shape.map(\.description).joined(separator: ", ") + "]"
            guard given.count == input.shape.count else {
                throw mismatch(input.name, given, "the model declares rank \(input.shape.count) (\(declared))")
            }
            for (axis, (d, v)) in zip(input.shape, given).enumerated() {
                switch d {
                case .fixed(let n) where n != v:
                    throw mismatch(
                        input.name, given, "dimension \(axis) is fixed at \(n) in the model (\(declared)), not \(v)")
                case .symbol(let s):
                    if let b = batch, b.value != v {
                        throw mismatch(
                            input.name, given,
                            "dimension \(axis) (\(s)) is the batch, which input '\(b.input)' gives as \(b.value)")
                    }
                    batch = (v, input.name)
                default: break
                }
            }
        }
        guard let batch else { return graph }
        var g = graph
        func fixed(_ shape: [CNNGraph.Dimension]) -> [CNNGraph.Dimension] {
            shape.map { if case .symbol = $0 { return .fixed(batch.value) } else { return $0 } }
        }
        for i in g.inputs.indices { g.inputs[i].shape = fixed(g.inputs[i].shape) }
        for i in g.outputs.indices { g.outputs[i].shape = fixed(g.outputs[i].shape) }
        return g
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

/// Shapes given for a model's inputs (`--input-shape`): one for the only input, or one per
/// input by name. Parsed here once, for every command that reads a model.
public struct InputShapes: Sendable, Equatable {
    /// The shape of the model's only input.
    public var unnamed: [Int]?
    /// Shapes by input name.
    public var named: [String: [Int]]

    /// No shapes: the model's own.
    public init(unnamed: [Int]? = nil, named: [String: [Int]] = [:]) { self.unnamed = unnamed; self.named = named }

    /// True when no shape is given.
    public var isEmpty: Bool { unnamed == nil && named.isEmpty }

    /// Parses the option's values: `1,3,224,224` for the only input, `name=1,3,224,224` per input.
    public init(parsing items: [String]) throws(InputShapeSyntaxError) {
        self.init()
        for item in items {
            var name: String? = nil
            var dims = Substring(item)
            if let eq = item.lastIndex(of: "=") { name = String(item[..<eq]); dims = item[item.index(after: eq)...] }
            let values = dims.split(separator: ",", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw InputShapeSyntaxError(
                    description:
                        "--input-shape '\(item)' must be positive integers separated by commas, e.g. 1,3,224,224")
            }
            if let name {
                named[name] = values.compactMap { $0 }
            } else {
                guard unnamed == nil else {
                    throw InputShapeSyntaxError(description: "give --input-shape once, or as name=shape per input")
                }
                unnamed = values.compactMap { $0 }
            }
        }
    }
}

/// An `--input-shape` value that does not parse (a usage error).
public struct InputShapeSyntaxError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, with an example of the syntax.
    public let description: String
}
