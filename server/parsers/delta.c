/* delta.c — the events of one feed gathered into what one streamed chunk's
 * `delta` needs: content, reasoning, and per call index its id and name
 * (first chunk of the call only) and the argument fragments joined. */
#include "parsers.h"

#include <stdlib.h>
#include <string.h>

static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap : 64;
    while (c < *len + n + 1) c *= 2;
    char *q = realloc(*buf, c);
    if (!q) return -1;
    *buf = q;
    *cap = c;
  }
  if (n) memcpy(*buf + *len, s, n);
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

/* The entry of call `index` in this chunk, added when missing. */
static vr_tool_delta *tool_entry(vr_parse_delta *d, int index) {
  if (d->n_tools && d->tools[d->n_tools - 1].index == index) return &d->tools[d->n_tools - 1];
  if (d->n_tools == d->cap_tools) {
    size_t c = d->cap_tools ? d->cap_tools * 2 : 4;
    vr_tool_delta *q = realloc(d->tools, c * sizeof *q);
    if (!q) return NULL;
    memset(q + d->cap_tools, 0, (c - d->cap_tools) * sizeof *q);
    d->tools = q;
    d->cap_tools = c;
  }
  vr_tool_delta *t = &d->tools[d->n_tools++];
  /* entries are reused after a clear: keep the arguments buffer */
  t->index = index;
  t->arguments_len = 0;
  t->aborted = 0;
  if (t->arguments) t->arguments[0] = '\0';
  return t;
}

void vr_parse_delta_collect(void *delta, const vr_event *ev) {
  vr_parse_delta *d = delta;
  if (d->failed) return;
  vr_tool_delta *t;
  switch (ev->kind) {
  case VR_EV_CONTENT:
    if (put(&d->content, &d->content_len, &d->content_cap, ev->text, ev->len)) d->failed = 1;
    break;
  case VR_EV_REASONING:
    if (put(&d->reasoning, &d->reasoning_len, &d->reasoning_cap, ev->text, ev->len)) d->failed = 1;
    break;
  case VR_EV_TOOL_START:
    if (!(t = tool_entry(d, ev->index))) { d->failed = 1; return; }
    free(t->id);
    free(t->name);
    t->id = dup_str(ev->id);
    t->name = dup_str(ev->name);
    if (!t->id || !t->name) d->failed = 1;
    break;
  case VR_EV_TOOL_ARGS:
    if (!(t = tool_entry(d, ev->index))) { d->failed = 1; return; }
    if (put(&t->arguments, &t->arguments_len, &t->arguments_cap, ev->text, ev->len)) d->failed = 1;
    break;
  case VR_EV_TOOL_END:
    if (ev->aborted) {
      if (!(t = tool_entry(d, ev->index))) { d->failed = 1; return; }
      t->aborted = 1;
    }
    break;
  }
}

int vr_parse_delta_empty(const vr_parse_delta *d) {
  for (size_t i = 0; i < d->n_tools; i++)
    if (d->tools[i].id || d->tools[i].arguments_len) return 0;
  return d->content_len == 0 && d->reasoning_len == 0;
}

void vr_parse_delta_clear(vr_parse_delta *d) {
  d->content_len = d->reasoning_len = 0;
  if (d->content) d->content[0] = '\0';
  if (d->reasoning) d->reasoning[0] = '\0';
  for (size_t i = 0; i < d->n_tools; i++) {
    vr_tool_delta *t = &d->tools[i];
    free(t->id);
    free(t->name);
    t->id = t->name = NULL;
    t->arguments_len = 0;
    if (t->arguments) t->arguments[0] = '\0';
  }
  d->n_tools = 0;
  d->failed = 0;
}

void vr_parse_delta_free(vr_parse_delta *d) {
  if (!d) return;
  vr_parse_delta_clear(d);
  for (size_t i = 0; i < d->cap_tools; i++) free(d->tools[i].arguments);
  free(d->tools);
  free(d->content);
  free(d->reasoning);
  memset(d, 0, sizeof *d);
}
