/* reasoning.c — the reasoning half of the pipeline: <think>…</think> to
 * reasoning events, everything after the block to the tool stage.
 *
 * Modes (see vr_think_start): AUTO looks for <think> at the very start of
 * the output (after whitespace) and otherwise passes everything on as
 * content; OPEN starts inside the block because the prompt opened it (a
 * leading <think> is still skipped); OFF never looks. A block that never
 * closes stays reasoning, unless unclosed_as_content asks for vLLM's
 * non-streaming qwen3 behaviour (the whole original text becomes content,
 * which means reasoning is held back until </think> shows up).
 */
#include "parser_impl.h"

#include <string.h>

#define THINK_OPEN "<think>"
#define THINK_CLOSE "</think>"

void vr_reasoning_init(vr_parser *p, vr_think_start start) {
  if (p->rkind == R_NONE) {
    p->rstate = R_CONTENT;
    return;
  }
  if (start == VR_THINK_DEFAULT) start = p->rkind == R_QWEN3 ? VR_THINK_AUTO : VR_THINK_OPEN;
  p->think_open = start == VR_THINK_OPEN;
  p->rstate = start == VR_THINK_OFF ? R_CONTENT : R_START;
}

static void reasoning_piece(vr_parser *p, const char *s, size_t n) {
  if (!p->unclosed_as_content) {
    vr_reasoning_out(p, s, n);
    return;
  }
  if (vr_pbuf_append(&p->r_held, s, n) || vr_pbuf_append(&p->r_raw, s, n)) vr_oom(p);
}

static long reasoning_step(vr_parser *p, const char *s, size_t n, int eof) {
  static const char *const close_marker[] = {THINK_CLOSE, NULL};
  switch (p->rstate) {
  case R_START: {
    size_t w = vr_ws_len(s, n);
    int m = vr_marker_at(s + w, n - w, THINK_OPEN);
    if (m == 1) {
      size_t used = w + sizeof(THINK_OPEN) - 1;
      if (p->unclosed_as_content && vr_pbuf_append(&p->r_raw, s, used)) vr_oom(p);
      p->rstate = R_REASONING;
      return (long)used;
    }
    if (m == 0 && !eof) return NEED_MORE;
    p->rstate = p->think_open ? R_REASONING : R_CONTENT;
    return 0;
  }
  case R_REASONING: {
    int which;
    long r = vr_scan_text(p, s, n, eof, close_marker, &which, reasoning_piece);
    if (r > 0 && which == 0) {
      if (p->unclosed_as_content) {
        vr_reasoning_out(p, p->r_held.p, p->r_held.len);
        vr_pbuf_free(&p->r_held);
        vr_pbuf_free(&p->r_raw);
      }
      p->rstate = R_CONTENT;
    }
    return r;
  }
  default:
    vr_tool_feed(p, s, n);
    return (long)n;
  }
}

static void reasoning_run(vr_parser *p, int eof) {
  size_t pos = 0;
  while (pos < p->r_in.len && !p->failed) {
    reasoning_state before = p->rstate;
    long r = reasoning_step(p, p->r_in.p + pos, p->r_in.len - pos, eof);
    if (r == NEED_MORE && !eof) break;
    if (r < 0 || (r == 0 && before == p->rstate)) { /* by design unreachable */
      vr_tool_feed(p, p->r_in.p + pos, p->r_in.len - pos);
      pos = p->r_in.len;
      break;
    }
    pos += (size_t)r;
  }
  vr_pbuf_drop_front(&p->r_in, pos);
}

void vr_reasoning_feed(vr_parser *p, const char *s, size_t n) {
  if (p->rstate == R_CONTENT && p->r_in.len == 0) { /* the common case, no copy */
    vr_tool_feed(p, s, n);
    return;
  }
  if (vr_pbuf_append(&p->r_in, s, n)) { vr_oom(p); return; }
  reasoning_run(p, 0);
}

void vr_reasoning_finish(vr_parser *p) {
  reasoning_run(p, 1);
  if (p->rstate == R_REASONING) {
    p->warnings |= VR_WARN_UNCLOSED_THINK;
    if (p->unclosed_as_content) {
      vr_tool_feed(p, p->r_raw.p, p->r_raw.len);
      vr_pbuf_clear(&p->r_raw);
      vr_pbuf_clear(&p->r_held);
    }
  }
}

int vr_prompt_opens_think(const char *prompt, size_t len) {
  size_t ol = sizeof(THINK_OPEN) - 1;
  if (!prompt || len < ol) return 0;
  for (size_t i = len - ol + 1; i-- > 0;) {
    if (memcmp(prompt + i, THINK_OPEN, ol) != 0) continue;
    /* the last <think>: only whitespace may follow it */
    return vr_ws_len(prompt + i + ol, len - i - ol) == len - i - ol;
  }
  return 0;
}
