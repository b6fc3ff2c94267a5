// The official `openai` SDK against `vireo serve` on the qwen3-tiny fixture:
// chat, completions, embeddings and models, stream and non-stream.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai').OpenAI;
const { startServer } = require('./helpers');

let srv, client;
const MODEL = 'tiny';

before(async () => {
  srv = await startServer('qwen3-tiny', ['--served-model-name', MODEL, '--api-key', 'k-123', '--max-model-len', '512',
    '--disable-log-requests']);
  client = new OpenAI({ baseURL: srv.base + '/v1', apiKey: 'k-123', maxRetries: 0 });
});

after(async () => {
  const code = await srv.stop();
  assert.equal(code, 0, 'clean exit on SIGTERM');
});

const msgs = [{ role: 'user', content: 'Hello there, how are you?' }];

async function collect(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

test('models list', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, MODEL);
  assert.equal(list.data[0].object, 'model');
  assert.equal(list.data[0].owned_by, 'vireo');
  assert.equal(list.data[0].max_model_len, 512);
});

test('chat: plain', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: msgs, max_tokens: 8, temperature: 0 });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 5);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('chat: max_completion_tokens wins and ignore_eos gives exactly that many', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: msgs, max_tokens: 20,
    max_completion_tokens: 3, ignore_eos: true });
  assert.equal(r.usage.completion_tokens, 3);
  assert.equal(r.choices[0].finish_reason, 'length');
});

test('chat: stream equals non-stream (greedy and seeded), usage chunk, role first', async () => {
  for (const opts of [{ temperature: 0 }, { temperature: 0.9, seed: 1234 }]) {
    const body = { model: MODEL, messages: msgs, max_tokens: 12, ignore_eos: true, ...opts };
    const r = await client.chat.completions.create(body);
    const chunks = await collect(await client.chat.completions.create({ ...body, stream: true,
      stream_options: { include_usage: true } }));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(chunks[0].object, 'chat.completion.chunk');
    const text = chunks.map((c) => (c.choices[0] && c.choices[0].delta.content) || '').join('');
    assert.equal(text, r.choices[0].message.content);
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 12);
    assert.equal(last.usage.prompt_tokens, r.usage.prompt_tokens);
    const fin = chunks.filter((c) => c.choices[0] && c.choices[0].finish_reason);
    assert.equal(fin.length, 1);
    assert.equal(fin[0].choices[0].finish_reason, 'length');
    for (const c of chunks) assert.ok(!JSON.stringify(c).includes('\ufffd') || r.choices[0].message.content.includes('\ufffd'));
  }
});

test('chat: n=2', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: msgs, max_tokens: 5, n: 2, seed: 7,
    temperature: 1.0, ignore_eos: true });
  assert.equal(r.choices.length, 2);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  assert.equal(r.usage.completion_tokens, 10);
  const chunks = await collect(await client.chat.completions.create({ model: MODEL, messages: msgs, max_tokens: 5,
    n: 2, seed: 7, temperature: 1.0, ignore_eos: true, stream: true }));
  for (const i of [0, 1]) {
    const t = chunks.filter((c) => c.choices[0] && c.choices[0].index === i).map((c) => c.choices[0].delta.content || '').join('');
    assert.equal(t, r.choices[i].message.content);
  }
});

test('chat: seed reproducibility', async () => {
  const body = { model: MODEL, messages: msgs, max_tokens: 10, temperature: 1.0, seed: 99, ignore_eos: true };
  const a = await client.chat.completions.create(body);
  const b = await client.chat.completions.create(body);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('chat: logprobs + top_logprobs', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: msgs, max_tokens: 4, logprobs: true,
    top_logprobs: 3, ignore_eos: true, temperature: 0 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 4);
  for (const e of lp) {
    assert.equal(typeof e.token, 'string');
    assert.ok(e.logprob <= 0);
    assert.ok(Array.isArray(e.bytes));
    assert.equal(e.top_logprobs.length, 3);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[2].logprob);
    // greedy: the chosen token is the most likely one
    assert.ok(Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-4);
  }
  const chunks = await collect(await client.chat.completions.create({ model: MODEL, messages: msgs, max_tokens: 4,
    logprobs: true, top_logprobs: 3, ignore_eos: true, temperature: 0, stream: true }));
  const slp = chunks.flatMap((c) => (c.choices[0] && c.choices[0].logprobs ? c.choices[0].logprobs.content : []));
  assert.deepEqual(slp.map((e) => e.token), lp.map((e) => e.token));
});

test('chat: stop strings end the text and never leak into the stream', async () => {
  const base = { model: MODEL, messages: msgs, max_tokens: 24, temperature: 0, ignore_eos: true };
  const full = (await client.chat.completions.create(base)).choices[0].message.content;
  // a 3-character printable-ASCII window after the start (never half of a
  // surrogate pair or of a multi-byte character)
  let at = -1;
  for (let i = 1; i + 3 <= full.length && at < 0; i++) if (/^[\x21-\x7e]{3}$/.test(full.slice(i, i + 3))) at = i;
  assert.ok(at > 0, 'model output has an ASCII run to cut at: ' + JSON.stringify(full));
  const stop = full.slice(at, at + 3);
  const cut = full.slice(0, full.indexOf(stop));
  const r = await client.chat.completions.create({ ...base, stop: [stop, 'zzzzzz-never'] });
  assert.equal(r.choices[0].message.content, cut);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.choices[0].stop_reason, stop);
  const chunks = await collect(await client.chat.completions.create({ ...base, stop, stream: true }));
  const text = chunks.map((c) => (c.choices[0] && c.choices[0].delta.content) || '').join('');
  assert.equal(text, cut);
  assert.ok(!text.includes(stop));
});

test('completions: string, list, token ids, echo, logprobs, stream', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'The capital of France is', ignore_eos: true });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.usage.completion_tokens, 16, 'max_tokens defaults to 16');
  const two = await client.completions.create({ model: MODEL, prompt: ['one two', 'three four'], max_tokens: 3,
    ignore_eos: true, n: 2, seed: 3 });
  assert.equal(two.choices.length, 4);
  assert.deepEqual(two.choices.map((c) => c.index), [0, 1, 2, 3]);
  const ids = await client.completions.create({ model: MODEL, prompt: [785, 6722, 315], max_tokens: 3, ignore_eos: true });
  assert.equal(ids.usage.prompt_tokens, 3);
  const lists = await client.completions.create({ model: MODEL, prompt: [[785, 6722], [315]], max_tokens: 2, ignore_eos: true });
  assert.equal(lists.choices.length, 2);
  assert.equal(lists.usage.prompt_tokens, 3);
  const echo = await client.completions.create({ model: MODEL, prompt: 'Echo me', max_tokens: 3, echo: true,
    temperature: 0, ignore_eos: true });
  assert.ok(echo.choices[0].text.startsWith('Echo me'));
  const lp = await client.completions.create({ model: MODEL, prompt: 'Count: 1 2 3', max_tokens: 4, logprobs: 2,
    temperature: 0, ignore_eos: true });
  const L = lp.choices[0].logprobs;
  assert.equal(L.tokens.length, 4);
  assert.equal(L.token_logprobs.length, 4);
  assert.equal(L.top_logprobs.length, 4);
  assert.equal(L.text_offset.length, 4);
  assert.equal(Object.keys(L.top_logprobs[0]).length >= 1, true);
  assert.equal(L.tokens.join(''), lp.choices[0].text);
  const nonStream = await client.completions.create({ model: MODEL, prompt: 'Streaming test', max_tokens: 8,
    temperature: 0, ignore_eos: true });
  const chunks = await collect(await client.completions.create({ model: MODEL, prompt: 'Streaming test', max_tokens: 8,
    temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } }));
  assert.ok(chunks.every((c) => c.object === 'text_completion'));
  const text = chunks.map((c) => (c.choices[0] && c.choices[0].text) || '').join('');
  assert.equal(text, nonStream.choices[0].text);
  assert.equal(chunks[chunks.length - 1].usage.completion_tokens, 8);
});

test('embeddings: float, base64, batch, dimensions', async () => {
  const one = await client.embeddings.create({ model: MODEL, input: 'hello world', encoding_format: 'float' });
  assert.equal(one.object, 'list');
  const v = one.data[0].embedding;
  assert.equal(v.length, 128);
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-3);
  assert.ok(one.usage.prompt_tokens > 0);
  // base64 through raw HTTP (the SDK would decode it for us)
  const raw = await (await fetch(srv.base + '/v1/embeddings', { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer k-123' },
    body: JSON.stringify({ input: 'hello world', encoding_format: 'base64' }) })).json();
  const buf = Buffer.from(raw.data[0].embedding, 'base64');
  const f = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  assert.equal(f.length, 128);
  for (let i = 0; i < 128; i++) assert.ok(Math.abs(f[i] - v[i]) < 1e-6);
  // the SDK's default (base64, decoded by the SDK) gives the same vector
  const sdk = await client.embeddings.create({ model: MODEL, input: 'hello world' });
  assert.ok(Math.abs(sdk.data[0].embedding[5] - v[5]) < 1e-6);
  const batch = await client.embeddings.create({ model: MODEL, input: ['a', 'b c', 'hello world'], encoding_format: 'float' });
  assert.deepEqual(batch.data.map((d) => d.index), [0, 1, 2]);
  assert.ok(Math.abs(batch.data[2].embedding[0] - v[0]) < 1e-5);
  const small = await client.embeddings.create({ model: MODEL, input: [[1, 2, 3]], dimensions: 16, encoding_format: 'float' });
  const s = small.data[0].embedding;
  assert.equal(s.length, 16);
  assert.ok(Math.abs(Math.sqrt(s.reduce((a, x) => a + x * x, 0)) - 1) < 1e-3);
});

test('SDK errors: unknown model 404, bad value 400 with param', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: msgs }),
    (e) => e.status === 404 && /does not exist/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: msgs, temperature: -1 }),
    (e) => e.status === 400 && e.param === 'temperature');
  await assert.rejects(new OpenAI({ baseURL: srv.base + '/v1', apiKey: 'wrong', maxRetries: 0 }).models.list(),
    (e) => e.status === 401);
});

test('chat: echo returns a final assistant message (prefill) first', async () => {
  const body = { model: MODEL, messages: [...msgs, { role: 'assistant', content: 'Sure, ' }], max_tokens: 4,
    temperature: 0, ignore_eos: true, echo: true, continue_final_message: true, add_generation_prompt: false };
  const r = await client.chat.completions.create(body);
  assert.ok(r.choices[0].message.content.startsWith('Sure, '), r.choices[0].message.content);
  const chunks = await collect(await client.chat.completions.create({ ...body, stream: true }));
  const text = chunks.map((c) => (c.choices[0] && c.choices[0].delta.content) || '').join('');
  assert.equal(text, r.choices[0].message.content);
});
