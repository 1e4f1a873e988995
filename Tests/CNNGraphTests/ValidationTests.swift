// Every invalid graph is refused naming the node or tensor at fault.
import CNNFixtures
import CNNFormat
import CNNGraph
import CNNTestSupport
import SwiftProtobuf
import Testing

@Suite struct ValidationTests {
    func error(_ graph: Graph) -> GraphError? {
        do { try graph.validate(); return nil } catch { return error }
    }

    func small() throws -> Graph { try FixtureModels.smallCNN() }

    @Test func aMissingValueIsNamed() throws {
        var g = try small()
        g.nodes[2].inputs = ["ghost"]
        #expect(error(g) == .missingValue(node: "relu1", value: "ghost"))
    }

    @Test func aCycleIsReportedAsACycle() throws {
        var g = try small()
        // relu1 reads conv2's output, and conv2 depends on relu1 through pool1.
        g.nodes[2].inputs = ["conv2"]
        #expect(error(g) == .cycle(["relu1", "pool1", "conv2", "relu1"]))
    }

    @Test func outOfOrderWithoutCycleSaysTopologicalOrder() throws {
        var g = try small()
        g.nodes.swapAt(0, 1)  // bn1 before conv1
        #expect(error(g) == .usedBeforeProduced(node: "bn1", value: "conv1", producer: "conv1"))
    }

    @Test func duplicateNamesAndMissingOutputs() throws {
        var g = try small()
        g.nodes[2].name = "bn1"
        #expect(error(g) == .duplicateNodeName("bn1"))
        g = try small()
        g.outputs[0].name = "nothing"
        #expect(error(g) == .missingOutput("nothing"))
    }

    @Test func mismatchedShapesNameTheNode() throws {
        var g = try small()
        guard case .conv2d(var c) = g.nodes[4].op else { Issue.record("conv2 expected"); return }
        c.weight = Tensor(
            name: c.weight.name, shape: [32, 8, 3, 3], values: [Float](repeating: 0.1, count: 32 * 8 * 9))
        g.nodes[4].op = .conv2d(c)
        guard case .shapeMismatch(let node, let message)? = error(g) else {
            Issue.record("expected a shape mismatch"); return
        }
        #expect(node == "conv2")
        #expect(message.contains("16 channels"))
        // A BN whose statistics do not match the channel count.
        g = try small()
        guard case .batchNorm(var bn) = g.nodes[1].op else { return }
        bn.runningMean = Tensor(name: "bn1.running_mean", shape: [8], values: [Float](repeating: 0, count: 8))
        g.nodes[1].op = .batchNorm(bn)
        guard case .badParameter(let n, let t, _)? = error(g) else { Issue.record("expected a bad parameter"); return }
        #expect(n == "bn1" && t == "bn1.running_mean")
    }

    @Test func negativeVarianceAndNaNAreRefused() throws {
        var g = try small()
        guard case .batchNorm(var bn) = g.nodes[1].op else { return }
        var variance = bn.runningVariance.array
        variance[5] = -0.25
        bn.runningVariance = Tensor(name: bn.runningVariance.name, shape: [16], values: variance)
        g.nodes[1].op = .batchNorm(bn)
        #expect(
            error(g)
                == .badParameter(
                    node: "bn1", tensor: "bn1.running_var",
                    message: "running variance of channel 5 is -0.25, must be ≥ 0"))
        g = try small()
        guard case .linear(var fc) = g.nodes[14].op else { return }
        var w = fc.weight.array
        w[7] = .nan
        fc.weight = Tensor(name: "fc.weight", shape: fc.weight.shape, values: w)
        g.nodes[14].op = .linear(fc)
        guard case .badParameter(let n, let t, let m)? = error(g) else { Issue.record("NaN accepted"); return }
        #expect(n == "fc" && t == "fc.weight" && m.contains("element 7 is nan"))
    }

    @Test func dropoutRateMustBeBelowOne() throws {
        var g = try small()
        g.nodes[13].op = .dropout(Dropout(rate: 1.0))
        guard case .invalidAttribute(let n, _)? = error(g) else { Issue.record("rate 1 accepted"); return }
        #expect(n == "drop1")
    }

    @Test func aNodeNamingAMissingTensorInTheFileIsRefused() throws {
        // Write a valid file, then rename a tensor reference in its header.
        let g = try small()
        let file = try ModelFile(bytes: try g.serialized())
        var header = file.header
        header.nodes[0].conv2D.weight = "conv1.weigth"
        let tensors = try file.tensorEntries.map { e in
            TensorPayload(name: e.name, dims: e.dims.map { Int($0) }, values: try file.values(of: e.name))
        }
        let bytes = try ModelFileWriter.serialize(header: header, tensors: tensors)
        #expect(
            throws: ModelError(
                path: "<memory>", reason: .graph(.missingTensor(node: "conv1", role: "weight", tensor: "conv1.weigth")))
        ) {
            try Graph(bytes: bytes)
        }
    }
}
