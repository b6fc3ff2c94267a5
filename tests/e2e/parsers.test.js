// Reasoning and tool-call parsing wired into chat (--reasoning-parser,
// --enable-auto-tool-choice --tool-call-parser), through the openai SDK.
// The fixture model's output is random text, so: deepseek_r1 (output starts
// inside a think block) must put everything in reasoning, enable_thinking
// false must give plain content, and output forced to repeat `<tool_call>`
// (logit_bias) is a malformed call that must come back as content, not 500.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai').OpenAI;
const { startServer } = require('./helpers');

let srv, client;
before(async () => {
  srv = await startServer('qwen3-tiny', ['--max-model-len', '512', '--reasoning-parser', 'deepseek_r1',
    '--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--disable-log-requests']);
  client = new OpenAI({ baseURL: srv.base + '/v1', apiKey: 'none', maxRetries: 0 });
});
after(async () => { assert.equal(await srv.stop(), 0); });

const msgs = [{ role: 'user', content: 'Think about it.' }];
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

async function streamParts(body) {
  const s = await client.chat.completions.create({ ...body, stream: true });
  let content = '', reasoning = '', finish = null, calls = 0;
  for await (const c of s) {
    const ch = c.choices[0];
    if (!ch) continue;
    content += ch.delta.content || '';
    reasoning += ch.delta.reasoning_content || '';
    if (ch.delta.tool_calls) calls += ch.delta.tool_calls.length;
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return { content, reasoning, finish, calls };
}

test('reasoning parser: unclosed think block is reasoning, stream agrees', async () => {
  const body = { model: srv.base && undefined, messages: msgs, max_tokens: 8, temperature: 0, ignore_eos: true };
  delete body.model;
  const r = await client.chat.completions.create(body);
  const m = r.choices[0].message;
  assert.equal(m.content, null);
  assert.ok(m.reasoning_content.length > 0);
  assert.equal(m.reasoning, m.reasoning_content);
  const s = await streamParts(body);
  assert.equal(s.reasoning, m.reasoning_content);
  assert.equal(s.content, '');
  assert.equal(s.finish, 'length');
});

test('enable_thinking false: everything is content', async () => {
  const body = { messages: msgs, max_tokens: 8, temperature: 0, ignore_eos: true,
    chat_template_kwargs: { enable_thinking: false } };
  const r = await client.chat.completions.create(body);
  assert.ok(r.choices[0].message.content.length > 0);
  assert.equal(r.choices[0].message.reasoning_content, null);
  const s = await streamParts(body);
  assert.equal(s.content, r.choices[0].message.content);
  assert.equal(s.reasoning, '');
});

test('malformed tool call output stays content (no 500), stream agrees', async () => {
  const id = (await (await fetch(srv.base + '/tokenize', { method: 'POST',
    body: JSON.stringify({ prompt: '<tool_call>' }) })).json()).tokens;
  assert.equal(id.length, 1);
  const body = { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, max_tokens: 6, temperature: 0,
    ignore_eos: true, logit_bias: { [id[0]]: 100 }, chat_template_kwargs: { enable_thinking: false } };
  const r = await client.chat.completions.create(body);
  const m = r.choices[0].message;
  assert.deepEqual(m.tool_calls, []);
  assert.equal(m.content, '<tool_call>'.repeat(6));
  assert.equal(r.choices[0].finish_reason, 'length');
  const s = await streamParts(body);
  assert.equal(s.content, m.content);
  assert.equal(s.calls, 0);
});

test('a multi-turn tool conversation renders through the chat template', async () => {
  const messages = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
      function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
  ];
  const t = await (await fetch(srv.base + '/tokenize', { method: 'POST', body: JSON.stringify({ messages, tools }) })).json();
  const text = (await (await fetch(srv.base + '/detokenize', { method: 'POST',
    body: JSON.stringify({ tokens: t.tokens }) })).json()).prompt;
  assert.match(text, /<tool_call>\n\{"name": "get_weather", "arguments": \{"city": "Paris"\}\}\n<\/tool_call>/);
  assert.match(text, /<tool_response>\n\{"temp": 21\}\n<\/tool_response>/);
  assert.match(text, /"name": "get_weather"/); // the tools list in the system part
  const r = await client.chat.completions.create({ messages, tools, max_tokens: 3, ignore_eos: true });
  assert.equal(r.choices.length, 1);
});
