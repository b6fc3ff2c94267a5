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
      for (const t of texts.slice(0, 4)) await tok.encode(t, null, { addSpecialTokens: false }); // warm up
      let best = Infinity, tokens = 0;
      for (let r = 0; r < 2; r++) {
        tokens = 0;
        const t0 = process.hrtime.bigint();
        for (const t of texts) tokens += (await tok.encode(t, null, { addSpecialTokens: false })).getIds().length;
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      }
      out[set] = { tokens, seconds: best };
    }
    console.log(JSON.stringify(out));
  }
})().catch((e) => { console.error(e); process.exit(1); });
