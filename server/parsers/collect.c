/* collect.c — events accumulated into one answer, and the one-shot parse
 * that is nothing but a parser fed everything at once. */
#include "parsers.h"

#include <stdlib.h>
#include <string.h>

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap : 64;
    while (c < *len + n + 1) c *= 2;
    char *q = realloc(*buf, c);
    if (!q) return -1;
    *buf = q;
    *cap = c;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static void free_call(vr_tool_call *c) {
  free(c->id);
  free(c->name);
  free(c->arguments);
  memset(c, 0, sizeof *c);
}

void vr_parse_collect(void *result, const vr_event *ev) {
  vr_parse_result *r = result;
  if (r->failed) return;
  switch (ev->kind) {
  case VR_EV_CONTENT:
    if (append(&r->content, &r->content_len, &r->content_cap, ev->text, ev->len)) r->failed = 1;
    break;
  case VR_EV_REASONING:
    if (append(&r->reasoning, &r->reasoning_len, &r->reasoning_cap, ev->text, ev->len)) r->failed = 1;
    break;
  case VR_EV_TOOL_START: {
    if (r->n_calls == r->cap_calls) {
      size_t c = r->cap_calls ? r->cap_calls * 2 : 4;
      vr_tool_call *q = realloc(r->calls, c * sizeof *q);
      if (!q) { r->failed = 1; return; }
      r->calls = q;
      r->cap_calls = c;
    }
    vr_tool_call *call = &r->calls[r->n_calls++];
    memset(call, 0, sizeof *call);
    call->id = dup_str(ev->id);
    call->name = dup_str(ev->name);
    r->args_len = r->args_cap = 0;
    r->open_index = ev->index;
    if (!call->id || !call->name || append(&call->arguments, &r->args_len, &r->args_cap, "", 0))
      r->failed = 1;
    break;
  }
  case VR_EV_TOOL_ARGS:
    if (r->n_calls == 0) return;
    if (append(&r->calls[r->n_calls - 1].arguments, &r->args_len, &r->args_cap, ev->text, ev->len))
      r->failed = 1;
    break;
  case VR_EV_TOOL_END:
    if (ev->aborted && r->n_calls > 0) free_call(&r->calls[--r->n_calls]);
    break;
  }
}

void vr_parse_result_free(vr_parse_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_calls; i++) free_call(&r->calls[i]);
  free(r->calls);
  free(r->content);
  free(r->reasoning);
  memset(r, 0, sizeof *r);
}

int vr_parse_text(const vr_parser_opts *opts, const char *text, size_t len, vr_parse_result *out,
                  char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  vr_parser *p = vr_parser_create(opts, vr_parse_collect, out, err, errcap);
  if (!p) return -1;
  int rc = vr_parser_feed(p, text, len);
  if (rc == 0) rc = vr_parser_finish(p);
  out->warnings = vr_parser_warnings(p);
  vr_parser_destroy(p);
  if (rc || out->failed) {
    vr_parse_result_free(out);
    if (err && errcap) {
      strncpy(err, "out of memory", errcap - 1);
      err[errcap - 1] = '\0';
    }
    return -1;
  }
  return 0;
}
