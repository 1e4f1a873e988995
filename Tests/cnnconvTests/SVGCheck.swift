// Reads an SVG the CLI wrote as XML (Foundation's XMLParser: XMLDocument is missing on Linux) and
// lists its series: each <g class="series" data-series=NAME> with the data points inside it.
import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

final class SVGSeriesReader: NSObject, XMLParserDelegate {
    /// Series name → the (data-x, data-y) of its points, in order.
    private(set) var series: [String: [(x: Double, y: Double)]] = [:]
    private(set) var chartTitles: [String] = []
    private(set) var markers: [String] = []
    private var current: [String?] = []  // the series each open <g> belongs to (nil: none)
    private(set) var rootIsSVG = false

    static func read(_ path: String) -> SVGSeriesReader? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let reader = SVGSeriesReader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        return parser.parse() ? reader : nil
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if name == "svg" && current.isEmpty { rootIsSVG = true }
        if name == "g" {
            if attributes["class"] == "chart", let t = attributes["data-title"] { chartTitles.append(t) }
            if attributes["class"] == "marker", let l = attributes["data-label"] { markers.append(l) }
            let s = attributes["class"] == "series" ? attributes["data-series"] : nil
            if let s { series[s] = series[s] ?? [] }
            current.append(s ?? current.last ?? nil)
            return
        }
        if let s = current.last ?? nil, let x = attributes["data-x"].flatMap(Double.init),
            let y = attributes["data-y"].flatMap(Double.init)
        {
            series[s, default: []].append((x, y))
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "g" { _ = current.popLast() }
    }
}
