// ChannelShuffle (ShuffleNet): channels viewed as [groups, C/groups], transposed, flattened back.
// CNNKernels' channelShuffle runs it; ONNX has no such op, so it exports as Reshape, Transpose,
// Reshape (which the importer fuses back).
import CNNFormat
import CNNKernels

/// The definition of `Op.channelShuffle`, whose payload is only the group count.
package struct ChannelShuffleDefinition: OpDefinition {
    package var groups: Int
    package init(groups: Int) { self.groups = groups }

    package var op: Op { .channelShuffle(groups: groups) }
    package var kindName: String { "ChannelShuffle" }
    package static var kindNames: [String] { ["ChannelShuffle"] }
    package static var formatFields: [String] { ["channel_shuffle"] }
    package static var summary: String { "channels as [groups, C/groups], transposed (ShuffleNet)" }
    package static var onnxExportTypes: [String] { ["Reshape", "Transpose"] }

    package func outputShape(of node: Node, inputs ins: [[Int]]) throws(GraphError) -> [Int] {
        let g = groups
        try node.expectInputs(ins, 1)
        guard ins[0].count >= 2, g >= 1, ins[0][1] % g == 0 else {
            throw node.bad("\(ins[0].count >= 2 ? ins[0][1] : 0) channels do not divide into \(g) groups")
        }
        return ins[0]
    }

    package func attributeSummary(inputShapes: [[Int]]) -> String { "groups=\(groups)" }

    package func prepare<T: KernelScalar>(_ b: KernelBuffers<T>, parameters p: KernelParameters<T>) throws(KernelError)
        -> (() throws -> Void)?
    {
        let (shape, g, x, y) = (shape4(b.xs), groups, b.x, b.output)
        return { try channelShuffle(shape, groups: g, input: x, output: y) }
    }

    package func encode(into n: inout Cnnconv_V1_Node, _ e: inout GraphEncoder) throws(GraphError) {
        var o = Cnnconv_V1_ChannelShuffle(); o.groups = UInt32(clamping: groups); n.channelShuffle = o
    }

    static func decode(_ c: Cnnconv_V1_ChannelShuffle) -> Op { .channelShuffle(groups: Int(c.groups)) }

    package func exportONNX<B: ONNXExportBuilder>(_ n: Node, into b: inout B) throws(OpExportError) {
        let x = n.inputs.first ?? "", y = n.output, g = groups
        guard let s = b.shape(of: x), s.count >= 3 else {
            throw OpExportError("channel shuffle needs an N, C, … input")
        }
        let split = b.ints("\(n.name).split_shape", [0, g, s[1] / g] + Array(s[2...]))
        let back = b.ints("\(n.name).shape", [0] + Array(s[1...]))
        let r1 = b.fresh("\(y).split"), t = b.fresh("\(y).transposed")
        b.node("Reshape", "\(n.name).split", [x, split], [r1])
        b.node(
            "Transpose", "\(n.name).transpose", [r1], [t],
            attributes: [("perm", .ints([0, 2, 1] + Array(3..<(s.count + 1))))])
        b.node("Reshape", n.name, [t, back], [y])
    }
}
