// An LSTM's kernel allocates its own working memory (the input projection of every step, T·B·4H
// elements): the executor counts it against the memory limit before running, so a file cannot
// make a run allocate beyond --max-memory through a long sequence.
import CNNGraph
import CNNRuntime
import Testing

@testable import CNNONNX

@Suite("recurrent working memory counts against the executor's limit")
struct RecurrentMemoryLimitTests {
    typealias B = ModelBuilder

    /// x: N=4 × C=3 × T=64 → Transpose → 64×4×3 → LSTM (hidden 32) → Y_h 1×4×32.
    func lstmGraph() throws -> Graph {
        let (c, h) = (3, 32)
        var hidden = Onnx_AttributeProto()
        hidden.name = "hidden_size"; hidden.type = .int; hidden.i = Int64(h)
        let w = B.tensor("w", [1, 4 * h, c], (0..<(4 * h * c)).map { Float($0 % 7) * 0.01 })
        let r = B.tensor("r", [1, 4 * h, h], (0..<(4 * h * h)).map { Float($0 % 5) * 0.01 })
        let nodes = [
            B.node("Transpose", "to_time_major", ["x"], ["seq"], [B.ints(attr: "perm", [2, 0, 1])]),
            B.node("LSTM", "lstm", ["seq", "w", "r"], ["", "y"], [hidden]),
        ]
        let data = try B.model(nodes, inputShape: [.fixed(4), .fixed(c), .fixed(64)], initializers: [w, r])
        return try ONNXImporter.importModel(data: data).0
    }

    @Test func aLimitBelowTheLSTMsWorkingMemoryRefusesThePlanNamingTheNode() throws {
        let graph = try lstmGraph()
        // Activations are a few KB; the projection alone is 64·4·128 floats = 128 KiB.
        do {
            _ = try Executor<Float>(graph: graph, limits: SizeLimits(maxActivationBytes: 64 << 10))
            Issue.record("a 64 KiB limit planned an LSTM that allocates 128 KiB")
        } catch {
            #expect("\(error)".contains("lstm"))
            #expect("\(error)".contains("working memory of 33664 elements"))
        }
        let exec = try Executor<Float>(graph: graph, limits: SizeLimits(maxActivationBytes: 1 << 20))
        _ = exec
    }
}
