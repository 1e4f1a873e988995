// Models as exported in the wild: torchvision-layout ResNet-18 and MobileNetV2 (channels ×1/8)
// at 224² with realistic BatchNorm statistics and the batch fixed at 1 or 4
// (fixtures/zoo, scripts/make_zoo_models.py). Each imports, then folds, verifies and runs MC
// dropout with no options; and the verdict's report states its rule, bound and margin.
import CNNGraph
import CNNTestSupport
import Foundation
import Testing

@Suite struct FixedBatchCLITests {
    static let models = ["resnet18_w0.125_b1", "resnet18_w0.125_b4", "mobilenetv2_w0.125_b1", "mobilenetv2_w0.125_b4"]

    func imported(_ name: String, _ tmp: TemporaryDirectory) throws -> String {
        let model = tmp.file("\(name).cnnm")
        let r = try CLI.run(["import", Repository.fixture("zoo/\(name).onnx"), "-o", model])
        #expect(r.status == 0, "\(r.stderr)")
        return model
    }

    @Test(arguments: models)
    func foldVerifyAndMCDropoutWorkWithDefaults(_ name: String) throws {
        let tmp = TemporaryDirectory()
        let model = try imported(name, tmp)
        let batch = name.hasSuffix("_b4") ? 4 : 1
        let fold = try CLI.run(["fold", model])
        #expect(fold.status == 0, "\(fold.stdout)\(fold.stderr)")
        #expect(fold.stdout.contains("fed \(batch) at a time (fixed batch)"), "\(fold.stdout)")
        #expect(fold.stdout.contains("— pass"))
        let folded = tmp.file("\(name).folded.cnnm")
        #expect(try !Graph(contentsOf: folded).nodes.contains { $0.op.kindName == "BatchNorm" })

        let verify = try CLI.run(["verify", model, folded, "--samples", "3"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("output fc_out [3×1000], 3 random inputs"))

        let mc = try CLI.run(["run", model, "--mc-dropout", "3", "--batch", "\(batch + 1)", "--json"])
        #expect(mc.status == 0, "\(mc.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(mc.stdout.utf8)) as? [String: Any])
        let outputs = try #require(json["outputs"] as? [[String: Any]])
        #expect(outputs.first?["shape"] as? [Int] == [batch + 1, 1000])
        #expect((json["mcDropout"] as? [String: Any])?["samples"] as? Int == 3)
    }

    @Test func theReportStatesTheRuleTheBoundAndTheMargin() throws {
        let tmp = TemporaryDirectory()
        let model = try imported("resnet18_w0.125_b1", tmp)
        let fold = try CLI.run(["fold", model, "-o", tmp.file("f.cnnm"), "--json"])
        #expect(fold.status == 0, "\(fold.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(fold.stdout.utf8)) as? [String: Any])
        let verification = try #require(json["verification"] as? [String: Any])
        #expect(verification["rule"] as? String == "matches-reference-precision")
        #expect((verification["ruleDescription"] as? String)?.contains("4×") == true)
        let output = try #require((verification["outputs"] as? [[String: Any]])?.first)
        let verdict = try #require(output["verdict"] as? [String: Any])
        let bound = try #require(verdict["maxBound"] as? Double),
            budget = try #require(verdict["budgetMaxError"] as? Double)
        let floor = try #require(verdict["floor"] as? Double),
            error = try #require(verdict["candidateMaxError"] as? Double)
        let rmsBound = try #require(verdict["rmsBound"] as? Double),
            rms = try #require(verdict["candidateRmsError"] as? Double)
        // The bound is the stated rule applied to the stated numbers; the margin follows from them.
        #expect(abs(bound - (4 * budget + floor)) <= 1e-12 * bound)
        #expect(abs((verdict["margin"] as? Double ?? 0) - min(bound / error, rmsBound / rms)) <= 1e-9)
        #expect(verdict["passed"] as? Bool == true)

        let text = try CLI.run(["verify", model, tmp.file("f.cnnm"), "--samples", "2"])
        #expect(text.stdout.contains("bound "))
        #expect(text.stdout.contains("margin ×"))
        #expect(text.stdout.contains("PASS (candidate within 4× the reference's own f32 error vs f64"))
    }

    @Test func aPerturbedGammaFailsWithTheWorstElementAndTheFirstDivergingLayer() throws {
        let tmp = TemporaryDirectory()
        let model = try imported("mobilenetv2_w0.125_b1", tmp)
        var graph = try Graph(contentsOf: model)
        // γ of the strongest channel of a BN halfway through, ×1.001.
        let bns = graph.nodes.indices.filter { graph.nodes[$0].op.kindName == "BatchNorm" }
        let i = bns[bns.count / 2]
        guard case .batchNorm(var bn) = graph.nodes[i].op, let scale = bn.scale else {
            Issue.record("BN with γ expected"); return
        }
        var gamma = scale.array
        let k = gamma.indices.max { abs(gamma[$0]) < abs(gamma[$1]) } ?? 0
        gamma[k] *= 1.001
        bn.scale = Tensor(name: scale.name, shape: scale.shape, values: gamma)
        graph.nodes[i].op = .batchNorm(bn)
        try graph.write(to: tmp.file("perturbed.cnnm"))
        let r = try CLI.run(["verify", model, tmp.file("perturbed.cnnm"), "--samples", "2"])
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stdout.contains("worst element"))
        #expect(r.stdout.contains("first divergence: \(graph.nodes[i].output)"), "\(r.stdout)")
        let json = try CLI.run(["verify", model, tmp.file("perturbed.cnnm"), "--samples", "2", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["firstDivergence"] as? String == graph.nodes[i].output)
        #expect(report["passed"] as? Bool == false)
    }

    @Test func explicitTolerancesJudgeWithAllclose() throws {
        let tmp = TemporaryDirectory()
        let model = try imported("resnet18_w0.125_b1", tmp)
        _ = try CLI.run(["fold", model, "-o", tmp.file("f.cnnm")])
        let strict = try CLI.run(["verify", model, tmp.file("f.cnnm"), "--samples", "2", "--atol", "0", "--rtol", "0"])
        #expect(strict.stdout.contains("allclose: |candidate − reference| ≤ 0 + 0·|reference|"))
        // Bitwise equality is not what a fold gives: allclose at 0 fails where the default passes.
        #expect(strict.status == 1)
    }
}
