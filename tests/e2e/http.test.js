// Raw HTTP against `vireo serve` on the qwen3-tiny fixture: tokenizer routes,
// info routes, auth on every guarded route, every error case of API.md,
// pipelining, disconnect aborts, 429 on a full queue, 100 concurrent streams.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, rawHttp, metric, waitFor } = require('./helpers');

let srv;
const KEY = 'secret-key';
const H = { 'content-type': 'application/json', authorization: 'Bearer ' + KEY };

before(async () => {
  srv = await startServer('qwen3-tiny', ['--api-key', KEY, '--max-model-len', '256', '--max-request-body-bytes', '1M',
    '--served-model-name', 'tiny']);
});
after(async () => { assert.equal(await srv.stop(), 0); });

async function post(path, body, headers = H) {
  const r = await fetch(srv.base + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

function assertError(res, status, param) {
  assert.equal(res.status, status, res.text);
  assert.ok(res.json && res.json.error, 'error object: ' + res.text);
  assert.equal(typeof res.json.error.message, 'string');
  assert.equal(typeof res.json.error.type, 'string');
  assert.equal(res.json.error.code, status);
  if (param !== undefined) assert.equal(res.json.error.param, param, res.text);
}

test('tokenize / detokenize', async () => {
  const t = await post('/tokenize', { prompt: 'Hello world', return_token_strs: true });
  assert.equal(t.status, 200);
  assert.equal(t.json.count, t.json.tokens.length);
  assert.equal(t.json.max_model_len, 256);
  assert.equal(t.json.token_strs.length, t.json.count);
  const d = await post('/detokenize', { tokens: t.json.tokens });
  assert.equal(d.json.prompt, 'Hello world');
  const m = await post('/tokenize', { messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(m.status, 200);
  const back = await post('/detokenize', { tokens: m.json.tokens });
  assert.match(back.json.prompt, /<\|im_start\|>user\nHi<\|im_end\|>\n<\|im_start\|>assistant\n/);
  const nogen = await post('/tokenize', { messages: [{ role: 'user', content: 'Hi' }], add_generation_prompt: false });
  assert.ok(nogen.json.count < m.json.count);
  assertError(await post('/detokenize', { tokens: [1, 99999999] }), 400, 'tokens');
  assertError(await post('/detokenize', { tokens: [-1] }), 400, 'tokens');
  assertError(await post('/detokenize', { tokens: 'abc' }), 400, 'tokens');
  assertError(await post('/tokenize', { prompt: 5 }), 400, 'prompt');
  assertError(await post('/tokenize', {}), 400);
});

test('version, health, ping, docs, openapi, metrics format', async () => {
  const v = await fetch(srv.base + '/version', { headers: H });
  assert.match((await v.json()).version, /^\d+\.\d+\.\d+/);
  const h = await fetch(srv.base + '/health');
  assert.equal(h.status, 200);
  assert.equal(await h.text(), '');
  assert.equal((await fetch(srv.base + '/ping')).status, 200);
  assert.equal((await fetch(srv.base + '/ping', { method: 'POST' })).status, 200);
  const docs = await fetch(srv.base + '/docs', { headers: H });
  assert.match(docs.headers.get('content-type'), /text\/html/);
  const api = await (await fetch(srv.base + '/openapi.json', { headers: H })).json();
  assert.ok(api.paths['/v1/chat/completions'] && api.paths['/tokenize']);
  const m = await fetch(srv.base + '/metrics');
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  const text = await m.text();
  for (const line of text.split('\n')) {
    if (!line) continue;
    assert.match(line, /^(# (HELP|TYPE) \S+ .+|[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\} -?[0-9.e+-]+(Inf)?)$/, line);
  }
  for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc',
    'vllm:prompt_tokens_total', 'vllm:generation_tokens_total', 'vllm:request_success_total',
    'vllm:num_preemptions_total', 'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total']) {
    assert.match(text, new RegExp('^' + name + '\\{[^}]*model_name="tiny"', 'm'), name);
  }
  for (const h of ['vllm:time_to_first_token_seconds', 'vllm:inter_token_latency_seconds', 'vllm:e2e_request_latency_seconds',
    'vllm:request_queue_time_seconds', 'vllm:request_prompt_tokens', 'vllm:request_generation_tokens',
    'vllm:iteration_tokens_total']) {
    assert.match(text, new RegExp('^# TYPE ' + h + ' histogram$', 'm'), h);
    assert.match(text, new RegExp('^' + h + '_bucket\\{le="\\+Inf",model_name="tiny"\\} ', 'm'), h);
  }
});

test('metrics histograms count finished requests', async () => {
  const before = await metric(srv.base, 'vllm:e2e_request_latency_seconds_count');
  const genBefore = await metric(srv.base, 'vllm:generation_tokens_total');
  const r = await post('/v1/completions', { prompt: 'abc', max_tokens: 5, ignore_eos: true });
  assert.equal(r.status, 200);
  assert.equal(await metric(srv.base, 'vllm:e2e_request_latency_seconds_count'), before + 1);
  assert.equal(await metric(srv.base, 'vllm:generation_tokens_total'), genBefore + 5);
  assert.ok(await metric(srv.base, 'vllm:time_to_first_token_seconds_count') >= 1);
  assert.ok(await metric(srv.base, 'vllm:inter_token_latency_seconds_count') >= 4);
});

test('auth: every guarded route answers 401 without the key; open routes stay open', async () => {
  const guarded = [['POST', '/v1/chat/completions'], ['POST', '/v1/completions'], ['POST', '/v1/embeddings'],
    ['POST', '/tokenize'], ['POST', '/detokenize'], ['GET', '/v1/models'], ['GET', '/version'], ['GET', '/docs'],
    ['GET', '/openapi.json']];
  for (const [method, path] of guarded) {
    for (const auth of [undefined, 'Bearer wrong', KEY, 'Basic ' + KEY]) {
      const headers = { 'content-type': 'application/json' };
      if (auth) headers.authorization = auth;
      const r = await fetch(srv.base + path, { method, headers, body: method === 'POST' ? '{}' : undefined });
      const j = await r.json();
      assert.equal(r.status, 401, `${method} ${path} ${auth}`);
      assert.equal(j.error.code, 401);
    }
  }
  for (const path of ['/health', '/ping', '/metrics']) assert.equal((await fetch(srv.base + path)).status, 200);
});

test('error cases of API.md', async () => {
  const msgs = [{ role: 'user', content: 'hi' }];
  assertError(await post('/v1/chat/completions', '{"messages": [', H), 400, null);
  assertError(await post('/v1/chat/completions', '[1,2]', H), 400);
  assertError(await post('/v1/chat/completions', { model: 'other', messages: msgs }), 404, 'model');
  assert.equal((await post('/v1/chat/completions', { model: 'other', messages: msgs })).json.error.type, 'NotFoundError');
  assertError(await post('/v1/chat/completions', {}), 400, 'messages');
  assertError(await post('/v1/chat/completions', { messages: 'hi' }), 400, 'messages');
  assertError(await post('/v1/chat/completions', { messages: [] }), 400, 'messages');
  assertError(await post('/v1/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }), 400, 'messages');
  assertError(await post('/v1/chat/completions', { messages: [{ role: 'user', content: 5 }] }), 400, 'messages');
  assertError(await post('/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }), 400, 'messages');
  assertError(await post('/v1/chat/completions', { messages: msgs, temperature: 'hot' }), 400, 'temperature');
  assertError(await post('/v1/chat/completions', { messages: msgs, top_p: 0 }), 400, 'top_p');
  assertError(await post('/v1/chat/completions', { messages: msgs, presence_penalty: 3 }), 400, 'presence_penalty');
  assertError(await post('/v1/chat/completions', { messages: msgs, n: 0 }), 400, 'n');
  assertError(await post('/v1/chat/completions', { messages: msgs, max_tokens: 0 }), 400, 'max_tokens');
  assertError(await post('/v1/chat/completions', { messages: msgs, max_tokens: 1.5 }), 400, 'max_tokens');
  assertError(await post('/v1/chat/completions', { messages: msgs, stream: 'yes' }), 400, 'stream');
  assertError(await post('/v1/chat/completions', { messages: msgs, top_logprobs: 2 }), 400, 'top_logprobs');
  assertError(await post('/v1/chat/completions', { messages: msgs, logprobs: true, top_logprobs: 21 }), 400, 'top_logprobs');
  assertError(await post('/v1/chat/completions', { messages: msgs, stop: [1] }), 400, 'stop');
  assertError(await post('/v1/chat/completions', { messages: msgs, logit_bias: { abc: 1 } }), 400, 'logit_bias');
  assertError(await post('/v1/chat/completions', { messages: msgs, logit_bias: { 5: 1000 } }), 400, 'logit_bias');
  assertError(await post('/v1/chat/completions', { messages: msgs, stream_options: { include_usage: true } }), 400, 'stream_options');
  assertError(await post('/v1/chat/completions', { messages: msgs, guided_json: { type: 'object' } }), 400, 'guided_json');
  assertError(await post('/v1/chat/completions', { messages: msgs, response_format: { type: 'json_schema' } }), 400, 'response_format');
  assertError(await post('/v1/chat/completions', { messages: msgs, add_generation_prompt: true, continue_final_message: true }),
    400, 'continue_final_message');
  assertError(await post('/v1/chat/completions', { messages: msgs, tools: [{ type: 'function', function: { name: 'f' } }] }),
    400, 'tool_choice');
  assertError(await post('/v1/completions', { prompt: 'x', suffix: 'y' }), 400, 'suffix');
  // Fields without effect here are type-checked all the same (found by fuzz.test.js).
  assertError(await post('/v1/chat/completions', { messages: msgs, use_beam_search: {} }), 400, 'use_beam_search');
  assertError(await post('/v1/chat/completions', { messages: msgs, parallel_tool_calls: 1 }), 400, 'parallel_tool_calls');
  assertError(await post('/v1/chat/completions', { messages: msgs, user: [1] }), 400, 'user');
  assertError(await post('/v1/completions', { prompt: 'x', best_of: 'two' }), 400, 'best_of');
  assertError(await post('/v1/completions', { prompt: 'x', best_of: 2 }), 400, 'best_of');
  assertError(await post('/v1/completions', {}), 400, 'prompt');
  assertError(await post('/v1/completions', { prompt: [1, 'a'] }), 400, 'prompt');
  assertError(await post('/v1/completions', { prompt: [151936 * 10] }), 400, 'prompt');
  assertError(await post('/v1/completions', { prompt: 'x', logprobs: 50 }), 400, 'logprobs');
  assertError(await post('/v1/embeddings', { input: 'x', encoding_format: 'int8' }), 400, 'encoding_format');
  assertError(await post('/v1/embeddings', {}), 400, 'input');
  // prompt + max_tokens beyond the context: 400 with the numbers
  const long = await post('/v1/completions', { prompt: 'hello '.repeat(100), max_tokens: 200 });
  assertError(long, 400);
  assert.match(long.json.error.message, /256/);
  const tooLong = await post('/v1/completions', { prompt: 'hello '.repeat(300), max_tokens: 1 });
  assertError(tooLong, 400);
  assert.match(tooLong.json.error.message, /256/);
  // unknown fields are ignored
  const ok = await post('/v1/chat/completions', { messages: msgs, max_tokens: 2, user: 'u', metadata: { a: 1 }, store: false });
  assert.equal(ok.status, 200, ok.text);
  // invalid UTF-8 in the body
  const bad = Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
  const r = await fetch(srv.base + '/v1/chat/completions', { method: 'POST', headers: H, body: bad });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /UTF-8/);
  // huge body
  const huge = await post('/v1/completions', JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) }));
  assertError(huge, 413);
  // 404 / 405
  assertError(await post('/v1/nothing', {}), 404);
  const m405 = await fetch(srv.base + '/v1/chat/completions', { headers: H });
  assert.equal(m405.status, 405);
});

test('pipelined requests answer in order', async () => {
  const auth = 'Authorization: Bearer ' + KEY + '\r\n';
  const body = JSON.stringify({ prompt: 'Hi', max_tokens: 2, ignore_eos: true });
  const req = 'POST /v1/completions HTTP/1.1\r\nHost: x\r\n' + auth + 'Content-Type: application/json\r\nContent-Length: ' +
    body.length + '\r\n\r\n' + body;
  const text = await rawHttp(srv.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' + req +
    'GET /version HTTP/1.1\r\nHost: x\r\n' + auth + '\r\n' + 'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n', 4);
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200', '200', '404']);
  assert.ok(text.indexOf('text_completion') < text.indexOf('"version"'));
});

test('client disconnect mid-stream aborts the request and frees its KV blocks', async () => {
  const abortsBefore = await metric(srv.base, 'vllm:request_success_total', 'finished_reason="abort"');
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a long story' }], max_tokens: 200,
    ignore_eos: true, stream: true });
  await new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => {
      sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' + KEY +
        '\r\nContent-Type: application/json\r\nContent-Length: ' + body.length + '\r\n\r\n' + body);
    });
    let got = '';
    sock.on('data', (d) => {
      got += d;
      if ((got.match(/data: /g) || []).length >= 3) { sock.destroy(); resolve(); }
    });
    sock.on('error', reject);
  });
  assert.ok(await waitFor(async () => (await metric(srv.base, 'vllm:request_success_total', 'finished_reason="abort"')) === abortsBefore + 1));
  assert.ok(await waitFor(async () => (await metric(srv.base, 'vllm:num_requests_running')) === 0));
  assert.ok(await waitFor(async () => (await metric(srv.base, 'vllm:kv_cache_usage_perc')) === 0));
  const gen = await metric(srv.base, 'vllm:request_generation_tokens_sum');
  assert.ok(gen < 1000);
});

test('100 concurrent streaming clients all complete', async () => {
  const one = async (i) => {
    const r = await fetch(srv.base + '/v1/chat/completions', { method: 'POST', headers: H,
      body: JSON.stringify({ messages: [{ role: 'user', content: 'client ' + i }], max_tokens: 4, ignore_eos: true,
        stream: true, temperature: 0 }) });
    assert.equal(r.status, 200);
    const text = await r.text();
    const events = text.split('\n\n').filter(Boolean);
    assert.equal(events[events.length - 1], 'data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    assert.equal(chunks.filter((c) => c.choices[0] && c.choices[0].finish_reason === 'length').length, 1);
    return chunks.length;
  };
  const counts = await Promise.all(Array.from({ length: 100 }, (_, i) => one(i)));
  assert.equal(counts.length, 100);
});

test('429 with Retry-After when the waiting queue is full', async () => {
  const small = await startServer('qwen3-tiny', ['--max-num-seqs', '1', '--max-num-queued-requests', '1', '--max-model-len', '4096',
    '--disable-log-requests']);
  try {
    const body = JSON.stringify({ prompt: 'x', max_tokens: 4000, ignore_eos: true, stream: true });
    const ctrls = [];
    const results = [];
    for (let i = 0; i < 4; i++) {
      const c = new AbortController();
      ctrls.push(c);
      const r = await fetch(small.base + '/v1/completions', { method: 'POST', body, signal: c.signal,
        headers: { 'content-type': 'application/json' } });
      results.push(r);
    }
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length >= 1, 'statuses: ' + results.map((r) => r.status));
    assert.equal(limited[0].headers.get('retry-after'), '1');
    assert.equal((await limited[0].json()).error.code, 429);
    for (const c of ctrls) c.abort();
    assert.ok(await waitFor(async () => (await metric(small.base, 'vllm:num_requests_running')) === 0 &&
      (await metric(small.base, 'vllm:num_requests_waiting')) === 0));
  } finally {
    assert.equal(await small.stop(), 0);
  }
});

test('SIGTERM during a stream: the stream ends with abort + [DONE], exit status 0', async () => {
  const s2 = await startServer('qwen3-tiny', ['--max-model-len', '4096', '--disable-log-requests']);
  const r = await fetch(s2.base + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'x', max_tokens: 4000, ignore_eos: true, stream: true }) });
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  let text = Buffer.from((await reader.read()).value).toString();
  const exit = s2.stop();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  assert.match(text, /"finish_reason":"abort"/);
  assert.match(text, /data: \[DONE\]\n\n$/);
  assert.equal(await exit, 0);
});

test('a client that stops reading does not stall the others', async () => {
  const body = JSON.stringify({ prompt: 'slow reader', max_tokens: 200, ignore_eos: true, stream: true, logprobs: 5 });
  const slow = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => slow.once('connect', r));
  slow.pause(); // never reads: its stream backs up in the server
  slow.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' + KEY +
    '\r\nContent-Type: application/json\r\nContent-Length: ' + body.length + '\r\n\r\n' + body);
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 5 }, (_, i) =>
    post('/v1/completions', { prompt: 'fast ' + i, max_tokens: 4, ignore_eos: true })));
  for (const r of rs) assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 < 20000);
  slow.destroy();
  assert.ok(await waitFor(async () => (await metric(srv.base, 'vllm:num_requests_running')) === 0));
});
