// Pass reports carry typed fields (kind, target, factor, through, reason) that readers use in
// place of the prose; the JSON keeps schema 1's keys (`pass` is the pass's name).
import CNNFixtures
import CNNGraph
import CNNPasses
import Foundation
import Testing

@Suite struct PassReportFieldsTests {
    @Test func classicDropoutReportsItsKeepFactorAndTarget() throws {
        let graph = try FixtureModels.mixedOps()
        // The rates the fixture's classic dropouts have, read from the graph itself.
        var classic: [String: Double] = [:]
        for node in graph.nodes {
            if case .dropout(let d) = node.op, d.convention == .classic { classic[node.name] = d.rate }
        }
        #expect(classic.count == 2)
        let result = try FoldPasses.fold(graph)
        let dropout = try #require(result.reports.first { $0.kind == .dropout })
        #expect(dropout.pass == "fold-dropout")
        for line in dropout.lines where classic[line.node] != nil {
            let rate = classic[line.node]!
            #expect(line.factor == 1 - rate, "\(line.node): \(line)")
            if line.action == .folded { #expect(line.target != nil && graph.nodes.contains { $0.name == line.target }) }
            if line.action == .converted { #expect(line.reason?.isEmpty == false) }
        }
        #expect(dropout.lines.contains { classic[$0.node] != nil && $0.factor != nil })
    }

    @Test func everyReportNamesItsKindAndFoldedBatchNormsTheirTarget() throws {
        let graph = try FixtureModels.smallCNN()
        let result = try FoldPasses.fold(graph)
        #expect(Set(result.reports.map(\.kind)).isSubset(of: Set(PassReport.Kind.allCases)))
        #expect(FoldPasses.all.map(\.name) == FoldPasses.all.map(\.kind.rawValue))
        let folds = result.reports.filter { $0.kind == .batchNorm }.flatMap(\.lines).filter { $0.action == .folded }
        let batchNorms = graph.nodes.filter { if case .batchNorm = $0.op { return true } else { return false } }.map(
            \.name)
        #expect(!folds.isEmpty)
        for line in folds {
            #expect(batchNorms.contains(line.node))
            #expect(line.target.map { t in graph.nodes.contains { $0.name == t } } == true)
        }
    }

    @Test func theJSONKeepsThePassNameUnderPass() throws {
        var report = PassReport(.batchNorm)
        report.lines = [
            PassReport.Line(
                action: .skipped, node: "bn", detail: "d", target: nil, through: nil, factor: nil, reason: "r")
        ]
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        #expect(json?["pass"] as? String == "fold-batchnorm")
        let line = (json?["lines"] as? [[String: Any]])?.first
        #expect(line?["reason"] as? String == "r" && line?["factor"] == nil && line?["action"] as? String == "skipped")
        #expect(try JSONDecoder().decode(PassReport.self, from: JSONEncoder().encode(report)) == report)
    }
}
