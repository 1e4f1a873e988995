#!/usr/bin/env python3
"""onnxruntime's time per node and per op type (its profiler), to set beside `cnnconv-bench --layers`.

    Benchmarks/ort_layers.py MODEL.onnx --batch 8 --threads 1 [--runs 10] [--top 20] [--json]

ENABLE_ALL, CPUExecutionProvider, intra-op threads = --threads, one inter-op thread, as bench.py.
One warm-up run, then --runs profiled runs; each node's kernel time is averaged over them. Node
names are onnxruntime's after its graph optimizations (a fused Conv keeps the Conv's name).
"""
import argparse, collections, json, os, tempfile

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--top", type=int, default=20, help="nodes listed, slowest first")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "ort")
        session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        shape = [args.batch if not isinstance(d, int) else d for d in inp.shape]
        shape[0] = args.batch
        x = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
        session.run(None, {inp.name: x})
        for _ in range(args.runs):
            session.run(None, {inp.name: x})
        with open(session.end_profiling()) as f:
            events = json.load(f)
    per_node, per_type, node_type = collections.Counter(), collections.Counter(), {}
    runs = 0
    for e in events:
        if e.get("cat") == "Session" and e.get("name") == "model_run":
            runs += 1
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        name = e["name"][: -len("_kernel_time")]
        op = e.get("args", {}).get("op_name", "?")
        per_node[name] += e["dur"] / 1000
        per_type[op] += e["dur"] / 1000
        node_type[name] = op
    runs = max(1, runs)  # includes the warm-up run: divide by what was recorded
    total = sum(per_type.values()) / runs
    if args.json:
        print(json.dumps({"runs": runs, "total_ms": total,
                          "per_op_type_ms": {k: v / runs for k, v in per_type.items()},
                          "per_node_ms": {k: v / runs for k, v in per_node.items()}}, indent=1))
        return
    print(f"{os.path.basename(args.model)} batch {args.batch} threads {args.threads}: {total:.2f} ms per run in kernels "
          f"(mean of {runs} runs, warm-up included)")
    for op, ms in per_type.most_common():
        print(f"  {op:<24} {ms / runs:8.3f} ms ({100 * ms / runs / total:4.1f}%)")
    for name, ms in per_node.most_common(args.top):
        print(f"  {name:<40} {node_type[name]:<20} {ms / runs:8.3f} ms")


if __name__ == "__main__":
    main()
