// response_format json_schema (chat and completions) and tools' parameter
// schemas under tool_choice "required" / a named function: the output is
// constrained (server/guided) to JSON that the schema accepts, checked here
// by a small validator of the supported subset. The fixture model has random
// weights: logit_bias pushes closing tokens up (after the constraint, so no
// disallowed token gets through) so that values finish.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai').OpenAI;
const { startServer } = require('./helpers');

let srv, client, closers;
before(async () => {
  srv = await startServer('qwen3-tiny', ['--max-model-len', '1024', '--disable-log-requests']);
  client = new OpenAI({ baseURL: srv.base + '/v1', apiKey: 'none', maxRetries: 0 });
  closers = {};
  // (a quote well above the rest, or a string can fill with ']' or '}')
  for (const [s, bias] of [['"', 60], ['}', 30], [']', 30], [',', 20]]) {
    const t = (await (await fetch(srv.base + '/tokenize', { method: 'POST', body: JSON.stringify({ prompt: s }) })).json()).tokens;
    assert.equal(t.length, 1);
    closers[t[0]] = bias;
  }
});
after(async () => { assert.equal(await srv.stop(), 0); });

const msgs = [{ role: 'user', content: 'What is the weather in Paris?' }];

const schema = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'a city' },
    unit: { enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
    temp: { type: 'number' },
    ok: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
    note: { type: ['string', 'null'] },
    level: { anyOf: [{ type: 'integer' }, { type: 'null' }, { type: 'array', items: { enum: ['x', 'y'] } }], default: null },
    kind: { const: 'forecast' },
    where: { $ref: '#/$defs/point' },
  },
  required: ['city', 'unit', 'days', 'temp', 'ok', 'kind', 'where'],
  additionalProperties: false,
  $defs: { point: { type: 'object', properties: { lat: { type: 'number' } }, required: ['lat'] } },
};

// The supported subset, as the server documents it: listed properties only,
// in the schema's order, required ones present.
function validate(s, v, root = s, path = '$') {
  if (s === true || (s && Object.keys(s).length === 0)) return;
  if (s.$ref) return validate(root.$defs[s.$ref.split('/').pop()], v, root, path);
  if (s.anyOf) {
    const ok = s.anyOf.filter((b) => { try { validate(b, v, root, path); return true; } catch { return false; } });
    assert.ok(ok.length > 0, `${path}: ${JSON.stringify(v)} matches no anyOf branch`);
    return;
  }
  if (s.enum || s.const !== undefined) {
    const vals = s.enum || [s.const];
    assert.ok(vals.some((x) => x === v), `${path}: ${JSON.stringify(v)} not in ${JSON.stringify(vals)}`);
    return;
  }
  const t = Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
  const types = [].concat(s.type || (s.properties ? 'object' : s.items ? 'array' : []));
  const okType = types.includes(t) || (t === 'integer' && types.includes('number')) || (t === 'number' && types.includes('number'));
  assert.ok(okType || types.length === 0, `${path}: ${t} is not ${types}`);
  if (t === 'object' && s.properties) {
    const keys = Object.keys(v), order = Object.keys(s.properties);
    for (const k of keys) assert.ok(order.includes(k), `${path}: unexpected key ${k}`);
    assert.deepEqual(keys, order.filter((k) => keys.includes(k)), `${path}: keys out of order`);
    for (const k of s.required || []) assert.ok(keys.includes(k), `${path}: missing ${k}`);
    for (const k of keys) validate(s.properties[k], v[k], root, `${path}.${k}`);
  }
  if (t === 'array') {
    if (s.minItems !== undefined) assert.ok(v.length >= s.minItems, `${path}: too few items`);
    if (s.maxItems !== undefined) assert.ok(v.length <= s.maxItems, `${path}: too many items`);
    if (s.items) v.forEach((x, i) => validate(s.items, x, root, `${path}[${i}]`));
  }
}

test('the validator itself refuses what the schema refuses', () => {
  const good = { city: 'P', unit: 'celsius', days: 1, temp: 2.5, ok: true, kind: 'forecast', where: { lat: 1 } };
  validate(schema, good);
  for (const bad of [{ ...good, unit: 'kelvin' }, { ...good, days: 1.5 }, { ...good, extra: 1 }, { ...good, where: {} },
    { ...good, tags: ['a', 'b', 'c'] }, { ...good, level: 'x' }, { ...good, level: ['z'] }, { unit: 'celsius', city: 'P', days: 1, temp: 2, ok: true, kind: 'forecast', where: { lat: 1 } }])
    assert.throws(() => validate(schema, bad));
});

const rf = { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } };

async function streamedContent(body) {
  let content = '', finish = null;
  for await (const c of await client.chat.completions.create({ ...body, stream: true })) {
    const ch = c.choices[0];
    if (!ch) continue;
    content += ch.delta.content || '';
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return { content, finish };
}

for (const [label, sampling] of [['temperature 0', { temperature: 0 }], ['seeded, temperature 1', { temperature: 1, seed: 3 }]]) {
  test(`chat json_schema (${label}): the content matches the schema; stream agrees`, async () => {
    const body = { messages: msgs, response_format: rf, max_tokens: 400, logit_bias: closers, ...sampling };
    const r = await client.chat.completions.create(body);
    const ch = r.choices[0];
    assert.equal(ch.finish_reason, 'stop', ch.message.content);
    validate(schema, JSON.parse(ch.message.content));
    const s = await streamedContent(body);
    assert.equal(s.content, ch.message.content);
    assert.equal(s.finish, 'stop');
  });
}

test('the SDK\'s chat.completions.parse reads the schema\'s value', async () => {
  assert.equal(typeof client.chat.completions.parse, 'function');
  const r = await client.chat.completions.parse({ messages: msgs, response_format: rf, max_tokens: 400,
    logit_bias: closers, temperature: 1, seed: 9 });
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.deepEqual(m.parsed, JSON.parse(m.content));
  validate(schema, m.parsed);
});

test('completions json_schema and json_object: the text is such a value', async () => {
  const arr = { type: 'array', items: { enum: ['a', 'b', 7] }, minItems: 2, maxItems: 3 };
  for (const response_format of [{ type: 'json_schema', json_schema: { name: 'a', schema: arr } },
    { type: 'json_schema', json_schema: { name: 'w', schema } }, { type: 'json_object' }]) {
    const r = await client.completions.create({ prompt: 'JSON:', max_tokens: 400, logit_bias: closers, temperature: 0,
      response_format });
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].text);
    const v = JSON.parse(r.choices[0].text);
    if (response_format.json_schema) validate(response_format.json_schema.schema, v);
    else assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v));
  }
});

const tools = [
  { type: 'function', function: { name: 'get_weather', strict: true, parameters: {
    type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] }, days: { type: 'integer' } },
    required: ['city', 'unit'], additionalProperties: false } } },
  // beyond the subset (pattern): that function falls back to any object
  { type: 'function', function: { name: 'lookup', parameters: {
    type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+$' } } } } },
];

test('tool_choice required / named: arguments match each tool\'s schema', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({ messages: msgs, tools, tool_choice: 'required', max_tokens: 300,
      logit_bias: closers, temperature: 1, seed });
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    for (const c of r.choices[0].message.tool_calls) {
      const args = JSON.parse(c.function.arguments);
      if (c.function.name === 'get_weather') validate(tools[0].function.parameters, args);
      else assert.ok(c.function.name === 'lookup' && args !== null && typeof args === 'object' && !Array.isArray(args));
    }
  }
  const named = { messages: msgs, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } },
    max_tokens: 300, logit_bias: closers, temperature: 0 };
  // (parse wants every tool strict: the strict one alone)
  const r = await client.chat.completions.parse({ ...named, tools: [tools[0]] });
  const call = r.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  validate(tools[0].function.parameters, JSON.parse(call.function.arguments));
  assert.deepEqual(call.function.parsed_arguments, JSON.parse(call.function.arguments)); // strict: the SDK parses it
  // the fallback tool still answers with an object
  const f = await client.chat.completions.create({ ...named, tool_choice: { type: 'function', function: { name: 'lookup' } } });
  const a = JSON.parse(f.choices[0].message.tool_calls[0].function.arguments);
  assert.ok(a !== null && typeof a === 'object' && !Array.isArray(a));
});

test('schemas beyond the subset: 400 naming response_format, the keyword and its path', async () => {
  const bad = async (path, s, re, extra = {}) => {
    const body = path === '/v1/chat/completions' ? { messages: msgs } : { prompt: 'x' };
    const res = await fetch(srv.base + path, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, max_tokens: 5, response_format: s === undefined ? undefined :
        { type: 'json_schema', json_schema: { name: 'x', schema: s } }, ...extra }) });
    assert.equal(res.status, 400);
    const e = (await res.json()).error;
    assert.equal(e.param, extra.min_tokens ? 'min_tokens' : 'response_format');
    assert.match(e.message, re);
  };
  for (const path of ['/v1/chat/completions', '/v1/completions']) {
    await bad(path, { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } },
      /response_format\.json_schema\.schema\.properties\.a: unsupported JSON Schema keyword 'pattern'/);
    await bad(path, { type: 'object', properties: { d: { type: 'string', format: 'date' } } }, /properties\.d.*'format'/);
    await bad(path, { type: 'object', properties: { n: { type: 'integer', minimum: 0 } } }, /'minimum'/);
    await bad(path, { type: 'object', properties: { t: { type: 'array', items: { type: 'string', minLength: 1 } } } },
      /properties\.t\.items: unsupported JSON Schema keyword 'minLength'/);
    await bad(path, { oneOf: [{ type: 'object' }] }, /'oneOf'/);
    await bad(path, { type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { enum: ['x'] }] } } },
      /properties\.a\.anyOf\[1\]: anyOf branches whose values can start alike/);
    await bad(path, { type: 'object', additionalProperties: { type: 'string' } }, /additionalProperties/);
    await bad(path, { type: 'string' }, /root must/);
    await bad(path, { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, /not defined/);
    await bad(path, { $defs: { n: { type: 'object', properties: { c: { $ref: '#/$defs/n' } } } }, $ref: '#/$defs/n' }, /deeper than/);
    await bad(path, { type: 'object', properties: { a: { type: 'strnig' } } }, /properties\.a\.type/);
    await bad(path, undefined, /schema is required/, { response_format: { type: 'json_schema', json_schema: { name: 'x' } } });
    await bad(path, { type: 'object' }, /min_tokens/, { min_tokens: 3 });
  }
  // the server still serves
  const r = await client.chat.completions.create({ messages: msgs, max_tokens: 2 });
  assert.equal(r.choices.length, 1);
});
