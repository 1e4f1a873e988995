// `cnnconv run --mc-dropout N` for classifiers: which outputs are logits, the uncertainty report
// (CNNRuntime's Uncertainty computes it; this file renders), --labels scoring against the mean
// net, --uncertainty-out (.npz or a folder of .npy) and --plot (rejection curve, reliability).
import ArgumentParser
import CNNFormat
import CNNGraph
import CNNKernels
import CNNRuntime
import CNNVerify
import Foundation

extension RunCommand {
    /// The options below only make sense with MC dropout (called from `validate`).
    func validateUncertainty() throws {
        if mcDropout == nil {
            for (flag, given) in [
                ("--labels", labels != nil), ("--uncertainty-out", uncertaintyOut != nil), ("--plot", plot != nil),
                ("--probabilities", probabilities != nil),
            ] where given {
                throw ValidationError("\(flag) needs --mc-dropout N")
            }
        }
        if plot != nil && labels == nil {
            throw ValidationError("--plot draws the rejection curve and reliability diagram: give --labels")
        }
    }

    /// Outputs whose per-pass values get a softmax: detected [N, K] logits, or all when
    /// --probabilities, none when --no-probabilities.
    func logitOutputs(_ graph: Graph, shapes: ShapeMap) -> Set<String> {
        if probabilities == false { return [] }
        return Set(
            graph.outputs.map(\.name).filter { name in
                guard let shape = shapes[name] else { return false }
                if probabilities == true { return shape.count == 2 && !RunCommand.isSoftmax(graph, name) }
                return Uncertainty.looksLikeLogits(graph, output: name, shape: shape)
            })
    }

    /// Per classifier output: the uncertainty report; writes --uncertainty-out and --plot.
    func uncertaintyReports(
        _ graph: Graph, _ mc: MonteCarloResult, logits: Set<String>,
        eval: [String: NDArray<Double>]
    ) throws -> [String: UncertaintyReport] {
        var reports: [String: UncertaintyReport] = [:]
        var arrays: [(name: String, array: NPYArray)] = []
        var plotted = false
        let classifiers = graph.outputs.filter {
            mc.outputs[$0.name]?.predictiveEntropy != nil && mc.outputs[$0.name]?.mean.shape.count == 2
        }
        for o in classifiers {
            guard let out = mc.outputs[o.name], let deterministic = eval[o.name] else { continue }
            let u: ClassifierUncertainty
            do {
                let meanNet = logits.contains(o.name) ? try Uncertainty.softmax(deterministic) : deterministic
                u = try Uncertainty.classifier(out, passes: mc.samples, meanNet: meanNet)
            } catch { throw CLIFailure(error) }
            var report = UncertaintyReport(u, from: logits.contains(o.name) ? "softmax of logits" : "softmax output")
            if let labels {
                let values: [Double]
                do { values = try NPY.read(labels).array(as: Double.self).values } catch { throw CLIFailure(error) }
                let y: [Int]
                do { y = try Uncertainty.labels(values, samples: u.samples, classes: u.classes) } catch {
                    throw CLIFailure("\(labels): \(error)", exitCode: .usage)
                }
                let evaluation = Uncertainty.evaluate(u, labels: y)
                report.evaluation = evaluation
                if let plot, !plotted {
                    do { try SVGPlot.uncertainty(evaluation, output: o.name, passes: mc.samples).write(to: plot) } catch
                    { throw CLIFailure(error) }
                    plotted = true
                }
            }
            let prefix = classifiers.count > 1 ? o.name + "." : ""
            arrays += [
                (prefix + "predictive_mean", NPYArray(u.predictiveMean)),
                (prefix + "class_variance", NPYArray(u.classVariance)),
                (prefix + "predictive_entropy", NPYArray(NDArray(shape: [u.samples], values: u.predictiveEntropy))),
                (prefix + "expected_entropy", NPYArray(NDArray(shape: [u.samples], values: u.expectedEntropy))),
                (prefix + "mutual_information", NPYArray(NDArray(shape: [u.samples], values: u.mutualInformation))),
            ]
            if let m = u.meanNet { arrays.append((prefix + "mean_net_probabilities", NPYArray(m))) }
            reports[o.name] = report
        }
        if let path = uncertaintyOut {
            guard !arrays.isEmpty else {
                throw CLIFailure(
                    "--uncertainty-out: no output is a classifier's [N, K] probabilities or logits", exitCode: .usage)
            }
            do {
                if path.hasSuffix(".npz") {
                    try NPZ.write(arrays, to: path)
                } else {
                    do {
                        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                    } catch {
                        throw CLIFailure("\(path): cannot create the folder: \(error.localizedDescription)")
                    }
                    for (name, array) in arrays { try NPY.write(array, to: PathNames.joining(path, name + ".npy")) }
                }
            } catch let e as CLIFailure { throw e } catch { throw CLIFailure(error) }
        }
        return reports
    }
}

/// The JSON and text of one classifier output's MC dropout uncertainty.
struct UncertaintyReport: Encodable {
    var probabilitiesFrom: String
    var meanPredictiveEntropy: Double
    var meanExpectedEntropy: Double
    var meanMutualInformation: Double
    var meanClassVariance: Double
    var predictiveEntropy: [Double]
    var expectedEntropy: [Double]
    var mutualInformation: [Double]
    var top1: [OutputStatistics.Top1]?
    var evaluation: UncertaintyEvaluation?

    init(_ u: ClassifierUncertainty, from: String) {
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(max(1, v.count)) }
        probabilitiesFrom = from
        meanPredictiveEntropy = mean(u.predictiveEntropy)
        meanExpectedEntropy = mean(u.expectedEntropy)
        meanMutualInformation = mean(u.mutualInformation)
        meanClassVariance = mean(u.classVariance.values)
        predictiveEntropy = u.predictiveEntropy
        expectedEntropy = u.expectedEntropy
        mutualInformation = u.mutualInformation
        top1 = OutputStatistics.top1(u.predictiveMean)
    }

    func render(indent: String = "    ") -> String {
        func num(_ v: Double) -> String { String(format: "%.4g", v) }
        func pct(_ v: Double) -> String { String(format: "%.2f %%", 100 * v) }
        var out = "\(indent)probabilities: \(probabilitiesFrom)\n"
        out +=
            "\(indent)mean over samples: predictive entropy \(num(meanPredictiveEntropy)) · expected entropy \(num(meanExpectedEntropy))"
            + " · mutual information \(num(meanMutualInformation)) nats · class variance \(num(meanClassVariance))\n"
        for n in 0..<min(8, predictiveEntropy.count) {
            let top = top1.map { " · top-1 class \($0[n].index) (p̄ \(num($0[n].value)))" } ?? ""
            out +=
                "\(indent)  sample \(n): H \(num(predictiveEntropy[n])) · E[H] \(num(expectedEntropy[n])) · MI \(num(mutualInformation[n]))\(top)\n"
        }
        if predictiveEntropy.count > 8 {
            out += "\(indent)  … \(predictiveEntropy.count - 8) more samples (--json or --uncertainty-out for all)\n"
        }
        guard let e = evaluation else { return out }
        var rows = [["prediction", "accuracy", "NLL", "ECE"]]
        rows.append([
            "MC dropout (mean of passes)", pct(e.monteCarlo.accuracy), num(e.monteCarlo.negativeLogLikelihood),
            num(e.monteCarlo.expectedCalibrationError),
        ])
        if let m = e.meanNet {
            rows.append([
                "mean net (eval, weight scaling)", pct(m.accuracy), num(m.negativeLogLikelihood),
                num(m.expectedCalibrationError),
            ])
        }
        for row in Format.table(rows, rightAligned: [1, 2, 3]) { out += indent + row + "\n" }
        out += "\(indent)rejection curve (accuracy on the rest when the most uncertain are set aside):\n"
        var curve = [["rejected", "kept", "MC (entropy)"] + (e.meanNetRejection == nil ? [] : ["mean net (entropy)"])]
        for (i, p) in e.rejection.enumerated() {
            curve.append(
                ["\(p.rejectedPercent) %", String(p.kept), pct(p.accuracy)]
                    + (e.meanNetRejection.map { [pct($0[i].accuracy)] } ?? []))
        }
        for row in Format.table(curve, rightAligned: [0, 1, 2, 3]) { out += indent + "  " + row + "\n" }
        return out
    }
}
