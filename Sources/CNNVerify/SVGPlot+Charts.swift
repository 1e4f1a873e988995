// The charts the commands draw: statistic shift per BatchNorm (recalibrate), rejection curve and
// reliability diagram (run --mc-dropout --labels). Data in, SVGPlot out; nothing is computed here.
import CNNRuntime

extension SVGPlot {
    /// Bars per BatchNorm (the report's order: largest shift first): max and mean shift.
    public static func batchNormShift(_ report: RecalibrationReport) -> SVGPlot {
        var chart = SVGChart(
            title: "BatchNorm statistics shift after recalibration (\(report.samples) samples)",
            xLabel: "BatchNorm", yLabel: "shift (old σ)")
        chart.categories = report.batchNorms.map(\.node)
        chart.legendAtTop = true
        chart.series = [
            .init(
                "max shift", report.batchNorms.enumerated().map { (Double($0.offset), $0.element.maxShift) },
                style: .bars),
            .init(
                "mean shift", report.batchNorms.enumerated().map { (Double($0.offset), $0.element.meanShift) },
                style: .bars),
        ]
        return SVGPlot([chart])
    }
}

extension SVGPlot {
    /// Two charts: the rejection curve (accuracy vs the % most uncertain set aside) and the
    /// reliability diagram (accuracy vs confidence per bin), MC dropout beside the mean net.
    public static func uncertainty(_ e: UncertaintyEvaluation, output: String, passes: Int) -> SVGPlot {
        var rejection = SVGChart(
            title: "Rejection curve — \(output)", xLabel: "most uncertain set aside (%)", yLabel: "accuracy on the rest"
        )
        rejection.series = [
            .init(
                "MC dropout, \(passes) passes (predictive entropy)",
                e.rejection.map { (Double($0.rejectedPercent), $0.accuracy) })
        ]
        if let m = e.meanNetRejection {
            rejection.series.append(
                .init("mean net (softmax entropy)", m.map { (Double($0.rejectedPercent), $0.accuracy) }, style: .dashed)
            )
        }
        let accuracies = (e.rejection + (e.meanNetRejection ?? [])).map(\.accuracy)
        let low = max(0, ((accuracies.min() ?? 0) * 100 - 1).rounded(.down) / 100)
        rejection.yRange = low...1
        var reliability = SVGChart(
            title: "Reliability diagram — \(output)", xLabel: "confidence (top-1 probability)", yLabel: "accuracy")
        reliability.xRange = 0...1
        reliability.yRange = 0...1
        reliability.series = [.init("perfect calibration", [(0, 0), (1, 1)], style: .dashed)]
        func points(_ s: PredictiveScores) -> [(x: Double, y: Double)] {
            s.reliability.filter { $0.count > 0 }.map { ($0.confidence, $0.accuracy) }
        }
        reliability.series.append(
            .init(String(format: "MC dropout (ECE %.3f)", e.monteCarlo.expectedCalibrationError), points(e.monteCarlo)))
        if let m = e.meanNet {
            reliability.series.append(
                .init(String(format: "mean net (ECE %.3f)", m.expectedCalibrationError), points(m)))
        }
        return SVGPlot([rejection, reliability])
    }
}

extension SVGPlot {
    /// Per compared value, in graph order, on a log scale: the candidate's largest and mean error
    /// against the reference, its largest error against Float64 beside the Float32 budget and the
    /// largest the verdict allows; the first divergence marked. Zero errors are not drawn.
    public static func perLayer(_ report: VerifyReport) -> SVGPlot {
        let layers = report.layers ?? []
        var chart = SVGChart(
            title: "Per-layer error" + (report.passed ? "" : " (verification failed)"),
            xLabel: "value (graph order)", yLabel: "error")
        chart.logY = true
        chart.categories = layers.map(\.candidate)
        func series(_ name: String, _ value: (VerifyReport.Layer) -> Double?, _ style: SVGChart.Style) -> SVGChart
            .Series?
        {
            let points = layers.enumerated().compactMap { i, l in value(l).flatMap { $0 > 0 ? (Double(i), $0) : nil } }
            return points.isEmpty ? nil : .init(name, points, style: style)
        }
        chart.series = [
            series("max |candidate − reference| (f32)", { $0.maxAbsError }, .line),
            series("mean |candidate − reference| (f32)", { $0.meanAbsError }, .line),
            series("candidate max error vs f64", { $0.float64MaxError }, .markers),
            series("f32 budget: reference max error vs f64", { $0.budgetMaxError }, .dashed),
            series("allowed max error", { $0.allowedMaxError }, .dashed),
        ].compactMap { $0 }
        if let first = report.firstDivergence, let i = layers.firstIndex(where: { $0.candidate == first }) {
            chart.markers = [.init(x: Double(i), label: "first divergence: \(first)")]
        }
        return SVGPlot([chart])
    }
}
