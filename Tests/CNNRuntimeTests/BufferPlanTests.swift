import CNNGraph
import CNNTestSupport
import Testing

// The buffer plan: values share a buffer only when their lifetimes do not overlap (a value may
// take over the buffer of an input that dies at the node producing it), graph inputs and outputs
// never share, and sharing actually happens.
@testable import CNNRuntime

@Suite("Buffer plan")
struct BufferPlanTests {
    @Test(arguments: GraphExecutionTests.fixtureNames)
    func sharedBuffersNeverHoldTwoLiveValues(_ name: String) throws {
        let graph = try GraphExecutionTests.fixture(name)
        let exec = try Executor<Float>(graph: graph, batch: 2)
        // Lifetime of each value: [node producing it (−1 for inputs), last node reading it];
        // graph outputs live to the end.
        var born: [String: Int] = [:], dies: [String: Int] = [:]
        for i in graph.inputs { born[i.name] = -1; dies[i.name] = -1 }
        for (k, node) in graph.nodes.enumerated() {
            for o in node.outputs { born[o] = k; dies[o] = k }
            for v in node.inputs { dies[v] = k }
        }
        for o in graph.outputs { dies[o.name] = Int.max }
        let values = Array(born.keys)
        var shared = 0
        for (a, v) in values.enumerated() {
            for w in values[(a + 1)...] where exec.bufferOf[v] == exec.bufferOf[w] {
                // Extra outputs of one node alias its first output on purpose.
                if born[v] == born[w] && born[v]! >= 0 && graph.nodes[born[v]!].outputs.contains(v)
                    && graph.nodes[born[v]!].outputs.contains(w)
                {
                    continue
                }
                shared += 1
                let disjoint = born[w]! >= dies[v]! || born[v]! >= dies[w]!
                #expect(
                    disjoint,
                    "\(name): '\(v)' [\(born[v]!), \(dies[v]!)] and '\(w)' [\(born[w]!), \(dies[w]!)] share a buffer")
                #expect(!graph.inputs.contains { $0.name == v || $0.name == w })
                #expect(!graph.outputs.contains { $0.name == v || $0.name == w })
            }
        }
        #expect(shared > 0, "\(name): no buffer is shared")
    }
}
