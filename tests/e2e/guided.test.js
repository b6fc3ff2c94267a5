// tool_choice "required" and a named function: the output is constrained
// (server/guided) to a JSON list of calls / the function's arguments object,
// without --enable-auto-tool-choice, as in vLLM; response_format
// json_object likewise to one JSON object as content. The fixture model has
// random weights, so inside strings it rarely chooses to close them; the
// tests that need a finished value push the closing tokens up with
// logit_bias (which applies after the constraint, so it can never let a
// disallowed token through), and the others check what holds for any
// outcome: what was cut by max_tokens comes back as text with "length".
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai').OpenAI;
const { startServer } = require('./helpers');

let srv, client, closers;
before(async () => {
  srv = await startServer('qwen3-tiny', ['--max-model-len', '1024', '--disable-log-requests']);
  client = new OpenAI({ baseURL: srv.base + '/v1', apiKey: 'none', maxRetries: 0 });
  const ids = {};
  for (const s of ['"', '}', ']']) {
    const t = (await (await fetch(srv.base + '/tokenize', { method: 'POST', body: JSON.stringify({ prompt: s }) })).json()).tokens;
    assert.equal(t.length, 1);
    ids[t[0]] = s === '"' ? 40 : 30; // a quote first, or strings fill with '}'
  }
  closers = ids;
});
after(async () => { assert.equal(await srv.stop(), 0); });

const msgs = [{ role: 'user', content: 'What is the weather in Paris?' }];
const tools = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
  { type: 'function', function: { name: 'search', parameters: { type: 'object' } } },
];
const names = tools.map((t) => t.function.name);

// The stream replayed the way a client does: calls assembled by index.
async function streamed(body) {
  const s = await client.chat.completions.create({ ...body, stream: true });
  let content = '', finish = null;
  const calls = [];
  for await (const c of s) {
    const ch = c.choices[0];
    if (!ch) continue;
    content += ch.delta.content || '';
    for (const d of ch.delta.tool_calls || []) {
      if (d.id) calls[d.index] = { id: d.id, type: d.type, function: { name: d.function.name, arguments: '' } };
      calls[d.index].function.arguments += d.function.arguments || '';
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return { content: content || null, calls, finish };
}

function checkCall(c) {
  assert.match(c.id, /^chatcmpl-tool-/);
  assert.equal(c.type, 'function');
  assert.ok(names.includes(c.function.name), c.function.name);
  const args = JSON.parse(c.function.arguments);
  assert.equal(typeof args, 'object');
  assert.ok(args !== null && !Array.isArray(args));
}

// A finished output streams exactly as it answers. One cut by max_tokens
// cannot: the stream has already sent the unfinished call's start and
// argument fragments, while the whole answer gives that text as content
// (the parser's rule for a call that never closed, as for auto tool choice).
function sameAsStream(r, s) {
  const m = r.choices[0].message;
  const pairs = (calls) => calls.map((c) => [c.function.name, c.function.arguments]);
  assert.equal(s.finish, r.choices[0].finish_reason);
  if (s.finish !== 'length') {
    assert.equal(s.content, m.content);
    assert.deepEqual(pairs(s.calls), pairs(m.tool_calls));
    return;
  }
  const done = m.tool_calls.length;
  assert.deepEqual(pairs(s.calls.slice(0, done)), pairs(m.tool_calls));
  const cut = s.calls[done];
  if (cut) assert.ok(m.content.includes(cut.function.arguments), 'the cut call is in the content');
}

for (const [label, sampling] of [['temperature 0', { temperature: 0 }], ['seeded, temperature 1', { temperature: 1, seed: 7 }]]) {
  test(`required (${label}): a list of calls to the given tools; stream agrees`, async () => {
    const body = { messages: msgs, tools, tool_choice: 'required', max_tokens: 200, logit_bias: closers, ...sampling };
    const r = await client.chat.completions.create(body);
    const ch = r.choices[0];
    assert.equal(ch.finish_reason, 'tool_calls');
    assert.equal(ch.message.content, null);
    assert.ok(ch.message.tool_calls.length >= 1);
    ch.message.tool_calls.forEach(checkCall);
    sameAsStream(r, await streamed(body));
  });

  test(`named function (${label}): its arguments object; finish "stop" as vLLM; stream agrees`, async () => {
    const body = { messages: msgs, tools, tool_choice: { type: 'function', function: { name: 'get_time' } },
      max_tokens: 200, logit_bias: closers, ...sampling };
    const r = await client.chat.completions.create(body);
    const ch = r.choices[0];
    assert.equal(ch.finish_reason, 'stop');
    assert.equal(ch.message.content, null);
    assert.equal(ch.message.tool_calls.length, 1);
    assert.equal(ch.message.tool_calls[0].function.name, 'get_time');
    checkCall(ch.message.tool_calls[0]);
    sameAsStream(r, await streamed(body));
  });

  test(`required without closing help (${label}): finished calls are valid, a cut one is text`, async () => {
    const body = { messages: msgs, tools, tool_choice: 'required', max_tokens: 40, ...sampling };
    const r = await client.chat.completions.create(body);
    const ch = r.choices[0];
    assert.ok(['tool_calls', 'length'].includes(ch.finish_reason), ch.finish_reason);
    ch.message.tool_calls.forEach(checkCall);
    if (ch.finish_reason === 'tool_calls') assert.equal(ch.message.content, null);
    else assert.ok(ch.message.content.length > 0); // the unfinished call, as text
    sameAsStream(r, await streamed(body));
  });
}

test('parallel_tool_calls false: exactly one call', async () => {
  for (const seed of [1, 2, 3]) {
    const body = { messages: msgs, tools, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 200,
      logit_bias: closers, temperature: 1, seed };
    const r = await client.chat.completions.create(body);
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(r.choices[0].message.tool_calls.length, 1);
    checkCall(r.choices[0].message.tool_calls[0]);
  }
});

test('n = 2: each choice is constrained on its own', async () => {
  const body = { messages: msgs, tools, tool_choice: 'required', max_tokens: 200, logit_bias: closers,
    temperature: 1, seed: 11, n: 2 };
  // (random weights: one of the two may wander until the length limit)
  const r = await client.chat.completions.create(body);
  assert.equal(r.choices.length, 2);
  for (const ch of r.choices) {
    assert.ok(['tool_calls', 'length'].includes(ch.finish_reason), ch.finish_reason);
    ch.message.tool_calls.forEach(checkCall);
  }
  assert.ok(r.choices.some((ch) => ch.finish_reason === 'tool_calls'));
});

test('max_tokens too small to finish: "length", the partial output as content, no crash', async () => {
  for (const tool_choice of ['required', { type: 'function', function: { name: 'search' } }]) {
    const body = { messages: msgs, tools, tool_choice, max_tokens: 3, temperature: 0 };
    const r = await client.chat.completions.create(body);
    const ch = r.choices[0];
    assert.equal(ch.finish_reason, 'length');
    assert.deepEqual(ch.message.tool_calls, []);
    assert.ok(ch.message.content.length > 0);
    assert.ok(ch.message.content.startsWith(tool_choice === 'required' ? '[' : '{'), ch.message.content);
    sameAsStream(r, await streamed(body));
  }
});

test('response_format json_object: the content is one JSON object; stream agrees', async () => {
  for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 5 }]) {
    const body = { messages: msgs, response_format: { type: 'json_object' }, max_tokens: 200, logit_bias: closers, ...sampling };
    const r = await client.chat.completions.create(body);
    const ch = r.choices[0];
    assert.equal(ch.finish_reason, 'stop');
    const v = JSON.parse(ch.message.content);
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v));
    assert.ok(!ch.message.tool_calls || ch.message.tool_calls.length === 0);
    const s = await streamed(body);
    assert.equal(s.content, ch.message.content);
    assert.equal(s.finish, 'stop');
  }
  // cut by max_tokens: the prefix, "length"
  const r = await client.chat.completions.create({ messages: msgs, response_format: { type: 'json_object' }, max_tokens: 3, temperature: 0 });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.ok(r.choices[0].message.content.startsWith('{'));
  // completions have it too (guided_schema.test.js); embeddings do not
  const res = await fetch(srv.base + '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'x', response_format: { type: 'json_object' } }) });
  assert.equal(res.status, 400);
});

test('bad requests: 400 naming tool_choice (or min_tokens, ignore_eos, tools)', async () => {
  const bad = async (body, re) => {
    const res = await fetch(srv.base + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: msgs, max_tokens: 5, ...body }) });
    assert.equal(res.status, 400);
    const e = (await res.json()).error;
    assert.equal(e.param, 'tool_choice');
    assert.match(e.message, re);
  };
  await bad({ tool_choice: 'required' }, /tools/);
  await bad({ tools: [], tool_choice: 'required' }, /tools/);
  await bad({ tools, tool_choice: { type: 'function', function: { name: 'nope' } } }, /'nope'.*not in `tools`/);
  await bad({ tool_choice: { type: 'function', function: { name: 'nope' } } }, /nope/);
  await bad({ tools, tool_choice: { type: 'function', function: {} } }, /name/);
  await bad({ tools, tool_choice: { type: 'other', function: { name: 'search' } } }, /function/);
  await bad({ tools, tool_choice: 'sometimes' }, /required/);
  // min_tokens would forbid the EOS that must follow a complete value
  for (const body of [{ tools, tool_choice: 'required', min_tokens: 5 }, { response_format: { type: 'json_object' }, min_tokens: 5 }]) {
    const res = await fetch(srv.base + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: msgs, max_tokens: 5, ...body }) });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, 'min_tokens');
  }
  // ignore_eos would not stop on that EOS: tokens burnt after the value
  for (const body of [{ tools, tool_choice: 'required', ignore_eos: true }, { response_format: { type: 'json_object' }, ignore_eos: true }]) {
    const res = await fetch(srv.base + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: msgs, max_tokens: 5, ...body }) });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, 'ignore_eos');
  }
  // tools themselves: an empty name, and more than the server takes
  const tool = (name) => ({ type: 'function', function: { name, parameters: { type: 'object' } } });
  for (const [list, re] of [[[tool('')], /tools\[0\]\.function\.name must not be empty/],
    [Array.from({ length: 1025 }, (_, i) => tool('f' + i)), /at most 1024 tools/]]) {
    const res = await fetch(srv.base + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: msgs, max_tokens: 5, tools: list, tool_choice: 'required' }) });
    assert.equal(res.status, 400);
    const e = (await res.json()).error;
    assert.equal(e.param, 'tools');
    assert.match(e.message, re);
  }
  // the server still serves
  const r = await client.chat.completions.create({ messages: msgs, max_tokens: 2 });
  assert.equal(r.choices.length, 1);
});

test('with a reasoning parser and auto tool choice configured: still constrained JSON, no reasoning', async () => {
  // deepseek_r1 reads the whole output as reasoning unless told otherwise;
  // a constrained output has no think block, so the parser is left out
  const other = await startServer('qwen3-tiny', ['--max-model-len', '1024', '--disable-log-requests',
    '--reasoning-parser', 'deepseek_r1', '--enable-auto-tool-choice', '--tool-call-parser', 'hermes']);
  try {
    const c = new OpenAI({ baseURL: other.base + '/v1', apiKey: 'none', maxRetries: 0 });
    const base = { messages: msgs, max_tokens: 200, logit_bias: closers, temperature: 0 };
    const r = await c.chat.completions.create({ ...base, tools, tool_choice: 'required' });
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    r.choices[0].message.tool_calls.forEach(checkCall);
    assert.equal(r.choices[0].message.reasoning_content, null);
    const j = await c.chat.completions.create({ ...base, response_format: { type: 'json_object' } });
    assert.equal(typeof JSON.parse(j.choices[0].message.content), 'object');
    assert.equal(j.choices[0].message.reasoning_content, null);
    // the same with tools offered (tool_choice auto, hermes): still no reasoning
    const t = await c.chat.completions.create({ ...base, tools, response_format: { type: 'json_object' } });
    assert.equal(t.choices[0].message.reasoning_content, null);
    assert.equal(typeof JSON.parse(t.choices[0].message.content), 'object');
  } finally {
    assert.equal(await other.stop(), 0);
  }
});

test('tools beyond the schema subset: held to any object, one warning per request', async () => {
  const odd = (name) => ({ type: 'function', function: { name,
    parameters: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } } });
  const before = (srv.log().match(/beyond the supported schema subset/g) || []).length;
  const r = await client.chat.completions.create({ messages: msgs, tools: [odd('a'), odd('b'), odd('c')],
    tool_choice: 'required', max_tokens: 3, temperature: 0 });
  assert.equal(r.choices.length, 1);
  await new Promise((res) => setTimeout(res, 100)); // let the log line arrive
  const lines = srv.log().split('\n').filter((l) => l.includes('beyond the supported schema subset'));
  assert.equal(lines.length - before, 1);
  assert.match(lines[lines.length - 1], /tools\[0\]\.function\.parameters\.properties\.id: unsupported JSON Schema keyword 'format'/);
});
