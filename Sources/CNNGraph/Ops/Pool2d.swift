// Pool2d: windowed max or average pooling over H and W. Its kernels are CNNKernels' maxPool2d
// and averagePool2d, bound in CNNRuntime/Plan.swift.
import CNNFormat
import CNNKernels

/// Max or average: the two reductions windowed and global pooling share.
public enum PoolKind: String, Sendable { case max, average }

/// A windowed pool with ONNX's options, which change output sizes (ceil mode) and averages at
/// the border (count_include_pad), so that imported models compute what they did in ONNX.
public struct Pool2d: Sendable, Equatable {
    /// Max or average.
    public var kind: PoolKind
    /// Kernel, stride, dilation and padding; padding is smaller than the kernel.
    public var window: Window2d
    /// Output sizes rounded up (a last, partial window), as ONNX `ceil_mode`.
    public var ceilMode: Bool
    /// Whether an average divides by padded taps too, as ONNX `count_include_pad`.
    public var countIncludePad: Bool
    /// Defaults are ONNX's (floor sizes; padding not counted in averages).
    public init(kind: PoolKind, window: Window2d, ceilMode: Bool = false, countIncludePad: Bool = false) {
        self.kind = kind; self.window = window; self.ceilMode = ceilMode; self.countIncludePad = countIncludePad
    }
}

extension Pool2d: OpDefinition {
    package var op: Op { .pool2d(self) }
    package var kindName: String { kind == .max ? "MaxPool2d" : "AvgPool2d" }
    package static var kindNames: [String] { ["MaxPool2d", "AvgPool2d"] }
    package static var formatFields: [String] { ["pool2d"] }
    package static var summary: String { "max or average pooling over an H×W window, ceil mode, count_include_pad" }
    package static var onnxImportTypes: [String] { ["MaxPool", "AveragePool"] }
    package static var onnxExportTypes: [String] { ["MaxPool", "AveragePool"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        try node.expectInputs(ins, 1)
        let x = ins[0]
        guard x.count == 4 else { throw node.fail("pooling takes NCHW input, got \(formatShape(x))") }
        try node.checkWindow(window)
        let w = window
        guard w.padTop < w.kernelH, w.padBottom < w.kernelH, w.padLeft < w.kernelW, w.padRight < w.kernelW else {
            throw node.bad("padding must be smaller than the \(w.kernelH)×\(w.kernelW) window")
        }
        guard let (h, ww) = w.outputSize(inputH: x[2], inputW: x[3], ceilMode: ceilMode), h > 0, ww > 0 else {
            throw node.fail("the \(w.kernelH)×\(w.kernelW) window does not fit the \(x[2])×\(x[3]) input")
        }
        return [x[0], x[1], h, ww]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String {
        windowSummary(window) + (ceilMode ? " ceil" : "") + (kind == .average && countIncludePad ? " count-pad" : "")
    }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let w = window
        let g = try PoolGeometry(
            input: shape4(b.xs), kernel: w.kernelSize, stride: w.strideSize, dilation: w.dilationSize,
            padding: w.padding, ceilMode: ceilMode)
        let (x, y) = (b.x, b.output)
        if kind == .max { return { maxPool2d(g, input: x, output: y) } }
        let include = countIncludePad
        return { averagePool2d(g, input: x, output: y, countIncludePadding: include) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_Pool2d()
        o.kind = kind == .max ? .max : .average
        o.window = GraphEncoder.window(window); o.ceilMode = ceilMode; o.countIncludePad = countIncludePad
        n.pool2D = o
    }

    static func decode(_ p: Cnnconv_V1_Pool2d, node name: String, _ d: inout GraphDecoder) throws -> Op {
        .pool2d(
            Pool2d(
                kind: try d.known(p.kind, name, "pool2d.kind") == .average ? .average : .max,
                window: GraphDecoder.window(p.window),
                ceilMode: p.ceilMode, countIncludePad: p.countIncludePad))
    }

    /// onnxruntime computes AveragePool's ceil-mode divisor with count_include_pad, and dilated
    /// average pooling, as ONNX specifies only from opset 19.
    package var onnxMinimumOpset: Int {
        kind == .average && ((ceilMode && countIncludePad) || window.dilationH != 1 || window.dilationW != 1) ? 19 : 17
    }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? "", y = n.output
        if kind == .max {
            b.node(
                "MaxPool", n.name, [x], [y],
                attributes: onnxWindowAttributes(window) + [("ceil_mode", .int(ceilMode ? 1 : 0))])
        } else {
            let dilated = window.dilationH != 1 || window.dilationW != 1
            b.node(
                "AveragePool", n.name, [x], [y],
                attributes: onnxWindowAttributes(window, dilation: dilated) + [
                    ("ceil_mode", .int(ceilMode ? 1 : 0)), ("count_include_pad", .int(countIncludePad ? 1 : 0)),
                ])
        }
    }
}
