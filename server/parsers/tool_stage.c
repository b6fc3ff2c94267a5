/* tool_stage.c — the tool-call half of the pipeline: content in, content
 * and tool-call events out. Holds the run loop, the states every grammar
 * shares (plain text, skipping a malformed call), the content gate, and
 * what happens at end of input. The grammars live in grammar_*.c.
 */
#include "parser_impl.h"

#include <string.h>

void vr_oom(vr_parser *p) { p->failed = 1; }

void vr_emit_text(vr_parser *p, vr_event_kind kind, const char *s, size_t n) {
  if (n == 0 || p->failed) return;
  vr_event ev = {.kind = kind, .text = s, .len = n, .index = -1};
  p->fn(p->user, &ev);
}

void vr_reasoning_out(vr_parser *p, const char *s, size_t n) {
  vr_emit_text(p, VR_EV_REASONING, s, n);
}

/* The content gate. Whitespace that only separates tool calls from each
 * other or from the start / end of the content is not content: after the
 * start and after each call, a whitespace run is held; text that follows
 * releases it, a call start drops it, and so does the end of output once a
 * call was made. (Without a tool parser, content passes untouched.) */
void vr_content_out(vr_parser *p, const char *s, size_t n) {
  if (n == 0) return;
  if (p->grammar == G_NONE) {
    vr_emit_text(p, VR_EV_CONTENT, s, n);
    return;
  }
  if (p->gate_hold) {
    size_t w = vr_ws_len(s, n);
    if (vr_pbuf_append(&p->gate_ws, s, w)) { vr_oom(p); return; }
    if (w == n) return;
    vr_emit_text(p, VR_EV_CONTENT, p->gate_ws.p, p->gate_ws.len);
    vr_pbuf_clear(&p->gate_ws);
    p->gate_hold = 0;
    s += w;
    n -= w;
  }
  vr_emit_text(p, VR_EV_CONTENT, s, n);
}

void vr_gate_call_ended(vr_parser *p) { p->gate_hold = 1; }

size_t vr_ws_len(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && vr_is_ws((unsigned char)s[i])) i++;
  return i;
}

long vr_scan_text(vr_parser *p, const char *s, size_t n, int eof, const char *const *markers,
                  int *which, void (*out)(vr_parser *, const char *, size_t)) {
  *which = -1;
  for (size_t i = 0; i < n; i++) {
    int partial = 0;
    for (int k = 0; markers && markers[k]; k++) {
      if (markers[k][0] != s[i]) continue;
      int m = vr_marker_at(s + i, n - i, markers[k]);
      if (m == 1) {
        if (i > 0) { out(p, s, i); return (long)i; }
        *which = k;
        return (long)strlen(markers[k]);
      }
      if (m == 0) partial = 1;
    }
    if (partial && !eof) { /* could still become a marker: hold it */
      if (i > 0) { out(p, s, i); return (long)i; }
      return NEED_MORE;
    }
  }
  size_t e = eof ? n : vr_utf8_complete_len(s, n);
  if (e == 0) return NEED_MORE;
  out(p, s, e);
  return (long)e;
}

void vr_raw_take(vr_parser *p, const char *s, size_t n) {
  if (vr_pbuf_append(&p->raw, s, n)) vr_oom(p);
}

void vr_region_begin(vr_parser *p, const char *marker) {
  vr_pbuf_clear(&p->raw);
  vr_raw_take(p, marker, strlen(marker));
  p->block_used = 0;
  vr_call_reset(p);
}

void vr_emit_raw_as_content(vr_parser *p) {
  vr_content_out(p, p->raw.p, p->raw.len);
  vr_pbuf_clear(&p->raw);
}

static void drop_text(vr_parser *p, const char *s, size_t n) { (void)p; (void)s; (void)n; }
static void raw_text(vr_parser *p, const char *s, size_t n) { vr_raw_take(p, s, n); }

/* T_SKIP keeps the text (it becomes content at the end marker), T_JUNK
 * drops it; both stop at the first of the grammar's region end markers. */
static long skip_step(vr_parser *p, const char *s, size_t n, int eof, int keep) {
  const char *markers[3] = {p->skip_marker[0], p->skip_marker[1], NULL};
  int which;
  long r = vr_scan_text(p, s, n, eof, markers, &which, keep ? raw_text : drop_text);
  if (r <= 0 || which < 0) return r;
  if (keep) {
    vr_raw_take(p, s, (size_t)r);
    vr_emit_raw_as_content(p);
  }
  vr_pbuf_clear(&p->raw);
  p->tstate = p->skip_next[which];
  return r;
}

static long tool_step(vr_parser *p, const char *s, size_t n, int eof) {
  switch (p->tstate) {
  case T_TEXT: {
    int which;
    long r = vr_scan_text(p, s, n, eof, vr_grammar_markers(p), &which, vr_content_out);
    if (r <= 0 || which < 0) return r;
    return vr_grammar_opened(p, which, (size_t)r);
  }
  case T_PLAIN: {
    size_t e = eof ? n : vr_utf8_complete_len(s, n);
    if (e == 0) return NEED_MORE;
    vr_content_out(p, s, e);
    return (long)e;
  }
  case T_SKIP: return skip_step(p, s, n, eof, 1);
  case T_JUNK: return skip_step(p, s, n, eof, 0);
  case H_PRE: case H_BODY: case H_POST:
    return vr_hermes_step(p, s, n, eof);
  case D_WAIT: case D_TYPE: case D_NAME: case D_POST:
    return vr_deepseek_step(p, s, n, eof);
  case A_PRE: case A_BODY:
    return vr_args_step(p, s, n, eof);
  default:
    return vr_seq_step(p, s, n, eof);
  }
}

static void tool_run(vr_parser *p, int eof) {
  size_t pos = 0;
  while (pos < p->t_in.len && !p->failed) {
    tool_state before = p->tstate;
    long r = tool_step(p, p->t_in.p + pos, p->t_in.len - pos, eof);
    if (r == NEED_MORE) {
      if (!eof) break;
      r = 0; /* cannot happen by design; never spin: hand the rest over */
      vr_content_out(p, p->t_in.p + pos, p->t_in.len - pos);
      pos = p->t_in.len;
      break;
    }
    if (r == 0 && before == p->tstate) { /* no progress: same guard */
      vr_content_out(p, p->t_in.p + pos, p->t_in.len - pos);
      pos = p->t_in.len;
      break;
    }
    pos += (size_t)r;
  }
  vr_pbuf_drop_front(&p->t_in, pos);
  vr_call_flush_args(p, eof);
}

void vr_tool_init(vr_parser *p) {
  p->gate_hold = 1;
  vr_call_reset(p);
  vr_grammar_start(p);
}

void vr_tool_feed(vr_parser *p, const char *s, size_t n) {
  if (p->grammar == G_NONE) {
    /* no tool parser: still never split a UTF-8 character */
    if (vr_pbuf_append(&p->t_in, s, n)) { vr_oom(p); return; }
    size_t e = vr_utf8_complete_len(p->t_in.p, p->t_in.len);
    vr_content_out(p, p->t_in.p, e);
    vr_pbuf_drop_front(&p->t_in, e);
    return;
  }
  if (vr_pbuf_append(&p->t_in, s, n)) { vr_oom(p); return; }
  tool_run(p, 0);
}

void vr_tool_finish(vr_parser *p) {
  if (p->grammar == G_NONE) {
    vr_content_out(p, p->t_in.p, p->t_in.len);
    vr_pbuf_clear(&p->t_in);
    return;
  }
  tool_run(p, 1);
  if (p->failed) return;
  switch (p->tstate) {
  case T_TEXT: case T_PLAIN: case T_JUNK:
  case H_POST: case D_POST: case SEQ_AFTER: case L_START: case J_START:
    break;
  case T_SKIP:
    vr_emit_raw_as_content(p);
    break;
  case D_WAIT: case SEQ_EXPECT: case M_AFTER_MARK:
    /* a block opened but no call in it ended or was tried: its markers
     * were not tool calls after all */
    if (!p->block_used) {
      p->warnings |= VR_WARN_MALFORMED_CALL;
      vr_emit_raw_as_content(p);
    }
    break;
  default: /* inside a call */
    if (p->ended) {
      p->warnings |= VR_WARN_IGNORED_TEXT; /* complete arguments, broken wrapper */
    } else {
      p->skip_marker[0] = NULL;
      vr_call_malformed(p);
    }
    break;
  }
  vr_pbuf_clear(&p->raw);
  /* trailing whitespace: content only if no call was ever made */
  if (p->gate_ws.len) {
    if (p->next_index == 0) vr_emit_text(p, VR_EV_CONTENT, p->gate_ws.p, p->gate_ws.len);
    vr_pbuf_clear(&p->gate_ws);
  }
}
