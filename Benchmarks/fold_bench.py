#!/usr/bin/env python3
"""Times `cnnconv fold --no-verify` of a ResNet-50-sized model end to end (a whole process: read,
check every CRC, fold in Float64, write atomically with fsync) against onnxruntime's offline
basic-level optimization of the same ONNX model (session creation with ORT_ENABLE_BASIC and
optimized_model_filepath, which constant-folds BatchNorm into the convs), timed inside Python.
Also times opening the file and touching every tensor (`cnnconv inspect --json`: mmap, CRC-32
of every tensor, a NaN/Inf scan of every value, shape inference), and reports peak RSS.

usage: Benchmarks/fold_bench.sh [--repeat N]   (the .sh builds the binaries, then runs this)
Requires: pip install onnxruntime==1.23.2 onnx==1.19.1 numpy.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import onnx
import onnxruntime as ort


def timed(cmd):
    """Wall seconds and peak RSS (bytes) of one process, from GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, check=True, capture_output=True, text=True)
    wall, kb = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) * 1024


def best(runs):
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnconv", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cnnconv-foldbench-")
    onnx_path = os.path.join(work, "resnet50.onnx")
    model = os.path.join(work, "resnet50.cnnm")
    subprocess.run([a.bench, "resnet50", "--variant", "bn", "--repeat", "1", "--onnx", onnx_path],
                   check=True, capture_output=True)
    subprocess.run([a.cnnconv, "import", onnx_path, "-o", model], check=True, capture_output=True)
    size = os.path.getsize(model)
    params = json.loads(subprocess.run([a.cnnconv, "inspect", "--json", model], check=True,
                                       capture_output=True, text=True).stdout)["parameters"]

    inspect = best([timed([a.cnnconv, "inspect", "--json", model]) for _ in range(a.repeat)])
    out = os.path.join(work, "resnet50.folded.cnnm")
    fold = best([timed([a.cnnconv, "fold", model, "--no-verify", "-o", out]) for _ in range(a.repeat)])

    ort_times = []
    opt_path = os.path.join(work, "resnet50.ort-basic.onnx")
    for _ in range(a.repeat):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = opt_path
        t = time.perf_counter()
        ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        ort_times.append(time.perf_counter() - t)
    ort_bn = sum(n.op_type == "BatchNormalization" for n in onnx.load(opt_path).graph.node)
    src_bn = sum(n.op_type == "BatchNormalization" for n in onnx.load(onnx_path, load_external_data=False).graph.node)
    folded = json.loads(subprocess.run([a.cnnconv, "inspect", "--json", out], check=True, capture_output=True, text=True).stdout)

    result = {
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "model": "ResNet-50 (torchvision layout, random weights, BatchNorm after every conv)",
        "parameters": params, "file_bytes": size,
        "open_and_touch_s": inspect[0], "open_and_touch_peak_rss": inspect[1],
        "fold_s": fold[0], "fold_peak_rss": fold[1], "fold_rss_over_file": fold[1] / size,
        "fold_batchnorm_after": folded.get("opCounts", {}).get("BatchNorm", 0),
        "onnxruntime_basic_s": min(ort_times), "onnxruntime_batchnorm_before": src_bn, "onnxruntime_batchnorm_after": ort_bn,
        "speedup_vs_onnxruntime": min(ort_times) / fold[0],
    }
    if a.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['model']}: {params:,} parameters, {size / 1e6:.1f} MB file ({result['machine']}, {result['date']})")
    print(f"  open + touch every tensor  {inspect[0] * 1000:7.0f} ms  ({size / 1e9 / inspect[0]:.2f} GB/s)  peak RSS {inspect[1] / 1e6:.0f} MB")
    print(f"  cnnconv fold --no-verify   {fold[0] * 1000:7.0f} ms  peak RSS {fold[1] / 1e6:.0f} MB = {fold[1] / size:.2f}x the file"
          f"  (BatchNorm {src_bn} -> {result['fold_batchnorm_after']})")
    print(f"  onnxruntime ORT_ENABLE_BASIC {min(ort_times) * 1000:5.0f} ms  (BatchNorm {src_bn} -> {ort_bn})")
    print(f"  fold is {result['speedup_vs_onnxruntime']:.1f}x faster than onnxruntime's basic optimization")


if __name__ == "__main__":
    sys.exit(main())
