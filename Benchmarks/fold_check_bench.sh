#!/usr/bin/env bash
# `cnnconv fold` with its default check against `onnxsim in.onnx out.onnx 8` (fold + a check on
# 8 random inputs), side by side in one run: wall time and peak RSS of each whole process (GNU
# time), on torchvision-layout ResNet-18, ResNet-50 and MobileNetV2 (224², symbolic batch,
# calibrated BN statistics; scripts/make_zoo_models.py). Prints the machine, its load and a
# table. Needs a Python with numpy, onnx, onnxruntime and onnxsim (VENV=path, default: creates
# .venv-bench); the models are generated once into Benchmarks/out/zoo (about 5 minutes).
#   Benchmarks/fold_check_bench.sh [--models resnet18,resnet50,mobilenetv2] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
models=resnet18,resnet50,mobilenetv2
repeat=3
while [ $# -gt 0 ]; do
    case "$1" in
        --models) models="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
SCRATCH="${SCRATCH:-.build-bench}"
VENV="${VENV:-.venv-bench}"
if [ ! -x "$VENV/bin/onnxsim" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy==2.4.6 onnx==1.19.1 onnxruntime==1.23.2 onnxsim >&2
fi
swift build -c release --scratch-path "$SCRATCH" --product cnnconv >&2
bin="$SCRATCH/release/cnnconv"
out=Benchmarks/out/zoo
mkdir -p "$out"
IFS=, read -ra names <<< "$models"
for m in "${names[@]}"; do
    [ -f "$out/$m.onnx" ] || "$VENV/bin/python" scripts/make_zoo_models.py "$out" --models "$m" >&2
    [ -f "$out/$m.cnnm" ] || "$bin" import "$out/$m.onnx" -o "$out/$m.cnnm" >&2
done
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Best wall time, largest peak RSS and the last exit status over $repeat runs of a command
# (a check that fails still did its work: its time counts, its status is shown).
measure() {
    local best="" rss=0 status=0
    for _ in $(seq "$repeat"); do
        local line t m
        line=$(/usr/bin/time -f "%e %M %x" "$@" 2>&1 >/dev/null | tail -1) || true
        read -r t m status <<< "$line"
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        if [ "$m" -gt "$rss" ]; then rss=$m; fi
    done
    echo "$best $rss $status"
}
verdict() { [ "$1" = 0 ] && echo "pass" || echo "FAIL"; }
printf "%-12s %26s %26s %8s\n" model "cnnconv fold (s, MB, check)" "onnxsim … 8 (s, MB, check)" "speed"
for m in "${names[@]}"; do
    read -r ct cm cs < <(measure "$bin" fold "$out/$m.cnnm" -o "$out/$m.folded.cnnm" --force)
    rm -f "$out/$m.folded.cnnm"
    read -r ot om os < <(measure "$VENV/bin/onnxsim" "$out/$m.onnx" "$out/$m.sim.onnx" 8)
    printf "%-12s %12s, %5d, %-4s %12s, %5d, %-4s %7.2fx\n" "$m" "$ct" $((cm / 1024)) "$(verdict "$cs")" \
        "$ot" $((om / 1024)) "$(verdict "$os")" "$(awk "BEGIN{print $ot / $ct}")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
