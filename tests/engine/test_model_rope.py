#!/usr/bin/python3
"""RoPE tables: vireo's inv_freq and attention factor for every rope_scaling
variant (default, linear, dynamic, llama3, yarn with and without explicit
factors, partial rotary) against tests/reference/ref_forward.py's inv_freq,
which follows transformers' rope init functions.

  test_model_rope.py --dump BIN --reference DIR
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

BASE = {"architectures": ["LlamaForCausalLM"], "vocab_size": 100, "hidden_size": 256,
        "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 1, "max_position_embeddings": 32768, "rope_theta": 500000.0}

CASES = {
    "default": {},
    "theta-1e6": {"rope_theta": 1000000.0},
    "linear": {"rope_scaling": {"type": "linear", "factor": 4.0}},
    "dynamic": {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}},
    "llama3": {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8192}},
    "llama3-32": {"rope_scaling": {"rope_type": "llama3", "factor": 32.0,
                                   "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                   "original_max_position_embeddings": 8192}},
    "yarn": {"rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                              "original_max_position_embeddings": 8192}},
    "yarn-betas": {"rope_scaling": {"rope_type": "yarn", "factor": 8.0, "beta_fast": 16,
                                    "beta_slow": 2, "original_max_position_embeddings": 4096}},
    "yarn-att": {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "attention_factor": 1.25}},
    "yarn-mscale": {"rope_scaling": {"rope_type": "yarn", "factor": 40.0, "mscale": 1.0,
                                     "mscale_all_dim": 0.707,
                                     "original_max_position_embeddings": 4096}},
    "yarn-notrunc": {"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "truncate": False,
                                      "original_max_position_embeddings": 8192}},
    "partial": {"partial_rotary_factor": 0.5},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--reference", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.reference)
    import ref_forward

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in CASES.items():
            cfg = dict(BASE)
            cfg.update(extra)
            with open(os.path.join(tmp, "config.json"), "w") as f:
                json.dump(cfg, f)
            r = subprocess.run([a.dump, "rope", tmp], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append("%s: %s" % (name, r.stderr.strip()))
                continue
            vals = [float(x) for x in r.stdout.split()]
            att, inv = vals[0], np.array(vals[1:])
            head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
            want_inv, want_att = ref_forward.inv_freq(cfg, head_dim)
            if inv.shape != want_inv.shape:
                failures.append("%s: %d frequencies, reference %d" % (name, inv.size, want_inv.size))
                continue
            err = float(np.max(np.abs(inv - want_inv) / want_inv))
            if err > 1e-6 or abs(att - want_att) > 1e-6 * want_att:
                failures.append("%s: inv_freq rel err %.2e, attention factor %g vs %g"
                                % (name, err, att, want_att))
            print("%-14s max rel err %.1e  attention factor %.6f" % (name, err, att))
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("ok: %d RoPE variants match the reference" % len(CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
