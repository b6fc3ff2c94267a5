// Seeded fuzzing of `vireo serve` (qwen3-tiny fixture, tool and reasoning
// parsers on): valid bodies of every route mutated field by field (wrong
// types, nulls, extreme numbers written as raw JSON text, deep nesting, long
// strings, invalid UTF-8, lone surrogates, duplicate keys, odd tools,
// tool_choice and response_format shapes), plus HTTP-level abuse (truncated
// bodies, wrong Content-Length, chunked garbage, huge headers, pipelining,
// slow partial requests, many connections, disconnects mid-stream).
// Every answer must be a well-formed HTTP response, an error must be a JSON
// error object whose message is not empty, nothing may hang, the server must
// log no sanitizer report and exit 0 on SIGTERM.
// FUZZ_SEED / FUZZ_COUNT override the seed and the number of body mutations
// (a longer campaign, e.g. against the ASan build via VIREO_BIN).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, rawHttp } = require('./helpers');

const SEED = Number(process.env.FUZZ_SEED || 20261125);
const COUNT = Number(process.env.FUZZ_COUNT || 1500);
const KEY = process.env.FUZZ_API_KEY || '';
const REQ_TIMEOUT_MS = Number(process.env.FUZZ_TIMEOUT_MS || 30000);

// mulberry32: small, fast, reproducible.
let state = SEED >>> 0;
function rnd() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];

// A value written into the body verbatim (numbers JSON.stringify cannot
// produce, duplicate keys, broken escapes).
class Raw { constructor(text) { this.text = text; } }

function ser(v) {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return '[' + v.map(ser).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k.replace(/#dup\d*$/, '')) + ':' + ser(x)).join(',') + '}';
  }
  return JSON.stringify(v);
}

const LONG = 'x'.repeat(70000);
// Stands for the bytes ff fe c0 80 (invalid UTF-8) in a body until it is sent.
const BAD_UTF8 = '\ue000';
// Deep nesting as raw text (serializing a deep object would overflow node's stack).
function deep(n) { return new Raw('[{"a":'.repeat(n >> 1) + '1' + '}]'.repeat(n >> 1)); }
const ODD_NUMBERS = ['1e309', '-1e309', '-0', '9223372036854775808', '-9223372036854775809', '18446744073709551616',
  '1e-400', '0.5', '-1', '2147483648', '-2147483649', '4294967296', '1.0', '1e2', '123456789012345678901234567890',
  '0', '1', '2', '-2', '3.4028235e38', '1e19'];
const ODD_STRINGS = ['', ' ', 'null', '\u0000', 'a\u0000b', '\\ud800', 'required', 'auto', 'none', '{}', '[]', '%s%n%x',
  '<|im_start|>', '<tool_call>', '</think>', '\u00e9\u4e2d\ud83d\ude00'];

function oddValue() {
  switch (ri(14)) {
    case 0: return null;
    case 1: return pick([true, false]);
    case 2: return new Raw(pick(ODD_NUMBERS));
    case 3: return pick(ODD_STRINGS);
    case 4: return [];
    case 5: return {};
    case 6: return deep(pick([5, 50, 200, 2000, 20000]));
    case 7: return LONG.slice(0, pick([300, 5000, 70000]));
    case 8: return new Raw('"' + pick(['\\ud800', '\\udc00x', '\\ud800\\ud800', '\\u0000', '\\uZZZZ', '\\x41', '\ud800']) + '"');
    case 9: return new Raw('"a' + BAD_UTF8 + 'b"'); // replaced by invalid UTF-8 bytes when sent
    case 10: return [null, 1, 'a', {}, []].slice(0, 1 + ri(5));
    case 11: return Array.from({ length: pick([1, 3, 100, 5000]) }, () => ri(300000) - 1000);
    case 12: return { type: pick(['text', 'image_url', 'function', 'json_schema', null, 7]), text: 'hi' };
    default: return -ri(1e6);
  }
}

const MSGS = [{ role: 'user', content: 'Hi' }];
const TOOL = { type: 'function', function: { name: 'get_weather', description: 'w',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

function oddTools() {
  return pick([
    [TOOL],
    [], null, 'x', [null], [{}], [{ type: 'function' }], [{ type: 'function', function: {} }],
    [{ type: 'function', function: { name: '' } }], [{ type: 'function', function: { name: 7 } }],
    [{ type: 'bogus', function: TOOL.function }], [TOOL, TOOL],
    [{ type: 'function', function: { name: 'f', parameters: oddSchema() } }],
    [{ type: 'function', function: { name: 'x'.repeat(5000), parameters: {} } }],
  ]);
}

function oddSchema() {
  return pick([
    {}, true, false, null, 5, { type: 'object' }, { type: 'string', pattern: '(' }, { type: 'nope' },
    { $ref: '#/nowhere' }, { $ref: '#' }, { type: 'array', items: { $ref: '#' } }, { enum: [] }, { enum: [1, 'a', null] },
    { anyOf: [] }, { oneOf: [{ type: 'integer' }, { type: 'string' }] }, { type: ['string', 'null'] },
    { type: 'integer', minimum: 10, maximum: 1 }, { type: 'string', minLength: 5, maxLength: 2 },
    { type: 'object', properties: { a: { type: 'object', properties: { b: deep(60) } } } },
    { type: 'object', additionalProperties: false, required: ['missing'] }, { const: { a: [1] } },
    { type: 'array', minItems: 1e9 }, { type: 'number', multipleOf: 0 }, { allOf: [{ type: 'string' }, { type: 'integer' }] },
  ]);
}

function oddToolChoice() {
  return pick(['none', 'auto', 'required', 'bogus', '', null, 7, [], {}, { type: 'function' },
    { type: 'function', function: {} }, { type: 'function', function: { name: 'get_weather' } },
    { type: 'function', function: { name: 'unknown_fn' } }, { type: 'function', function: { name: 5 } },
    { type: 'other', function: { name: 'get_weather' } }, { function: { name: 'get_weather' } }]);
}

function oddResponseFormat() {
  return pick([{ type: 'text' }, { type: 'json_object' }, { type: 'json_schema' }, { type: 'json_schema', json_schema: null },
    { type: 'json_schema', json_schema: { name: 'x', schema: oddSchema() } },
    { type: 'json_schema', json_schema: { name: 'x', schema: oddSchema(), strict: true } },
    { type: 'regex' }, { type: 7 }, {}, 'json_object', null, []]);
}

function oddMessages() {
  return pick([
    [], null, 'hi', [null], [{}], [{ role: 'user' }], [{ role: 'wizard', content: 'x' }], [{ role: 7, content: 'x' }],
    [{ role: 'user', content: null }], [{ role: 'user', content: [] }], [{ role: 'user', content: [{ type: 'text' }] }],
    [{ role: 'user', content: [{ type: 'text', text: 5 }] }], [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }], [{ role: 'user', content: {} }],
    [{ role: 'system', content: 's' }, { role: 'system', content: 's2' }, { role: 'user', content: 'u' }],
    [{ role: 'user', content: 'u' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function',
      function: { name: 'get_weather', arguments: pick(['{"city":"x"}', '{bad', '', 5, null, {}, '[]']) } }] },
    { role: 'tool', tool_call_id: pick(['c1', null, 5, '']), content: 'sunny' }],
    [{ role: 'assistant', tool_calls: pick([null, 'x', [null], [{}], [{ function: null }], [{ function: { name: null } }]]) }],
    [{ role: 'tool', content: 'x' }], [{ role: 'developer', content: 'd' }, { role: 'user', content: 'u' }],
    [{ role: 'assistant', content: 'partial' }], [{ role: 'user', content: 'u', name: 5, reasoning_content: [] }],
    Array.from({ length: 300 }, () => ({ role: 'user', content: 'hello there' })),
    [{ role: 'user', content: LONG.slice(0, 20000) }],
  ]);
}

// Valid bodies, small max_tokens so that successful requests finish quickly.
function baseBody(route) {
  switch (route) {
    case '/v1/chat/completions':
      return { messages: MSGS, max_tokens: 4, temperature: 0 };
    case '/v1/completions':
      return { prompt: 'Hello', max_tokens: 4, temperature: 0 };
    case '/v1/embeddings':
      return { input: 'Hello' };
    case '/tokenize':
      return rnd() < 0.5 ? { prompt: 'Hello' } : { messages: MSGS };
    case '/detokenize':
      return { tokens: [9707, 1879] };
  }
  return {};
}

const COMMON_FIELDS = ['model', 'max_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'n', 'stop', 'stream',
  'stream_options', 'seed', 'presence_penalty', 'frequency_penalty', 'repetition_penalty', 'logit_bias', 'logprobs',
  'top_logprobs', 'min_tokens', 'ignore_eos', 'stop_token_ids', 'include_stop_str_in_output', 'skip_special_tokens',
  'spaces_between_special_tokens', 'echo', 'request_id', 'return_token_ids', 'priority', 'truncate_prompt_tokens',
  'add_special_tokens', 'user', 'best_of', 'suffix', 'guided_json', 'use_beam_search', 'prompt_logprobs'];
const FIELDS = {
  '/v1/chat/completions': [...COMMON_FIELDS, 'messages', 'max_completion_tokens', 'tools', 'tool_choice',
    'parallel_tool_calls', 'response_format', 'add_generation_prompt', 'continue_final_message', 'chat_template_kwargs',
    'chat_template', 'documents'],
  '/v1/completions': [...COMMON_FIELDS, 'prompt'],
  '/v1/embeddings': ['input', 'model', 'encoding_format', 'dimensions', 'user', 'truncate_prompt_tokens', 'add_special_tokens'],
  '/tokenize': ['prompt', 'messages', 'model', 'add_special_tokens', 'return_token_strs', 'add_generation_prompt',
    'continue_final_message', 'chat_template_kwargs', 'tools'],
  '/detokenize': ['tokens', 'model'],
};

// A plausible-but-odd value for a known field (so that mutations go past
// the type checks into the range checks and the feature code).
function fieldValue(f) {
  if (rnd() < 0.35) return oddValue();
  switch (f) {
    case 'messages': return oddMessages();
    case 'tools': return oddTools();
    case 'tool_choice': return oddToolChoice();
    case 'response_format': return oddResponseFormat();
    case 'stop': return pick(['', [''], ['', 'a'], 'x'.repeat(1000), Array.from({ length: 50 }, (_, i) => 's' + i), [5], ['\n']]);
    case 'logit_bias': return pick([{ '9707': 100 }, { '-1': 5 }, { abc: 1 }, { '99999999': 1 }, { '1': 1e309 }, { '1': 'x' },
      { '': 1 }, { '1': -1000 }, { '18446744073709551617': 1 }, { '1.5': 1 }, { ' 1': 1 }]);
    case 'n': return pick([0, 1, 2, 5, 64, 128, 1000, 100000, -1]);
    case 'max_tokens': case 'max_completion_tokens': case 'min_tokens':
      return pick([0, 1, 2, 4, -1, 24, 512, 100000, new Raw('1e309'), new Raw('4.0'), new Raw('9223372036854775807')]);
    case 'stream_options': return pick([{ include_usage: true }, { include_usage: 5 }, { continuous_usage_stats: true }, null, 'x']);
    case 'stream': return pick([true, false, true]);
    case 'prompt': case 'input': return pick(['', 'Hi', [], [''], ['a', 'b'], [1, 2, 3], [[1, 2], [3]], [[]], [-1], [99999999],
      [1, 'a'], [[1], 'a'], [new Raw('1e309')], [new Raw('-0')], [new Raw('2.5')], Array.from({ length: 600 }, () => 100)]);
    case 'tokens': return pick([[], [-1], [99999999], [new Raw('2.0')], [new Raw('9223372036854775808')], [[1]], ['a'],
      [151643, 151644, 151645], Array.from({ length: 3000 }, () => ri(151000))]);
    case 'top_logprobs': return pick([0, 1, 20, 21, -1, 1000]);
    case 'logprobs': return pick([true, false, 0, 5, 21, -1]);
    case 'stop_token_ids': return pick([[], [-1], [99999999], [0], ['a'], [151645]]);
    case 'chat_template_kwargs': return pick([{ enable_thinking: false }, { enable_thinking: 'x' }, { tools: 5 }, { messages: null },
      { add_generation_prompt: 'x' }, null, []]);
    case 'encoding_format': return pick(['float', 'base64', 'int8', '']);
    case 'dimensions': return pick([1, 0, -1, 8, 100000]);
    case 'truncate_prompt_tokens': return pick([0, 1, -1, 2, 100000]);
    default: return oddValue();
  }
}

function mutate(route, body) {
  const fields = FIELDS[route] || ['x'];
  const k = 1 + ri(3);
  for (let i = 0; i < k; i++) {
    const r = rnd();
    if (r < 0.7) { const f = pick(fields); body[f] = fieldValue(f); }
    else if (r < 0.8) delete body[pick(fields)];
    else if (r < 0.88) body['unknown_' + ri(100)] = oddValue();
    else if (r < 0.95) { const f = pick(fields); body[f] = fieldValue(f); body[f + '#dup'] = fieldValue(f); } // duplicate key
    else body[pick(fields)] = oddValue();
  }
  // Successful generations are kept short so that no request runs long (a
  // chat without a maximum fills the context: too slow in a sanitizer build).
  if (route.startsWith('/v1/c') && !('max_completion_tokens' in body) && (rnd() < 0.8 || !('max_tokens' in body))) {
    body.max_tokens = ri(6);
  }
  return body;
}

function wholeBody(route) {
  const r = rnd();
  if (r < 0.05) return pick(['', 'null', '[]', '1', '"x"', '{', '{"a":', '{"a":1,}', '{,}', '{"messages":[{]}', 'tru', BAD_UTF8, '{"a":"' + BAD_UTF8 + '"}',
    '{"a":1}{"b":2}', '{"a":1} x', deep(100000).text, '{"' + 'k'.repeat(100000) + '":1}', '\ufeff{}', 'NaN', '{"a":NaN}',
    '{"a":Infinity}', '{"a":01}', '{"a":.5}', "{'a':1}", '{"a":"\t"}', '{"a":1e}', '{"a":-}']);
  return ser(mutate(route, baseBody(route)));
}

const failures = [];
function fail(what, req, detail) {
  if (failures.length < 50) failures.push(`${what}: ${detail}\n  request: ${String(req).slice(0, 600)}`);
}

function checkError(status, text, req) {
  let j = null;
  try { j = JSON.parse(text); } catch { /* checked below */ }
  if (!j || !j.error || typeof j.error.message !== 'string' || !j.error.message.length || j.error.code !== status) {
    fail('error body', req, `${status} ${text.slice(0, 300)}`);
  }
}

const OK_STATUS = new Set([200, 400, 401, 404, 405, 408, 413, 422, 429, 431, 503]);

async function send(srv, route, body, method = 'POST', extraHeaders = {}) {
  const headers = { 'content-type': 'application/json', ...extraHeaders };
  if (KEY) headers.authorization = 'Bearer ' + KEY;
  const bodyBuf = body !== undefined && body.includes(BAD_UTF8)
    ? Buffer.concat(body.split(BAD_UTF8).flatMap((x, i) => (i ? [Buffer.from([0xff, 0xfe, 0xc0, 0x80]), Buffer.from(x)] : [Buffer.from(x)])))
    : body;
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), REQ_TIMEOUT_MS);
  const disconnectEarly = rnd() < 0.1;
  try {
    const r = await fetch(srv.base + route, { method, headers, body: bodyBuf, signal: ac.signal });
    if (!OK_STATUS.has(r.status)) fail('status', body, `${method} ${route} -> ${r.status}`);
    if (disconnectEarly && r.status === 200) {
      const rd = r.body.getReader();
      await rd.read();
      ac.abort();
      return;
    }
    const text = await r.text();
    if (r.status >= 400) checkError(r.status, text, body);
    else if ((r.headers.get('content-type') || '').includes('text/event-stream')) {
      const events = text.split('\n\n').filter((e) => e.length);
      if (!events.length || events[events.length - 1] !== 'data: [DONE]') fail('sse end', body, text.slice(-300));
      for (const e of events.slice(0, -1)) {
        if (!e.startsWith('data: ')) { fail('sse frame', body, e.slice(0, 200)); break; }
        try { JSON.parse(e.slice(6)); } catch { fail('sse json', body, e.slice(0, 200)); break; }
      }
    } else if ((r.headers.get('content-type') || '').includes('json')) {
      try { JSON.parse(text); } catch { fail('json body', body, text.slice(0, 300)); }
    }
  } catch (e) {
    if (e.name === 'AbortError' && disconnectEarly) return;
    fail(e.name === 'AbortError' ? 'hang' : 'fetch', body, `${method} ${route}: ${e.message} ${e.cause ? e.cause.message : ''}`);
  } finally {
    clearTimeout(t);
  }
}

let srv;
before(async () => {
  const args = ['--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--reasoning-parser', 'qwen3',
    '--max-model-len', '512', '--request-timeout', '3', '--max-request-body-bytes', '4M'];
  if (KEY) args.push('--api-key', KEY);
  srv = await startServer('qwen3-tiny', args);
});

after(async () => {
  if (!srv) return;
  const code = await srv.stop();
  const log = srv.log();
  const san = log.match(/(ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer)[\s\S]{0,4000}/);
  assert.equal(san, null, san ? san[0] : '');
  assert.equal(code, 0, log.slice(-3000));
});

function assertNoFailures() {
  assert.equal(srv.proc.exitCode, null, 'server exited:\n' + srv.log().slice(-4000));
  assert.deepEqual(failures, [], failures.join('\n'));
}

test('mutated JSON bodies on every route', async () => {
  const routes = Object.keys(FIELDS);
  let next = 0;
  const worker = async () => {
    while (next < COUNT) {
      const i = next++;
      const route = routes[i % routes.length];
      await send(srv, route, wholeBody(route));
      if (srv.proc.exitCode !== null) return;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assertNoFailures();
});

test('info routes, unknown paths, wrong methods', async () => {
  const paths = ['/v1/models', '/version', '/health', '/ping', '/metrics', '/docs', '/openapi.json', '/v1/chat/completions',
    '/nope', '/', '/v1/models/', '/v1//models', '/%00', '/v1/models?x=1', '/tokenize#x', '/' + 'a'.repeat(5000)];
  for (const p of paths) {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE']) {
      await send(srv, p, m === 'GET' || m === 'DELETE' ? undefined : pick(['{}', '', 'x']), m);
    }
  }
  assertNoFailures();
});

// Raw socket requests: each must get a well-formed HTTP answer (or a close).
function checkRaw(text, req, { allowEmpty = false } = {}) {
  text = text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
  if (!text.length) { if (!allowEmpty) fail('raw empty', req, 'no answer'); return; }
  const m = text.match(/^HTTP\/1\.1 (\d{3}) /);
  if (!m) { fail('raw status line', req, text.slice(0, 200)); return; }
  const status = Number(m[1]);
  if (!OK_STATUS.has(status) && status !== 204) fail('raw status', req, text.slice(0, 300));
  const he = text.indexOf('\r\n\r\n');
  if (he < 0) { fail('raw head', req, text.slice(0, 300)); return; }
  const cl = text.slice(0, he).match(/content-length: (\d+)/i);
  if (status >= 400 && cl) checkError(status, text.slice(he + 4, he + 4 + Number(cl[1])), req);
}

test('HTTP-level abuse', async () => {
  const p = srv.port;
  const auth = KEY ? `Authorization: Bearer ${KEY}\r\n` : '';
  const body = '{"prompt":"Hello","max_tokens":2}';
  const reqs = [
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 100\r\n\r\n${body}`, // body shorter than declared
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 5\r\n\r\n${body}`, // longer: the rest is garbage
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: -1\r\n\r\n${body}`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 99999999999999999999\r\n\r\n${body}`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 3\r\nContent-Length: 4\r\n\r\n${body}`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 34\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n${body}\r\n`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n22\r\n${body}\r\n0\r\n\r\n`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n5\r\n{"pro\r\n1d\r\nmpt":"Hello","max_tokens":2}\r\n0\r\n\r\n`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{}\r\n0\r\nTrailer: x\r\n\r\n`,
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`,
    `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `h${i}: v`).join('\r\n')}\r\n\r\n`,
    `GET /health HTTP/1.0\r\n\r\n`, `GET /health HTTP/2.0\r\n\r\n`, `GET /health\r\n\r\n`, `BREW /health HTTP/1.1\r\n\r\n`,
    `GET  /health HTTP/1.1\r\n\r\n`, `GET /health HTTP/1.1\r\nHost x\r\n\r\n`, `GET /health HTTP/1.1\nHost: x\n\n`,
    `\x00\x01\x02\xff\r\n\r\n`, `GET /he\x00alth HTTP/1.1\r\n\r\n`, `GET ${'/'.repeat(70000)} HTTP/1.1\r\n\r\n`,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nAuthorization: Bearer\r\nContent-Length: 2\r\n\r\n{}`,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\nContent-Length: 2\r\n\r\n{}`,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'k'.repeat(10000)}\r\nContent-Length: 2\r\n\r\n{}`,
    `OPTIONS /v1/models HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n\r\n`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Expect: 100-continue\r\nContent-Length: 34\r\n\r\n${body}`,
    `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 5000000\r\n\r\n`,
  ];
  for (const r of reqs) checkRaw(await rawHttp(p, r, 1, 8000), r, { allowEmpty: true });

  // Pipelined: many requests in one write, answered in order.
  const one = `POST /tokenize HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}`;
  const gen = `POST /v1/completions HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}`;
  const piped = [one, gen, `GET /health HTTP/1.1\r\nHost: x\r\n\r\n`, gen, one].join('').repeat(10);
  const out = await rawHttp(p, piped, 50, 20000);
  const n = (out.match(/HTTP\/1\.1 200 /g) || []).length;
  if (n !== 50) fail('pipelining', 'x50', `${n} answers of 50: ${out.slice(-300)}`);
  // Pipelined bad requests after a good one.
  checkRaw(await rawHttp(p, one + 'GARBAGE\r\n\r\n' + one, 2, 8000), 'pipelined garbage');

  // Slow partial requests: the request timeout (3 s here) answers 408 or closes.
  const slow = await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    let got = '';
    const parts = [`POST /tokenize HTTP/1.1\r\n`, `Host: x\r\n${auth}`, `Content-Length: 34\r\n\r\n`, body.slice(0, 10)];
    let k = 0;
    const iv = setInterval(() => { if (k < parts.length && i % 2 === 0) s.write(parts[k++]); }, 500);
    if (i % 2) s.write('GET /hea');
    const t = setTimeout(() => { clearInterval(iv); s.destroy(); resolve('HANG'); }, 12000);
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('close', () => { clearInterval(iv); clearTimeout(t); resolve(got); });
    s.on('error', () => {});
  })));
  for (const g of slow) {
    if (g === 'HANG') fail('slowloris', 'partial request', 'not closed after the request timeout');
    else checkRaw(g, 'slow partial', { allowEmpty: true });
  }

  // Many concurrent connections, some aborting at once, some mid-stream.
  const stream = JSON.stringify({ messages: MSGS, max_tokens: 64, stream: true, stream_options: { include_usage: true } });
  await Promise.all(Array.from({ length: 150 }, (_, i) => new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    const req = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${stream.length}\r\n\r\n${stream}`;
    s.on('connect', () => {
      if (i % 3 === 0) { s.destroy(); return; }
      s.write(i % 3 === 1 ? req.slice(0, 40 + (i % 60)) : req);
      s.once('data', () => s.destroy());
      setTimeout(() => s.destroy(), 4000 + (i % 7) * 100);
    });
  })));
  // The server still answers normally after all of that.
  const h = await fetch(srv.base + '/health');
  assert.equal(h.status, 200);
  assertNoFailures();
});
