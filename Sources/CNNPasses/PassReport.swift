// What a pass did and what it skipped, with reasons — the record `fold --explain` prints.
import CNNFormat
import CNNGraph

public struct PassReport: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case folded, removed, converted, merged, skipped
    }
    public struct Line: Codable, Sendable, Equatable {
        public var action: Action
        public var node: String
        public var detail: String
        /// The layer that absorbed the node, when one did.
        public var target: String?
    }
    public var pass: String
    public var lines: [Line] = []

    public init(pass: String) { self.pass = pass }

    public var changed: Bool { lines.contains { $0.action != .skipped } }

    mutating func record(_ action: Action, _ node: String, _ detail: String, target: String? = nil) {
        lines.append(Line(action: action, node: node, detail: detail, target: target))
    }
}

/// A graph rewrite: a name, and a function from a graph to a graph plus its report.
public struct Pass: Sendable {
    public let name: String
    public let summary: String
    let body: @Sendable (Graph, FoldOptions) throws(PassError) -> (Graph, PassReport)

    public func run(_ graph: Graph, options: FoldOptions = FoldOptions()) throws(PassError) -> (Graph, PassReport) {
        try body(graph, options)
    }
}

public struct FoldOptions: Sendable {
    /// The element type the folded weights will be stored in: folding rounds once, from
    /// Float64 straight to it.
    public var storage: StorageElement = .float32
    public init(storage: StorageElement = .float32) { self.storage = storage }

    /// The format's element types (one enum for the format and the passes).
    public typealias StorageElement = StorageFormat.ElementType

    /// `v` rounded once to the storage type (and held exactly as a Float).
    @inline(__always)
    func round(_ v: Double) -> Float {
        switch storage {
        case .float32: return Float(v)
        case .float16: return Float(Float16(v))
        case .bfloat16:
            // Round to nearest even at bit 16 of the binary32 encoding, from the double directly:
            // take the float nearest v with 8 significant bits.
            let f = Float(v)
            let bits = f.bitPattern
            let down = Float(bitPattern: bits & 0xFFFF_0000)
            let up = Float(bitPattern: (bits & 0xFFFF_0000) &+ 0x10000)
            if !f.isFinite || f == down { return f }
            let dDown = abs(v - Double(down)), dUp = abs(Double(up) - v)
            if dDown < dUp { return down }
            if dUp < dDown { return up }
            return (bits >> 16) & 1 == 0 ? down : up
        }
    }
}

public enum PassError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidGraph(GraphError)
    case unknownPass(String, known: [String])
    public var description: String {
        switch self {
        case .invalidGraph(let e): return e.description
        case .unknownPass(let name, let known): return "unknown pass '\(name)'; passes: " + known.joined(separator: ", ")
        }
    }
}
