#!/usr/bin/env python3
"""Times the cnnconv executor (via cnnconv-bench) and onnxruntime on the same ResNet graphs.

cnnconv-bench builds the graph with random weights, exports it to ONNX, writes one input and our
output for it, and times our executor. This script then loads that very ONNX file in
onnxruntime (CPUExecutionProvider, same intra-op thread count, one inter-op thread), checks its
output against ours, times it the same way (one warm-up, then N runs; min and median), and
prints both latencies and the ratio ours/onnxruntime. Runs alternate ours/theirs for `--rounds`
rounds and keep each side's best min and median, so a noisy neighbour hurts both alike.

Requires: pip install onnxruntime==1.23.2 onnx==1.19.1 numpy (see Benchmarks/README.md).
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
import onnxruntime as ort


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def ours(binary, model, variant, threads, repeat, workdir, f64=False):
    onnx_path = os.path.join(workdir, f"{model}_{variant}.onnx")
    cmd = [binary, model, "--variant", variant, "--threads", str(threads), "--repeat", str(repeat),
           "--onnx", onnx_path, "--save-io", workdir]
    if f64:
        cmd.append("--f64")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out), onnx_path


def theirs(onnx_path, threads, repeat, level, workdir):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = level
    session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    x = np.load(os.path.join(workdir, "input.npy")).astype(np.float32)
    name = session.get_inputs()[0].name
    y = session.run(None, {name: x})[0]          # warm-up, and the output we check
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        session.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"min": times[0], "median": float(np.median(times))}, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=".build-bench/release/cnnconv-bench")
    ap.add_argument("--models", default="resnet18,resnet50")
    ap.add_argument("--variant", default="bn", choices=["bn", "folded"],
                    help="bn: Conv→BatchNorm→ReLU as trained (onnxruntime fuses BN; we run it); folded: BN already in the conv")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    rows = []
    load_before = load_average()
    with tempfile.TemporaryDirectory() as workdir:
        for model in args.models.split(","):
            best = {}
            for _ in range(args.rounds):
                report, onnx_path = ours(args.binary, model, args.variant, args.threads, args.repeat, workdir)
                ort_all, y = theirs(onnx_path, args.threads, args.repeat, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, workdir)
                ort_none, _ = theirs(onnx_path, args.threads, args.repeat, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, workdir)
                ref = np.load(os.path.join(workdir, "output.npy"))
                diff = float(np.max(np.abs(ref.astype(np.float64) - y.astype(np.float64)) / (1 + np.abs(y))))
                for key, lat in (("ours", report["latency_ms"]), ("ort", ort_all), ("ort_noopt", ort_none)):
                    b = best.setdefault(key, {"min": float("inf"), "median": float("inf")})
                    b["min"] = min(b["min"], lat["min"])
                    b["median"] = min(b["median"], lat["median"])
                best["report"] = report
                best["max_rel_diff"] = max(best.get("max_rel_diff", 0.0), diff)
            rows.append({
                "model": model, "variant": args.variant, "threads": args.threads, "batch": 1,
                "ours_ms": best["ours"], "onnxruntime_ms": best["ort"], "onnxruntime_no_graph_opt_ms": best["ort_noopt"],
                "ratio_median": best["ours"]["median"] / best["ort"]["median"],
                "ratio_min": best["ours"]["min"] / best["ort"]["min"],
                "output_max_rel_diff": best["max_rel_diff"],
                "gflop": best["report"]["gflop"],
                "ours_conv_gflops_per_s": best["report"]["conv_gflops_per_s"],
                "ours_per_op_kind_ms": best["report"]["per_op_kind_ms"],
            })
    load_after = load_average()
    if args.json:
        print(json.dumps({"load_average_before": load_before, "load_average_after": load_after,
                          "onnxruntime": ort.__version__, "results": rows}, indent=1))
        return
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} · "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} · onnxruntime {ort.__version__} · "
          f"{args.threads} thread(s), batch 1, 3x224x224, {args.repeat} runs x {args.rounds} rounds")
    print(f"{'model':<10} {'variant':<7} {'ours min/med ms':>17} {'ort min/med ms':>16} {'ratio(med)':>10} "
          f"{'ort no-opt med':>14} {'conv GFLOP/s':>12} {'max rel diff':>12}")
    for r in rows:
        print(f"{r['model']:<10} {r['variant']:<7} {r['ours_ms']['min']:8.2f}/{r['ours_ms']['median']:<8.2f} "
              f"{r['onnxruntime_ms']['min']:7.2f}/{r['onnxruntime_ms']['median']:<8.2f} {r['ratio_median']:10.2f} "
              f"{r['onnxruntime_no_graph_opt_ms']['median']:14.2f} {r['ours_conv_gflops_per_s']:12.1f} {r['output_max_rel_diff']:12.2e}")
        kinds = sorted(r["ours_per_op_kind_ms"].items(), key=lambda kv: -kv[1])
        total = sum(v for _, v in kinds)
        print("  ours per op kind: " + " · ".join(f"{k} {v:.2f} ms ({100 * v / total:.0f}%)" for k, v in kinds if v >= 0.01))


if __name__ == "__main__":
    main()
