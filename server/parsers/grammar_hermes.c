/* grammar_hermes.c — Qwen2.5 / Qwen3 / Hermes tool calls:
 *
 *   text <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call> text
 *
 * Any number of calls, text around them. A missing </tool_call> at the end
 * of output is accepted when the object is complete. A call that is not a
 * valid object with a string "name" and an object "arguments" stays
 * content, from <tool_call> through </tool_call>.
 */
#include "parser_impl.h"

long vr_hermes_step(vr_parser *p, const char *s, size_t n, int eof) {
  (void)eof;
  switch (p->tstate) {
  case H_PRE: { /* whitespace, then the object */
    size_t w = vr_ws_len(s, n);
    if (w) { vr_raw_take(p, s, w); return (long)w; }
    if (s[0] != '{') { vr_call_malformed(p); return 0; }
    p->tstate = H_BODY;
    return 0;
  }
  case H_BODY: {
    size_t i = 0;
    for (; i < n; i++) {
      int r = vr_call_object_byte(p, (unsigned char)s[i]);
      if (r < 0) break;
      if (r == 1) { i++; p->tstate = H_POST; break; }
    }
    vr_raw_take(p, s, i);
    vr_call_progress(p);
    if (p->tstate == H_POST) {
      if (!p->ended) { vr_call_malformed(p); return (long)i; } /* no name or no arguments */
      vr_pbuf_clear(&p->raw);
      return (long)i;
    }
    if (i < n) { /* an invalid byte */
      if (p->ended) { /* arguments were complete: keep the call, drop the rest */
        p->warnings |= VR_WARN_IGNORED_TEXT;
        p->tstate = T_JUNK;
      } else {
        vr_call_malformed(p);
      }
    }
    return (long)i;
  }
  case H_POST: { /* whitespace, then </tool_call> */
    size_t w = vr_ws_len(s, n);
    if (w) return (long)w;
    int m = vr_marker_at(s, n, "</tool_call>");
    if (m == 1) { p->tstate = T_TEXT; return (long)sizeof("</tool_call>") - 1; }
    if (m == 0 && !eof) return NEED_MORE;
    p->warnings |= VR_WARN_IGNORED_TEXT;
    p->tstate = T_JUNK;
    return 0;
  }
  default:
    return 0;
  }
}
