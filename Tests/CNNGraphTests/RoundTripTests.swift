// Graph → file → Graph gives the same graph, for every op and every storage format; the
// committed fixtures are exactly what the generator writes.
import CNNFixtures
import CNNFormat
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct RoundTripTests {
    static let formats: [StorageFormat] = StorageFormat.ElementType.allCases.flatMap { t in
        StorageFormat.Encoding.allCases.map { StorageFormat(t, $0) }
    }

    @Test(arguments: formats)
    func everyOpRoundTrips(_ format: StorageFormat) throws {
        for (_, original) in try FixtureModels.all() {
            var graph = original
            graph.mapParameters { t in
                var t = t
                t.storage = format
                return t
            }
            let bytes = try graph.serialized()
            let read = try Graph(bytes: bytes)
            // Values come back as the storage type rounds them; everything else is identical.
            var expected = graph
            expected.mapParameters { t in
                Tensor(name: t.name, shape: t.shape, values: format.roundTripped(t.array), storage: t.storage)
            }
            #expect(read == expected, "\(graph.name) in \(format)")
            #expect(
                try read.serialized() == (try expected.serialized()),
                "rewriting \(graph.name) in \(format) changed bytes")
        }
    }

    @Test func everyOpKindIsCovered() throws {
        let kinds = Set(try FixtureModels.all().flatMap { $0.graph.nodes.map(\.op.kindName) })
        let expected: Set<String> = [
            "Conv2d", "DepthwiseConv2d", "ConvTranspose2d", "BatchNorm", "Dropout", "Linear", "ReLU", "ReLU6",
            "Clip", "LeakyReLU", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "SiLU", "MaxPool2d", "AvgPool2d",
            "GlobalAvgPool", "GlobalMaxPool", "Flatten", "Add", "Mul", "Concat", "Softmax", "Affine", "LayerNorm",
            "GroupNorm", "InstanceNorm", "LRN", "ChannelShuffle", "Resize", "Identity",
        ]
        #expect(expected.subtracting(kinds).isEmpty, "not covered: \(expected.subtracting(kinds))")
    }

    @Test func committedFixturesMatchTheGenerator() throws {
        for (name, graph) in try FixtureModels.all() {
            let committed = readBytes(Repository.fixture(name + ".cnnm"))
            #expect(
                committed == (try graph.serialized()),
                "fixtures/\(name).cnnm differs from what make-fixtures writes — rerun `swift run make-fixtures`")
        }
    }

    @Test func readingTheFileGivesTheGeneratedGraph() throws {
        for (name, graph) in try FixtureModels.all() {
            let read = try Graph(contentsOf: Repository.fixture(name + ".cnnm"))
            #expect(read == graph)
            #expect(read.parameters.allSatisfy { $0.values.isMapped }, "raw f32 tensors should be mapped, not copied")
        }
    }

    @Test func writingIsAtomicAndLeavesNoTemporaryFiles() throws {
        let tmp = TemporaryDirectory()
        let graph = try FixtureModels.smallCNN()
        let path = tmp.file("model.cnnm")
        try graph.write(to: path)
        try graph.write(to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["model.cnnm"])
        // A graph that cannot be written leaves the old file untouched.
        var broken = graph
        broken.nodes[0].inputs = ["nowhere"]
        #expect(throws: ModelError.self) { try broken.write(to: path) }
        #expect(try Graph(contentsOf: path) == graph)
    }
}
