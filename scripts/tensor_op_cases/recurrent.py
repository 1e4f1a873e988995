"""Recurrent tensor ops: LSTM and GRU (ONNX opset 7-22 semantics) with onnxruntime as the oracle:
forward, reverse and bidirectional; with and without B, initial states (constant or run-time) and
peepholes; sequence_lens shorter than the sequence (int32, as ONNX types it); clip; GRU's
linear_before_reset 0 and 1; one, two or three outputs. Layout 1 is not here: onnxruntime 1.23
refuses it ("Batchwise recurrent operations (layout == 1) are not supported"); the ONNX backend
node tests test_lstm_batchwise and test_gru_batchwise (fixtures/onnx-node) check it instead."""
import numpy as np
from onnx import helper, numpy_helper

RNG = np.random.default_rng(17)


def const(name, shape, low=-0.6, high=0.6):
    return numpy_helper.from_array(RNG.uniform(low, high, size=shape).astype(np.float32), name)


def lens(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int32), name)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def recurrent(op, name, steps, batch, inputs, hidden, direction="forward", bias=False, seq=None, h0=None, c0=None,
              peep=False, layout=0, outs=("y", "y_h", "y_c"), opset=17, **attrs):
    """One LSTM/GRU node. h0/c0: None (absent), "const" (an initializer) or "input" (a run-time input)."""
    g = 4 if op == "LSTM" else 3
    d = 2 if direction == "bidirectional" else 1
    x_shape = [batch, steps, inputs] if layout else [steps, batch, inputs]
    state = [batch, d, hidden] if layout else [d, batch, hidden]
    ins, run, inits = ["x", "w", "r"], [("x", x_shape)], [const("w", [d, g * hidden, inputs]), const("r", [d, g * hidden, hidden])]
    ins.append("b" if bias else "")
    if bias:
        inits.append(const("b", [d, 2 * g * hidden]))
    ins.append("seq" if seq is not None else "")
    if seq is not None:
        inits.append(lens("seq", seq))
    for n, mode in [("h0", h0)] + ([("c0", c0)] if op == "LSTM" else []):
        ins.append(n if mode else "")
        if mode == "const":
            inits.append(const(n, state))
        elif mode == "input":
            run.append((n, state))
    if op == "LSTM":
        ins.append("p" if peep else "")
        if peep:
            inits.append(const("p", [d, 3 * hidden]))
    while ins[-1] == "":
        ins.pop()
    if layout:
        attrs["layout"] = 1
    outs = list(outs[: 3 if op == "LSTM" else 2])
    n = node(op, ins, outs, hidden_size=hidden, direction=direction, **attrs)
    return dict(name=name, nodes=[n], inputs=run, outputs=outs, initializers=inits, opset=opset, tolerance=2e-5)


CASES = [
    recurrent("LSTM", "lstm_forward_defaults", 5, 2, 3, 4),
    recurrent("LSTM", "lstm_bias_runtime_states", 4, 3, 5, 6, bias=True, h0="input", c0="input"),
    recurrent("LSTM", "lstm_reverse_peepholes", 6, 2, 3, 5, direction="reverse", bias=True, peep=True, h0="const", c0="const"),
    recurrent("LSTM", "lstm_bidirectional_seq_lens", 5, 3, 4, 3, direction="bidirectional", bias=True, seq=[5, 2, 1], h0="input"),
    recurrent("LSTM", "lstm_bidirectional_peepholes_seq_lens", 4, 2, 3, 4, direction="bidirectional", seq=[3, 4], peep=True,
              c0="const"),
    recurrent("LSTM", "lstm_reverse_seq_lens_y_only", 6, 3, 2, 4, direction="reverse", bias=True, seq=[6, 3, 4], outs=("y",)),
    recurrent("LSTM", "lstm_clip", 5, 2, 3, 4, bias=True, clip=0.7, outs=("y", "y_h")),
    recurrent("LSTM", "lstm_opset7_long", 16, 1, 8, 24, direction="bidirectional", bias=True, opset=7),
    recurrent("GRU", "gru_forward_defaults", 5, 2, 3, 4),
    recurrent("GRU", "gru_bias_runtime_state", 4, 3, 5, 6, bias=True, h0="input"),
    recurrent("GRU", "gru_linear_before_reset", 5, 2, 3, 4, bias=True, h0="const", linear_before_reset=1),
    recurrent("GRU", "gru_bidirectional_seq_lens", 5, 3, 4, 3, direction="bidirectional", bias=True, seq=[5, 2, 1], h0="input"),
    recurrent("GRU", "gru_reverse_seq_lens_lbr", 6, 3, 2, 4, direction="reverse", bias=True, seq=[6, 3, 4],
              linear_before_reset=1),
    recurrent("GRU", "gru_clip_y_only", 5, 2, 3, 4, bias=True, clip=0.5, outs=("y",)),
]
