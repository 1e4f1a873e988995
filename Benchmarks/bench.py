#!/usr/bin/env python3
"""Times the cnnconv executor (via cnnconv-bench) and onnxruntime on the same ResNet graphs.

cnnconv-bench builds the graph with random weights and exports it to ONNX (or, with --zoo, imports
scripts/make_zoo_models.py's ResNet-18/50 and MobileNetV2 files), writes one input and our output
for it, and times our executor. This script then loads that very ONNX file in
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


def ours(binary, model, variant, threads, repeat, workdir, f64=False, batch=1, model_file=None, profile_runs=3):
    onnx_path = model_file or os.path.join(workdir, f"{model}_{variant}.onnx")
    cmd = [binary, model, "--variant", variant, "--threads", str(threads), "--repeat", str(repeat),
           "--batch", str(batch), "--save-io", workdir, "--profile-runs", str(profile_runs)]
    cmd += ["--model-file", model_file] if model_file else ["--onnx", onnx_path]
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
    cpu_start = time.process_time()
    for _ in range(repeat):
        t0 = time.perf_counter()
        session.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - cpu_start) * 1000 / max(1, repeat)
    times.sort()
    return {"min": times[0], "median": float(np.median(times)), "cpu": cpu}, y


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def zoo_file(zoo, model):
    """The ONNX file of `model` in `zoo`, written by scripts/make_zoo_models.py when missing."""
    path = os.path.join(zoo, f"{model}.onnx")
    if not os.path.exists(path):
        os.makedirs(zoo, exist_ok=True)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "make_zoo_models.py")
        subprocess.run([sys.executable, script, zoo, "--models", model], check=True, stdout=sys.stderr)
    return path


def measure(args, model, batch, threads, workdir):
    """One row: our executor (and the baseline binary's, if given) against onnxruntime."""
    model_file = zoo_file(args.zoo, model) if args.zoo else None
    # Big configurations get fewer runs so the whole table fits in minutes.
    repeat = max(3, args.repeat // batch) if batch > 1 else args.repeat
    profile_runs = 1 if batch > 1 else 3
    binaries = [("ours", args.binary)] + ([("baseline", args.baseline_binary)] if args.baseline_binary else [])
    best = {}

    def keep(key, lat, cpu):
        b = best.setdefault(key, {"min": float("inf"), "median": float("inf"), "cpu": float("inf")})
        b["min"] = min(b["min"], lat["min"])
        b["median"] = min(b["median"], lat["median"])
        b["cpu"] = min(b["cpu"], cpu)

    for _ in range(args.rounds):
        for key, binary in binaries:
            report, onnx_path = ours(binary, model, args.variant, threads, repeat, workdir, batch=batch,
                                     model_file=model_file, profile_runs=profile_runs)
            ref = np.load(os.path.join(workdir, "output.npy"))
            keep(key, report["latency_ms"], report.get("cpu_ms_per_run", float("nan")))
            if key == "ours":
                best["report"] = report
                ours_output = ref
        ort_all, y = theirs(onnx_path, threads, repeat, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, workdir)
        keep("ort", ort_all, ort_all["cpu"])
        if args.ort_noopt:
            ort_none, _ = theirs(onnx_path, threads, repeat, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, workdir)
            keep("ort_noopt", ort_none, ort_none["cpu"])
        diff = float(np.max(np.abs(ours_output.astype(np.float64) - y.astype(np.float64)) / (1 + np.abs(y))))
        best["max_rel_diff"] = max(best.get("max_rel_diff", 0.0), diff)
    row = {
        "model": model, "variant": "zoo" if args.zoo else args.variant, "threads": threads, "batch": batch,
        "repeat": repeat, "ours_ms": best["ours"], "onnxruntime_ms": best["ort"],
        "ratio_median": best["ours"]["median"] / best["ort"]["median"],
        "ratio_min": best["ours"]["min"] / best["ort"]["min"],
        "ratio_cpu": best["ours"]["cpu"] / best["ort"]["cpu"],
        "output_max_rel_diff": best["max_rel_diff"],
        "gflop": best["report"]["gflop"],
        "ours_conv_gflops_per_s": best["report"]["conv_gflops_per_s"],
        "ours_per_op_kind_ms": best["report"]["per_op_kind_ms"],
    }
    if "baseline" in best:
        row["baseline_ms"] = best["baseline"]
        row["baseline_ratio_median"] = best["baseline"]["median"] / best["ort"]["median"]
        row["baseline_ratio_min"] = best["baseline"]["min"] / best["ort"]["min"]
        row["baseline_ratio_cpu"] = best["baseline"]["cpu"] / best["ort"]["cpu"]
    if "ort_noopt" in best:
        row["onnxruntime_no_graph_opt_ms"] = best["ort_noopt"]
    return row


def ints(text):
    return [int(t) for t in text.split(",") if t]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=".build-bench/release/cnnconv-bench")
    ap.add_argument("--baseline-binary", help="a second cnnconv-bench (e.g. built from main) timed in the same rounds")
    ap.add_argument("--models", default=None,
                    help="comma list; default resnet18,resnet50 (built in), or resnet18,resnet50,mobilenetv2 with --zoo")
    ap.add_argument("--zoo", help="directory of scripts/make_zoo_models.py ONNX files (written there when missing)")
    ap.add_argument("--variant", default="bn", choices=["bn", "folded"],
                    help="built-in models only. bn: Conv→BatchNorm→ReLU as trained (onnxruntime fuses BN; we run it); folded: BN already in the conv")
    ap.add_argument("--threads", default=str(os.cpu_count()), help="comma list of thread counts")
    ap.add_argument("--batches", default="1", help="comma list of batch sizes")
    ap.add_argument("--repeat", type=int, default=20, help="timed runs at batch 1 (batch B: repeat/B, at least 3)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ort-noopt", action="store_true", help="also time onnxruntime with graph optimizations off")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models = (args.models or ("resnet18,resnet50,mobilenetv2" if args.zoo else "resnet18,resnet50")).split(",")

    rows = []
    load_before = load_average()
    with tempfile.TemporaryDirectory() as workdir:
        for model in models:
            for batch in ints(args.batches):
                for threads in ints(args.threads):
                    rows.append(measure(args, model, batch, threads, workdir))
                    if not args.json:
                        print(f"  done {model} batch {batch} threads {threads} · load {load_average()[0]:.2f}", file=sys.stderr)
    load_after = load_average()
    header = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_before": load_before,
              "load_average_after": load_after, "onnxruntime": ort.__version__}
    if args.json:
        print(json.dumps({**header, "results": rows}, indent=1))
        return
    print(f"{cpu_model()}, {os.cpu_count()} cores · onnxruntime {ort.__version__} (ENABLE_ALL, intra-op threads = ours) · "
          f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} · {args.rounds} round(s), best of each side")
    base = args.baseline_binary is not None
    print("ratio = ours/onnxruntime of the min latency (med: of the medians; cpu: of the CPU time per run,"
          " all threads, steadier than wall time on a loaded machine); b. = the baseline binary")
    print(f"{'model':<12} {'batch':>5} {'thr':>3} {'runs':>4} {'ours min/med ms':>19} {'ort min/med ms':>19} {'ratio':>6} {'med':>5} {'cpu':>5}"
          + (f" {'b. min/med ms':>19} {'b.ratio':>7} {'b.cpu':>5}" if base else "")
          + (f" {'ort no-opt':>10}" if args.ort_noopt else "") + f" {'conv GF/s':>9} {'rel diff':>8}")
    for r in rows:
        line = (f"{r['model']:<12} {r['batch']:>5} {r['threads']:>3} {r['repeat']:>4} "
                f"{r['ours_ms']['min']:9.1f}/{r['ours_ms']['median']:<9.1f} "
                f"{r['onnxruntime_ms']['min']:9.1f}/{r['onnxruntime_ms']['median']:<9.1f} "
                f"{r['ratio_min']:6.2f} {r['ratio_median']:5.2f} {r['ratio_cpu']:5.2f}")
        if base:
            line += (f" {r['baseline_ms']['min']:9.1f}/{r['baseline_ms']['median']:<9.1f} "
                     f"{r['baseline_ratio_min']:7.2f} {r['baseline_ratio_cpu']:5.2f}")
        if args.ort_noopt:
            line += f" {r['onnxruntime_no_graph_opt_ms']['median']:10.1f}"
        line += f" {r['ours_conv_gflops_per_s']:9.1f} {r['output_max_rel_diff']:8.1e}"
        print(line)
    for r in rows:
        kinds = sorted(r["ours_per_op_kind_ms"].items(), key=lambda kv: -kv[1])
        total = sum(v for _, v in kinds)
        print(f"  {r['model']} b{r['batch']} t{r['threads']} ours per op kind: "
              + " · ".join(f"{k} {v:.1f} ms ({100 * v / total:.0f}%)" for k, v in kinds if v >= 0.05))


if __name__ == "__main__":
    main()
