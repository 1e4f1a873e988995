// seed writes the same bytes. Usage: swift run make-fixtures [FOLDER] [--seed N]
import CNNFixtures
import CNNGraph
// Writes the bundled fixture models to a folder (default: fixtures/). Deterministic: the same
import Foundation

var folder = "fixtures"
var seed = FixtureModels.defaultSeed
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    if arg == "--seed", let value = args.popFirst(), let n = UInt64(value) { seed = n } else { folder = arg }
}
do {
    for (name, graph) in try FixtureModels.all(seed: seed) {
        let path = "\(folder)/\(name).cnnm"
        try graph.write(to: path)
        print("wrote \(path): \(graph.nodes.count) nodes, \(graph.parameterCount) parameters")
    }
} catch {
    print("make-fixtures: \(error)")
    exit(1)
}
