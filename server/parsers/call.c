/* call.c — one tool call being parsed: its name, its arguments text, and
 * when the start / argument fragments / end events go out.
 *
 * The start is held back until the name is complete (and allowed) and the
 * arguments object has begun, so a call that is not a call at all (no
 * name, arguments that are not an object, an unknown tool) never shows up
 * in a stream. Arguments are the raw text of the generated object, from
 * its '{' to its matching '}', validated byte by byte as they arrive; what
 * has been sent is therefore always a valid prefix.
 */
#include "parser_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_OTHER, KEY_NAME, KEY_ARGS };

/* Appends one byte of the arguments text. A raw control character inside a
 * string is not JSON; it goes in as its escape, so the arguments stay valid
 * JSON with the meaning the model intended (a newline in code). */
static void args_put(vr_parser *p, unsigned char c, vr_json_ev ev) {
  char esc[8];
  size_t n = 1;
  esc[0] = (char)c;
  if (ev == VR_J_STR_CTRL) {
    const char *short_esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
    if (short_esc) {
      memcpy(esc, short_esc, 2);
      n = 2;
    } else {
      n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
    }
  }
  if (vr_pbuf_append(&p->args, esc, n)) vr_oom(p);
}

void vr_call_reset(vr_parser *p) {
  vr_json_scan_init(&p->js, 1);
  vr_pbuf_clear(&p->name);
  vr_pbuf_clear(&p->args);
  vr_pbuf_clear(&p->key);
  p->args_sent = 0;
  p->name_state = p->args_state = 0;
  p->key_id = KEY_OTHER;
  p->started = p->ended = p->suppressed = 0;
}

static int name_allowed(const vr_parser *p, const char *name) {
  if (p->n_names == 0) return 1;
  const char *q = p->names.p;
  for (size_t i = 0; i < p->n_names; i++) {
    if (strcmp(q, name) == 0) return 1;
    q += strlen(q) + 1;
  }
  return 0;
}

int vr_call_set_name(vr_parser *p, const char *s, size_t n) {
  /* trim: names come from between markers as often as from JSON */
  while (n && vr_is_ws((unsigned char)s[0])) { s++; n--; }
  while (n && vr_is_ws((unsigned char)s[n - 1])) n--;
  if (n == 0 || n > VR_NAME_MAX || memchr(s, '\0', n)) return -1;
  char copy[VR_NAME_MAX + 1]; /* s may point into p->name itself */
  memcpy(copy, s, n);
  vr_pbuf_clear(&p->name);
  if (vr_pbuf_append(&p->name, copy, n)) { vr_oom(p); return -1; }
  if (!name_allowed(p, p->name.p)) {
    p->warnings |= VR_WARN_UNKNOWN_TOOL;
    return -1;
  }
  p->name_state = 2;
  return 0;
}

/* The name arrives JSON-escaped; decode it once the string closes. */
static int finish_json_name(vr_parser *p) {
  char *dec = malloc(p->name.len + 1);
  size_t dlen;
  if (!dec) { vr_oom(p); return -1; }
  int rc = vr_json_unescape(p->name.p ? p->name.p : "", p->name.len, dec, &dlen);
  if (rc == 0) rc = vr_call_set_name(p, dec, dlen);
  free(dec);
  return rc;
}

static int classify_key(const vr_pbuf *k) {
  if (!k->p) return KEY_OTHER;
  if (strcmp(k->p, "name") == 0) return KEY_NAME;
  /* OpenAI says "arguments"; Llama 3 prompts ask for "parameters" */
  if (strcmp(k->p, "arguments") == 0 || strcmp(k->p, "parameters") == 0) return KEY_ARGS;
  return KEY_OTHER;
}

int vr_call_object_byte(vr_parser *p, unsigned char c) {
  int depth = p->js.depth;
  if (depth == 0 && c != '{') return -1; /* a call is an object */
  if (p->args_state == 1) {              /* inside the arguments value */
    vr_json_ev aev = vr_json_scan_byte(&p->js, c);
    if (aev == VR_J_ERR) return -1;
    args_put(p, c, aev);
    if (p->js.depth == 1) p->args_state = 2; /* its closing brace */
    return 0;
  }
  vr_json_ev ev = vr_json_scan_byte(&p->js, c);
  if (ev == VR_J_ERR) return -1;
  if (depth != 1) return 0; /* the opening brace, or inside other values */
  switch (ev) {
  case VR_J_STR_CTRL:
    if (p->name_state == 1) return -1; /* no control characters in a name */
    return 0;
  case VR_J_STR_OPEN:
    if (p->js.in_key) {
      vr_pbuf_clear(&p->key);
    } else if (p->key_id == KEY_NAME && p->name_state == 0) {
      p->name_state = 1;
    } else if (p->key_id == KEY_ARGS && p->args_state == 0) {
      return -1; /* arguments given as a string are not accepted */
    }
    if (!p->js.in_key) p->key_id = KEY_OTHER;
    return 0;
  case VR_J_STR_BYTE:
    if (p->js.in_key) {
      if (p->key.len < 64 && vr_pbuf_putc(&p->key, (char)c)) vr_oom(p);
    } else if (p->name_state == 1) {
      if (p->name.len >= 6 * VR_NAME_MAX) return -1;
      if (vr_pbuf_putc(&p->name, (char)c)) vr_oom(p);
    }
    return 0;
  case VR_J_STR_CLOSE:
    if (p->js.in_key) {
      p->key_id = p->key.len < 64 ? classify_key(&p->key) : KEY_OTHER;
    } else if (p->name_state == 1) {
      if (finish_json_name(p)) return -1;
    }
    return 0;
  case VR_J_VALUE:
    if (p->key_id == KEY_NAME && p->name_state == 0) return -1; /* name must be a string */
    if (p->key_id == KEY_ARGS && p->args_state == 0) {
      if (c != '{') return -1;
      p->args_state = 1;
      if (vr_pbuf_putc(&p->args, (char)c)) vr_oom(p);
    }
    p->key_id = KEY_OTHER;
    return 0;
  case VR_J_DONE:
    return 1;
  default:
    return 0;
  }
}

int vr_call_args_byte(vr_parser *p, unsigned char c) {
  if (p->js.depth == 0 && c != '{') return -1;
  vr_json_ev ev = vr_json_scan_byte(&p->js, c);
  if (ev == VR_J_ERR) return -1;
  if (p->args_state == 0) p->args_state = 1;
  args_put(p, c, ev);
  if (ev == VR_J_DONE) {
    p->args_state = 2;
    return 1;
  }
  return 0;
}

static void make_id(vr_parser *p, int index, char *out, size_t cap) {
  if (p->id_fn) {
    out[0] = '\0';
    p->id_fn(p->id_user, index, out, cap);
    out[cap - 1] = '\0';
    return;
  }
  /* splitmix64 of (seed, index): deterministic, no shared state */
  unsigned long long x = p->id_seed + 0x9E3779B97F4A7C15ULL * (unsigned long long)(index + 1);
  unsigned long long h[2];
  for (int k = 0; k < 2; k++) {
    x += 0x9E3779B97F4A7C15ULL;
    unsigned long long z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    h[k] = z ^ (z >> 31);
  }
  snprintf(out, cap, "chatcmpl-tool-%016llx%016llx", h[0], h[1]);
}

void vr_call_flush_args(vr_parser *p, int all) {
  if (!p->started || p->ended || p->suppressed || p->args_sent >= p->args.len) return;
  const char *s = p->args.p + p->args_sent;
  size_t n = p->args.len - p->args_sent;
  if (!all) n = vr_utf8_complete_len(s, n);
  if (n == 0) return;
  vr_event ev = {.kind = VR_EV_TOOL_ARGS, .text = s, .len = n, .index = p->next_index};
  p->args_sent += n;
  p->fn(p->user, &ev);
}

void vr_call_progress(vr_parser *p) {
  if (p->failed) return;
  if (!p->started && p->name_state == 2 && p->args_state >= 1 && p->max_calls &&
      p->calls_done >= p->max_calls) {
    vr_pbuf_clear(&p->gate_ws);
    p->started = p->suppressed = 1; /* parse it to its end, send nothing */
  }
  if (!p->started && p->name_state == 2 && p->args_state >= 1) {
    char id[VR_TOOL_ID_MAX];
    make_id(p, p->next_index, id, sizeof id);
    vr_pbuf_clear(&p->gate_ws); /* whitespace before a call is not content */
    p->started = 1;
    vr_event ev = {.kind = VR_EV_TOOL_START, .index = p->next_index, .id = id, .name = p->name.p};
    p->fn(p->user, &ev);
  }
  if (p->suppressed && !p->ended && p->args_state == 2) {
    p->ended = 1;
    p->block_used = 1;
    p->warnings |= VR_WARN_EXTRA_CALL;
    vr_gate_call_ended(p);
    return;
  }
  if (p->started && !p->ended && p->args_state == 2) {
    vr_call_flush_args(p, 1);
    vr_event ev = {.kind = VR_EV_TOOL_END, .index = p->next_index};
    p->ended = 1;
    p->next_index++;
    p->calls_done++;
    p->block_used = 1;
    p->fn(p->user, &ev);
    vr_gate_call_ended(p);
  }
}

void vr_call_malformed(vr_parser *p) {
  p->warnings |= VR_WARN_MALFORMED_CALL;
  if (p->started && !p->ended && !p->suppressed) {
    vr_event ev = {.kind = VR_EV_TOOL_END, .index = p->next_index, .aborted = 1};
    p->warnings |= VR_WARN_ABORTED_CALL;
    p->ended = 1;
    p->next_index++;
    p->fn(p->user, &ev);
  }
  p->started = p->ended = p->suppressed = 0;
  p->block_used = 1;
  if (p->skip_marker[0]) {
    p->tstate = T_SKIP;
  } else {
    vr_emit_raw_as_content(p);
    p->tstate = T_PLAIN;
  }
}
