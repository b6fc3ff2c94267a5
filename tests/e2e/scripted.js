// Helpers for end-to-end tests on `vireo_scripted` (tests/scripted/): a
// server whose model output is forced by a scripts file, so the tests know
// the exact text the parsers get.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const OpenAI = require('openai').OpenAI;
const { startServer } = require('./helpers');

const SCRIPTED_BIN = process.env.VIREO_SCRIPTED_BIN;

// The marker a prompt carries to select script `name`. Brackets on both
// sides so that no name is a substring of another's marker.
const tag = (name) => `[[script:${name}]]`;

// Start vireo_scripted on a fixture with scripts {name: output} (a list of
// [match, output] pairs also works, for matches that are not tags; the
// first match wins). Resolves {srv, client, dir}; srv.stop() as usual.
async function startScripted(preset, scripts, args = []) {
  const list = Array.isArray(scripts) ? scripts.map(([match, output]) => ({ match, output }))
    : Object.entries(scripts).map(([name, output]) => ({ match: tag(name), output }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vireo-scripts-'));
  const file = path.join(dir, 'scripts.json');
  fs.writeFileSync(file, JSON.stringify(list));
  const srv = await startServer(preset, ['--max-model-len', '4096', ...args], { VIREO_SCRIPTS: file },
    { bin: SCRIPTED_BIN });
  const client = new OpenAI({ baseURL: srv.base + '/v1', apiKey: 'none', maxRetries: 0 });
  return { srv, client, dir };
}

// One streamed chat completion replayed the way a client does: content,
// reasoning and tool calls assembled per choice index 0, plus every raw
// delta for checks on the chunks themselves.
async function streamChat(client, body) {
  const s = await client.chat.completions.create({ ...body, stream: true });
  const out = { content: '', reasoning: '', calls: [], finish: null, deltas: [] };
  let sawContent = false, sawReasoning = false;
  for await (const c of s) {
    const ch = c.choices[0];
    if (!ch) continue;
    const d = ch.delta;
    out.deltas.push(d);
    if (d.content) { out.content += d.content; sawContent = true; }
    if (d.reasoning_content) { out.reasoning += d.reasoning_content; sawReasoning = true; }
    for (const t of d.tool_calls || []) {
      if (!out.calls[t.index]) out.calls[t.index] = { first: t, id: null, type: null, name: null, arguments: '' };
      const call = out.calls[t.index];
      if (t.id) call.id = t.id;
      if (t.type) call.type = t.type;
      if (t.function && t.function.name) call.name = t.function.name;
      if (t.function && t.function.arguments) call.arguments += t.function.arguments;
    }
    if (ch.finish_reason) out.finish = ch.finish_reason;
  }
  if (!sawContent) out.content = null;
  if (!sawReasoning) out.reasoning = null;
  return out;
}

// The parts of a non-stream message in the shape streamChat assembles.
function messageParts(r) {
  const m = r.choices[0].message;
  return {
    content: m.content,
    reasoning: m.reasoning_content ?? null,
    calls: (m.tool_calls || []).map((t) => ({ name: t.function.name, arguments: t.function.arguments })),
    finish: r.choices[0].finish_reason,
  };
}

function streamParts(s) {
  return {
    content: s.content,
    reasoning: s.reasoning,
    calls: s.calls.map((c) => ({ name: c.name, arguments: c.arguments })),
    finish: s.finish,
  };
}

module.exports = { startScripted, streamChat, messageParts, streamParts, tag, SCRIPTED_BIN };
