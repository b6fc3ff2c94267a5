// The parsers' recorded model outputs (tests/parsers/parsers_fixtures.c,
// exported as JSON lines by the ctest fixture "parsers_outputs") replayed
// over HTTP: vireo_scripted forces each output on a fixture model whose
// tokenizer writes it back exactly, and the chat answer must be the
// recorded parse, non-stream and stream alike. One server per parser
// configuration, on the model family that parser is for.
'use strict';
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { waitFor } = require('./helpers');
const { startScripted, streamChat, messageParts, streamParts, tag } = require('./scripted');

const WARN_MALFORMED = 0x1, WARN_ABORTED = 0x2, WARN_UNKNOWN_TOOL = 0x8;

const cases = fs.readFileSync(process.env.VIREO_PARSERS_FIXTURES, 'utf8').split('\n').filter(Boolean)
  .map((l) => JSON.parse(l));

// What a chat request can ask of a server started with these flags: the
// server has one tool parser and one reasoning parser; a case without one
// sends no tools / enable_thinking false. Cases needing settings a request
// cannot express (forced tool_choice, an allow-list narrower than the tools
// sent, the prompt opening the think block, unclosed-think-as-content, a
// call cap other than parallel_tool_calls) stay with the unit tests.
const CONFIGS = [
  { preset: 'qwen3-tiny', tool: 'hermes', reasoning: 'qwen3' },
  { preset: 'qwen3-tiny', tool: 'deepseek_v3', reasoning: 'deepseek_r1' },
  { preset: 'llama3-tiny-bf16', tool: 'llama3_json', reasoning: null },
  // the fixture (Llama 2 tokenizer) has no chat template; any will do here
  { preset: 'mistral-tiny-bf16', tool: 'mistral', reasoning: null,
    args: ['--chat-template', path.join(__dirname, '..', '..', 'chat_templates', 'templates', 'chatml.jinja')] },
];

// Every function name the text may call, so that the request's tools allow
// them all, as the recorded parse did (allowed_tool null).
function calledNames(text) {
  const names = new Set(['get_weather']);
  for (const m of text.matchAll(/"name"\s*:\s*("(?:[^"\\]|\\.)*")/g)) {
    try { names.add(JSON.parse(m[1])); } catch { /* a malformed call: its name does not matter */ }
  }
  for (const re of [/\[TOOL_CALLS\]([^[]*)\[ARGS\]/g, /<｜tool▁call▁begin｜>([^<]*)<｜tool▁sep｜>/g,
    /<｜tool▁sep｜>([^\n<{]*)\n/g])
    for (const m of text.matchAll(re)) if (m[1]) names.add(m[1]);
  return names;
}

function replayable(c, cfg) {
  if (c.tool_choice !== 'auto' || c.allowed_tool || c.unclosed_as_content || c.named_function) return false;
  if (c.max_calls !== 0 && c.max_calls !== 1) return false;
  if (c.think_start === 'open') return false;
  if (c.tool_parser === null && c.reasoning_parser === null) return false; // nothing to parse
  if (c.tool_parser !== null && c.tool_parser !== cfg.tool) return false;
  if (c.reasoning_parser !== null && c.reasoning_parser !== cfg.reasoning) return false;
  return true;
}

function request(c) {
  const body = { messages: [{ role: 'user', content: `${tag(c.id)} go` }], temperature: 0 };
  if (c.tool_parser) {
    body.tools = [...calledNames(c.text)].map((name) => ({ type: 'function', function: { name, parameters: { type: 'object' } } }));
    if (c.max_calls === 1) body.parallel_tool_calls = false;
  }
  if (!c.reasoning_parser || c.think_start === 'off') body.chat_template_kwargs = { enable_thinking: false };
  return body;
}

for (const cfg of CONFIGS) {
  const mine = cases.filter((c) => replayable(c, cfg));
  describe(`${cfg.tool} + ${cfg.reasoning || 'no reasoning parser'} on ${cfg.preset}`, () => {
    let srv, client;
    before(async () => {
      const scripts = Object.fromEntries(mine.map((c) => [c.id, c.text]));
      const args = ['--enable-auto-tool-choice', '--tool-call-parser', cfg.tool];
      if (cfg.reasoning) args.push('--reasoning-parser', cfg.reasoning);
      args.push(...(cfg.args || []));
      ({ srv, client } = await startScripted(cfg.preset, scripts, args));
    });
    after(async () => { assert.equal(await srv.stop(), 0); });

    test('there are recorded outputs to replay', () => assert.ok(mine.length >= 3, `${mine.length} cases`));

    for (const c of mine) {
      test(c.id, async () => {
        const body = request(c);
        // the raw text first: the tokenizer must carry the output unchanged
        const raw = await client.chat.completions.create({ ...body, tools: undefined, parallel_tool_calls: undefined,
          chat_template_kwargs: { enable_thinking: false } });
        assert.equal(raw.choices[0].message.content, c.text, 'round trip');

        const r = await client.chat.completions.create(body);
        const got = messageParts(r);
        const want = {
          content: c.content,
          reasoning: c.reasoning,
          calls: c.tool_calls.map((t) => ({ name: t.name, arguments: t.arguments })),
          finish: c.tool_calls.length ? 'tool_calls' : 'stop',
        };
        assert.deepEqual(got, want);
        for (const t of r.choices[0].message.tool_calls) JSON.parse(t.function.arguments);
        if (c.warnings & (WARN_MALFORMED | WARN_ABORTED | WARN_UNKNOWN_TOOL))
          assert.ok(await waitFor(() => srv.log().includes(`${r.id}: the model wrote a malformed tool call`)),
            'no warning logged');

        const s = await streamChat(client, body);
        if (c.warnings & WARN_ABORTED) {
          // README rule 7: the stream showed the call's start; its text then came as content
          assert.equal(s.content, want.content);
          assert.equal(s.finish, want.finish);
        } else {
          assert.deepEqual(streamParts(s), want);
        }
      });
    }
  });
}
