// Tool calls and think blocks end to end, through the openai SDK, on the
// test-only `vireo_scripted` server (tests/scripted/): the fixture model
// qwen3-tiny (real Qwen3 tokenizer and chat template) is forced to write
// known text, so every field of the answer is checked exactly: non-stream,
// stream (chunk by chunk and reassembled), the SDK's own helpers (stream
// assembly, runTools), a multi-turn tool conversation through the chat
// template, and malformed calls (plain content, a logged warning, no 500).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('./helpers');
const { startScripted, streamChat, messageParts, streamParts, tag } = require('./scripted');

const CALL_PARIS = '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}';
const ARGS_PARIS = '{"city": "Paris", "unit": "celsius"}';
const SCRIPTS = [
  // multi-turn answers first: their prompts also hold the first turn's tag
  ['<tool_response>\nTOOLRESULT-7781\n</tool_response>', 'It is 21 degrees in Paris.'],
  ['<tool_response>\n{"temp":19}\n</tool_response>', 'The SDK ran the tool: 19 degrees.'],
  [tag('think_call'), `<think>\nThe user wants the weather in Paris.\n</think>\n\n<tool_call>\n${CALL_PARIS}\n</tool_call>`],
  [tag('two_calls'), 'Let me check both.\n<tool_call>\n' + CALL_PARIS + '\n</tool_call>\n<tool_call>\n' +
    '{"name": "get_time", "arguments": {"zone": "Europe/Berlin"}}\n</tool_call>'],
  [tag('runtools'), '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>'],
  [tag('malformed'), 'Sure.\n<tool_call>\n{"name": get_weather, "arguments": {"city": "Paris"}}\n</tool_call>'],
  [tag('bad_args'), '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris",}}\n</tool_call>'],
  [tag('think_only'), '<think>\nJust thinking.\n</think>\n\nHello there!'],
];

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } },
      required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Time in a zone',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } } },
];
const ask = (name, extra = {}) => ({ messages: [{ role: 'user', content: `${tag(name)} What is the weather?` }],
  tools, temperature: 0, ...extra });

let srv, client;
before(async () => {
  ({ srv, client } = await startScripted('qwen3-tiny', SCRIPTS,
    ['--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--reasoning-parser', 'qwen3']));
});
after(async () => { assert.equal(await srv.stop(), 0); });

const MARKERS = /<\/?tool_call>|<\/?think>/;

test('think block + tool call: non-stream fields', async () => {
  const r = await client.chat.completions.create(ask('think_call'));
  const ch = r.choices[0];
  assert.equal(ch.finish_reason, 'tool_calls');
  assert.equal(ch.message.role, 'assistant');
  assert.equal(ch.message.content, null);
  assert.equal(ch.message.reasoning_content, '\nThe user wants the weather in Paris.\n');
  assert.equal(ch.message.reasoning, ch.message.reasoning_content);
  assert.equal(ch.message.tool_calls.length, 1);
  const call = ch.message.tool_calls[0];
  assert.match(call.id, /^chatcmpl-tool-[0-9a-f]{16,}$/);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(call.function.arguments, ARGS_PARIS); // the model's own bytes
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
  assert.ok(r.usage.completion_tokens > 10);
});

test('think block + tool call: stream chunks, and they add up to the non-stream answer', async () => {
  const body = ask('think_call');
  const whole = messageParts(await client.chat.completions.create(body));
  const s = await streamChat(client, body);
  assert.deepEqual(streamParts(s), whole);
  assert.equal(s.calls.length, 1);
  const first = s.calls[0].first; // the call's first delta names it
  assert.equal(first.index, 0);
  assert.match(first.id, /^chatcmpl-tool-[0-9a-f]{16,}$/);
  assert.equal(first.type, 'function');
  assert.equal(first.function.name, 'get_weather');
  for (const d of s.deltas) {
    assert.doesNotMatch(d.content || '', MARKERS);
    assert.doesNotMatch(d.reasoning_content || '', MARKERS);
    for (const t of d.tool_calls || []) {
      assert.equal(t.index, 0);
      if (t !== first) assert.equal(t.id, undefined, 'only the first delta of a call carries its id');
    }
  }
  // several chunks of reasoning: it streams, it is not sent in one piece at the end
  assert.ok(s.deltas.filter((d) => d.reasoning_content).length > 1);
});

test('the SDK assembles the stream itself (chat.completions.stream)', async () => {
  const st = client.chat.completions.stream({ ...ask('think_call'), stream: true });
  const fin = await st.finalChatCompletion();
  const m = fin.choices[0].message;
  assert.equal(fin.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.tool_calls.length, 1);
  assert.equal(m.tool_calls[0].function.name, 'get_weather');
  assert.equal(m.tool_calls[0].function.arguments, ARGS_PARIS);
  assert.deepEqual(m.tool_calls[0].function.parsed_arguments ?? JSON.parse(m.tool_calls[0].function.arguments),
    { city: 'Paris', unit: 'celsius' });
  assert.ok(!m.content);
});

test('two parallel calls; parallel_tool_calls false keeps the first', async () => {
  const r = await client.chat.completions.create(ask('two_calls'));
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.content, 'Let me check both.\n');
  assert.deepEqual(m.tool_calls.map((t) => [t.function.name, t.function.arguments]),
    [['get_weather', ARGS_PARIS], ['get_time', '{"zone": "Europe/Berlin"}']]);
  assert.notEqual(m.tool_calls[0].id, m.tool_calls[1].id);
  const s = await streamChat(client, ask('two_calls'));
  assert.deepEqual(streamParts(s), messageParts(r));
  assert.deepEqual(s.calls.map((c) => c.first.index), [0, 1]);
  assert.notEqual(s.calls[0].id, s.calls[1].id);

  const one = await client.chat.completions.create(ask('two_calls', { parallel_tool_calls: false }));
  assert.deepEqual(one.choices[0].message.tool_calls.map((t) => t.function.name), ['get_weather']);
  assert.equal(one.choices[0].finish_reason, 'tool_calls');
});

test('multi-turn: the assistant tool call and the tool result go back through the chat template', async () => {
  const messages = [{ role: 'user', content: `${tag('think_call')} What is the weather?` }];
  const r1 = await client.chat.completions.create({ messages, tools, temperature: 0 });
  const call = r1.choices[0].message.tool_calls[0];
  messages.push(r1.choices[0].message); // as the SDK returned it (content null, reasoning fields)
  messages.push({ role: 'tool', tool_call_id: call.id, content: 'TOOLRESULT-7781' });
  // the rendered prompt holds the call and the result in Qwen3's format
  const t = await (await fetch(srv.base + '/tokenize', { method: 'POST', body: JSON.stringify({ messages, tools }) })).json();
  const prompt = (await (await fetch(srv.base + '/detokenize', { method: 'POST',
    body: JSON.stringify({ tokens: t.tokens }) })).json()).prompt;
  assert.ok(prompt.includes(`<tool_call>\n{"name": "get_weather", "arguments": ${ARGS_PARIS}}\n</tool_call>`), prompt);
  assert.ok(prompt.includes('<tool_response>\nTOOLRESULT-7781\n</tool_response>'), prompt);
  // and the model's answer is the one scripted for a prompt with that result
  const r2 = await client.chat.completions.create({ messages, tools, temperature: 0 });
  assert.equal(r2.choices[0].message.content, 'It is 21 degrees in Paris.');
  assert.deepEqual(r2.choices[0].message.tool_calls, []);
  assert.equal(r2.choices[0].finish_reason, 'stop');
  const s2 = await streamChat(client, { messages, tools, temperature: 0 });
  assert.equal(s2.content, 'It is 21 degrees in Paris.');
  assert.equal(s2.finish, 'stop');
});

test('the SDK runs the tool itself (runTools): parsed arguments in, result back, final answer', async () => {
  const seen = [];
  const runner = client.chat.completions.runTools({
    messages: [{ role: 'user', content: `${tag('runtools')} Weather in Lyon?` }],
    temperature: 0,
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: tools[0].function.parameters,
      parse: JSON.parse, function: (args) => { seen.push(args); return { temp: 19 }; } } }],
  });
  const answer = await runner.finalContent();
  assert.deepEqual(seen, [{ city: 'Lyon' }]);
  assert.equal(answer, 'The SDK ran the tool: 19 degrees.');
});

test('reasoning then plain content', async () => {
  const r = await client.chat.completions.create(ask('think_only'));
  const m = r.choices[0].message;
  assert.equal(m.reasoning_content, '\nJust thinking.\n');
  assert.equal(m.content, '\n\nHello there!'); // not trimmed, as in vLLM
  assert.deepEqual(m.tool_calls, []);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.deepEqual(streamParts(await streamChat(client, ask('think_only'))), messageParts(r));
});

test('malformed tool call JSON: plain content, HTTP 200, a warning in the log, stream agrees', async () => {
  const text = 'Sure.\n<tool_call>\n{"name": get_weather, "arguments": {"city": "Paris"}}\n</tool_call>';
  const r = await client.chat.completions.create(ask('malformed'));
  const m = r.choices[0].message;
  assert.equal(m.content, text);
  assert.deepEqual(m.tool_calls, []);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(await waitFor(() => srv.log().includes(`${r.id}: the model wrote a malformed tool call`)),
    'no warning logged for ' + r.id);
  const s = await streamChat(client, ask('malformed'));
  assert.equal(s.content, text);
  assert.equal(s.calls.length, 0);
  assert.equal(s.finish, 'stop');
});

test('arguments that turn invalid after the call started: content, not a 500; stream ends the same way', async () => {
  const text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris",}}\n</tool_call>';
  const r = await client.chat.completions.create(ask('bad_args'));
  assert.equal(r.choices[0].message.content, text);
  assert.deepEqual(r.choices[0].message.tool_calls, []);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(await waitFor(() => srv.log().includes(`${r.id}: the model wrote a malformed tool call`)));
  // the stream has shown the call's start (README rule 7), then gets the text as content
  const s = await streamChat(client, ask('bad_args'));
  assert.equal(s.content, text);
  assert.equal(s.finish, 'stop');
});

test('without the tools the same text is plain content (the parser is what makes the calls)', async () => {
  const r = await client.chat.completions.create({ messages: ask('two_calls').messages, temperature: 0 });
  assert.ok(r.choices[0].message.content.includes('<tool_call>'));
  assert.deepEqual(r.choices[0].message.tool_calls, []);
  assert.equal(r.choices[0].finish_reason, 'stop');
});
