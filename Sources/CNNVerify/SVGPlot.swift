// Small SVG charts written by our own code (no plotting library): line and bar series on linear
// or log axes, several charts side by side in one file. Every series is a <g class="series"
// data-series="NAME"> so a reader (or a test) can find it; the file opens in any browser.
import Foundation

/// Why a plot cannot be written.
public struct SVGPlotError: Error, CustomStringConvertible, Sendable {
    /// The plot's path, so the message names the file that could not be written.
    public var path: String
    /// The system's reason (permission, missing folder).
    public var message: String
    /// The path and reason in one line, as the CLI prints it.
    public var description: String { "\(path): cannot write the plot: \(message)" }
}

/// One chart: axes, series, a legend.
public struct SVGChart: Sendable {
    /// How a series is drawn: lines for curves, bars for per-layer values, markers for scattered points,
    /// dashed for bounds drawn beside the data.
    public enum Style: Sendable { case line, bars, markers, dashed }
    /// One named set of points; its name is the legend entry and the `data-series` attribute tests find.
    public struct Series: Sendable {
        /// The legend entry and the `data-series` attribute.
        public var name: String
        /// The data, in drawing order; non-positive y values are dropped on a log axis.
        public var points: [(x: Double, y: Double)]
        /// How the points are drawn.
        public var style: Style
        /// A series drawn as a line unless told otherwise.
        public init(_ name: String, _ points: [(x: Double, y: Double)], style: Style = .line) {
            self.name = name; self.points = points; self.style = style
        }
    }
    /// A vertical marker line at x, labelled.
    public struct Marker: Sendable {
        /// Where the line is drawn, in the chart's x units (a layer index, a threshold).
        public var x: Double
        /// The text shown beside the line, so the reader knows what it marks.
        public var label: String
        /// A marker at x (a layer index, a threshold), with the text shown beside it.
        public init(x: Double, label: String) { self.x = x; self.label = label }
    }

    /// Shown above the chart.
    public var title: String
    /// The x axis's label, with its unit.
    public var xLabel: String
    /// The y axis's label, with its unit.
    public var yLabel: String
    /// The data, drawn in order (later series on top).
    public var series: [Series] = []
    /// A log y axis: errors span decades, so linear axes hide all but the largest.
    public var logY = false
    /// Category names for x = 0, 1, 2, … (bar charts, layers); ticks then show them.
    public var categories: [String]? = nil
    /// Fixes the x axis (nil: fitted to the data), so that charts side by side are comparable.
    public var xRange: ClosedRange<Double>? = nil
    /// Fixes the y axis (nil: fitted to the data).
    public var yRange: ClosedRange<Double>? = nil
    /// Vertical lines with labels (where the first divergence is, for instance).
    public var markers: [Marker] = []
    /// The legend sits in the top-right corner (else bottom-right).
    public var legendAtTop = false

    /// An empty chart; add series and options before rendering.
    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    static let width = 560.0, height = 400.0
    static let left = 70.0, right = 20.0, top = 40.0, bottom = 90.0
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    /// The chart's SVG elements, drawn in a box at (x, y).
    func body(at ox: Double, _ oy: Double) -> String {
        let pw = Self.width - Self.left - Self.right, ph = Self.height - Self.top - Self.bottom
        let allX = series.flatMap { $0.points.map(\.x) }
        let allY = series.flatMap { $0.points.map(\.y) }.filter { $0.isFinite && (!logY || $0 > 0) }
        let barSeries = series.filter { $0.style == .bars }.count
        var xr = xRange ?? ((allX.min() ?? 0)...(max(allX.max() ?? 1, (allX.min() ?? 0) + 1e-12)))
        if barSeries > 0 && xRange == nil { xr = (xr.lowerBound - 0.5)...(xr.upperBound + 0.5) }
        var yr: ClosedRange<Double>
        if let r = yRange {
            yr = r
        } else if logY {
            let lo = allY.min() ?? 1e-8, hi = allY.max() ?? 1
            yr = pow(10, floor(log10(lo)))...pow(10, max(ceil(log10(hi)), floor(log10(lo)) + 1))
        } else {
            let lo = min(0, allY.min() ?? 0), hi = allY.max() ?? 1
            yr = lo...(hi > lo ? hi + (hi - lo) * 0.05 : lo + 1)
        }
        func px(_ x: Double) -> Double { ox + Self.left + (x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * pw }
        func py(_ y: Double) -> Double {
            let t =
                logY
                ? (log10(max(y, yr.lowerBound)) - log10(yr.lowerBound)) / (log10(yr.upperBound) - log10(yr.lowerBound))
                : (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound)
            return oy + Self.top + (1 - min(max(t, 0), 1)) * ph
        }
        var s = "<g class=\"chart\" data-title=\"\(Self.escape(title))\">\n"
        s +=
            "<text x=\"\(f(ox + Self.width / 2))\" y=\"\(f(oy + 22))\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        s +=
            "<rect x=\"\(f(ox + Self.left))\" y=\"\(f(oy + Self.top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#444\"/>\n"
        // Y ticks.
        var yTicks: [Double] = []
        if logY {
            var e = log10(yr.lowerBound).rounded()
            while e <= log10(yr.upperBound) + 1e-9 { yTicks.append(pow(10, e)); e += 1 }
        } else {
            let step = Self.niceStep((yr.upperBound - yr.lowerBound) / 5)
            var t = (yr.lowerBound / step).rounded(.up) * step
            while t <= yr.upperBound + step * 1e-9 { yTicks.append(t); t += step }
        }
        for t in yTicks {
            s +=
                "<line x1=\"\(f(ox + Self.left))\" x2=\"\(f(ox + Self.left + pw))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" stroke=\"#ddd\"/>\n"
            s +=
                "<text x=\"\(f(ox + Self.left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" font-size=\"11\">\(Self.label(t, log: logY))</text>\n"
        }
        // X ticks: categories, or nice numbers.
        if let categories {
            let every = max(1, categories.count / 16)
            for (i, name) in categories.enumerated() where i % every == 0 {
                let x = px(Double(i)), y = oy + Self.top + ph + 12
                s +=
                    "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"end\" font-size=\"10\" transform=\"rotate(-40 \(f(x)) \(f(y)))\">\(Self.escape(name))</text>\n"
            }
        } else {
            let step = Self.niceStep((xr.upperBound - xr.lowerBound) / 6)
            var t = (xr.lowerBound / step).rounded(.up) * step
            while t <= xr.upperBound + step * 1e-9 {
                s +=
                    "<text x=\"\(f(px(t)))\" y=\"\(f(oy + Self.top + ph + 16))\" text-anchor=\"middle\" font-size=\"11\">\(Self.label(t, log: false))</text>\n"
                t += step
            }
        }
        s +=
            "<text x=\"\(f(ox + Self.left + pw / 2))\" y=\"\(f(oy + Self.height - 8))\" text-anchor=\"middle\" font-size=\"12\">\(Self.escape(xLabel))</text>\n"
        let ly = oy + Self.top + ph / 2
        s +=
            "<text x=\"\(f(ox + 16))\" y=\"\(f(ly))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 \(f(ox + 16)) \(f(ly)))\">\(Self.escape(yLabel))\(logY ? " (log scale)" : "")</text>\n"
        // Series.
        var barIndex = 0
        let barWidth = barSeries > 0 ? pw / max(1, xr.upperBound - xr.lowerBound) * 0.8 / Double(barSeries) : 0
        for (k, series) in series.enumerated() {
            let color = Self.palette[k % Self.palette.count]
            s +=
                "<g class=\"series\" data-series=\"\(Self.escape(series.name))\" data-points=\"\(series.points.count)\">\n"
            let points = series.points.filter { $0.x.isFinite && $0.y.isFinite }
            switch series.style {
            case .line, .dashed:
                let d = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                s +=
                    "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(series.style == .dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
                for p in points {
                    s +=
                        "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(color)\" data-x=\"\(p.x)\" data-y=\"\(p.y)\"/>\n"
                }
            case .markers:
                for p in points {
                    s +=
                        "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"4\" fill=\"\(color)\" data-x=\"\(p.x)\" data-y=\"\(p.y)\"/>\n"
                }
            case .bars:
                let base = py(logY ? yr.lowerBound : max(yr.lowerBound, 0))
                for p in points {
                    let x = px(p.x) - barWidth * Double(barSeries) / 2 + barWidth * Double(barIndex), y = py(p.y)
                    s +=
                        "<rect x=\"\(f(x))\" y=\"\(f(min(y, base)))\" width=\"\(f(barWidth))\" height=\"\(f(abs(base - y)))\" fill=\"\(color)\" data-x=\"\(p.x)\" data-y=\"\(p.y)\"/>\n"
                }
                barIndex += 1
            }
            s += "</g>\n"
        }
        // Legend: a box in the top-right or bottom-right corner of the plot area.
        let legendWidth = 30 + 6.2 * Double(series.map(\.name.count).max() ?? 0),
            legendHeight = 8 + 16 * Double(series.count)
        let bx = ox + Self.left + pw - legendWidth - 8
        let by = legendAtTop ? oy + Self.top + 8 : oy + Self.top + ph - legendHeight - 8
        s +=
            "<g class=\"legend\"><rect x=\"\(f(bx))\" y=\"\(f(by))\" width=\"\(f(legendWidth))\" height=\"\(f(legendHeight))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n"
        for (k, series) in series.enumerated() {
            let lyy = by + 18 + Double(k) * 16
            s +=
                "<rect x=\"\(f(bx + 8))\" y=\"\(f(lyy - 9))\" width=\"12\" height=\"10\" fill=\"\(Self.palette[k % Self.palette.count])\"/>"
            s += "<text x=\"\(f(bx + 26))\" y=\"\(f(lyy))\" font-size=\"11\">\(Self.escape(series.name))</text>\n"
        }
        s += "</g>\n"
        for m in markers {
            s +=
                "<g class=\"marker\" data-label=\"\(Self.escape(m.label))\"><line x1=\"\(f(px(m.x)))\" x2=\"\(f(px(m.x)))\" y1=\"\(f(oy + Self.top))\" y2=\"\(f(oy + Self.top + ph))\" stroke=\"#000\" stroke-dasharray=\"3 3\"/>"
            s +=
                "<text x=\"\(f(px(m.x) + 4))\" y=\"\(f(oy + Self.top + ph - 6))\" font-size=\"11\">\(Self.escape(m.label))</text></g>\n"
        }
        return s + "</g>\n"
    }

    func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let e = pow(10, floor(log10(raw))), m = raw / e
        return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * e
    }

    static func label(_ v: Double, log: Bool) -> String {
        if log { return "1e\(Int(log10(v).rounded()))" }
        if abs(v) < 1e-12 { return "0" }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// One SVG file: charts side by side.
public struct SVGPlot: Sendable {
    /// The charts, left to right.
    public var charts: [SVGChart]
    /// Several charts in one file, so a report is one file to open.
    public init(_ charts: [SVGChart]) { self.charts = charts }

    /// The SVG document as text (deterministic: the same charts give the same bytes, so tests can compare).
    public func render() -> String {
        let w = SVGChart.width * Double(max(1, charts.count)), h = SVGChart.height
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s +=
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        for (i, chart) in charts.enumerated() { s += chart.body(at: Double(i) * SVGChart.width, 0) }
        return s + "</svg>\n"
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename).
    public func write(to path: String) throws(SVGPlotError) {
        do { try Data(render().utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw SVGPlotError(path: path, message: error.localizedDescription)
        }
    }
}
