// Every fixtures/onnx model imports; the graph has the ops, attributes and parameter values the
// manifest (written alongside onnxruntime's outputs) says, the output shapes onnxruntime computed,
// and export → import gives the same graph back.
import CNNGraph
import Foundation
import Testing

@testable import CNNONNX

/// The graph op kind (Op.kindName) an ONNX op becomes; Conv's depthwise form counts as Conv2d.
func expectedKind(_ node: Manifest.NodeEntry, params: [String: [Double]]) -> String {
    switch node.op_type {
    case "Conv": return "Conv2d"
    case "ConvTranspose": return "ConvTranspose2d"
    case "BatchNormalization": return "BatchNorm"
    case "Relu": return "ReLU"
    case "LeakyRelu": return "LeakyReLU"
    case "Clip":
        let lo = node.inputs.count > 1 ? params[node.inputs[1]]?.first : nil
        let hi = node.inputs.count > 2 ? params[node.inputs[2]]?.first : nil
        if lo == 0 && hi == nil { return "ReLU" }
        return lo == 0 && hi == 6 ? "ReLU6" : "Clip"
    case "MaxPool": return "MaxPool2d"
    case "AveragePool": return "AvgPool2d"
    case "GlobalAveragePool": return "GlobalAvgPool"
    case "Gemm": return "Linear"
    case "Sum": return "Add"
    case "InstanceNormalization": return "InstanceNorm"
    case "LayerNormalization": return "LayerNorm"
    case "GroupNormalization": return "GroupNorm"
    default: return node.op_type
    }
}

func kindName(_ op: Op) -> String { op.kindName == "DepthwiseConv2d" ? "Conv2d" : op.kindName }

/// Parameters consumed as attributes (ratios, bounds, scales, shapes), not as graph tensors.
func attributeInputs(_ c: Manifest.Case) -> Set<String> {
    var s = Set<String>()
    for n in c.nodes where ["Dropout", "Clip", "Resize", "Reshape", "Pad"].contains(n.op_type) {
        s.formUnion(n.inputs.dropFirst())
    }
    return s
}

@Suite("Import fixtures/onnx")
struct ImportFixtureTests {
    static let cases = Manifest.shared.cases

    @Test("the manifest lists the fixtures")
    func manifestLoads() {
        #expect(Self.cases.count >= 82)
    }

    @Test("imports with the expected ops, parameters and output shapes", arguments: cases)
    func importsCase(_ c: Manifest.Case) throws {
        let (graph, report) = try ONNXImporter.importModel(path: c.modelPath)
        #expect(report.opset == c.opset)

        // Parameter values, exactly.
        var paramValues: [String: [Double]] = [:]
        for p in c.params { paramValues[p.name] = try NPY.read(c.path(p)).floats.map(Double.init) }
        let tensors = Dictionary(graph.parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let asAttributes = attributeInputs(c)
        for p in c.params where p.dtype == "float32" && !asAttributes.contains(p.name) {
            let t = try #require(tensors[p.name], "parameter \(p.name) is not a graph tensor")
            let expected = try NPY.read(c.path(p)).floats
            #expect(t.count == expected.count)
            #expect(zip(t.array, expected).allSatisfy { $0.bitPattern == $1.bitPattern }, "values of \(p.name)")
        }

        // Op kinds in order (patterns become one op).
        let kinds = graph.nodes.map { kindName($0.op) }
        switch c.op {
        case "SiLU": #expect(kinds == ["SiLU"])
        case "ChannelShuffle": #expect(kinds == ["ChannelShuffle"])
        default: #expect(kinds == c.nodes.map { expectedKind($0, params: paramValues) })
        }

        // Output shapes agree with onnxruntime's.
        let batch = c.inputs[0].shape.first ?? 1
        let shapes = try graph.inferShapes(batch: batch)
        for o in c.outputs { #expect(shapes[o.name] == o.shape, "shape of output \(o.name)") }

        if c.nodes.count == 1, let node = graph.nodes.first {
            try checkAttributes(c, c.nodes[0], node.op, params: paramValues)
        }
    }

    @Test("export then import gives the same graph", arguments: cases)
    func roundTrip(_ c: Manifest.Case) throws {
        let (graph, _) = try ONNXImporter.importModel(path: c.modelPath)
        let data = try ONNXExporter.export(graph)
        let (again, _) = try ONNXImporter.importModel(data: data, source: "\(c.name) (exported)")
        #expect(again.nodes == graph.nodes)
        #expect(again.inputs == graph.inputs)
        #expect(again.outputs == graph.outputs)
        #expect(try !ONNXExporter.exportModel(graph).graph.node.isEmpty)
        // For scripts/check_onnx_exports.sh: onnx.checker and onnxruntime on every export.
        if let dir = ProcessInfo.processInfo.environment["CNNCONV_ONNX_EXPORT_DIR"] {
            try ONNXExporter.write(graph, to: "\(dir)/\(c.name).onnx")
        }
    }

    func checkAttributes(_ c: Manifest.Case, _ n: Manifest.NodeEntry, _ op: Op, params: [String: [Double]]) throws {
        let a = n.attributes
        func ints(_ k: String, _ d: [Int]) -> [Int] { a[k]?.ints ?? d }
        func float(_ k: String, _ d: Double) -> Double { a[k]?.double ?? d }
        func window(_ w: Window2d, kernel: [Int]) {
            #expect([w.kernelH, w.kernelW] == kernel)
            #expect([w.strideH, w.strideW] == ints("strides", [1, 1]))
            #expect([w.dilationH, w.dilationW] == ints("dilations", [1, 1]))
            if a["auto_pad"] == nil {
                #expect([w.padTop, w.padLeft, w.padBottom, w.padRight] == ints("pads", [0, 0, 0, 0]))
            }
        }
        switch op {
        case .conv2d(let conv):
            window(conv.window, kernel: Array(conv.weight.shape[2...]))
            #expect(conv.groups == a["group"]?.int ?? 1)
            #expect((conv.bias != nil) == (n.inputs.count > 2))
        case .convTranspose2d(let conv):
            window(conv.window, kernel: Array(conv.weight.shape[2...]))
            #expect(conv.groups == a["group"]?.int ?? 1)
            #expect([conv.outputPadding.h, conv.outputPadding.w] == ints("output_padding", [0, 0]))
        case .pool2d(let p):
            window(p.window, kernel: ints("kernel_shape", []))
            #expect(p.ceilMode == (a["ceil_mode"]?.int == 1))
            if p.kind == .average { #expect(p.countIncludePad == (a["count_include_pad"]?.int == 1)) }
        case .batchNorm(let bn):
            #expect(bn.epsilon == float("epsilon", 1e-5))
            #expect(bn.momentum == 1 - float("momentum", 0.9))
        case .dropout(let d):
            #expect(d.rate == params[n.inputs[1]]?.first)
            #expect(d.convention == .inverted)
        case .activation(let act):
            switch act {
            case .leakyRelu(let alpha): #expect(Double(alpha) == float("alpha", 0.01))
            case .hardSigmoid(let alpha, let beta):
                #expect(Double(alpha) == float("alpha", 0.2)); #expect(Double(beta) == float("beta", 0.5))
            case .clip(let lo, let hi):
                #expect(Double(lo) == params[n.inputs[1]]?.first)
                #expect(Double(hi) == (n.inputs.count > 2 ? params[n.inputs[2]]?.first : .infinity))
            default: break
            }
        case .flatten(let axis): #expect(axis == a["axis"]?.int ?? 1)
        case .concat(let axis): #expect(axis == a["axis"]?.int)
        case .softmax(let axis): #expect(axis == a["axis"]?.int)
        case .layerNorm(let ln):
            let rank = c.inputs[0].shape.count
            let axis = a["axis"]?.int ?? -1
            #expect(ln.axis == (axis < 0 ? axis + rank : axis))
            #expect(ln.epsilon == float("epsilon", 1e-5))
        case .groupNorm(let gn):
            #expect(gn.groups == a["num_groups"]?.int)
            #expect(gn.epsilon == float("epsilon", 1e-5))
        case .instanceNorm(let inn): #expect(inn.epsilon == float("epsilon", 1e-5))
        case .lrn(let l):
            #expect(l.size == a["size"]?.int)
            #expect(Double(l.alpha) == float("alpha", 1e-4)); #expect(Double(l.beta) == float("beta", 0.75));
            #expect(Double(l.bias) == float("bias", 1))
        case .resize(let r):
            #expect(r.mode == (a["mode"]?.string == "linear" ? .bilinear : .nearest))
            #expect(r.coordinateTransform.rawValue == a["coordinate_transformation_mode"]?.string ?? "half_pixel")
            if r.mode == .nearest {
                #expect(r.nearestRounding.rawValue == a["nearest_mode"]?.string ?? "round_prefer_floor")
            }
            let scales = try #require(params[n.inputs[2]])
            #expect([r.scaleH, r.scaleW] == Array(scales[2...]))
        default: break
        }
    }
}
