// The C executor against the Swift executor on the folded fixtures: what a deployment runtime
// computes from the file equals what cnnconv computes, |c − swift| ≤ 1e-5·(1 + |swift|).
import CCNNLoader
import CNNFixtures
import CNNGraph
import CNNPasses
import CNNRuntime
import Foundation
import XCTest

final class CExecutorVsSwiftTests: XCTestCase {
    func compare(_ graph: Graph, batch: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let folded = try FoldPasses.fold(graph).graph
        let bytes = try folded.serialized()
        var random = SeededRandom(seed: 5)
        let input = folded.inputs[0]
        let shape = input.concreteShape(batch: batch)
        let values = random.floats(shape.reduce(1, *)) { $0.gaussian() }
        let swift = try Executor<Float>(graph: folded, batch: batch).run(NDArray(shape: shape, values: values))
        let c = try runC(bytes, inputs: [RefArray(shape: shape, data: values.map(Double.init))])
        XCTAssertEqual(c.first?.shape, swift.shape, file: file, line: line)
        guard let out = c.first, out.shape == swift.shape else { return }
        var worst = 0.0
        for (a, b) in zip(out.data, swift.values) { worst = max(worst, abs(a - Double(b)) / (1 + abs(Double(b)))) }
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(graph.name): worst scaled difference \(worst)", file: file, line: line)
    }

    func testSmallCNN() throws { try compare(try FixtureModels.smallCNN(), batch: 3) }

    func testResNetBlocks() throws { try compare(try FixtureModels.residual(), batch: 2) }

    /// ConvTranspose2d, LayerNorm and the rest of the unfoldable ops run in C too.
    func testMixedOps() throws { try compare(try FixtureModels.mixedOps(), batch: 2) }
}
