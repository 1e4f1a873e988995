// The dropout paper's identity: for one hidden layer and a softmax output, the "mean net" —
// outgoing weights scaled by keep, which is what folding classic dropout produces — computes
// exactly the renormalized geometric mean of the predictions of all 2^H sub-networks
// (weighted by each mask's probability). The reference below enumerates every mask.
import CNNFixtures
import CNNGraph
import CNNPasses
import CNNRuntime
import Foundation
import Testing

@Suite struct DropoutMeanNetTests {
    @Test(arguments: [0.5, 0.3])
    func foldedMeanNetIsTheGeometricMeanOfAllSubNetworks(_ rate: Double) throws {
        let d = 5, h = 10, k = 4
        var p = ParameterFactory(seed: 99)
        let w1 = p.weight("fc1.weight", [h, d]), b1 = p.bias("fc1.bias", h)
        let w2 = p.weight("fc2.weight", [k, h]), b2 = p.bias("fc2.bias", k)
        var b = GraphBuilder()
        var y = b.input("x", [.fixed(1), .fixed(d)])
        y = b.add("fc1", .linear(Linear(weight: w1, bias: b1)), y)
        y = b.add("relu", .activation(.relu), y)
        y = b.add("drop", .dropout(Dropout(rate: rate, convention: .classic)), y)
        y = b.add("fc2", .linear(Linear(weight: w2, bias: b2)), y)
        y = b.add("softmax", .softmax(axis: 1), y)
        b.output(y)
        let graph = try b.build()
        let folded = try FoldPasses.fold(graph).graph
        #expect(!folded.nodes.contains { $0.op.kindName == "Dropout" })

        let x: [Float] = [0.3, -1.2, 0.8, 2.0, -0.5]
        let out = try Executor<Float>(graph: folded).run(NDArray(shape: [1, d], values: x)).values

        // Reference: hidden activations, then every mask's softmax, in Float64.
        let hiddenW = w1.array.map(Double.init), hiddenB = b1.array.map(Double.init)
        let outW = w2.array.map(Double.init), outB = b2.array.map(Double.init)
        let hidden = (0..<h).map { j in max(0, (0..<d).reduce(hiddenB[j]) { $0 + hiddenW[j * d + $1] * Double(x[$1]) })
        }
        let keep = 1 - rate
        var logMean = [Double](repeating: 0, count: k)
        for mask in 0..<(1 << h) {
            let kept = (0..<h).map { (mask >> $0) & 1 == 1 }
            let probability = kept.reduce(1.0) { $0 * ($1 ? keep : rate) }
            let z = (0..<k).map { o in (0..<h).reduce(outB[o]) { $0 + (kept[$1] ? outW[o * h + $1] * hidden[$1] : 0) } }
            let m = z.max()!
            let logSum = m + log(z.reduce(0) { $0 + exp($1 - m) })
            for o in 0..<k { logMean[o] += probability * (z[o] - logSum) }
        }
        let geometric = logMean.map(exp)
        let total = geometric.reduce(0, +)
        for o in 0..<k {
            let expected = geometric[o] / total
            #expect(
                abs(Double(out[o]) - expected) <= 1e-6 * (1 + expected),
                "class \(o): mean net \(out[o]), geometric mean \(expected)")
        }
        // And the unfolded model in eval mode (classic dropout multiplies by keep) agrees.
        let unfolded = try Executor<Float>(graph: graph).run(NDArray(shape: [1, d], values: x)).values
        for o in 0..<k { #expect(abs(unfolded[o] - out[o]) <= 1e-6) }
    }
}
