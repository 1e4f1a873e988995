// LSTM (ONNX opset 7–22): forward, reverse or bidirectional, optional bias, initial states,
// peepholes and sequence_lens, layout 0 or 1, clip, outputs Y, Y_h, Y_c; the default
// activations only (Sigmoid, Tanh, Tanh; others and input_forget = 1 are refused by name).
// The shared shape rule and ONNX mapping are in RecurrentSupport.swift, the kernel in
// CNNKernels/Recurrent.swift.
import CNNKernels

struct LSTMOp: RecurrentOpDefinition {
    let name = "LSTM"
    let summary =
        "long short-term memory over X's steps (ONNX LSTM: gates i, o, f, c; `inputs` lists the ONNX inputs present among B, initial_h, initial_c, P); outputs Y, Y_h, Y_c"
    let gates = 4
    let optionalInputs = [3, 5, 6, 7]
    let maxOutputs = 3
    let defaultActivations = ["Sigmoid", "Tanh", "Tanh"]

    func checkOwnAttributes(_ op: TensorOp) throws(TensorOpError) {
        if op.attributes["linear_before_reset"] != nil {
            throw TensorOpError("attribute 'linear_before_reset' is GRU's, not LSTM's")
        }
    }

    func prepare<T: KernelScalar>(_ op: TensorOp, operands: [[Int]], outputs: [[Int]], as: T.Type) throws(TensorOpError)
        -> TensorKernel<T>
    {
        let l = try layout(op, operands)
        let at = l.operandAt, g = l.geometry, lengths = l.sequenceLengths, count = l.outputs
        let clip = l.clip.map { T($0) }
        return { operands, outputs in
            lstm(
                g, x: operands[0], w: operands[1], r: operands[2], bias: at[3].map { operands[$0] },
                initialH: at[5].map { operands[$0] }, initialC: at[6].map { operands[$0] },
                peepholes: at[7].map { operands[$0] }, sequenceLengths: lengths, clip: clip,
                y: outputs[0], yH: count > 1 ? outputs[1] : nil, yC: count > 2 ? outputs[2] : nil)
        }
    }
}
