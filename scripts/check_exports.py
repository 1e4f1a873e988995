#!/usr/bin/env python3
"""Check an ONNX model exported by cnnconv against onnx's checker and onnxruntime.

    python3 scripts/check_exports.py MODEL.onnx INPUT.npy EXPECTED.npy [--atol 1e-5]

Runs onnx.checker (full check: strict shape inference too) on MODEL.onnx, runs it in
onnxruntime (CPU, graph optimizations disabled, one thread) on INPUT.npy and compares the result
with EXPECTED.npy (what cnnconv computed) using the fixtures' rule

    |ours - theirs| <= atol * (1 + |theirs|)      ours = EXPECTED, theirs = onnxruntime

Models with several inputs or outputs: pass comma-separated lists, in the order of the graph's
inputs (initializers excluded) and outputs, or NAME=FILE items to match by tensor name:

    check_exports.py m.onnx a.npy,b.npy y.npy
    check_exports.py m.onnx x=in.npy prob=out.npy,logits=logits.npy

Prints one line (PASS/FAIL, worst output, max abs error, max error relative to the rule) on
stdout. Exit status: 0 pass, 1 mismatch (values, shape or NaN placement), 2 usage error,
3 invalid model or unreadable file (checker or onnxruntime refused it).
"""

import argparse
import sys

import numpy as np

try:
    import onnx
    import onnxruntime as ort
except ImportError as e:  # pragma: no cover
    print("check_exports: %s (pip install -r scripts/requirements-fixtures.txt)" % e, file=sys.stderr)
    sys.exit(2)


def parse_list(arg, names, what):
    """'a.npy,b.npy' (positional) or 'x=a.npy,y=b.npy' (by name) -> {name: path}."""
    items = [s for s in arg.split(",") if s]
    if all("=" in s for s in items):
        pairs = dict(s.split("=", 1) for s in items)
        unknown = sorted(set(pairs) - set(names))
        if unknown:
            raise ValueError("%s names %s are not among the model's %ss %s" % (what, unknown, what, names))
        return pairs
    if any("=" in s for s in items):
        raise ValueError("%s: mix of NAME=FILE and plain FILE items" % what)
    if len(items) != len(names):
        raise ValueError("model has %d %ss %s, got %d file(s)" % (len(names), what, names, len(items)))
    return dict(zip(names, items))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("inputs", metavar="INPUT.npy")
    ap.add_argument("expected", metavar="EXPECTED.npy")
    ap.add_argument("--atol", type=float, default=1e-5, help="tolerance in |ours-theirs| <= atol*(1+|theirs|) (default 1e-5)")
    ap.add_argument("--no-full-check", action="store_true", help="run onnx.checker without strict shape inference")
    args = ap.parse_args(argv)
    if not (args.atol >= 0):
        ap.error("--atol must be >= 0")

    tag = args.model
    try:
        model = onnx.load(args.model)
        onnx.checker.check_model(model, full_check=not args.no_full_check)
    except Exception as e:
        print("INVALID %s: onnx.checker: %s" % (tag, str(e).strip().splitlines()[0] if str(e).strip() else repr(e)))
        return 3

    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    except Exception as e:
        print("INVALID %s: onnxruntime refused the model: %s" % (tag, str(e).strip().splitlines()[0]))
        return 3

    in_names = [i.name for i in sess.get_inputs()]
    out_names = [o.name for o in sess.get_outputs()]
    try:
        in_files = parse_list(args.inputs, in_names, "input")
        exp_files = parse_list(args.expected, out_names, "output")
    except ValueError as e:
        print("check_exports: %s" % e, file=sys.stderr)
        return 2

    try:
        feeds = {n: np.load(p, allow_pickle=False) for n, p in in_files.items()}
        expected = {n: np.load(p, allow_pickle=False) for n, p in exp_files.items()}
    except Exception as e:
        print("INVALID %s: cannot read .npy: %s" % (tag, e))
        return 3
    missing = [n for n in in_names if n not in feeds]
    if missing:
        print("check_exports: no file for model input(s) %s" % missing, file=sys.stderr)
        return 2
    for meta in sess.get_inputs():
        if meta.type == "tensor(float)":
            feeds[meta.name] = np.ascontiguousarray(feeds[meta.name], dtype=np.float32)

    try:
        got = dict(zip(out_names, sess.run(out_names, feeds)))
    except Exception as e:
        print("INVALID %s: onnxruntime failed to run: %s" % (tag, str(e).strip().splitlines()[0]))
        return 3

    worst = None  # (ratio, name, max_abs, problem)
    for name, ours in expected.items():
        theirs = got[name]
        if tuple(ours.shape) != tuple(theirs.shape):
            worst = (float("inf"), name, float("nan"), "shape %s, onnxruntime gives %s"
                     % (list(ours.shape), list(theirs.shape)))
            break
        o = ours.astype(np.float64)
        t = np.asarray(theirs).astype(np.float64)
        nan_o, nan_t = np.isnan(o), np.isnan(t)
        if (nan_o != nan_t).any():
            worst = (float("inf"), name, float("nan"), "NaN at different positions (%d vs %d NaNs)"
                     % (int(nan_o.sum()), int(nan_t.sum())))
            break
        ok = ~nan_o
        if o.size == 0 or not ok.any():
            cand = (0.0, name, 0.0, None)
        else:
            diff = np.abs(o[ok] - t[ok])
            with np.errstate(invalid="ignore"):
                ratio = np.where(diff == 0, 0.0, diff / (1.0 + np.abs(t[ok])))
            cand = (float(np.nanmax(ratio)) if not np.isnan(ratio).all() else float("inf"), name,
                    float(diff.max()), None)
        if worst is None or cand[0] > worst[0]:
            worst = cand

    ratio, name, max_abs, problem = worst
    limit = args.atol
    if problem is None and ratio <= limit:
        print("PASS %s: %d output(s), worst %s max_abs_err=%.3g max_err/(1+|ref|)=%.3g <= atol %.3g"
              % (tag, len(expected), name, max_abs, ratio, limit))
        return 0
    detail = problem if problem else "max_abs_err=%.3g max_err/(1+|ref|)=%.3g > atol %.3g" % (max_abs, ratio, limit)
    print("FAIL %s: output %s: %s" % (tag, name, detail))
    return 1


if __name__ == "__main__":
    sys.exit(main())
