// inspect's MACs are per sample: the whole batch's divided by the model's batch, also for a node
// whose first dimension is not the batch (an LSTM reads time-major X, T×N×C).
import CNNGraph
import Testing

@testable import CNNONNX

@Suite("inspect's MACs per sample")
struct InspectionMACsTests {
    typealias B = ModelBuilder

    @Test func anLSTMAfterATransposeIsCountedPerSampleNotPerTimeStep() throws {
        // x: N=2 × C=3 × T=5 → Transpose → 5×2×3 → LSTM (hidden 4, forward) → Y_h 1×2×4.
        let (n, c, t, h) = (2, 3, 5, 4)
        var hidden = Onnx_AttributeProto()
        hidden.name = "hidden_size"; hidden.type = .int; hidden.i = Int64(h)
        let w = B.tensor("w", [1, 4 * h, c], (0..<(4 * h * c)).map { Float($0 % 7) * 0.01 })
        let r = B.tensor("r", [1, 4 * h, h], (0..<(4 * h * h)).map { Float($0 % 5) * 0.01 })
        let nodes = [
            B.node("Transpose", "to_time_major", ["x"], ["seq"], [B.ints(attr: "perm", [2, 0, 1])]),
            B.node("LSTM", "lstm", ["seq", "w", "r"], ["", "y"], [hidden]),
        ]
        let data = try B.model(nodes, inputShape: [.fixed(n), .fixed(c), .fixed(t)], initializers: [w, r])
        let (graph, _) = try ONNXImporter.importModel(data: data)
        let inspection = try InspectionReport(graph: graph)
        let row = try #require(inspection.nodes.first { $0.op == "LSTM" || $0.name == "lstm" })
        // Per sample: T steps × 4 gates·H × (C + H) multiply-accumulates (the ONNX LSTM formula).
        #expect(row.macs == t * 4 * h * (c + h))
    }
}
