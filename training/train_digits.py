"""Trains the bundled digits CNN in pure NumPy and writes it in cnnconv's format.

Data: scikit-learn's 8x8 handwritten digits (`load_digits`: 1,797 images, shipped inside the
package, no download), pixels scaled by 1/16 to [0, 1], a fixed seeded 80/20 split.

Model (NCHW, 1x8x8 in, 10 logits out):
    conv1 3x3 1->16 (no bias) - bn1 - relu1
    conv2 3x3 16->32 (no bias) - bn2 - relu2 - pool 2x2
    conv3 3x3 32->64 (no bias) - bn3 - relu3 - global average pool - flatten
    fc1 64->64 (no bias) - bn4 (BatchNorm1d) - relu4 - drop (p = 0.5) - fc2 64->10
Two variants differ only in dropout's convention: inverted (scale kept units by 1/keep while
training; identity at inference) and classic (no scaling while training; multiply by keep at
inference). BatchNorm: batch statistics (biased variance) while training, running statistics
updated with momentum 0.1 from the unbiased variance, eps 1e-5 — PyTorch's rules.

Everything is hand-written: im2col convolutions, manual backprop (checked against central
finite differences before training), Adam. Writes, into fixtures/digits/ (or --out):
    digits_cnn.cnnm, digits_cnn_classic.cnnm    the trained models (cnnm_writer.py)
    test_images.npy  float32 [N, 1, 8, 8]      test_labels.npy  int64 [N] class indices
    test_logits.npy, test_logits_classic.npy    float32 [N, 10], this script's eval outputs
and prints the accuracies that fixtures/digits/README.md quotes.

    python3 training/train_digits.py            # about 7 minutes on 2 cores
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnnm_writer  # noqa: E402

SPLIT_SEED = 20240607      # the train/test split
INIT_SEED = 7              # weights, batch order and dropout masks (per variant: +0 inverted, +1 classic)
TEST_FRACTION = 0.2
EPOCHS = 60
BATCH = 32
LEARNING_RATE = 2e-3
DROP_RATE = 0.5
BN_EPS = 1e-5
BN_MOMENTUM = 0.1
CHANNELS = (16, 32, 64)
HIDDEN = 64


# ---------------------------------------------------------------------------------------------
# data


def load_split():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.astype(np.float64) / 16.0).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_test = int(round(TEST_FRACTION * len(y)))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    return x[train], y[train], x[test].astype(np.float32), y[test]


# ---------------------------------------------------------------------------------------------
# layers (float64; forward returns (output, cache), backward returns gradients)


def im2col(x, k, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = np.empty((n, c, k, k, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * k * k), (oh, ow)


def col2im(dcols, shape, k, pad, oh, ow):
    n, c, h, w = shape
    d = dcols.reshape(n, oh, ow, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + oh, j:j + ow] += d[:, :, i, j]
    return dxp[:, :, pad:pad + h, pad:pad + w]


def conv_forward(x, w, pad):
    o, _, k, _ = w.shape
    cols, (oh, ow) = im2col(x, k, pad)
    y = cols @ w.reshape(o, -1).T
    return y.reshape(x.shape[0], oh, ow, o).transpose(0, 3, 1, 2), (x.shape, cols, w, pad, oh, ow)


def conv_backward(dy, cache):
    shape, cols, w, pad, oh, ow = cache
    o, _, k, _ = w.shape
    d2 = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (d2.T @ cols).reshape(w.shape)
    dx = col2im(d2 @ w.reshape(o, -1), shape, k, pad, oh, ow)
    return dx, dw


def bn_forward(x, gamma, beta, state, train):
    """state: dict with running_mean, running_var, num_batches_tracked (updated in train mode)."""
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    bshape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    if train:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        m = x.size // x.shape[1]
        state["running_mean"] = (1 - BN_MOMENTUM) * state["running_mean"] + BN_MOMENTUM * mean
        state["running_var"] = (1 - BN_MOMENTUM) * state["running_var"] + BN_MOMENTUM * var * m / (m - 1)
        state["num_batches_tracked"] += 1
    else:
        mean, var = state["running_mean"], state["running_var"]
    inv = 1.0 / np.sqrt(var + BN_EPS)
    xhat = (x - mean.reshape(bshape)) * inv.reshape(bshape)
    return gamma.reshape(bshape) * xhat + beta.reshape(bshape), (xhat, inv, gamma, axes, bshape)


def bn_backward(dy, cache):
    """Train-mode backward (batch statistics)."""
    xhat, inv, gamma, axes, bshape = cache
    m = dy.size // dy.shape[1]
    dgamma = (dy * xhat).sum(axis=axes)
    dbeta = dy.sum(axis=axes)
    dxhat = dy * gamma.reshape(bshape)
    dx = (inv.reshape(bshape) / m) * (m * dxhat - dxhat.sum(axis=axes).reshape(bshape)
                                      - xhat * (dxhat * xhat).sum(axis=axes).reshape(bshape))
    return dx, dgamma, dbeta


def maxpool2_forward(x):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(axis=-1)  # the first maximum gets the gradient (ties are common after ReLU)
    return np.take_along_axis(win, arg[..., None], -1)[..., 0], (x.shape, arg)


def maxpool2_backward(dy, cache):
    (n, c, h, w), arg = cache
    win = np.zeros(dy.shape + (4,), dtype=dy.dtype)
    np.put_along_axis(win, arg[..., None], dy[..., None], -1)
    return win.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


def dropout_mask(rng, shape, rate, convention):
    keep = 1.0 - rate
    mask = (rng.random(shape) < keep).astype(np.float64)
    return mask / keep if convention == "inverted" else mask


def dropout_eval_factor(rate, convention):
    return 1.0 if convention == "inverted" else 1.0 - rate


# ---------------------------------------------------------------------------------------------
# the model


def init_params(rng, channels=CHANNELS, hidden=HIDDEN):
    c1, c2, c3 = channels

    def he(shape, fan_in):
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

    p = {
        "conv1.weight": he((c1, 1, 3, 3), 9),
        "conv2.weight": he((c2, c1, 3, 3), c1 * 9),
        "conv3.weight": he((c3, c2, 3, 3), c2 * 9),
        "fc1.weight": he((hidden, c3), c3),
        "fc2.weight": rng.uniform(-1, 1, (10, hidden)) / np.sqrt(hidden),
        "fc2.bias": np.zeros(10),
    }
    state = {}
    for bn, c in (("bn1", c1), ("bn2", c2), ("bn3", c3), ("bn4", hidden)):
        p[bn + ".weight"], p[bn + ".bias"] = np.ones(c), np.zeros(c)
        state[bn] = {"running_mean": np.zeros(c), "running_var": np.ones(c), "num_batches_tracked": 0}
    return p, state


def forward(p, state, x, convention, train, mask_rng=None):
    """Logits and the caches backward needs. train=True: batch statistics and dropout masks."""
    caches = {}
    h = x
    for i, (conv, bn) in enumerate((("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))):
        h, caches[conv] = conv_forward(h, p[conv + ".weight"], pad=1)
        h, caches[bn] = bn_forward(h, p[bn + ".weight"], p[bn + ".bias"], state[bn], train)
        caches["relu" + bn[-1]] = h > 0
        h = h * caches["relu" + bn[-1]]
        if i == 1:
            h, caches["pool"] = maxpool2_forward(h)
    caches["gap"] = h.shape
    h = h.mean(axis=(2, 3))
    caches["fc1"] = h
    h = h @ p["fc1.weight"].T
    h, caches["bn4"] = bn_forward(h, p["bn4.weight"], p["bn4.bias"], state["bn4"], train)
    caches["relu4"] = h > 0
    h = h * caches["relu4"]
    if train:
        caches["drop"] = dropout_mask(mask_rng, h.shape, DROP_RATE, convention)
    else:
        caches["drop"] = dropout_eval_factor(DROP_RATE, convention)
    h = h * caches["drop"]
    caches["fc2"] = h
    return h @ p["fc2.weight"].T + p["fc2.bias"], caches


def backward(p, caches, dlogits):
    g = {}
    g["fc2.weight"] = dlogits.T @ caches["fc2"]
    g["fc2.bias"] = dlogits.sum(axis=0)
    d = dlogits @ p["fc2.weight"]
    d = d * caches["drop"] * caches["relu4"]
    d, g["bn4.weight"], g["bn4.bias"] = bn_backward(d, caches["bn4"])
    g["fc1.weight"] = d.T @ caches["fc1"]
    d = d @ p["fc1.weight"]
    n, c, hh, ww = caches["gap"]
    d = np.broadcast_to(d[:, :, None, None] / (hh * ww), caches["gap"])
    for i, (conv, bn) in reversed(list(enumerate((("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))))):
        if i == 1:
            d = maxpool2_backward(d, caches["pool"])
        d = d * caches["relu" + bn[-1]]
        d, g[bn + ".weight"], g[bn + ".bias"] = bn_backward(d, caches[bn])
        d, g[conv + ".weight"] = conv_backward(d, caches[conv])
    return g


def softmax_cross_entropy(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(len(y)), y].mean()
    dlogits = np.exp(logp)
    dlogits[np.arange(len(y)), y] -= 1
    return loss, dlogits / len(y)


def copy_state(state):
    return {k: dict(v, running_mean=v["running_mean"].copy(), running_var=v["running_var"].copy())
            for k, v in state.items()}


# ---------------------------------------------------------------------------------------------
# gradient check


def gradient_check(convention, seed=0, checks_per_tensor=6):
    """Central finite differences against backward() on a small model in train mode (batch
    statistics and a fixed dropout mask). Returns the largest relative error."""
    rng = np.random.default_rng(seed)
    p, state = init_params(rng, channels=(3, 4, 5), hidden=6)
    for k in p:  # move off the symmetric initial point so BN's gamma/beta gradients are generic
        p[k] = p[k] + 0.1 * rng.standard_normal(p[k].shape)
    x = rng.random((5, 1, 8, 8))
    y = rng.integers(0, 10, 5)

    def loss_at(params):
        logits, caches = forward(params, copy_state(state), x, convention, True, np.random.default_rng(99))
        return softmax_cross_entropy(logits, y)[0], caches, logits

    loss, caches, logits = loss_at(p)
    g = backward(p, caches, softmax_cross_entropy(logits, y)[1])
    worst = 0.0
    h = 1e-6
    for name in sorted(p):
        flat = p[name].reshape(-1)
        for idx in rng.choice(flat.size, size=min(checks_per_tensor, flat.size), replace=False):
            old = flat[idx]
            flat[idx] = old + h
            lp = loss_at(p)[0]
            flat[idx] = old - h
            lm = loss_at(p)[0]
            flat[idx] = old
            numeric = (lp - lm) / (2 * h)
            analytic = g[name].reshape(-1)[idx]
            err = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
            if abs(numeric) + abs(analytic) > 1e-6:  # skip pairs that are both ~0 (dead ReLUs)
                worst = max(worst, err)
    return worst


# ---------------------------------------------------------------------------------------------
# training and evaluation


def train(convention, x, y, seed):
    rng = np.random.default_rng(seed)
    p, state = init_params(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(val) for k, val in p.items()}
    b1, b2, adam_eps = 0.9, 0.999, 1e-8
    t = 0
    for epoch in range(EPOCHS):
        lr = LEARNING_RATE * 0.5 * (1 + np.cos(np.pi * epoch / EPOCHS))  # cosine decay
        order = rng.permutation(len(y))
        total, correct = 0.0, 0
        for start in range(0, len(y) - BATCH + 1, BATCH):  # drop the last partial batch
            idx = order[start:start + BATCH]
            logits, caches = forward(p, state, x[idx], convention, True, rng)
            loss, dlogits = softmax_cross_entropy(logits, y[idx])
            total += loss * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
            g = backward(p, caches, dlogits)
            t += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
                p[k] -= lr * (m[k] / (1 - b1 ** t)) / (np.sqrt(v[k] / (1 - b2 ** t)) + adam_eps)
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            n = (len(y) // BATCH) * BATCH
            print(f"  [{convention}] epoch {epoch + 1:3d}  loss {total / n:.4f}  train-mode accuracy {correct / n:.4f}",
                  flush=True)
    return p, state


def rounded(p, state):
    """Parameters and running statistics as stored (float32), back in float64 for evaluation."""
    q = {k: v.astype(np.float32).astype(np.float64) for k, v in p.items()}
    s = {k: dict(v, running_mean=v["running_mean"].astype(np.float32).astype(np.float64),
                 running_var=v["running_var"].astype(np.float32).astype(np.float64))
         for k, v in state.items()}
    return q, s


def evaluate(p, state, x, convention):
    logits, _ = forward(p, copy_state(state), x.astype(np.float64), convention, False)
    return logits


def mc_dropout_entropy(p, state, x, convention, samples=50, seed=0):
    """Mean over images of the predictive entropy (nats) of the MC-dropout mean softmax."""
    rng = np.random.default_rng(seed)
    probs = 0.0
    for _ in range(samples):
        s = copy_state(state)
        # BatchNorm on running statistics, dropout sampling on: forward in eval mode up to the
        # dropout, then a sampled mask.
        logits_eval, caches = forward(p, s, x.astype(np.float64), convention, False)
        pre = caches["fc2"] / caches["drop"]
        h = pre * dropout_mask(rng, pre.shape, DROP_RATE, convention)
        logits = h @ p["fc2.weight"].T + p["fc2.bias"]
        z = np.exp(logits - logits.max(1, keepdims=True))
        probs = probs + z / z.sum(1, keepdims=True)
    probs /= samples
    return float(-(probs * np.log(np.clip(probs, 1e-300, None))).sum(1).mean())


def write_model(path, p, state, convention, metadata):
    w = cnnm_writer.ModelWriter(os.path.splitext(os.path.basename(path))[0],
                                producer="cnnconv training/train_digits.py (numpy " + np.__version__ + ")",
                                metadata=metadata)
    w.input("image", ["N", 1, 8, 8])
    h = "image"
    for i, (conv, bn) in enumerate((("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))):
        h = w.conv2d(conv, h, p[conv + ".weight"], kernel=3, pad=1)
        s = state[bn]
        h = w.batch_norm(bn, h, p[bn + ".weight"], p[bn + ".bias"], s["running_mean"], s["running_var"],
                         eps=BN_EPS, momentum=BN_MOMENTUM, num_batches_tracked=s["num_batches_tracked"])
        h = w.relu("relu" + bn[-1], h)
        if i == 1:
            h = w.max_pool("pool", h, kernel=2, stride=2)
    h = w.global_average_pool("gap", h)
    h = w.flatten("flatten", h, axis=1)
    h = w.linear("fc1", h, p["fc1.weight"])
    s = state["bn4"]
    h = w.batch_norm("bn4", h, p["bn4.weight"], p["bn4.bias"], s["running_mean"], s["running_var"],
                     eps=BN_EPS, momentum=BN_MOMENTUM, num_batches_tracked=s["num_batches_tracked"])
    h = w.relu("relu4", h)
    h = w.dropout("drop", h, DROP_RATE,
                  cnnm_writer.DROPOUT_INVERTED if convention == "inverted" else cnnm_writer.DROPOUT_CLASSIC)
    h = w.linear("fc2", h, p["fc2.weight"], p["fc2.bias"])
    w.output(h, ["N", 10])
    w.write(path)


def save_npy(path, a):
    np.save(path, a)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "fixtures", "digits"))
    ap.add_argument("--skip-gradient-check", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if not args.skip_gradient_check:
        for convention in ("inverted", "classic"):
            worst = gradient_check(convention)
            print(f"gradient check ({convention}): largest relative error {worst:.2e}", flush=True)
            if worst > 1e-5:
                sys.exit(f"gradient check failed for {convention} dropout: relative error {worst:.2e}")

    x_train, y_train, x_test, y_test = load_split()
    print(f"split: {len(y_train)} train, {len(y_test)} test (seed {SPLIT_SEED})", flush=True)
    save_npy(os.path.join(args.out, "test_images.npy"), x_test.astype("<f4"))
    save_npy(os.path.join(args.out, "test_labels.npy"), y_test.astype("<i8"))

    noise = np.random.default_rng(12345).random((200, 1, 8, 8)).astype(np.float32)
    summary = {}
    for k, (convention, fname) in enumerate((("inverted", "digits_cnn.cnnm"), ("classic", "digits_cnn_classic.cnnm"))):
        p, state = train(convention, x_train, y_train, INIT_SEED + k)
        q, s = rounded(p, state)
        train_acc = float((evaluate(q, s, x_train, convention).argmax(1) == y_train).mean())
        logits = evaluate(q, s, x_test, convention)
        test_acc = float((logits.argmax(1) == y_test).mean())
        h_digits = mc_dropout_entropy(q, s, x_test, convention)
        h_noise = mc_dropout_entropy(q, s, noise, convention)
        suffix = "" if convention == "inverted" else "_classic"
        save_npy(os.path.join(args.out, f"test_logits{suffix}.npy"), logits.astype("<f4"))
        metadata = {
            "description": "8x8 handwritten digits CNN (conv-BN-ReLU x3, max pool, global average pool, "
                           "linear-BatchNorm1d-ReLU-dropout-linear), trained by training/train_digits.py",
            "dataset": "scikit-learn load_digits, pixels / 16, seeded 80/20 split (seed %d)" % SPLIT_SEED,
            "dropout_convention": convention,
            "epochs": str(EPOCHS),
            "test_accuracy": "%.4f" % test_acc,
            "train_accuracy": "%.4f" % train_acc,
        }
        write_model(os.path.join(args.out, fname), p, state, convention, metadata)
        summary[convention] = {"train_accuracy": train_acc, "test_accuracy": test_acc,
                               "test_correct": int((logits.argmax(1) == y_test).sum()), "test_samples": len(y_test),
                               "mc_entropy_digits": h_digits, "mc_entropy_noise": h_noise}
        print(f"{convention}: train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
              f"({summary[convention]['test_correct']}/{len(y_test)}); MC-dropout entropy digits {h_digits:.3f} "
              f"vs noise {h_noise:.3f} nats", flush=True)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
