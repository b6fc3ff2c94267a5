/* grammar_deepseek.c — DeepSeek V3 / R1 tool calls, as its chat template
 * writes them:
 *
 *   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n
 *   ```json\n{...}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>...
 *   <｜tool▁calls▁end｜>
 *
 * and the V3.1 form without type and fences:
 *   <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜>
 *
 * The arguments are the object itself (no name/arguments wrapper). A call
 * that does not parse stays content from <｜tool▁call▁begin｜> (with the
 * block's opening marker when it is the block's first) through
 * <｜tool▁call▁end｜>; later calls in the block are still parsed.
 */
#include "parser_impl.h"

#include <string.h>

#define DS_CALLS_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define DS_CALLS_END "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>"
#define DS_CALL_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define DS_CALL_END "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>"
#define DS_SEP "<\xef\xbd\x9ctool\xe2\x96\x81" "sep\xef\xbd\x9c>"

const char vr_ds_calls_begin[] = DS_CALLS_BEGIN;

void vr_deepseek_setup(vr_parser *p);
void vr_deepseek_setup(vr_parser *p) {
  p->skip_marker[0] = DS_CALL_END;
  p->skip_next[0] = D_WAIT;
  p->skip_marker[1] = DS_CALLS_END;
  p->skip_next[1] = T_TEXT;
  p->args_after = D_POST;
}

/* Bytes up to the first '<' that could open `marker`, or NEED_MORE. Text
 * is collected into p->name (type or name); a newline ends a name. */
static long collect_until(vr_parser *p, const char *s, size_t n, int eof, const char *marker,
                          int stop_at_newline, int *found) {
  *found = 0;
  size_t i = 0;
  for (; i < n; i++) {
    if (stop_at_newline && s[i] == '\n') { *found = 2; break; }
    if (s[i] != '<') continue;
    int m = vr_marker_at(s + i, n - i, marker);
    if (m == 1) { *found = 1; break; }
    if (m == 0 && !eof) break;
  }
  if (vr_pbuf_append(&p->name, s, i)) vr_oom(p);
  vr_raw_take(p, s, i);
  if (p->name.len > VR_NAME_MAX + 16) { *found = -1; return (long)i; }
  if (i == 0 && !*found) return NEED_MORE;
  return (long)i;
}

long vr_deepseek_step(vr_parser *p, const char *s, size_t n, int eof) {
  switch (p->tstate) {
  case D_WAIT: { /* between calls: whitespace, a call, or the block's end */
    size_t w = vr_ws_len(s, n);
    if (w) { vr_raw_take(p, s, w); return (long)w; }
    int a = vr_marker_at(s, n, DS_CALL_BEGIN);
    int b = vr_marker_at(s, n, DS_CALLS_END);
    if (a == 1) {
      vr_call_reset(p);
      vr_raw_take(p, s, sizeof(DS_CALL_BEGIN) - 1);
      p->tstate = D_TYPE;
      return (long)sizeof(DS_CALL_BEGIN) - 1;
    }
    if (b == 1) {
      if (!p->block_used) { p->warnings |= VR_WARN_MALFORMED_CALL; vr_emit_raw_as_content(p); }
      vr_pbuf_clear(&p->raw);
      p->tstate = T_TEXT;
      return (long)sizeof(DS_CALLS_END) - 1;
    }
    if ((a == 0 || b == 0) && !eof) return NEED_MORE;
    /* other text: the block is over (its end marker is missing) */
    if (!p->block_used) { p->warnings |= VR_WARN_MALFORMED_CALL; vr_emit_raw_as_content(p); }
    vr_pbuf_clear(&p->raw);
    p->tstate = T_TEXT;
    return 0;
  }
  case D_TYPE: { /* "function" (V3) or the name itself (V3.1), then the separator */
    int found;
    long r = collect_until(p, s, n, eof, DS_SEP, 1, &found);
    if (found == 1 && r == 0) {
      vr_raw_take(p, s, sizeof(DS_SEP) - 1);
      const char *t = p->name.p ? p->name.p : "";
      size_t tl = p->name.len;
      while (tl && vr_is_ws((unsigned char)t[tl - 1])) tl--;
      while (tl && vr_is_ws((unsigned char)*t)) { t++; tl--; }
      if (tl == 8 && memcmp(t, "function", 8) == 0) {
        vr_pbuf_clear(&p->name);
        p->tstate = D_NAME;
      } else if (vr_call_set_name(p, p->name.p, p->name.len) == 0) {
        p->tstate = A_PRE;
      } else {
        vr_call_malformed(p);
      }
      return (long)sizeof(DS_SEP) - 1;
    }
    if (found == -1 || found == 2) { vr_call_malformed(p); return r; }
    return r;
  }
  case D_NAME: { /* the name, up to the end of its line */
    int found;
    long r = collect_until(p, s, n, eof, DS_CALL_END, 1, &found);
    if (found == 2 && r == 0) {
      vr_raw_take(p, s, 1);
      if (vr_call_set_name(p, p->name.p, p->name.len) == 0) p->tstate = A_PRE;
      else vr_call_malformed(p);
      return 1;
    }
    if (found == -1 || found == 1) { vr_call_malformed(p); return r; }
    return r;
  }
  case D_POST: { /* after the arguments: fence, then the call's end */
    size_t w = vr_ws_len(s, n);
    if (w) return (long)w;
    int f = vr_marker_at(s, n, "```");
    int a = vr_marker_at(s, n, DS_CALL_END);
    int b = vr_marker_at(s, n, DS_CALLS_END);
    if (f == 1) return 3;
    if (a == 1) { vr_pbuf_clear(&p->raw); p->tstate = D_WAIT; return (long)sizeof(DS_CALL_END) - 1; }
    if (b == 1) { p->tstate = T_TEXT; return (long)sizeof(DS_CALLS_END) - 1; }
    if ((f == 0 || a == 0 || b == 0) && !eof) return NEED_MORE;
    p->warnings |= VR_WARN_IGNORED_TEXT;
    p->tstate = T_JUNK;
    return 0;
  }
  default:
    return 0;
  }
}
