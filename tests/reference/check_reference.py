#!/usr/bin/python3
"""Self-consistency of the float64 reference (ref_forward.py) on the fixtures:

  - a prefix's logits equal the first rows of the full forward (causality,
    and the KV-cache path of greedy agrees with the full forward);
  - greedy(m, ids, n) equals the argmax of forward at each step;
  - hidden() @ lm_head == forward(), and forward(rows=...) picks rows;
  - the sliding window really limits what a Mistral token can see, and
    full-attention models do see their first token;
  - bf16 decoding, RoPE scaling bands and RMSNorm on hand-made inputs;
  - the CLI's JSON matches the API.

usage: check_reference.py MODELS_DIR
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_forward as R  # noqa: E402

TINY = ["llama3-tiny-f32", "llama3-tiny-bf16", "qwen2-tiny-f32", "qwen2-tiny-bf16",
        "qwen3-tiny-f32", "qwen3-tiny-bf16", "qwen3-tiny", "mistral-tiny-f32", "mistral-tiny-bf16"]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def prompt(m, n, seed):
    return [int(x) for x in np.random.default_rng(seed).integers(0, min(m.vocab, 100000), n)]


def check_model(models, name):
    m = R.load_model(os.path.join(models, name))
    ids = prompt(m, 12, 1)
    full = R.forward(m, ids)
    check(full.shape == (12, m.vocab) and full.dtype == np.float64, "%s: forward shape %s" % (name, full.shape))
    check(np.all(np.isfinite(full)), "%s: non-finite logits" % name)
    for k in (1, 5):
        check(rel(R.forward(m, ids[:k]), full[:k]) < 1e-12, "%s: prefix %d differs from full forward" % (name, k))
    check(rel(R.hidden(m, ids) @ m.lm_head.T, full) < 1e-12, "%s: hidden @ lm_head != forward" % name)
    check(rel(R.forward(m, ids, rows=[11, 3]), full[[11, 3]]) < 1e-12, "%s: rows= picks wrong rows" % name)
    # Different tokens must give different logits (the model is not constant).
    other = R.forward(m, ids[:-1] + [(ids[-1] + 1) % m.vocab])
    check(rel(other[-1], full[-1]) > 1e-3, "%s: last token does not change its logits" % name)

    n = 8
    g = R.greedy(m, ids[:4], n)
    seq = ids[:4] + g
    step = R.forward(m, seq[:-1], rows=range(3, 3 + n))
    check(g == [int(t) for t in step.argmax(axis=1)], "%s: greedy != argmax of forward" % name)
    top2 = np.sort(step, axis=1)[:, -2:]
    return float((top2[:, 1] - top2[:, 0]).min())


def check_sliding_window(models):
    m = R.load_model(os.path.join(models, "mistral-tiny-f32"))
    w, layers = m.cfg["sliding_window"], m.n_layers
    reach = layers * (w - 1)  # information travels at most w-1 positions per layer
    ids = prompt(m, reach + 4, 2)
    changed = [(ids[0] + 1) % m.vocab] + ids[1:]
    a, b = R.hidden(m, ids), R.hidden(m, changed)
    diff = np.abs(a - b).max(axis=1)
    check(np.all(diff[reach + 1:] == 0), "mistral: token 0 leaks past the window (reach %d): %s"
          % (reach, diff[reach + 1:]))
    check(np.all(diff[: w] > 0), "mistral: token 0 invisible inside the window")
    # Without the window the first token is seen everywhere.
    m.windows = [None] * layers
    full = np.abs(R.hidden(m, ids) - R.hidden(m, changed)).max(axis=1)
    check(full[-1] > 0, "mistral: disabling the window did not change anything")


def write_st(path, tensors):
    """A minimal safetensors file from (name, dtype, shape, raw bytes)."""
    hdr, off, body = {"__metadata__": {"format": "pt"}}, 0, b""
    for name, dt, shape, raw in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        body += raw
    js = json.dumps(hdr).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + body)


def check_primitives():
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "t.safetensors")
        write_st(p, [("b", "BF16", [4], struct.pack("<4H", 0x3F80, 0xC000, 0x3FC0, 0x0000)),
                     ("h", "F16", [2], struct.pack("<2H", 0x3C00, 0xBC00)),
                     ("f", "F32", [1, 2], struct.pack("<2f", 0.25, -3.5))])
        t = R.read_safetensors(p)
        check(list(t["b"]) == [1.0, -2.0, 1.5, 0.0], "bf16 decode: %s" % t["b"])
        check(list(t["h"]) == [1.0, -1.0], "f16 decode: %s" % t["h"])
        check(t["f"].shape == (1, 2) and list(t["f"][0]) == [0.25, -3.5], "f32 decode: %s" % t["f"])
        write_st(p, [("x", "F32", [3], b"\0" * 8)])
        try:
            R.read_safetensors(p)
            check(False, "a tensor with too few bytes was accepted")
        except R.RefError:
            pass

    # Llama-3 scaling: high frequencies kept, low ones divided by the factor,
    # medium ones strictly between.
    rs = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192}
    cfg = {"rope_theta": 500000.0, "max_position_embeddings": 4096}
    base, _ = R.inv_freq(cfg, 16)
    scaled, _ = R.inv_freq(dict(cfg, rope_scaling=rs), 16)
    wl = 2 * math.pi / base
    hi, lo = wl < 8192 / 4, wl > 8192
    check(hi.any() and lo.any() and (~hi & ~lo).any(), "llama3 test does not cover all three bands")
    check(np.allclose(scaled[hi], base[hi]) and np.allclose(scaled[lo], base[lo] / 8), "llama3 rope bands")
    mid = ~hi & ~lo
    check(np.all((scaled[mid] < base[mid]) & (scaled[mid] > base[mid] / 8)), "llama3 rope medium band")
    lin, _ = R.inv_freq(dict(cfg, rope_scaling={"rope_type": "linear", "factor": 4.0}), 16)
    check(np.allclose(lin, base / 4), "linear rope scaling")
    dyn, _ = R.inv_freq(dict(cfg, rope_scaling={"type": "dynamic", "factor": 2.0}), 16, seq_len=100)
    check(np.allclose(dyn, base), "dynamic rope changed inside the trained length")
    dyn, _ = R.inv_freq(dict(cfg, rope_scaling={"type": "dynamic", "factor": 2.0}), 16, seq_len=8192)
    check(dyn[0] == base[0] and np.all(dyn[1:] < base[1:]), "dynamic rope past the trained length")
    yarn, att = R.inv_freq(dict(cfg, rope_scaling={"rope_type": "yarn", "factor": 4.0}), 16)
    check(att > 1 and yarn[0] == base[0] and np.isclose(yarn[-1], base[-1] / 4), "yarn rope")
    # RoPE preserves norms and q.k depends only on the position difference.
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((1, 1, 16)), rng.standard_normal((1, 1, 16))

    def dot(pq, pk):
        return float(np.sum(R._rope(q, np.array([pq]), base, 1.0) * R._rope(k, np.array([pk]), base, 1.0)))

    check(abs(dot(10, 3) - dot(107, 100)) < 1e-9 and abs(dot(10, 3) - dot(10, 4)) > 1e-6,
          "rope is not relative")
    x = rng.standard_normal((3, 8))
    y = R._rms(x, np.full(8, 2.0), 0.0)
    check(np.allclose(np.sqrt(np.mean(y * y, axis=-1)), 2.0), "rmsnorm scale")


def check_cli(models):
    d = os.path.join(models, "qwen3-tiny-bf16")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref_forward.py")
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, "l.npy")
        r = subprocess.run([sys.executable, here, d, "--ids", "9,8,7", "--greedy", "3", "--out", npy],
                           capture_output=True, text=True)
        if not check(r.returncode == 0, "CLI failed: %s" % r.stderr):
            return
        j = json.loads(r.stdout)
        m = R.load_model(d)
        logits = R.forward(m, [9, 8, 7])
        check(j["ids"] == [9, 8, 7] and j["greedy"] == R.greedy(m, [9, 8, 7], 3), "CLI greedy")
        check([t for t, _ in j["last_logits_top5"]] == list(np.argsort(-logits[-1])[:5]), "CLI top5")
        check(np.array_equal(np.load(npy), logits), "CLI --out logits")
        r = subprocess.run([sys.executable, here, d, "--ids", "%d" % m.vocab], capture_output=True, text=True)
        check(r.returncode == 1 and "out of range" in r.stderr, "CLI bad id: %r" % r.stderr)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    models = sys.argv[1]
    check_primitives()
    for name in TINY:
        margin = check_model(models, name)
        print("%-18s min greedy top1-top2 margin over 8 steps: %.4f" % (name, margin))
    # The bf16 fixture is the f32 one rounded: close, but not identical.
    a = R.forward(R.load_model(os.path.join(models, "qwen3-tiny-f32")), [5, 6, 7])
    b = R.forward(R.load_model(os.path.join(models, "qwen3-tiny-bf16")), [5, 6, 7])
    check(0 < rel(b, a) < 0.1, "bf16 vs f32 fixture logits relative difference %.3g" % rel(b, a))
    check_sliding_window(models)
    check_cli(models)
    for f in failures:
        print("FAIL:", f)
    print("check_reference: %d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
