#!/usr/bin/env bash
# Issue 13's I/O rows in one run, on this machine: `cnnconv fold --no-verify` of ResNet-50 (a
# whole process) against onnxruntime's ORT_ENABLE_BASIC offline optimization timed in-process,
# with fsync's share shown apart; byte-shuffle+deflate write/read MB/s and ratio against zlib
# alone; MC dropout (32 passes, ResNet-18, batch 1) batched against one run per pass.
#
#   Benchmarks/io_bench.sh [--repeat N] [--models DIR] [--cnnconv BIN --bench BIN]
#                          [--baseline BIN] [--only fold]
#
# --baseline BIN times another cnnconv binary (a release build of main, say) in the same run, on
# the same input, for a before/after; --only fold skips the compression and MC dropout rows
# (and the cnnconv-bench build). The fold is timed twice: replacing the output a previous run
# left (the usual case when re-running), and with no output there (removed before each run);
# process start + exit is timed alone (`--version`). The binaries run interleaved (A B A B …).
#
# Needs /work/venv-style Python (PYTHON=…, default /work/venv/bin/python) with onnx,
# onnxruntime and numpy; the models come from scripts/make_zoo_models.py into DIR (default
# /tmp/cnnconv-iobench, made once). Builds the release binaries unless --cnnconv/--bench are given.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=5
DIR=/tmp/cnnconv-iobench
CNNCONV=""; BENCH=""; BASELINE=""; ONLY=""
PYTHON="${PYTHON:-/work/venv/bin/python}"
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat) REPEAT="$2"; shift 2 ;;
        --models) DIR="$2"; shift 2 ;;
        --cnnconv) CNNCONV="$2"; shift 2 ;;
        --bench) BENCH="$2"; shift 2 ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ -z "$ONLY" ] || [ "$ONLY" = fold ] || { echo "--only takes: fold" >&2; exit 2; }
# The shipped build (README): Swift runtime and Foundation linked in, which halves process start.
BUILD=(swift build -c release --static-swift-stdlib)
if [ -z "$CNNCONV" ]; then
    "${BUILD[@]}" --product cnnconv >&2
    CNNCONV="$("${BUILD[@]}" --show-bin-path)/cnnconv"
fi
if [ -z "$BENCH" ] && [ -z "$ONLY" ]; then
    "${BUILD[@]}" --product cnnconv-bench >&2
    BENCH="$("${BUILD[@]}" --show-bin-path)/cnnconv-bench"
fi
mkdir -p "$DIR"
[ -f "$DIR/resnet50.onnx" ] && [ -f "$DIR/resnet18.onnx" ] || "$PYTHON" scripts/make_zoo_models.py "$DIR" --models resnet18,resnet50 >&2
[ -f "$DIR/resnet50.cnnm" ] || "$CNNCONV" import "$DIR/resnet50.onnx" -o "$DIR/resnet50.cnnm" >&2
[ -f "$DIR/resnet18.cnnm" ] || "$CNNCONV" import "$DIR/resnet18.onnx" -o "$DIR/resnet18.cnnm" >&2

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads, $(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo 'AVX2, no AVX-512'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "binary: $CNNCONV ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"

# --- fold ---------------------------------------------------------------------------------
OUT="$DIR/resnet50.folded.cnnm"
BINS=("$CNNCONV" ${BASELINE:+"$BASELINE"})
# Wall seconds of one command (bash's microsecond clock; /usr/bin/time rounds to 10 ms).
wall() {
    local t0=$EPOCHREALTIME
    "$@" >/dev/null
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.4f", b - a}'
}
# Best of REPEAT runs per binary, the binaries interleaved (A B A B …) so that a change of load
# hits both: `best MODE` prints one best per binary of BINS, in order. MODE: "over" (replacing
# the output the previous run left), "fresh" (no output when each starts), "start" (process
# start + exit alone: `--version`).
best() {
    local mode="$1" i t
    local -a bests=()
    for _ in $(seq "$REPEAT"); do
        for i in "${!BINS[@]}"; do
            case "$mode" in
                start) t=$(wall "${BINS[$i]}" --version) ;;
                *) [ "$mode" = fresh ] && rm -f "$OUT"
                   t=$(wall "${BINS[$i]}" fold "$DIR/resnet50.cnnm" --no-verify -o "$OUT") ;;
            esac
            bests[i]=$(printf '%s\n%s\n' "${bests[i]:-}" "$t" | grep . | sort -g | head -1)
        done
    done
    echo "${bests[@]}"
}
# fsync and rename (the durable part), from one traced run: seconds spent inside the calls.
durable() {
    local trace
    trace=$(strace -f -T -e trace=fsync,fdatasync,rename "$1" fold "$DIR/resnet50.cnnm" --no-verify -o "$OUT" 2>&1 >/dev/null || true)
    printf '%s\n' "$trace" | grep -E 'fsync\(' | sed -E 's/.*<([0-9.]+)>$/\1/' | awk '{s+=$1} END {printf "%.3f ", s}'
    printf '%s\n' "$trace" | grep -E 'rename\(' | sed -E 's/.*<([0-9.]+)>$/\1/' | awk '{s+=$1} END {printf "%.3f", s}'
}
ort=$("$PYTHON" - "$DIR/resnet50.onnx" "$REPEAT" <<'PY'
import sys, time, os, onnxruntime as ort
path, n = sys.argv[1], int(sys.argv[2])
out = path.replace(".onnx", ".ort-basic.onnx")
best = 1e9
for _ in range(n):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = out
    t = time.perf_counter()
    ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    best = min(best, time.perf_counter() - t)
print(f"{best:.3f}")
PY
)
echo
echo "fold --no-verify, ResNet-50 ($(stat -c %s "$DIR/resnet50.cnnm") bytes), best of $REPEAT, binaries interleaved:"
read -r -a starts <<<"$(best start)"
"${BINS[0]}" fold "$DIR/resnet50.cnnm" --no-verify -o "$OUT" >/dev/null  # an output to replace
read -r -a overs <<<"$(best over)"
read -r -a freshes <<<"$(best fresh)"
for i in "${!BINS[@]}"; do
    bin="${BINS[$i]}"
    label=$([ "$i" = 0 ] && echo "cnnconv" || echo "baseline")
    [ "$i" = 0 ] || echo "  baseline: $bin"
    read -r fsync_s rename_s <<<"$(durable "$bin")"
    awk -v c="${overs[i]}" -v n="${freshes[i]}" -v o="$ort" -v f="$fsync_s" -v r="$rename_s" -v s="${starts[i]}" -v l="$label" 'BEGIN {
        printf "  %-8s fold, replacing the output %6.0f ms   (fsync %.0f ms + rename %.0f ms in one traced run)\n", l, c*1000, f*1000, r*1000
        printf "  %-8s fold, no output there      %6.0f ms\n", l, n*1000
        printf "  %-8s process start+exit alone   %6.1f ms   (--version)\n", l, s*1000
        printf "  %-8s speed vs onnxruntime       %6.2fx replacing, %.2fx new (goal >= 2x); without fsync+rename %.2fx\n", l, o/c, o/n, o/(c-f-r) }'
done
echo "  onnxruntime ORT_ENABLE_BASIC          %ORT ms   (in-process session creation with optimized_model_filepath)" | sed "s/%ORT/$(awk -v o="$ort" 'BEGIN{printf "%6.0f", o*1000}')/"
if [ -n "$ONLY" ]; then echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"; exit 0; fi

# --- compression ----------------------------------------------------------------------------
echo
echo "byte-shuffle + deflate, f32 weights of ResNet-18 (best of 3):"
codec=$("$BENCH" codec "$DIR/resnet18.cnnm" --encoding shuffle --repeat 3)
zlib=$("$PYTHON" - "$DIR/resnet18.onnx" <<'PY'
import sys, time, zlib, json
import numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
planes = [np.ascontiguousarray(numpy_helper.to_array(t).astype("<f4").view(np.uint8).reshape(-1, 4).T).tobytes() for t in m.graph.initializer]
raw = sum(len(p) for p in planes)
r = {}
for level in (6, 1):
    t = time.perf_counter(); comp = [zlib.compress(p, level) for p in planes]; c = time.perf_counter() - t
    t = time.perf_counter(); [zlib.decompress(x) for x in comp]; d = time.perf_counter() - t
    r[level] = (raw / 1e6 / c, sum(map(len, comp)) / raw, raw / 1e6 / d)
print(json.dumps(r))
PY
)
"$PYTHON" - "$codec" "$zlib" <<'PY'
import json, sys
c, z = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"  cnnconv encode (in memory, {c['threads']} threads)  {c['encode_mb_s']:7.1f} MB/s   ratio {c['ratio']:.3f}   (goal >= 100 MB/s, <= 0.86)")
print(f"  cnnconv write (atomic, fsync)         {c['write_mb_s']:7.1f} MB/s")
print(f"  cnnconv read (open, CRCs, decode all) {c['read_mb_s']:7.1f} MB/s               (goal >= 300 MB/s)")
for level in ("6", "1"):
    w, ratio, r = z[level]
    print(f"  zlib alone, level {level}, 1 thread       {w:7.1f} MB/s   ratio {ratio:.3f}   inflate {r:.0f} MB/s")
PY

# --- MC dropout -----------------------------------------------------------------------------
echo
echo "MC dropout, 32 passes, ResNet-18, batch 1, $(nproc) threads (best of 2):"
for head in no yes; do
    mc=$("$BENCH" mc "$DIR/resnet18.cnnm" --passes 32 --repeat 2 --head-dropout "$head")
    "$PYTHON" - "$mc" <<'PY'
import json, sys
m = json.loads(sys.argv[1])
what = "with a dropout (p = 0.2) before fc" if m["head_dropout"] else "as exported (no dropout)"
print(f"  {what}: 32 separate runs {m['separate_s'] * 1000:.0f} ms (one run {m['one_run_s'] * 1000:.0f} ms)")
print(f"    default (layers before the first dropout once) {m['default_s'] * 1000:7.0f} ms = {m['ratio']:.3f}x   (goal <= 0.5x)")
print(f"    one wide batch of 32                           {m['wide_s'] * 1000:7.0f} ms = {m['wide_ratio']:.3f}x")
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
