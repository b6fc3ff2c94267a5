// vireo tokenize / detokenize: JSON lines in and out, a bad line gets
// {"error": ...} and processing goes on, exit status 1 if any line failed.
// Env: VIREO_BIN, FIXTURES (tests/tokenizer/fixtures).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const VIREO = process.env.VIREO_BIN;
const TOK = path.join(process.env.FIXTURES, 'bert-tiny');
const vireo = (args, input) => spawnSync(VIREO, args, { input, encoding: 'utf8' });
const lines = (s) => s.split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('tokenize: good lines give ids, exit 0', () => {
  const r = vireo(['tokenize', TOK], '{"text": "hello world"}\n{"id": 7, "text": "", "x": [1, {"y": null}]}\n');
  assert.strictEqual(r.status, 0, r.stderr);
  const out = lines(r.stdout);
  assert.strictEqual(out.length, 2);
  assert.ok(out[0].ids.length === 4 && out[1].ids.length === 2, r.stdout); // [CLS] .. [SEP]
  const ns = lines(vireo(['tokenize', TOK, '--no-special-tokens'], '{"text": "hello world"}\n').stdout);
  assert.strictEqual(ns[0].ids.length, 2);
});

test('tokenize: bad lines give errors and exit 1, good lines still answered', () => {
  const input = ['not json', '{"text": 5}', '{"txt": "a"}', '{"text": "a"', '{"text": "\\ud800"}',
    '[1]', '', '{"text": "hello"}'].join('\n') + '\n';
  const r = vireo(['tokenize', TOK], input);
  assert.strictEqual(r.status, 1);
  const out = lines(r.stdout);
  assert.strictEqual(out.length, 8);
  for (let i = 0; i < 7; i++) assert.ok(typeof out[i].error === 'string' && out[i].error.length > 3, JSON.stringify(out[i]));
  assert.ok(Array.isArray(out[7].ids));
  assert.match(out[4].error, /surrogate/);
  assert.match(out[2].error, /text/);
});

test('detokenize: text back, skip special tokens, bad ids are errors', () => {
  const enc = lines(vireo(['tokenize', TOK], '{"text": "Hello, world!"}\n').stdout)[0].ids;
  const input = [JSON.stringify({ ids: enc }), '{"ids": [999999]}', '{"ids": [-1]}', '{"ids": [1.5]}',
    '{"ids": "x"}', '{"nope": []}', '{"ids": []}'].join('\n') + '\n';
  const r = vireo(['detokenize', TOK], input);
  assert.strictEqual(r.status, 1);
  const out = lines(r.stdout);
  assert.strictEqual(out.length, 7);
  assert.strictEqual(out[0].text, '[CLS] hello, world! [SEP]');
  for (let i = 1; i < 6; i++) assert.ok(out[i].error, JSON.stringify(out[i]));
  assert.match(out[1].error, /out of range/);
  assert.strictEqual(out[6].text, '');
  const s = vireo(['detokenize', TOK, '--skip-special-tokens'], JSON.stringify({ ids: enc }) + '\n');
  assert.strictEqual(s.status, 0);
  assert.strictEqual(lines(s.stdout)[0].text, 'hello, world!');
});

test('usage errors and a bad tokenizer path', () => {
  assert.strictEqual(vireo(['tokenize'], '').status, 2);
  assert.strictEqual(vireo(['detokenize', TOK, '--bogus'], '').status, 2);
  const r = vireo(['tokenize', '/nonexistent/model'], '{"text": "a"}\n');
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /nonexistent/);
});
