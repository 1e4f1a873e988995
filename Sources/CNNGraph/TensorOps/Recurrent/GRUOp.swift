// GRU (ONNX opset 7–22): forward, reverse or bidirectional, optional bias, initial state and
// sequence_lens, layout 0 or 1, clip, linear_before_reset 0 or 1, outputs Y and Y_h; the default
// activations only (Sigmoid, Tanh; others are refused by name). The shared shape rule and ONNX
// mapping are in RecurrentSupport.swift, the kernel in CNNKernels/Recurrent.swift.
import CNNKernels

struct GRUOp: RecurrentOpDefinition {
    let name = "GRU"
    let summary =
        "gated recurrent unit over X's steps (ONNX GRU: gates z, r, h; `inputs` lists the ONNX inputs present among B, initial_h); outputs Y, Y_h"
    let gates = 3
    let optionalInputs = [3, 5]
    let maxOutputs = 2
    let defaultActivations = ["Sigmoid", "Tanh"]

    func checkOwnAttributes(_ op: TensorOp) throws(TensorOpError) {
        let v = try op.int("linear_before_reset", default: 0)
        guard v == 0 || v == 1 else { throw TensorOpError("attribute 'linear_before_reset' is \(v), must be 0 or 1") }
        if op.attributes["input_forget"] != nil { throw TensorOpError("attribute 'input_forget' is LSTM's, not GRU's") }
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let l = try layout(op, operands)
        let at = l.operandAt, g = l.geometry, lengths = l.sequenceLengths, count = l.outputs
        let clip = l.clip.map { T($0) }
        let linearBeforeReset = try op.int("linear_before_reset", default: 0) == 1
        return { operands, outputs in
            gru(
                g, x: operands[0], w: operands[1], r: operands[2], bias: at[3].map { operands[$0] },
                initialH: at[5].map { operands[$0] }, sequenceLengths: lengths, clip: clip,
                linearBeforeReset: linearBeforeReset, y: outputs[0], yH: count > 1 ? outputs[1] : nil)
        }
    }
}
