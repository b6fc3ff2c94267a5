/* parsers_harness.c — see parsers_harness.h. The streaming contract checked
 * on every event sequence:
 *   - a call's first event is TOOL_START with index, id, name; indices
 *     count up from 0; then only TOOL_ARGS of that index; then TOOL_END;
 *   - no content or reasoning while a call is open; no empty events;
 *     every text fragment is whole UTF-8 characters (for valid input);
 *   - the concatenated arguments of a completed call are one JSON object;
 *   - vr_parser_tool_calls() counts the completed calls. */
#include "parsers_harness.h"
#include "json_scan.h"

#include <stdlib.h>
#include <string.h>

int vr_test_failures;

typedef struct {
  vr_parse_result res;
  vr_parse_delta delta;   /* the same events, chunk by chunk */
  vr_parse_result folded; /* the chunks replayed, as a client would */
  int open;
  int open_index;
  int next_index;
  int check_utf8;
  char violation[200];
} stream_state;

static void violate(stream_state *s, const char *what, int index) {
  if (!s->violation[0]) snprintf(s->violation, sizeof s->violation, "%s (index %d)", what, index);
}

int harness_utf8_whole(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return 0;
    for (size_t k = 1; k < len; k++)
      if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
    i += len;
  }
  return 1;
}

static void on_event(void *user, const vr_event *ev) {
  stream_state *s = user;
  switch (ev->kind) {
  case VR_EV_CONTENT:
  case VR_EV_REASONING:
    if (s->open) violate(s, "text while a call is open", s->open_index);
    if (ev->len == 0) violate(s, "empty text event", -1);
    if (s->check_utf8 && !harness_utf8_whole(ev->text, ev->len))
      violate(s, "text fragment splits a UTF-8 character", -1);
    break;
  case VR_EV_TOOL_START:
    if (s->open) violate(s, "start while a call is open", ev->index);
    if (ev->index != s->next_index) violate(s, "call index not consecutive", ev->index);
    if (!ev->id || strncmp(ev->id, "chatcmpl-tool-", 14) != 0) violate(s, "bad id", ev->index);
    if (!ev->name || !ev->name[0]) violate(s, "start without a name", ev->index);
    s->open = 1;
    s->open_index = ev->index;
    s->next_index++;
    break;
  case VR_EV_TOOL_ARGS:
    if (!s->open || ev->index != s->open_index) violate(s, "arguments outside their call", ev->index);
    if (ev->len == 0) violate(s, "empty arguments fragment", ev->index);
    if (s->check_utf8 && !harness_utf8_whole(ev->text, ev->len))
      violate(s, "arguments fragment splits a UTF-8 character", ev->index);
    break;
  case VR_EV_TOOL_END:
    if (!s->open || ev->index != s->open_index) violate(s, "end of a call that is not open", ev->index);
    s->open = 0;
    break;
  default:
    violate(s, "unknown event", -1);
  }
  vr_parse_collect(&s->res, ev);
  vr_parse_delta_collect(&s->delta, ev);
}

/* Replays one chunk's delta into `folded`, as a client accumulates chunks. */
static void fold_delta(stream_state *s) {
  vr_parse_delta *d = &s->delta;
  if (d->failed) violate(s, "delta collector failed", -1);
  if (d->content_len) {
    vr_event ev = {.kind = VR_EV_CONTENT, .text = d->content, .len = d->content_len};
    vr_parse_collect(&s->folded, &ev);
  }
  if (d->reasoning_len) {
    vr_event ev = {.kind = VR_EV_REASONING, .text = d->reasoning, .len = d->reasoning_len};
    vr_parse_collect(&s->folded, &ev);
  }
  for (size_t i = 0; i < d->n_tools; i++) {
    const vr_tool_delta *t = &d->tools[i];
    if (t->id) {
      vr_event ev = {.kind = VR_EV_TOOL_START, .index = t->index, .id = t->id, .name = t->name};
      vr_parse_collect(&s->folded, &ev);
    }
    if (t->arguments_len) {
      vr_event ev = {.kind = VR_EV_TOOL_ARGS, .index = t->index, .text = t->arguments, .len = t->arguments_len};
      vr_parse_collect(&s->folded, &ev);
    }
    if (t->aborted) {
      vr_event ev = {.kind = VR_EV_TOOL_END, .index = t->index, .aborted = 1};
      vr_parse_collect(&s->folded, &ev);
    }
  }
  vr_parse_delta_clear(d);
  if (!vr_parse_delta_empty(d)) violate(s, "delta not empty after clear", -1);
}

static void test_ids(void *user, int index, char *out, size_t cap) {
  (void)user;
  snprintf(out, cap, "chatcmpl-tool-%08x", (unsigned)(index * 2654435761u) ^ 0x5eedu);
}

void harness_fixture_opts(const fixture *f, vr_parser_opts *o, const char **allow) {
  memset(o, 0, sizeof *o);
  o->tool_parser = f->tool_parser;
  o->reasoning_parser = f->reasoning_parser;
  o->think_start = f->think_start;
  o->unclosed_think_as_content = f->unclosed_as_content;
  o->tool_choice = f->tool_choice;
  o->named_function = f->named_function;
  o->max_calls = f->max_calls;
  o->id_fn = test_ids;
  if (f->allowed_tool) {
    *allow = f->allowed_tool;
    o->tool_names = allow;
    o->n_tool_names = 1;
  }
}

int harness_json_object_valid(const char *s) {
  vr_json_scan j;
  vr_json_scan_init(&j, 0);
  if (*s != '{') return 0;
  for (; *s; s++) {
    vr_json_ev ev = vr_json_scan_byte(&j, (unsigned char)*s);
    if (ev == VR_J_ERR) return 0;
    if (ev == VR_J_DONE) return s[1] == '\0';
  }
  return 0;
}

int harness_same_str(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

void harness_show(const char *label, const char *s) {
  fprintf(stderr, "    %s: %s%s%s\n", label, s ? "\"" : "", s ? s : "(null)", s ? "\"" : "");
}

int harness_results_equal(const vr_parse_result *a, const vr_parse_result *b) {
  if (!harness_same_str(a->content, b->content) || !harness_same_str(a->reasoning, b->reasoning)) return 0;
  if (a->n_calls != b->n_calls || a->warnings != b->warnings) return 0;
  for (size_t i = 0; i < a->n_calls; i++) {
    if (!harness_same_str(a->calls[i].id, b->calls[i].id) ||
        !harness_same_str(a->calls[i].name, b->calls[i].name) ||
        !harness_same_str(a->calls[i].arguments, b->calls[i].arguments))
      return 0;
  }
  return 1;
}

int harness_one_shot(const vr_parser_opts *o, const char *text, size_t len, vr_parse_result *out,
                     const char *label) {
  char err[200];
  if (vr_parse_text(o, text, len, out, err, sizeof err)) {
    FAIL("[%s] one-shot parse failed: %s", label, err);
    return -1;
  }
  for (size_t i = 0; i < out->n_calls; i++)
    if (!harness_json_object_valid(out->calls[i].arguments))
      FAIL("[%s] call %zu arguments are not one JSON object: %s", label, i, out->calls[i].arguments);
  return 0;
}

void harness_run_split(const vr_parser_opts *o, const char *text, size_t len, const size_t *cuts,
                       size_t ncuts, const vr_parse_result *ref, const char *label, const char *how) {
  stream_state s;
  memset(&s, 0, sizeof s);
  s.check_utf8 = harness_utf8_whole(text, len);
  char err[200];
  vr_parser *p = vr_parser_create(o, on_event, &s, err, sizeof err);
  if (!p) { FAIL("[%s] create: %s", label, err); return; }
  size_t pos = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    if (vr_parser_feed(p, text + pos, end - pos)) FAIL("[%s] feed failed", label);
    fold_delta(&s);
    pos = end;
  }
  if (vr_parser_finish(p)) FAIL("[%s] finish failed", label);
  fold_delta(&s);
  s.res.warnings = vr_parser_warnings(p);
  if ((size_t)vr_parser_tool_calls(p) != s.res.n_calls)
    FAIL("[%s] %s: vr_parser_tool_calls %d != %zu calls", label, how, vr_parser_tool_calls(p), s.res.n_calls);
  vr_parser_destroy(p);
  if (s.open) violate(&s, "call still open after finish", s.open_index);
  if (s.violation[0]) FAIL("[%s] %s: contract broken: %s", label, how, s.violation);
  if (!harness_results_equal(&s.res, ref)) {
    FAIL("[%s] %s: stream reassembly differs from the one-shot parse", label, how);
    harness_show("content  ", s.res.content);
    harness_show("one-shot ", ref->content);
    harness_show("reasoning", s.res.reasoning);
    harness_show("one-shot ", ref->reasoning);
    fprintf(stderr, "    calls %zu vs %zu, warnings 0x%x vs 0x%x\n", s.res.n_calls, ref->n_calls,
            s.res.warnings, ref->warnings);
  }
  s.folded.warnings = s.res.warnings;
  if (!harness_results_equal(&s.folded, &s.res))
    FAIL("[%s] %s: chunk deltas replayed differ from the events collected", label, how);
  vr_parse_result_free(&s.res);
  vr_parse_result_free(&s.folded);
  vr_parse_delta_free(&s.delta);
}

unsigned long long harness_rng(unsigned long long *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}
