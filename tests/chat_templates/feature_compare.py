#!/usr/bin/python3
"""Feature-level comparison: every case of features.py rendered by jinja2
(through the shared oracle's environment) and by vireo (tmpl_batch); the
output must be byte-identical, or both must fail.

usage: feature_compare.py TMPL_BATCH SHARED_DIR [--keep DIR]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features import FEATURES  # noqa: E402
from oracle_compare import NOW_EPOCH, load_oracle  # noqa: E402


_made = set()  # scratch folders to remove at exit


def main():
    batch, shared = sys.argv[1:3]
    keep = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--keep" else None
    os.environ["TZ"] = "UTC"
    oracle = load_oracle(os.path.join(shared, "oracles", "tmpl-oracle.py"))
    work = keep or tempfile.mkdtemp(prefix="tmpl-features-")
    if not keep:
        _made.add(work)
    os.makedirs(work, exist_ok=True)
    names = set()
    rows = []
    with open(os.path.join(work, "manifest.tsv"), "w", encoding="utf-8") as mf:
        for name, src, ctx in FEATURES:
            assert name not in names, name
            names.add(name)
            tp, cp, op = (os.path.join(work, name + ext) for ext in (".jinja", ".json", ".out"))
            with open(tp, "w", encoding="utf-8", newline="") as f:
                f.write(src)
            with open(cp, "w", encoding="utf-8") as f:
                json.dump(ctx, f, ensure_ascii=False)
            for p in (op, op + ".err"):
                if os.path.exists(p):
                    os.remove(p)
            mf.write(f"{tp}\t{cp}\t{op}\n")
            try:
                result = oracle.render(src, ctx)
            except SyntaxError as e:  # jinja2's generated Python does not compile, e.g. break outside a loop
                result = ("syntax_error", f"SyntaxError: {e}")
            rows.append((name, src, ctx, op) + result)
    subprocess.run([batch, os.path.join(work, "manifest.tsv")], check=True,
                   env=dict(os.environ, SOURCE_DATE_EPOCH=NOW_EPOCH, TZ="UTC"))
    fails = 0
    errors_expected = 0
    for name, src, ctx, op, status, text in rows:
        got_err = os.path.exists(op + ".err")
        got = open(op + ".err" if got_err else op, encoding="utf-8", newline="").read()
        if status != "ok":
            errors_expected += 1
            if not got_err:
                fails += 1
                print(f"FAIL {name}: jinja2 {status} ({text[:150]}), vireo rendered {got[:150]!r}")
            elif status == "raise_exception" and got != text:
                fails += 1
                print(f"FAIL {name}: raise_exception message {text!r}, vireo {got!r}")
        elif got_err:
            fails += 1
            print(f"FAIL {name}: vireo error {got!r}; jinja2 renders {text[:200]!r}")
        elif got != text:
            fails += 1
            print(f"FAIL {name}:\n  jinja2 {text!r}\n  vireo  {got!r}")
    print(f"features={len(rows)} (of which jinja2 errors={errors_expected}) failures={fails}")
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
