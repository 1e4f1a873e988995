// The charts the commands draw: statistic shift per BatchNorm (recalibrate), rejection curve and
// reliability diagram (run --mc-dropout --labels). Data in, SVGPlot out; nothing is computed here.
import CNNRuntime

extension SVGPlot {
    /// Bars per BatchNorm (the report's order: largest shift first): max and mean shift.
    public static func batchNormShift(_ report: RecalibrationReport) -> SVGPlot {
        var chart = SVGChart(title: "BatchNorm statistics shift after recalibration (\(report.samples) samples)",
                             xLabel: "BatchNorm", yLabel: "shift (old σ)")
        chart.categories = report.batchNorms.map(\.node)
        chart.series = [
            .init("max shift", report.batchNorms.enumerated().map { (Double($0.offset), $0.element.maxShift) }, style: .bars),
            .init("mean shift", report.batchNorms.enumerated().map { (Double($0.offset), $0.element.meanShift) }, style: .bars),
        ]
        return SVGPlot([chart])
    }
}
