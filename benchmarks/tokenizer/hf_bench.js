// Hugging Face side of bench_tokenizer: load time and single-thread encode
// throughput of the Rust `tokenizers` crate (N-API binding @anush008/tokenizers).
// usage: node hf_bench.js <node_modules> <chunks.jsonl> <tokenizer.json>...
// chunks.jsonl: {"set": "en"|"mixed", "text": "..."} lines. Prints one JSON line per tokenizer.
'use strict';
const Module = require('module');
const path = require('path');
const fs = require('fs');
const req = Module.createRequire(path.join(path.resolve(process.argv[2]), 'noop.js'));
const { Tokenizer } = req('@anush008/tokenizers');

(async () => {
  const chunks = fs.readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const file of process.argv.slice(4)) {
    const loads = [];
    let tok;
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      tok = Tokenizer.fromFile(file);
      loads.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    loads.sort((a, b) => a - b);
    const out = { file, load_s: loads[1] };
    for (const set of ['en', 'mixed']) {
      const texts = chunks.filter((c) => c.set === set).map((c) => c.text);
      // One encodeBatch call per run (no per-call async hop; TOKENIZERS_PARALLELISM=false
      // from the caller keeps it on one thread). Best of three, after a warm-up.
      await tok.encodeBatch(texts.slice(0, 4), { addSpecialTokens: false });
      let best = Infinity, bestCpu = Infinity, tokens = 0;
      for (let r = 0; r < 3; r++) {
        const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
        const encs = await tok.encodeBatch(texts, { addSpecialTokens: false });
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
        const c = process.cpuUsage(c0); // all threads of the process: user + system
        bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
        tokens = 0;
        for (const e of encs) tokens += e.getIds().length;
      }
      out[set] = { tokens, seconds: best, cpu_seconds: bestCpu };
    }
    console.log(JSON.stringify(out));
  }
})().catch((e) => { console.error(e); process.exit(1); });
