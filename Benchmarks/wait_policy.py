#!/usr/bin/env python3
"""The OpenMP wait-policy comparison of Benchmarks/README.md ("The OpenMP wait policy"), rerunnable.

Debian's libdnnl runs on libgomp, whose idle workers spin (GOMP_SPINCOUNT times) before they
sleep; CDNNL picks OMP_WAIT_POLICY=passive + GOMP_SPINCOUNT=20000 unless the user set either.
This script times our executor against onnxruntime (bench.py, same rounds) under several
policies, on a quiet machine and beside N busy loops (one spinning process per core the others
compete for), and prints one table: min / median ms and the ratio of the mins to onnxruntime.

    Benchmarks/wait_policy.py --binary .build-bench/release/cnnconv-bench --zoo /tmp/cnnconv-zoo
    Benchmarks/wait_policy.py --binary B --zoo Z --models mobilenetv2 --spincounts 0,20000,50000 --busy 0,2

Each policy sets the environment of cnnconv-bench only (onnxruntime does not use OpenMP). The
"default" policy sets nothing (CDNNL's choice). The busy loops are processes this script starts
and kills (by their pid) when a condition is done. The machine's load is printed before and after.
"""
import argparse, json, os, signal, subprocess, sys, tempfile


def busy_loops(n):
    """Starts n processes that spin forever (each one core's worth of competing work)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(processes):
    for p in processes:
        p.send_signal(signal.SIGTERM)
    for p in processes:
        p.wait()


def policy_env(spincount):
    """The environment for one policy: 'default' leaves CDNNL's choice; a number is passive + that spin count."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if spincount != "default":
        env["OMP_WAIT_POLICY"] = "passive"
        env["GOMP_SPINCOUNT"] = spincount
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=".build-bench/release/cnnconv-bench")
    ap.add_argument("--zoo", default="/tmp/cnnconv-zoo", help="scripts/make_zoo_models.py's directory (written when missing)")
    ap.add_argument("--models", default="mobilenetv2,resnet18,resnet50")
    ap.add_argument("--batches", default="1")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--spincounts", default="0,default,50000,200000",
                    help="comma list: GOMP_SPINCOUNT values with OMP_WAIT_POLICY=passive, or 'default' (CDNNL's)")
    ap.add_argument("--busy", default="0,2", help="comma list of busy-loop counts (0 = quiet)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")

    rows = []
    load_before = os.getloadavg()
    for busy in [int(b) for b in args.busy.split(",") if b]:
        loops = busy_loops(busy)
        try:
            for spin in [s for s in args.spincounts.split(",") if s]:
                cmd = [sys.executable, bench, "--binary", args.binary, "--zoo", args.zoo, "--models", args.models,
                       "--batches", args.batches, "--threads", args.threads, "--repeat", str(args.repeat),
                       "--rounds", str(args.rounds), "--json"]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=policy_env(spin)).stdout
                for r in json.loads(out)["results"]:
                    rows.append({"busy_loops": busy, "spincount": spin, "model": r["model"], "batch": r["batch"],
                                 "threads": r["threads"], "ours_ms": r["ours_ms"], "onnxruntime_ms": r["onnxruntime_ms"],
                                 "ratio_min": r["ratio_min"], "ratio_median": r["ratio_median"]})
                print(f"  done busy {busy} spincount {spin} · load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        finally:
            stop(loops)
    load_after = os.getloadavg()
    if args.json:
        print(json.dumps({"load_average_before": load_before, "load_average_after": load_after, "results": rows}, indent=1))
        return
    print(f"{os.cpu_count()} cores · load average before {load_before[0]:.2f}, after {load_after[0]:.2f} · "
          f"{args.rounds} round(s), best of each side · passive = OMP_WAIT_POLICY=passive")
    print(f"{'busy':>4} {'GOMP_SPINCOUNT':>14} {'model':<12} {'batch':>5} {'thr':>3} {'ours min/med ms':>19} "
          f"{'ort min/med ms':>19} {'ratio':>6} {'med':>5}")
    for r in rows:
        print(f"{r['busy_loops']:>4} {r['spincount']:>14} {r['model']:<12} {r['batch']:>5} {r['threads']:>3} "
              f"{r['ours_ms']['min']:9.1f}/{r['ours_ms']['median']:<9.1f} "
              f"{r['onnxruntime_ms']['min']:9.1f}/{r['onnxruntime_ms']['median']:<9.1f} "
              f"{r['ratio_min']:6.2f} {r['ratio_median']:5.2f}")


if __name__ == "__main__":
    main()
