#!/usr/bin/python3
"""Float64 numpy reference of Hugging Face's forward for the Llama family:
LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM.

It is the oracle vireo's C forward is compared against, so it is written
independently of both the C loader and tools/gen_fixture.py (it parses
safetensors itself) and follows the transformers modeling code's semantics:

  embedding -> per layer:
      x += o_proj(attn(rope(qk_norm(q_proj(rms(x)))), rope(qk_norm(k_proj(..))), v_proj(..)))
      x += down_proj(silu(gate_proj(rms(x))) * up_proj(rms(x)))
  -> final RMSNorm -> lm_head (or the embedding matrix when tied)

  RMSNorm      x * 1/sqrt(mean(x^2) + eps) * w
  RoPE         rotate_half on the non-interleaved layout (pairs i, i + d/2),
               inv_freq = 1 / theta^(2i/d) with rope_scaling
               llama3 | linear | dynamic | yarn as transformers computes it
  GQA          query head h reads KV head h // (heads / kv_heads)
  mask         causal; with a sliding window W a query at position p sees
               key positions k with p - W < k <= p
  Qwen2        q/k/v biases (any model with attention_bias: true too)
  Qwen3        q_norm / k_norm: RMSNorm over head_dim per head, before RoPE
  sliding      Mistral: config.sliding_window; Qwen2/3: only when
               use_sliding_window, for layers >= max_window_layers

API (import with sys.path pointing at tests/reference/):

  m = load_model(dir)          # dict-like Model: cfg, weights (float64)
  forward(m, ids)              # np.ndarray [len(ids), vocab] float64 logits
  forward(m, ids, rows=[..])   # only those rows (much faster for long prompts)
  hidden(m, ids)               # np.ndarray [len(ids), hidden] after final norm
  greedy(m, ids, n)            # list of n ids, argmax at each step (KV cache)
  read_safetensors(path)       # {name: np.ndarray float64} of one file

Everything, RoPE angles included, is float64 (transformers computes
inv_freq and the angles in float32: about 1e-5 rad apart at position 300).
Positions are 0..len(ids)-1. Weights are decoded to float64 (bf16 from its
uint16 bits, little-endian), so a bf16 model's reference is the exact bf16
weights computed in float64.

Speed (tiny fixtures, 2 cores): hidden() of 300 tokens ~0.15 s, greedy 32
steps ~0.4 s; full logits of 300 tokens ~3 s because the vocab projection
(300 x 64 x 151936) runs on Debian's reference BLAS; pass rows= for less.

CLI:
  ref_forward.py MODEL_DIR --ids 1,2,3 [--greedy N] [--out FILE.npy]
prints JSON {"ids": [...], "greedy": [...], "last_logits_top5": [[id, logit], ...]}
and writes the full logits [len(ids), vocab] to FILE.npy when asked.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
           "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1"}

SUPPORTED = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM")


class RefError(Exception):
    pass


def read_safetensors(path):
    """Every tensor of one .safetensors file as float64, checking the header."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise RefError("%s: too short for a safetensors header" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise RefError("%s: header length %d past end of file" % (path, n))
    hdr = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    out = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in _DTYPES:
            raise RefError("%s: tensor %s has unsupported dtype %s" % (path, name, t["dtype"]))
        b, e = t["data_offsets"]
        dt = np.dtype(_DTYPES[t["dtype"]])
        count = int(np.prod(t["shape"], dtype=np.int64))
        if not (0 <= b <= e <= len(body)) or e - b != count * dt.itemsize:
            raise RefError("%s: tensor %s offsets %s do not fit shape %s"
                           % (path, name, t["data_offsets"], t["shape"]))
        raw = np.frombuffer(body[b:e], dtype=dt)
        if t["dtype"] == "BF16":
            # bf16 is the high half of a float32.
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = raw.astype(np.float64).reshape(t["shape"])
    return out


class Model:
    def __init__(self, cfg, w):
        self.cfg = cfg
        self.w = w
        arch = cfg["architectures"][0]
        if arch not in SUPPORTED:
            raise RefError("unsupported architecture %s" % arch)
        self.arch = arch
        self.hidden_size = cfg["hidden_size"]
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads") or self.n_heads
        self.head_dim = cfg.get("head_dim") or self.hidden_size // self.n_heads
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.vocab = cfg["vocab_size"]
        self.qk_norm = arch == "Qwen3ForCausalLM"
        # Storage dtype of the KV cache being emulated: None keeps K/V exact;
        # "bf16" / "f16" round each new K (after RoPE) and V to nearest even,
        # as an engine storing its cache in that dtype does.
        self.kv_round = None
        self.windows = [self._window(i) for i in range(self.n_layers)]
        self.lm_head = w["lm_head.weight"] if "lm_head.weight" in w else None
        if self.lm_head is None:
            if not cfg.get("tie_word_embeddings", False):
                raise RefError("lm_head.weight missing and tie_word_embeddings is false")
            self.lm_head = w["model.embed_tokens.weight"]

    def _window(self, layer):
        """Sliding window of a layer, or None for full attention."""
        sw = self.cfg.get("sliding_window")
        if not sw:
            return None
        if self.arch in ("Qwen2ForCausalLM", "Qwen3ForCausalLM"):
            if not self.cfg.get("use_sliding_window", False):
                return None
            if layer < self.cfg.get("max_window_layers", self.n_layers):
                return None
        return int(sw)


def load_model(d):
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    index = os.path.join(d, "model.safetensors.index.json")
    w = {}
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for fn in files:
        w.update(read_safetensors(os.path.join(d, fn)))
    return Model(cfg, w)


# ---- RoPE -----------------------------------------------------------------

def inv_freq(cfg, head_dim, seq_len=0):
    """(inv_freq [head_dim/2], attention scaling) as transformers computes them."""
    base = float(cfg.get("rope_theta", 10000.0))
    dim = int(head_dim * cfg.get("partial_rotary_factor", 1.0))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    exps = np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim
    inv = 1.0 / base ** exps
    if kind == "default":
        return inv, 1.0
    factor = float(rs["factor"])
    if kind == "linear":
        return inv / factor, 1.0
    if kind == "dynamic":
        # NTK-aware: the base grows once the sequence passes the trained length.
        max_pos = cfg["max_position_embeddings"]
        if seq_len > max_pos:
            base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
            inv = 1.0 / base ** exps
        return inv, 1.0
    if kind == "llama3":
        lo, hi = float(rs["low_freq_factor"]), float(rs["high_freq_factor"])
        old = float(rs["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        out = np.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
        return np.where(medium, smoothed, out), 1.0
    if kind == "yarn":
        # As transformers 4.51: with original_max_position_embeddings given,
        # the factor is the ratio of the context lengths.
        old = rs.get("original_max_position_embeddings")
        if old:
            factor = cfg["max_position_embeddings"] / old
        else:
            old = cfg["max_position_embeddings"]

        def mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        att = rs.get("attention_factor")
        if att is None:
            if rs.get("mscale") and rs.get("mscale_all_dim"):
                att = mscale(factor, rs["mscale"]) / mscale(factor, rs["mscale_all_dim"])
            else:
                att = mscale(factor)
        beta_fast, beta_slow = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

        def corr_dim(rot):
            return dim * math.log(old / (rot * 2 * math.pi)) / (2 * math.log(base))

        low, high = corr_dim(beta_fast), corr_dim(beta_slow)
        if rs.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
        extrap = 1 - ramp
        inv = (inv / factor) * (1 - extrap) + inv * extrap
        return inv, float(att)
    raise RefError("unsupported rope_scaling type %r" % kind)


def _rope(x, pos, inv, scale):
    """x [T, H, D]; rotate_half RoPE on the first 2*len(inv) dims."""
    ang = pos[:, None].astype(np.float64) * inv[None, :]
    emb = np.concatenate([ang, ang], axis=-1)
    cos, sin = np.cos(emb) * scale, np.sin(emb) * scale
    r = 2 * len(inv)
    xr = x[..., :r]
    half = r // 2
    rot = np.concatenate([-xr[..., half:], xr[..., :half]], axis=-1)
    out = xr * cos[:, None, :] + rot * sin[:, None, :]
    return np.concatenate([out, x[..., r:]], axis=-1) if r < x.shape[-1] else out


def _round_to(x, kind):
    """x rounded to bf16 or f16 (nearest even), back in float64. The value is
    first rounded to float32, the precision the engine computes K and V in."""
    f = np.asarray(x, dtype=np.float32)
    if kind == "f16":
        return f.astype(np.float16).astype(np.float64)
    b = f.view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32).astype(np.float64)


def _rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


# ---- forward ----------------------------------------------------------------

def _layer(m, i, x, pos, cache, inv, scale):
    """One decoder layer on new tokens x [T, hidden] at positions pos.
    cache[i] holds (K, V) of earlier positions [P, kv, D]; updated in place."""
    p = "model.layers.%d." % i
    w = m.w
    T, D = x.shape[0], m.head_dim
    h = _rms(x, w[p + "input_layernorm.weight"], m.eps)

    def lin(name, y):
        # Biases where the checkpoint has them: Qwen2 q/k/v, Llama with
        # attention_bias / mlp_bias.
        out = y @ w[p + name + ".weight"].T
        b = w.get(p + name + ".bias")
        return out if b is None else out + b

    q = lin("self_attn.q_proj", h).reshape(T, m.n_heads, D)
    k = lin("self_attn.k_proj", h).reshape(T, m.n_kv, D)
    v = lin("self_attn.v_proj", h).reshape(T, m.n_kv, D)
    if m.qk_norm:
        q = _rms(q, w[p + "self_attn.q_norm.weight"], m.eps)
        k = _rms(k, w[p + "self_attn.k_norm.weight"], m.eps)
    q, k = _rope(q, pos, inv, scale), _rope(k, pos, inv, scale)
    if m.kv_round:
        k, v = _round_to(k, m.kv_round), _round_to(v, m.kv_round)
    if cache[i] is not None:
        k = np.concatenate([cache[i][0], k])
        v = np.concatenate([cache[i][1], v])
    cache[i] = (k, v)
    kpos = np.arange(k.shape[0])
    allowed = kpos[None, :] <= pos[:, None]
    if m.windows[i] is not None:
        allowed &= kpos[None, :] > pos[:, None] - m.windows[i]
    group = m.n_heads // m.n_kv
    kk = np.repeat(k, group, axis=1)  # [S, H, D]
    vv = np.repeat(v, group, axis=1)
    s = np.einsum("thd,shd->hts", q, kk) / math.sqrt(D)
    s = np.where(allowed[None], s, -np.inf)
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    s /= s.sum(axis=-1, keepdims=True)
    a = np.einsum("hts,shd->thd", s, vv).reshape(T, m.n_heads * D)
    x = x + lin("self_attn.o_proj", a)
    h = _rms(x, w[p + "post_attention_layernorm.weight"], m.eps)
    g, u = lin("mlp.gate_proj", h), lin("mlp.up_proj", h)
    return x + lin("mlp.down_proj", g / (1 + np.exp(-g)) * u)


def _check_ids(m, ids):
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise RefError("ids must be a non-empty list")
    if ids.min() < 0 or ids.max() >= m.vocab:
        raise RefError("token id out of range [0, %d)" % m.vocab)
    return ids


def _run(m, ids, cache, start):
    """Final-norm hidden states of ids at positions start.."""
    ids = _check_ids(m, ids)
    pos = np.arange(start, start + len(ids))
    inv, scale = inv_freq(m.cfg, m.head_dim, seq_len=int(pos[-1]) + 1)
    x = m.w["model.embed_tokens.weight"][ids]
    for i in range(m.n_layers):
        x = _layer(m, i, x, pos, cache, inv, scale)
    return _rms(x, m.w["model.norm.weight"], m.eps)


def hidden(m, ids):
    return _run(m, ids, [None] * m.n_layers, 0)


def forward(m, ids, rows=None):
    """Logits [len(ids), vocab]; with rows (indices into ids) only those rows,
    [len(rows), vocab]: the vocab projection dominates the cost, and numpy
    with Debian's reference BLAS does about 1 GFLOP/s."""
    h = hidden(m, ids)
    if rows is not None:
        h = h[np.asarray(rows, dtype=np.int64)]
    return h @ m.lm_head.T


def greedy(m, ids, n):
    """n greedy tokens after ids; the KV cache keeps this linear in n."""
    cache = [None] * m.n_layers
    if m.cfg.get("rope_scaling") and (m.cfg["rope_scaling"].get("rope_type")
                                      or m.cfg["rope_scaling"].get("type")) == "dynamic":
        cache = None  # inv_freq depends on the whole length: recompute each step
    out, seq = [], list(_check_ids(m, ids))
    h = _run(m, seq, cache, 0) if cache is not None else hidden(m, seq)
    for _ in range(n):
        t = int(np.argmax(h[-1] @ m.lm_head.T))
        out.append(t)
        if len(out) == n:
            break
        if cache is not None:
            h = _run(m, [t], cache, len(seq))
        seq.append(t)
        if cache is None:
            h = hidden(m, seq)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="float64 reference forward of a HF model folder")
    ap.add_argument("model_dir")
    ap.add_argument("--ids", required=True, help="comma-separated prompt token ids")
    ap.add_argument("--greedy", type=int, default=0, help="also decode N greedy tokens")
    ap.add_argument("--out", help="write logits [len(ids), vocab] float64 to this .npy")
    a = ap.parse_args(argv)
    try:
        ids = [int(s) for s in a.ids.split(",") if s.strip()]
    except ValueError:
        ap.error("--ids must be comma-separated integers")
    try:
        m = load_model(a.model_dir)
        logits = forward(m, ids)
        g = greedy(m, ids, a.greedy) if a.greedy > 0 else []
    except (RefError, OSError, KeyError, ValueError) as e:
        print("ref_forward: %s: %s" % (a.model_dir, e), file=sys.stderr)
        return 1
    if a.out:
        np.save(a.out, logits)
    last = logits[-1]
    top = np.argsort(-last, kind="stable")[:5]
    print(json.dumps({"ids": ids, "greedy": g,
                      "last_logits_top5": [[int(t), float(last[t])] for t in top]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
