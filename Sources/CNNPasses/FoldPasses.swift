// The folding passes: weight reparameterizations, BatchNorm/Affine into neighbours, dropout's
// inference rule, leftover BatchNorms as affines, and clean-up. Each is Graph → Graph + report.
import CNNGraph

/// The rewrites `fold` applies and the driver that runs them: the one list of passes, so the
/// CLI's `--passes` choices, the file's `applied_passes` and the pipeline order cannot drift.
public enum FoldPasses {
    /// Every pass, in the order `fold` runs them.
    public static let all: [Pass] = [reparameterization, batchNorm, dropout, batchNorm, affine, cleanup]

    /// The pass names, each once, in pipeline order: the choices `--passes` accepts.
    public static var names: [String] { uniqueNames(all) }

    static func uniqueNames(_ passes: [Pass]) -> [String] {
        var seen = Set<String>()
        return passes.map(\.name).filter { seen.insert($0).inserted }
    }

    /// The standard pipeline restricted to `names` (in pipeline order).
    public static func pipeline(_ names: [String]?) throws(PassError) -> [Pass] {
        guard let names else { return all }
        for n in names where !self.names.contains(n) { throw .unknownPass(n, known: self.names) }
        return all.filter { names.contains($0.name) }
    }

    // MARK: Weight reparameterizations

    /// Weight norm (w = g·v/‖v‖) and weight standardization become plain weights, computed in
    /// Float64 and rounded once, so the later folds see ordinary conv/linear layers.
    public static let reparameterization = Pass(
        .weightReparameterization,
        summary: "weight norm and weight standardization → plain weights"
    ) { graph, options in
        var g = graph
        var report = PassReport(.weightReparameterization)
        for i in g.nodes.indices {
            switch g.nodes[i].op {
            case .conv2d(var c) where c.reparameterization != nil:
                c.weight = plainWeight(c.weight, c.reparameterization!, options: options)
                report.record(.folded, g.nodes[i].name, describe(c.reparameterization!) + " folded into plain weights")
                c.reparameterization = nil
                g.nodes[i].op = .conv2d(c)
            case .linear(var l) where l.reparameterization != nil:
                l.weight = plainWeight(l.weight, l.reparameterization!, options: options)
                report.record(.folded, g.nodes[i].name, describe(l.reparameterization!) + " folded into plain weights")
                l.reparameterization = nil
                g.nodes[i].op = .linear(l)
            default: break
            }
        }
        return (g, report)
    }

    static func describe(_ r: WeightReparameterization) -> String {
        switch r {
        case .weightNorm: return "weight norm"
        case .weightStandardization: return "weight standardization"
        }
    }

    /// The weight a reparameterization stands for, per output channel (axis 0).
    static func plainWeight(_ v: Tensor, _ r: WeightReparameterization, options: FoldOptions = FoldOptions()) -> Tensor
    {
        let values = WeightReparameterization.effectiveWeight(v, r).map(options.round)
        return Tensor(name: v.name, shape: v.shape, values: values, storage: v.storage)
    }

    // MARK: BatchNorm and Affine into a neighbouring layer

    /// BatchNorm and Affine nodes scale and shift the neighbouring conv/linear's weights and bias,
    /// as `FoldingAnalysis` plans them: inference then skips one pass over every activation.
    public static let batchNorm = Pass(
        .batchNorm,
        summary: "BatchNorm/Affine into the producing or following conv/linear"
    ) { graph, options in
        var g = graph
        var report = PassReport(.batchNorm)
        var skipped: [String: String] = [:]
        // In rounds: each round plans on one analysis and folds every BatchNorm whose
        // neighbourhood (itself, its target, its producer and readers) no other fold of the
        // round touches; the next round re-plans around what changed. Linear per round, and
        // rounds stay few (a conv-BN chain needs two), where one fold per analysis was
        // quadratic in the number of BatchNorms.
        while true {
            var round = FoldRound(g)
            var removed: [Int] = []
            for (i, node) in g.nodes.enumerated() {
                guard let plan = round.analysis.batchNorm[node.name] else { continue }
                let target: String
                switch plan {
                case .affine(let reason): skipped[node.name] = reason; continue
                case .intoProducer(let t):
                    // Through a chain of folding BatchNorms/Affines: once those before it have
                    // folded (an earlier round), its producer is the layer itself.
                    guard round.index.producer[node.inputs[0]].map({ g.nodes[$0].name }) == t else { continue }
                    target = t
                case .intoConsumer(let t, _): target = t
                }
                guard let t = round.position[target], let transform = ChannelAffine(node.op),
                    round.claim(node, and: target, in: g)
                else { continue }
                skipped[node.name] = nil
                let biasName = round.fresh(target + ".bias")
                switch plan {
                case .intoProducer:
                    switch g.nodes[t].op {
                    case .conv2d(let c):
                        g.nodes[t].op = .conv2d(Fold.intoConv(c, transform, biasName: biasName, options: options))
                    case .convTranspose2d(let c):
                        g.nodes[t].op = .convTranspose2d(
                            Fold.intoConvTranspose(c, transform, biasName: biasName, options: options))
                    case .linear(let l):
                        g.nodes[t].op = .linear(Fold.intoLinear(l, transform, biasName: biasName, options: options))
                    default: break
                    }
                    report.record(
                        .folded, node.name, "into \(target)'s weights and bias (its producer)", target: target,
                        op: node.op.kindName)
                case .intoConsumer(_, let through):
                    switch g.nodes[t].op {
                    case .conv2d(let c):
                        g.nodes[t].op = .conv2d(Fold.beforeConv(c, transform, biasName: biasName, options: options))
                    case .linear(let l):
                        g.nodes[t].op = .linear(Fold.beforeLinear(l, transform, biasName: biasName, options: options))
                    default: break
                    }
                    report.record(
                        .folded, node.name,
                        "into \(target)'s input weights and bias (the layer after"
                            + (through.isEmpty ? ")" : ", through \(through.joined(separator: ", ")))"), target: target,
                        through: through, op: node.op.kindName, forward: true)
                case .affine:
                    break
                }
                g.nodes[i].op = .identity  // removed below; one that cannot be stays an exact identity
                removed.append(i)
            }
            if removed.isEmpty { break }
            g.bypass(nodesAt: removed)
        }
        for node in g.nodes where skipped[node.name] != nil {
            report.record(.skipped, node.name, skipped[node.name]!, reason: skipped[node.name])
        }
        return (g, report)
    }

    // MARK: Dropout

    /// Inverted dropout is removed (the identity at inference); classic dropout's keep factor
    /// goes into the neighbouring layer's weights, as `FoldingAnalysis` plans it.
    public static let dropout = Pass(
        .dropout,
        summary: "inverted dropout removed; classic dropout's keep factor into weights"
    ) { graph, options in
        var g = graph
        var report = PassReport(.dropout)
        let shapes = (try? g.inferShapes()) ?? [:]
        // In rounds, as fold-batchnorm: one analysis per round, every dropout whose
        // neighbourhood no other fold of the round touches, one sweep to remove them.
        while true {
            var round = FoldRound(g)
            var removed: [Int] = []
            var changed = false
            for i in g.nodes.indices {
                let node = g.nodes[i]
                guard case .dropout(let d) = node.op, let plan = round.analysis.dropout[node.name] else { continue }
                var target: String? = nil
                switch plan {
                case .scaleConsumer(let t, _), .scaleProducer(let t, _, _): target = t
                default: break
                }
                guard round.claim(node, and: target, in: g) else { continue }
                changed = true
                switch plan {
                case .remove:
                    report.record(
                        .removed, node.name, d.rate == 0 ? "rate 0" : "inverted dropout is the identity at inference")
                case .scaleConsumer(let target, let keep):
                    if let t = round.position[target] {
                        switch g.nodes[t].op {
                        case .conv2d(var c):
                            c.weight = Fold.scaled(c.weight, by: keep, options: options); g.nodes[t].op = .conv2d(c)
                        case .linear(var l):
                            l.weight = Fold.scaled(l.weight, by: keep, options: options); g.nodes[t].op = .linear(l)
                        default: break
                        }
                    }
                    report.record(
                        .folded, node.name, "classic p=\(trimmed(d.rate)): ×\(trimmed(keep)) into \(target)'s weights",
                        target: target,
                        factor: keep)
                case .scaleProducer(let target, let keep, let through):
                    if let t = round.position[target] {
                        switch g.nodes[t].op {
                        case .conv2d(var c):
                            c.weight = Fold.scaled(c.weight, by: keep, options: options)
                            c.bias = c.bias.map { Fold.scaled($0, by: keep, options: options) }
                            g.nodes[t].op = .conv2d(c)
                        case .convTranspose2d(var c):
                            c.weight = Fold.scaled(c.weight, by: keep, options: options)
                            c.bias = c.bias.map { Fold.scaled($0, by: keep, options: options) }
                            g.nodes[t].op = .convTranspose2d(c)
                        case .linear(var l):
                            l.weight = Fold.scaled(l.weight, by: keep, options: options)
                            l.bias = l.bias.map { Fold.scaled($0, by: keep, options: options) }
                            g.nodes[t].op = .linear(l)
                        default: break
                        }
                    }
                    report.record(
                        .folded, node.name,
                        "classic p=\(trimmed(d.rate)): ×\(trimmed(keep)) into \(target)'s weights and bias"
                            + (through.isEmpty ? "" : " (through \(through.joined(separator: ", ")))"), target: target,
                        through: through, factor: keep)
                case .affine(let keep, let reason):
                    let channels = shapes[node.inputs[0]].map { $0.count >= 2 ? $0[1] : 1 } ?? 1
                    let name = round.fresh(node.name)
                    let a = ChannelAffine(
                        scale: [Double](repeating: keep, count: channels),
                        shift: [Double](repeating: 0, count: channels))
                    g.nodes[i].op = .affine(a.affine(named: name, options: options))
                    report.record(
                        .converted, node.name, "classic p=\(trimmed(d.rate)): an affine ×\(trimmed(keep)) — \(reason)",
                        factor: keep,
                        reason: reason)
                    continue
                }
                // An identity now; removed below where it can be (one that cannot stays an identity).
                g.nodes[i].op = .identity
                removed.append(i)
            }
            if !changed { break }
            g.bypass(nodesAt: removed)
        }
        return (g, report)
    }

    // MARK: Leftover BatchNorms → Affine; chains of Affines merge

    /// BatchNorms that no neighbour can absorb become per-channel affines (y = a·x + b, the
    /// statistics and ε already folded into a and b) and chains of affines merge into one.
    public static let affine = Pass(
        .batchNormToAffine,
        summary: "BatchNorms that cannot fold become per-channel affines; affine chains merge"
    ) { graph, options in
        var g = graph
        var report = PassReport(.batchNormToAffine)
        let reasons = FoldingAnalysis(g).batchNorm
        for i in g.nodes.indices {
            guard case .batchNorm(let bn) = g.nodes[i].op else { continue }
            let name = g.freshTensorName(g.nodes[i].name)
            g.nodes[i].op = .affine(ChannelAffine(bn).affine(named: name, options: options))
            var reason: String? = nil
            if case .affine(let r)? = reasons[g.nodes[i].name] { reason = r }
            report.record(
                .converted, g.nodes[i].name,
                "BatchNorm → affine with precomputed scale and shift" + (reason.map { " — " + $0 } ?? ""),
                reason: reason)
        }
        // Affine → Affine where the first feeds only the second: one affine.
        var merged = true
        while merged {
            merged = false
            let index = GraphIndex(g)
            for (i, node) in g.nodes.enumerated() {
                guard case .affine(let second) = node.op, let p = index.producer[node.inputs[0]],
                    case .affine(let first) = g.nodes[p].op, index.consumers[g.nodes[p].output]?.count == 1,
                    !g.isGraphOutput(g.nodes[p].output), first.channels == second.channels
                else { continue }
                let combined = ChannelAffine(second).after(ChannelAffine(first))
                g.nodes[i].op = .affine(
                    combined.affine(named: g.freshTensorName(node.name + ".merged"), options: options))
                let firstName = g.nodes[p].name
                _ = g.bypass(nodeAt: p)
                report.record(.merged, node.name, "merged with the affine \(firstName) before it")
                merged = true
                break
            }
        }
        return (g, report)
    }

    // MARK: Clean-up

    /// Identity nodes and nodes whose outputs nothing reads are removed, so the folded file holds
    /// only what inference runs.
    public static let cleanup = Pass(.cleanup, summary: "identity and unused nodes removed") { graph, _ in
        var g = graph
        var report = PassReport(.cleanup)
        var i = 0
        while i < g.nodes.count {
            if case .identity = g.nodes[i].op {
                let name = g.nodes[i].name
                if g.bypass(nodeAt: i) {
                    report.record(.removed, name, "identity")
                    continue
                }
                let why = "identity between a graph input and a graph output"
                report.record(.skipped, name, why, reason: why)
            }
            i += 1
        }
        for name in g.removeDeadNodes() { report.record(.removed, name, "its output is never used") }
        return (g, report)
    }
}

/// The result of folding a graph.
public struct FoldResult: Sendable {
    /// The folded graph, validated, its `appliedPasses` extended by the passes that ran.
    public var graph: Graph
    /// One report per pass, in pipeline order (a pass that ran twice reports once).
    public var reports: [PassReport]
    /// True when the input was already folded and nothing changed.
    public var wasAlreadyFolded: Bool
}

extension FoldPasses {
    /// Metadata keys recording the BatchNorm and Dropout counts before folding.
    public static let batchNormBeforeKey = InspectionReport.batchNormBeforeKey
    /// The metadata key for the Dropout count before folding (see `batchNormBeforeKey`).
    public static let dropoutBeforeKey = InspectionReport.dropoutBeforeKey

    /// Runs `passes` (default: all) and records them in the graph's `appliedPasses`.
    public static func fold(_ graph: Graph, passes: [Pass]? = nil, options: FoldOptions = FoldOptions())
        throws(PassError) -> FoldResult
    {
        // Structure and shapes now; parameter values once, on the result (NaN or infinity in
        // the input would reach it, and so would an overflow that folding itself caused).
        do {
            try graph.validateStructure()
            _ = try graph.inferShapes()
        } catch { throw .invalidGraph(error) }
        var g = graph
        var reports: [PassReport] = []
        for pass in passes ?? all {
            let (next, report) = try pass.run(g, options: options)
            g = next
            if let existing = reports.firstIndex(where: { $0.pass == report.pass }) {
                // A pass that runs twice reports once; later skips supersede earlier ones.
                let earlierChanges = reports[existing].lines.filter { $0.action != .skipped }
                reports[existing].lines = earlierChanges + report.lines
            } else {
                reports.append(report)
            }
        }
        let changed = reports.contains { $0.changed }
        if changed {
            g.appliedPasses += uniqueNames(passes ?? all).filter { name in
                reports.contains { $0.pass == name && $0.changed }
            }
            // What the model had before its first fold, for `inspect` to show before → after.
            for (kind, key) in [("BatchNorm", FoldPasses.batchNormBeforeKey), ("Dropout", FoldPasses.dropoutBeforeKey)]
            where g.metadata[key] == nil {
                g.metadata[key] = String(graph.nodes.filter { $0.op.kindName == kind }.count)
            }
        }
        do { try g.validate() } catch { throw .invalidGraph(error) }
        return FoldResult(graph: g, reports: reports, wasAlreadyFolded: !changed && !graph.appliedPasses.isEmpty)
    }
}

/// What one folding round plans on: one analysis and index of the graph as the round found
/// it, node positions by name, the tensor names taken (for fresh ones) and the nodes the round
/// has already claimed. Folds in one round must not share a neighbourhood: each was planned on
/// the graph before any of them.
struct FoldRound {
    let analysis: FoldingAnalysis
    let index: GraphIndex
    var position: [String: Int] = [:]
    private var taken: Set<String>
    private var touched = Set<String>()

    init(_ g: Graph) {
        analysis = FoldingAnalysis(g)
        index = GraphIndex(g)
        for (i, n) in g.nodes.enumerated() where position[n.name] == nil { position[n.name] = i }
        taken = Set(g.parameters.map(\.name))
    }

    /// Claims `node`, `target`, the node's producer and readers for this round's fold of
    /// `node`; false (and nothing claimed) when another fold of the round has any of them.
    mutating func claim(_ node: Node, and target: String?, in g: Graph) -> Bool {
        var names = [node.name]
        if let target { names.append(target) }
        if let p = index.producer[node.inputs[0]] { names.append(g.nodes[p].name) }
        for c in index.consumers[node.output] ?? [] { names.append(g.nodes[c].name) }
        guard !names.contains(where: touched.contains) else { return false }
        touched.formUnion(names)
        return true
    }

    /// A tensor name no parameter uses yet: `base`, else `base_1`, `base_2`, …
    mutating func fresh(_ base: String) -> String {
        var name = base, k = 0
        while taken.contains(name) { k += 1; name = "\(base)_\(k)" }
        taken.insert(name)
        return name
    }
}
