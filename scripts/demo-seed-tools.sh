#!/usr/bin/env bash
# The lecture notes' two practical problems on the bundled trained digits model:
#  1. BatchNorm statistics that do not fit inference: made stale on purpose (tracked on brighter,
#     higher-contrast images), accuracy drops; `cnnconv recalibrate` on clean training images
#     brings it back; fold afterwards keeps every prediction.
#  2. Dropout at test time, run several times: `run --mc-dropout` measures how uncertain the
#     answer is; more uncertain on noise and on rotated digits than on test digits; scored
#     against the labels beside the deterministic mean net.
# Writes the models and the plots (recalibration-shift.svg, mc-dropout.svg) to ${OUT:-/tmp}.
# Needs python3 with numpy to make the shifted and rotated images (apt-get install python3-numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp}"
mkdir -p "$out"
python3 -c 'import numpy' 2>/dev/null || { echo "needs python3 with numpy (apt-get install python3-numpy)" >&2; exit 2; }
swift build -c release --product cnnconv >&2
bin="$(swift build -c release --show-bin-path)/cnnconv"
d=fixtures/digits
model=$d/digits_cnn.cnnm

python3 - "$out" <<'PY'
import sys, numpy as np
out, d = sys.argv[1], "fixtures/digits"
calib = np.load(f"{d}/calib_images.npy")
np.save(f"{out}/digits_shifted.npy", (calib * 2 + 0.5).astype("<f4"))          # stale statistics come from these
test = np.load(f"{d}/test_images.npy")
np.save(f"{out}/digits_rotated.npy", np.ascontiguousarray(np.rot90(test, 1, axes=(2, 3))).astype("<f4"))
PY

accuracy() {  # accuracy of MODEL on the test split, from its logits
    "$bin" run "$1" --input $d/test_images.npy --output "$out/logits.npy" >/dev/null
    python3 -c "import numpy as np; y=np.load('$d/test_labels.npy'); p=np.load('$out/logits.npy').argmax(1); print(f'{(p==y).mean()*100:.2f} % ({(p==y).sum()}/{len(y)})')"
}

echo "== 1. BatchNorm statistics that do not fit inference"
echo "original model: test accuracy $(accuracy $model)"
"$bin" recalibrate $model --inputs "$out/digits_shifted.npy" -o "$out/digits_stale.cnnm" >/dev/null
echo "statistics tracked on shifted images (pixels ×2 + 0.5) → $out/digits_stale.cnnm: test accuracy $(accuracy "$out/digits_stale.cnnm")"
echo
echo "\$ cnnconv recalibrate digits_stale.cnnm --inputs $d/calib_images.npy --plot $out/recalibration-shift.svg"
"$bin" recalibrate "$out/digits_stale.cnnm" --inputs $d/calib_images.npy -o "$out/digits_recalibrated.cnnm" \
    --plot "$out/recalibration-shift.svg"
echo "recalibrated: test accuracy $(accuracy "$out/digits_recalibrated.cnnm")"
"$bin" inspect "$out/digits_recalibrated.cnnm" | grep recalibrated
"$bin" fold "$out/digits_recalibrated.cnnm" -o "$out/digits_recalibrated.folded.cnnm" >/dev/null
"$bin" run "$out/digits_recalibrated.cnnm" --input $d/test_images.npy --output "$out/a.npy" >/dev/null
"$bin" run "$out/digits_recalibrated.folded.cnnm" --input $d/test_images.npy --output "$out/b.npy" >/dev/null
python3 -c "import numpy as np; a=np.load('$out/a.npy').argmax(1); b=np.load('$out/b.npy').argmax(1); print(f'folded afterwards: {(a==b).sum()}/{len(a)} predictions unchanged')"

echo
echo "== 2. MC dropout: run the stochastic net 50 times to see how uncertain the answer is"
echo "\$ cnnconv run $model --input $d/test_images.npy --mc-dropout 50 --labels $d/test_labels.npy --plot $out/mc-dropout.svg"
"$bin" run $model --input $d/test_images.npy --mc-dropout 50 --labels $d/test_labels.npy --plot "$out/mc-dropout.svg" \
    | sed -n '/^MC dropout/,$p'
echo
"$bin" run $model --batch 200 --save-input "$out/noise.npy" >/dev/null   # seeded standard-normal noise images
printf "%-18s %24s %24s\n" "input" "mean predictive entropy" "mean mutual information"
for input in $d/test_images.npy "$out/digits_rotated.npy" "$out/noise.npy"; do
    "$bin" run $model --input "$input" --mc-dropout 50 --json > "$out/mc.json"
    python3 -c "
import json; u=json.load(open('$out/mc.json'))['mcDropout']['outputs'][0]['uncertainty']
print(f\"{'$(basename "$input" .npy)':<18} {u['meanPredictiveEntropy']:>19.4f} nats {u['meanMutualInformation']:>19.4f} nats\")"
done
echo
echo "plots: $out/recalibration-shift.svg  $out/mc-dropout.svg"
