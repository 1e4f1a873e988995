// Structural validation: names, topological order, cycles, outputs; and parameter sanity.
import Dispatch

extension Graph {
    /// Checks the whole graph: structure, attributes and shapes (at batch 1), sizes against
    /// `limits` (each value, and the activations alive at once), and parameter values (finite;
    /// BN variances ≥ 0). Returns the inferred shapes.
    @discardableResult
    public func validate(batch: Int = 1, limits: SizeLimits = .standard) throws(GraphError) -> ShapeMap {
        guard batch >= 1 else {
            throw .invalidAttribute(node: inputs.first?.name ?? name, message: "batch size \(batch) must be ≥ 1")
        }
        try validateStructure()
        let shapes = try inferShapes(batch: batch, limits: limits)
        try checkActivationPeak(shapes, limits: limits)
        try validateParameterValues()
        return shapes
    }

    /// The most activation bytes (as Float32) alive at once when the nodes run in order: each
    /// value from its producer to its last reader, graph inputs and outputs throughout. A lower
    /// bound of any executor's plan; refuses a graph whose peak exceeds `limits`, naming the node
    /// where it is reached.
    public func activationPeak(_ shapes: ShapeMap) -> (bytes: Int, node: String?) {
        var lastUse: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { for v in node.inputs { lastUse[v] = i } }
        let pinned = Set(inputs.map(\.name) + outputs.map(\.name))
        func bytes(_ v: String) -> Int { shapes[v].map { saturatingProduct($0).multiplied(saturating: 4) } ?? 0 }
        var live = 0
        for input in inputs { live = live.adding(checked: bytes(input.name)) ?? .max }
        var peak = live, peakNode: String? = nil
        for (i, node) in nodes.enumerated() {
            for o in node.outputs { live = live.adding(checked: bytes(o)) ?? .max }
            if live > peak { peak = live; peakNode = node.name }
            for v in Set(node.inputs + node.outputs) where !pinned.contains(v) && (lastUse[v] ?? i) <= i {
                if live != .max { live -= bytes(v) }
            }
        }
        return (peak, peakNode)
    }

    func checkActivationPeak(_ shapes: ShapeMap, limits: SizeLimits) throws(GraphError) {
        let (peak, node) = activationPeak(shapes)
        guard peak <= limits.maxActivationBytes else {
            throw .tooLarge(
                node: node ?? inputs.first?.name ?? name,
                message:
                    "the activations alive when it runs need \(peak == .max ? "more than 2^63 bytes" : formatBytes(peak)) as f32, "
                    + "more than the limit of \(limits) (raise it with --max-memory or \(SizeLimits.environmentVariable))"
            )
        }
    }

    /// Unique names, every input defined earlier (no cycles), every output produced.
    public func validateStructure() throws(GraphError) {
        guard !inputs.isEmpty else { throw .noInputs }
        var defined = Set(inputs.map(\.name))
        var nodeNames = Set<String>()
        var laterProducer: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for o in node.outputs where laterProducer[o] == nil { laterProducer[o] = i }
        }
        for (i, node) in nodes.enumerated() {
            guard nodeNames.insert(node.name).inserted else { throw .duplicateNodeName(node.name) }
            for input in node.inputs where !defined.contains(input) {
                if let p = laterProducer[input], p >= i {
                    if let cycle = findCycle(from: i) { throw .cycle(cycle) }
                    throw .usedBeforeProduced(node: node.name, value: input, producer: nodes[p].name)
                }
                throw .missingValue(node: node.name, value: input)
            }
            guard !node.outputs.isEmpty else {
                throw .invalidAttribute(node: node.name, message: "the node has no outputs")
            }
            for o in node.outputs {
                guard defined.insert(o).inserted else { throw .duplicateValue(value: o, node: node.name) }
            }
        }
        for o in outputs where !defined.contains(o.name) { throw .missingOutput(o.name) }
    }

    /// A cycle through node `start`, as node names in data-flow order, if one exists.
    func findCycle(from start: Int) -> [String]? {
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { for o in n.outputs { producer[o] = i } }
        var path: [Int] = []
        var visited = Set<Int>()
        func visit(_ i: Int) -> [String]? {
            // The path follows inputs backwards; report it in the direction data flows.
            if let at = path.firstIndex(of: i) { return (path[at...] + [i]).reversed().map { nodes[$0].name } }
            guard visited.insert(i).inserted else { return nil }
            path.append(i)
            defer { path.removeLast() }
            for input in nodes[i].inputs { if let p = producer[input], let c = visit(p) { return c } }
            return nil
        }
        return visit(start)
    }

    /// Every parameter finite; BN running variances ≥ 0; dropout rates in [0, 1).
    public func validateParameterValues() throws(GraphError) {
        // Every tensor on every core; the first bad one in node order is reported. In pieces: a
        // folded weight computed on demand is checked without being kept.
        let tensors = nodes.flatMap { node in node.op.parameters.map(\.1.values) }
        let found = UnsafeMutableBufferPointer<Int>.allocate(capacity: tensors.count)
        found.initialize(repeating: -1)
        defer { found.deallocate() }
        let slots = UnsafeSendable(found)
        DispatchQueue.concurrentPerform(iterations: tensors.count) { k in
            var bad: Int? = nil
            tensors[k].forEachChunk { start, chunk in
                if bad == nil, let i = firstNonFinite(chunk) { bad = start + i }
            }
            slots.value[k] = bad ?? -1
        }
        var k = 0
        for node in nodes {
            for (role, tensor) in node.op.parameters {
                let bad: Int? = found[k] >= 0 ? found[k] : nil
                k += 1
                if let bad {
                    throw .badParameter(
                        node: node.name, tensor: tensor.name,
                        message: "\(role) element \(bad) is \(tensor.values[bad]) — parameters must be finite")
                }
            }
            try node.op.definition.validateParameterValues(of: node)
        }
    }
}

/// Index of the first NaN or infinity. A vectorized pass first (the largest magnitude's bits
/// reach the all-ones exponent only for NaN and ±inf), the search only when that finds one.
func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
    let magnitude: UInt32 = values.withMemoryRebound(to: UInt32.self) { bits in
        var lanes = SIMD16<UInt32>(repeating: 0)
        let clear = SIMD16<UInt32>(repeating: 0x7FFF_FFFF)
        let whole = bits.count / 16
        if let base = bits.baseAddress {
            UnsafeRawPointer(base).withMemoryRebound(to: SIMD16<UInt32>.self, capacity: whole) { v in
                for i in 0..<whole { lanes = pointwiseMax(lanes, v[i] & clear) }
            }
        }
        var m = lanes.max()
        for i in (whole * 16)..<bits.count { m = max(m, bits[i] & 0x7FFF_FFFF) }
        return m
    }
    return magnitude < 0x7F80_0000 ? nil : values.firstIndex { !$0.isFinite }
}

/// A buffer that `concurrentPerform` workers write at distinct indices.
private struct UnsafeSendable: @unchecked Sendable {
    let value: UnsafeMutableBufferPointer<Int>
    init(_ value: UnsafeMutableBufferPointer<Int>) { self.value = value }
}
