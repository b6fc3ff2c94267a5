/* grammar_json.c — tool calls written as JSON objects
 * {"name": "f", "arguments"|"parameters": {...}}, one after another:
 *
 *   llama3_json  [<|python_tag|>] {call} [; {call}]...   (only when the reply
 *                starts with the tag or '{'; otherwise it is all content)
 *   mistral      text [TOOL_CALLS] [{call}, {call}]   or the newer
 *                text [TOOL_CALLS]name[ARGS]{...} [TOOL_CALLS]name2[ARGS]{...}
 *   required     [{call}, ...]            (tool_choice "required", as vLLM)
 *   named        {...}                    (tool_choice naming one function:
 *                                          the reply is its arguments)
 *
 * Also the arguments-only states (A_PRE, A_BODY) used by every grammar that
 * learns the name outside the JSON (mistral [ARGS], deepseek, named).
 * In a sequence, a call that does not parse ends the parsing: its text and
 * everything after it is content.
 */
#include "parser_impl.h"

#include <string.h>

#define PYTHON_TAG "<|python_tag|>"
#define MISTRAL_ARGS "[ARGS]"

static void seq_setup(vr_parser *p, char sep, char close, tool_state after) {
  p->seq_sep = sep;
  p->seq_close = close;
  p->seq_after_close = after;
  p->tstate = SEQ_EXPECT;
}

long vr_args_step(vr_parser *p, const char *s, size_t n, int eof) {
  switch (p->tstate) {
  case A_PRE: { /* whitespace and an optional ```json fence, then '{' */
    size_t w = vr_ws_len(s, n);
    if (w) { vr_raw_take(p, s, w); return (long)w; }
    if (s[0] == '`') {
      int a = vr_marker_at(s, n, "```json");
      if (a == 0 && !eof) return NEED_MORE;
      size_t fl = a == 1 ? 7 : (vr_marker_at(s, n, "```") == 1 ? 3 : 0);
      if (fl) { vr_raw_take(p, s, fl); return (long)fl; }
    }
    if (s[0] != '{') { vr_call_malformed(p); return 0; }
    p->tstate = A_BODY;
    return 0;
  }
  case A_BODY: {
    size_t i = 0;
    int done = 0;
    for (; i < n; i++) {
      int r = vr_call_args_byte(p, (unsigned char)s[i]);
      if (r < 0) break;
      if (r == 1) { i++; done = 1; break; }
    }
    vr_raw_take(p, s, i);
    vr_call_progress(p);
    if (done) {
      vr_pbuf_clear(&p->raw);
      p->tstate = p->args_after;
    } else if (i < n) {
      vr_call_malformed(p);
    }
    return (long)i;
  }
  default:
    return 0;
  }
}

static long seq_body(vr_parser *p, const char *s, size_t n) {
  size_t i = 0;
  int done = 0;
  for (; i < n; i++) {
    int r = vr_call_object_byte(p, (unsigned char)s[i]);
    if (r < 0) break;
    if (r == 1) { i++; done = 1; break; }
  }
  vr_raw_take(p, s, i);
  vr_call_progress(p);
  if (done) {
    if (!p->ended) { vr_call_malformed(p); return (long)i; }
    vr_pbuf_clear(&p->raw);
    p->tstate = SEQ_AFTER;
  } else if (i < n) {
    if (p->ended) { /* arguments complete, wrapper broken: the rest is text */
      p->warnings |= VR_WARN_IGNORED_TEXT;
      vr_pbuf_clear(&p->raw);
      p->tstate = T_PLAIN;
    } else {
      vr_call_malformed(p);
    }
  }
  return (long)i;
}

/* mistral's newer form: the name up to [ARGS] */
static long mistral_name(vr_parser *p, const char *s, size_t n, int eof) {
  size_t i = 0;
  for (; i < n; i++) {
    if (s[i] == '\n' || p->name.len + i > VR_NAME_MAX) { /* not a name */
      vr_pbuf_append(&p->name, s, i);
      vr_raw_take(p, s, i);
      vr_call_malformed(p);
      return (long)i;
    }
    if (s[i] != '[') continue;
    int m = vr_marker_at(s + i, n - i, MISTRAL_ARGS);
    if (m == 1) {
      if (i > 0) break;
      vr_raw_take(p, s, sizeof(MISTRAL_ARGS) - 1);
      if (vr_call_set_name(p, p->name.p, p->name.len) == 0) p->tstate = A_PRE;
      else vr_call_malformed(p);
      return (long)sizeof(MISTRAL_ARGS) - 1;
    }
    if (m == 0 && !eof) {
      if (i > 0) break;
      return NEED_MORE;
    }
  }
  if (vr_pbuf_append(&p->name, s, i)) vr_oom(p);
  vr_raw_take(p, s, i);
  return (long)i;
}

long vr_seq_step(vr_parser *p, const char *s, size_t n, int eof) {
  switch (p->tstate) {
  case L_START: { /* llama3_json: calls only if the reply opens with one */
    size_t w = vr_ws_len(s, n);
    if (w) { vr_content_out(p, s, w); return (long)w; }
    int m = vr_marker_at(s, n, PYTHON_TAG);
    if (m == 1) {
      vr_region_begin(p, PYTHON_TAG);
      seq_setup(p, ';', 0, T_PLAIN);
      return (long)sizeof(PYTHON_TAG) - 1;
    }
    if (m == 0 && !eof) return NEED_MORE;
    if (s[0] == '{') {
      vr_region_begin(p, "");
      seq_setup(p, ';', 0, T_PLAIN);
      return 0;
    }
    p->tstate = T_PLAIN;
    return 0;
  }
  case J_START: { /* tool_choice required: a JSON list of calls */
    size_t w = vr_ws_len(s, n);
    if (w) { vr_content_out(p, s, w); return (long)w; }
    if (s[0] == '[') {
      vr_region_begin(p, "[");
      seq_setup(p, ',', ']', T_PLAIN);
      return 1;
    }
    p->tstate = T_PLAIN;
    return 0;
  }
  case N_START: /* tool_choice named: the reply is the arguments object */
    vr_pbuf_clear(&p->raw);
    vr_call_reset(p);
    if (vr_call_set_name(p, p->named_function.p, p->named_function.len)) {
      p->tstate = T_PLAIN;
      return 0;
    }
    p->args_after = T_PLAIN;
    p->tstate = A_PRE;
    return 0;
  case M_AFTER_MARK: { /* after [TOOL_CALLS]: a list, an object, or a name */
    size_t w = vr_ws_len(s, n);
    if (w) { vr_raw_take(p, s, w); return (long)w; }
    if (s[0] == '[') {
      vr_raw_take(p, s, 1);
      seq_setup(p, ',', ']', T_TEXT);
      return 1;
    }
    if (s[0] == '{') {
      seq_setup(p, ',', 0, T_TEXT);
      return 0;
    }
    vr_call_reset(p);
    p->args_after = T_TEXT;
    p->tstate = M_NAME;
    return 0;
  }
  case M_NAME:
    return mistral_name(p, s, n, eof);
  case SEQ_EXPECT: {
    size_t w = vr_ws_len(s, n);
    if (w) { vr_raw_take(p, s, w); return (long)w; }
    if (s[0] == '{') {
      vr_call_reset(p);
      p->tstate = SEQ_BODY;
      return 0;
    }
    if (p->seq_close && s[0] == p->seq_close) {
      vr_raw_take(p, s, 1);
      if (!p->block_used) { /* an empty list: nothing was called */
        p->warnings |= VR_WARN_MALFORMED_CALL;
        vr_emit_raw_as_content(p);
      }
      vr_pbuf_clear(&p->raw);
      p->tstate = p->seq_after_close;
      return 1;
    }
    vr_call_malformed(p);
    return 0;
  }
  case SEQ_BODY:
    return seq_body(p, s, n);
  case SEQ_AFTER: {
    size_t w = vr_ws_len(s, n);
    if (w) { vr_raw_take(p, s, w); return (long)w; }
    if (s[0] == p->seq_sep) {
      vr_raw_take(p, s, 1);
      p->tstate = SEQ_EXPECT;
      return 1;
    }
    if (p->seq_close && s[0] == p->seq_close) {
      vr_pbuf_clear(&p->raw);
      p->tstate = p->seq_after_close;
      return 1;
    }
    /* text after the calls is content */
    vr_emit_raw_as_content(p);
    p->tstate = T_PLAIN;
    return 0;
  }
  default:
    return 0;
  }
}
