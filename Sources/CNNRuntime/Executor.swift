// The reference executor: plans a Graph once for a batch size (shapes, converted parameters,
// activation buffers shared between values whose lifetimes do not overlap, conv scratch) and
// runs it in eval, train or Monte Carlo dropout mode, in Float32 or Float64.
import CNNGraph
import CNNKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How stochastic and batch-dependent ops behave.
public enum ExecutionMode: String, Sendable, CaseIterable {
    /// BatchNorm on running statistics; inverted dropout is the identity, classic dropout
    /// multiplies by the keep probability 1 − p.
    case eval
    /// BatchNorm on mini-batch statistics (running statistics reported, updated with momentum);
    /// dropout samples masks (inverted scales kept units by 1/keep, classic does not).
    case train
    /// Dropout samples masks as in `train`; BatchNorm uses its running statistics as in `eval`.
    case monteCarloDropout = "mc-dropout"
}

/// The mini-batch statistics one train-mode BatchNorm saw, and its running statistics after
/// the momentum update `running = (1 − momentum)·running + momentum·batch` (PyTorch's rule;
/// the unbiased variance goes into the running variance).
public struct BatchNormStatistics: Sendable, Equatable {
    /// The BatchNorm node these statistics are for.
    public var node: String
    /// Per-channel mean over the batch's N·H·W values: what normalized the batch.
    public var batchMean: [Double]
    /// Σ(x − mean)²/m over N·H·W values: what normalized the batch.
    public var batchVariance: [Double]
    /// Σ(x − mean)²/(m − 1): what enters the running variance.
    public var unbiasedBatchVariance: [Double]
    /// The running mean after this step's momentum update (what a checkpoint would store next).
    public var runningMean: [Double]
    /// The running variance after this step's momentum update (fed the unbiased batch variance).
    public var runningVariance: [Double]
}

/// What one run produced.
public struct RunResult<Scalar: KernelScalar>: Sendable {
    /// The graph outputs by name.
    public var outputs: [String: NDArray<Scalar>]
    /// Train mode: each BatchNorm node's statistics, by node name (empty otherwise).
    public var batchNormStatistics: [String: BatchNormStatistics]
}

/// Runs one `Graph` at one batch size. Planning converts every parameter to `Scalar` (applying
/// weight reparameterizations), infers all shapes and allocates every buffer; `run` then only
/// computes. `Executor<Float>` is the fast path, `Executor<Double>` the high-precision reference.
///
/// Not thread-safe: one run at a time per executor (the kernels use all `threads` themselves).
public final class Executor<Scalar: KernelScalar> {
    /// The graph as planned; replanning (another batch, another graph) needs a new executor.
    public let graph: Graph
    /// The batch size every buffer was sized for; inputs must have it on axis 0.
    public let batch: Int
    /// Concrete shapes of every value at `batch`.
    public let shapes: ShapeMap
    /// Threads the kernels use during `run` (set for the calling thread only, for the duration
    /// of each run: executors on other threads keep their own).
    public var threads: Int
    /// Whether every intermediate value keeps its own buffer (readable with `value(named:)`).
    public let retainsAllValues: Bool
    /// What the plan was allowed to allocate.
    public let limits: SizeLimits
    /// Record per-node wall time in `lastRunNodeSeconds`.
    public var profiling = false
    /// Seconds per node of the last run (node order), when `profiling` is on.
    public private(set) var lastRunNodeSeconds: [Double] = []
    /// Floating-point operations per node (multiply and add counted apart) of the GEMM-shaped
    /// ops (Conv2d, ConvTranspose2d, Linear); 0 for the others.
    public let nodeFlops: [Int]
    /// Bytes of activations, scratch and converted parameters this plan holds.
    public var allocatedBytes: Int { memory.byteCount + workspace.byteCapacity }

    let memory = Memory<Scalar>()
    let workspace = Workspace()
    var steps: [Step] = []
    /// Buffers of the values that can be read after a run (inputs, outputs, and all when retained).
    var readable: [String: UnsafeMutablePointer<Scalar>] = [:]
    /// Every value's buffer (shared ones included), for tests of the buffer plan.
    var bufferOf: [String: UnsafeMutablePointer<Scalar>] = [:]
    var inputBuffers: [(name: String, shape: [Int], pointer: UnsafeMutablePointer<Scalar>)] = []
    /// Every value name in execution order: graph inputs, then node outputs.
    public let valueNames: [String]

    struct Step {
        let node: Int
        let body: (RunState) throws -> Void
    }

    final class RunState {
        let mode: ExecutionMode
        var generator: Xoshiro256StarStar
        var batchNorm: [String: BatchNormStatistics] = [:]
        /// Set by `recalibrateBatchNorm`: BatchNorm runs on batch statistics (mode `.train`) while
        /// dropout follows its eval rule, and each BatchNorm's input moments are collected here.
        var moments: BatchNormMomentCollector?
        init(mode: ExecutionMode, generator: Xoshiro256StarStar) { self.mode = mode; self.generator = generator }
    }

    /// Plans `graph` for `batch` (the value of every symbolic dimension).
    ///
    /// - Parameters:
    ///   - retainAllValues: give every value its own buffer so `value(named:)` can read any
    ///     intermediate after a run (per-layer comparison); otherwise buffers are shared between
    ///     values whose lifetimes do not overlap and only inputs and outputs stay readable.
    ///   - threads: kernel threads (default: every online processor).
    ///   - limits: the most activation memory (buffers and scratch, in `Scalar`) the plan may
    ///     allocate; checked, with every value's size, before anything is allocated.
    public init(
        graph: Graph, batch: Int = 1, retainAllValues: Bool = false,
        threads: Int = KernelThreads.defaultCount, limits: SizeLimits = .standard
    ) throws(RuntimeError) {
        guard batch >= 1 else { throw .invalidArgument("batch size must be at least 1, got \(batch)") }
        let shapes: ShapeMap
        do { shapes = try graph.validate(batch: batch, limits: limits) } catch {
            throw .invalidGraph(error.description)
        }
        self.limits = limits
        self.graph = graph
        self.batch = batch
        self.shapes = shapes
        self.threads = max(1, threads)
        self.retainsAllValues = retainAllValues
        self.valueNames = graph.inputs.map(\.name) + graph.nodes.flatMap(\.outputs)
        var flops: [Int] = []
        for node in graph.nodes { flops.append(Self.flops(node, shapes)) }
        self.nodeFlops = flops
        try plan()
    }

    // MARK: Running

    /// Runs the graph on `inputs` (by graph input name, each of its planned shape).
    /// `seed` seeds dropout's mask generator in `.train` and `.monteCarloDropout` modes.
    public func run(
        _ inputs: [String: NDArray<Scalar>], mode: ExecutionMode = .eval,
        seed: UInt64 = 0
    ) throws(RuntimeError) -> RunResult<Scalar> {
        let state = RunState(mode: mode, generator: Xoshiro256StarStar(seed: seed))
        try execute(inputs, state)
        var outputs: [String: NDArray<Scalar>] = [:]
        for o in graph.outputs { outputs[o.name] = value(named: o.name) }
        return RunResult(outputs: outputs, batchNormStatistics: state.batchNorm)
    }

    /// Runs a single-input graph and returns its first output.
    public func run(_ input: NDArray<Scalar>, mode: ExecutionMode = .eval, seed: UInt64 = 0) throws(RuntimeError)
        -> NDArray<Scalar>
    {
        guard let name = graph.inputs.first?.name else { throw .invalidGraph("the graph declares no inputs") }
        guard graph.inputs.count == 1 else {
            throw .invalidArgument("the graph has \(graph.inputs.count) inputs; pass them by name")
        }
        let result = try run([name: input], mode: mode, seed: seed)
        guard let first = graph.outputs.first, let out = result.outputs[first.name] else {
            throw .invalidGraph("the graph declares no outputs")
        }
        return out
    }

    /// The value named `name` as computed by the last run: any graph input or output, and
    /// every intermediate when planned with `retainAllValues`. nil otherwise.
    public func value(named name: String) -> NDArray<Scalar>? {
        guard let p = readable[name], let shape = shapes[name] else { return nil }
        let count = shape.reduce(1, *)
        return NDArray(shape: shape, values: Array(UnsafeBufferPointer(start: p, count: count)))
    }

    /// Copies `inputs` into their buffers and runs the steps `range` (default all).
    func execute(_ inputs: [String: NDArray<Scalar>], _ state: RunState, steps range: Range<Int>? = nil)
        throws(RuntimeError)
    {
        for name in inputs.keys where !graph.inputs.contains(where: { $0.name == name }) {
            throw .unknownInput(name)
        }
        for (name, shape, pointer) in inputBuffers {
            guard let x = inputs[name] else { throw .missingInput(name) }
            guard x.shape == shape else { throw .inputShape(name: name, expected: shape, found: x.shape) }
            x.values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: x.count) }
        }
        if profiling { lastRunNodeSeconds = [Double](repeating: 0, count: graph.nodes.count) }
        try executeSteps(range ?? steps.indices, state)
    }

    /// Runs steps `range` on the values the buffers hold (MC dropout reruns the steps after the
    /// first dropout on a plan that keeps every value).
    func executeSteps(_ range: Range<Int>, _ state: RunState) throws(RuntimeError) {
        try KernelThreads.withCount(threads) { () throws(RuntimeError) in
            for step in steps[range] {
                let start = profiling ? Self.now() : 0
                do { try step.body(state) } catch let e as RuntimeError { throw e } catch {
                    throw .kernel(node: graph.nodes[step.node].name, message: String(describing: error))
                }
                if profiling { lastRunNodeSeconds[step.node] += Self.now() - start }
            }
        }
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Saturates at `Int.max` (a report, not a size).
    static func flops(_ node: Node, _ shapes: ShapeMap) -> Int {
        guard let out = shapes[node.output] else { return 0 }
        let outCount = saturatingProduct(out)
        switch node.op {
        case .conv2d(let c):
            return saturatingProduct([2, outCount, c.weight.shape[1], c.window.kernelH, c.window.kernelW])
        case .convTranspose2d(let c):
            let inCount = shapes[node.inputs[0]].map { saturatingProduct($0) } ?? 0
            return saturatingProduct([2, inCount, c.weight.shape[1], c.window.kernelH, c.window.kernelW])
        case .linear(let l): return saturatingProduct([2, outCount, l.inFeatures])
        default: return 0
        }
    }
}

extension Graph {
    /// This graph with each trained BatchNorm's running statistics replaced by the updated
    /// ones in `statistics` (from a train-mode run) and its `numBatchesTracked` advanced by one.
    public func updatingBatchNormStatistics(_ statistics: [String: BatchNormStatistics]) -> Graph {
        var g = self
        for i in g.nodes.indices {
            guard case .batchNorm(var bn) = g.nodes[i].op, let s = statistics[g.nodes[i].name] else { continue }
            bn.runningMean = Tensor(
                name: bn.runningMean.name, shape: bn.runningMean.shape,
                values: s.runningMean.map(Float.init), storage: bn.runningMean.storage)
            bn.runningVariance = Tensor(
                name: bn.runningVariance.name, shape: bn.runningVariance.shape,
                values: s.runningVariance.map(Float.init), storage: bn.runningVariance.storage)
            bn.numBatchesTracked += 1
            g.nodes[i].op = .batchNorm(bn)
        }
        return g
    }
}
