// Dense row-major arrays the executor takes and returns, and the runtime's typed errors.
import CNNKernels

/// A dense row-major (C-order) array: NCHW for images, NC for features. `Scalar` is `Float`
/// (the fast path) or `Double` (the reference mode).
public struct NDArray<Scalar: KernelScalar>: Sendable, Equatable {
    /// Dimensions, outermost first (`[]` for a scalar).
    public var shape: [Int]
    /// The elements in row-major order; `count` equals the product of `shape`.
    public var values: [Scalar]

    /// `values.count` must equal the product of `shape` (a programming error otherwise).
    public init(shape: [Int], values: [Scalar]) {
        precondition(shape.reduce(1, *) == values.count, "NDArray: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// An array filled with `value` (zeros by default), e.g. an output buffer to fill.
    public init(shape: [Int], repeating value: Scalar = 0) {
        self.init(shape: shape, values: [Scalar](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of elements.
    public var count: Int { values.count }

    /// The same array in another precision (rounded once when narrowing).
    public func converted<Other: KernelScalar>(to: Other.Type = Other.self) -> NDArray<Other> {
        NDArray<Other>(shape: shape, values: values.map { Other($0) })
    }
}

/// Why the executor cannot plan or run a graph. Each case names the node or value at fault.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The graph failed validation or shape inference.
    case invalidGraph(String)
    /// A kernel refused a node's geometry or arguments.
    case kernel(node: String, message: String)
    /// An input was not given, or has the wrong shape.
    case missingInput(String)
    case inputShape(name: String, expected: [Int], found: [Int])
    /// An input name the graph does not declare.
    case unknownInput(String)
    /// A batch size that is not positive, or an MC dropout sample count below 1.
    case invalidArgument(String)

    /// One line naming what is wrong and where, for the CLI's stderr.
    public var description: String {
        func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
        switch self {
        case .invalidGraph(let m): return "cannot run the graph: \(m)"
        case .kernel(let node, let m): return "node '\(node)': \(m)"
        case .missingInput(let n): return "no value given for graph input '\(n)'"
        case .inputShape(let n, let e, let f):
            return "input '\(n)' has shape \(shape(f)), the graph expects \(shape(e))"
        case .unknownInput(let n): return "'\(n)' is not an input of the graph"
        case .invalidArgument(let m): return m
        }
    }
}
