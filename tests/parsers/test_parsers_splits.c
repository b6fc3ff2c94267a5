/* test_parsers_splits.c — every recorded output through its parser, split
 * at every byte boundary (all 2-chunk splits, all single bytes) and at
 * seeded random multi-chunk boundaries. Each run must reassemble to the
 * one-shot parse, the one-shot parse must equal the recorded expectation,
 * and every event sequence must keep the streaming contract:
 *   - a call's first event is TOOL_START with index, id, name; indices
 *     count up from 0; then only TOOL_ARGS of that index; then TOOL_END;
 *   - no content or reasoning while a call is open; every text fragment
 *     is whole UTF-8 characters; no marker text in content;
 *   - the concatenated arguments of a completed call are one valid JSON
 *     object. */
#include "parsers_fixtures.h"
#include "json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define FAIL(...)                                                                  \
  do {                                                                             \
    if (failures++ < 40) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); }    \
  } while (0)

typedef struct {
  vr_parse_result res;
  int open;         /* a call is open */
  int open_index;
  int next_index;
  char violation[200];
} stream_state;

static void violate(stream_state *s, const char *what, int index) {
  if (!s->violation[0]) snprintf(s->violation, sizeof s->violation, "%s (index %d)", what, index);
}

/* Whole UTF-8 characters only: no leading continuation byte, no cut tail. */
static int utf8_whole(const char *s, size_t n) {
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
    if (!utf8_whole(ev->text, ev->len)) violate(s, "text fragment splits a UTF-8 character", -1);
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
    if (!utf8_whole(ev->text, ev->len)) violate(s, "arguments fragment splits a UTF-8 character", ev->index);
    break;
  case VR_EV_TOOL_END:
    if (!s->open || ev->index != s->open_index) violate(s, "end of a call that is not open", ev->index);
    s->open = 0;
    break;
  default:
    violate(s, "unknown event", -1);
  }
  vr_parse_collect(&s->res, ev);
}

static void test_ids(void *user, int index, char *out, size_t cap) {
  (void)user;
  snprintf(out, cap, "chatcmpl-tool-%08x", (unsigned)(index * 2654435761u) ^ 0x5eedu);
}

static void fixture_opts(const fixture *f, vr_parser_opts *o, const char **allow) {
  memset(o, 0, sizeof *o);
  o->tool_parser = f->tool_parser;
  o->reasoning_parser = f->reasoning_parser;
  o->think_start = f->think_start;
  o->unclosed_think_as_content = f->unclosed_as_content;
  o->tool_choice = f->tool_choice;
  o->named_function = f->named_function;
  o->id_fn = test_ids;
  if (f->allowed_tool) {
    *allow = f->allowed_tool;
    o->tool_names = allow;
    o->n_tool_names = 1;
  }
}

static int json_object_valid(const char *s) {
  vr_json_scan j;
  vr_json_scan_init(&j);
  if (*s != '{') return 0;
  for (; *s; s++) {
    vr_json_ev ev = vr_json_scan_byte(&j, (unsigned char)*s);
    if (ev == VR_J_ERR) return 0;
    if (ev == VR_J_DONE) return s[1] == '\0';
  }
  return 0;
}

static int same_str(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

static void show(const char *label, const char *s) {
  fprintf(stderr, "    %s: %s%s%s\n", label, s ? "\"" : "", s ? s : "(null)", s ? "\"" : "");
}

static int results_equal(const vr_parse_result *a, const vr_parse_result *b) {
  if (!same_str(a->content, b->content) || !same_str(a->reasoning, b->reasoning)) return 0;
  if (a->n_calls != b->n_calls || a->warnings != b->warnings) return 0;
  for (size_t i = 0; i < a->n_calls; i++) {
    if (!same_str(a->calls[i].id, b->calls[i].id) || !same_str(a->calls[i].name, b->calls[i].name) ||
        !same_str(a->calls[i].arguments, b->calls[i].arguments))
      return 0;
  }
  return 1;
}

static const char *const markers[] = {
    "<tool_call>", "</tool_call>", "<think>", "</think>", "[TOOL_CALLS]", "[ARGS]", "<|python_tag|>",
    "<\xef\xbd\x9ctool", NULL};

/* Checks the one-shot answer against the recorded expectation. */
static void check_expected(const fixture *f, const vr_parse_result *r) {
  int ok = same_str(r->content, f->content) && same_str(r->reasoning, f->reasoning) &&
           r->warnings == f->warnings;
  size_t n = 0;
  while (n < FIX_MAX_CALLS && f->calls[n].name) n++;
  ok = ok && r->n_calls == n;
  for (size_t i = 0; ok && i < n; i++)
    ok = same_str(r->calls[i].name, f->calls[i].name) && same_str(r->calls[i].arguments, f->calls[i].args);
  if (!ok) {
    FAIL("[%s] one-shot parse differs from the recording", f->id);
    show("content  ", r->content);
    show("expected ", f->content);
    show("reasoning", r->reasoning);
    show("expected ", f->reasoning);
    fprintf(stderr, "    calls %zu (expected %zu), warnings 0x%x (expected 0x%x)\n", r->n_calls, n,
            r->warnings, f->warnings);
    for (size_t i = 0; i < r->n_calls; i++) {
      show("call name", r->calls[i].name);
      show("call args", r->calls[i].arguments);
    }
  }
  for (size_t i = 0; i < r->n_calls; i++)
    if (!json_object_valid(r->calls[i].arguments))
      FAIL("[%s] call %zu arguments are not one JSON object: %s", f->id, i, r->calls[i].arguments);
  if (!f->markers_in_content && r->content)
    for (int k = 0; markers[k]; k++)
      if (strstr(r->content, markers[k])) FAIL("[%s] marker %s leaked into content", f->id, markers[k]);
}

/* Feeds f->text cut at the given boundaries; compares with `ref`. */
static void run_split(const fixture *f, const size_t *cuts, size_t ncuts, const vr_parse_result *ref,
                      const char *how) {
  vr_parser_opts o;
  const char *allow;
  fixture_opts(f, &o, &allow);
  stream_state s;
  memset(&s, 0, sizeof s);
  char err[200];
  vr_parser *p = vr_parser_create(&o, on_event, &s, err, sizeof err);
  if (!p) { FAIL("[%s] create: %s", f->id, err); return; }
  size_t len = strlen(f->text), pos = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    if (vr_parser_feed(p, f->text + pos, end - pos)) FAIL("[%s] feed failed", f->id);
    pos = end;
  }
  if (vr_parser_finish(p)) FAIL("[%s] finish failed", f->id);
  s.res.warnings = vr_parser_warnings(p);
  if ((size_t)vr_parser_tool_calls(p) != s.res.n_calls)
    FAIL("[%s] %s: vr_parser_tool_calls %d != %zu calls", f->id, how, vr_parser_tool_calls(p), s.res.n_calls);
  vr_parser_destroy(p);
  if (s.open) violate(&s, "call still open after finish", s.open_index);
  if (s.violation[0]) FAIL("[%s] %s: contract broken: %s", f->id, how, s.violation);
  if (!results_equal(&s.res, ref)) {
    FAIL("[%s] %s: stream reassembly differs from the one-shot parse", f->id, how);
    show("content  ", s.res.content);
    show("one-shot ", ref->content);
    show("reasoning", s.res.reasoning);
    show("one-shot ", ref->reasoning);
    fprintf(stderr, "    calls %zu vs %zu, warnings 0x%x vs 0x%x\n", s.res.n_calls, ref->n_calls,
            s.res.warnings, ref->warnings);
  }
  vr_parse_result_free(&s.res);
}

static unsigned long long rng_next(unsigned long long *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void test_fixture(const fixture *f) {
  vr_parser_opts o;
  const char *allow;
  fixture_opts(f, &o, &allow);
  vr_parse_result ref;
  char err[200];
  size_t len = strlen(f->text);
  if (vr_parse_text(&o, f->text, len, &ref, err, sizeof err)) {
    FAIL("[%s] one-shot parse failed: %s", f->id, err);
    return;
  }
  check_expected(f, &ref);
  size_t *cuts = malloc((len + 1) * sizeof *cuts);
  if (!cuts) { FAIL("out of memory"); vr_parse_result_free(&ref); return; }
  char how[64];
  for (size_t k = 0; k <= len; k++) { /* every 2-chunk split, empty chunks included */
    cuts[0] = k;
    snprintf(how, sizeof how, "split at %zu", k);
    run_split(f, cuts, 1, &ref, how);
  }
  for (size_t k = 0; k + 1 < len; k++) cuts[k] = k + 1; /* one byte at a time */
  run_split(f, cuts, len ? len - 1 : 0, &ref, "single bytes");
  unsigned long long seed = 0x9E3779B97F4A7C15ULL ^ len;
  for (int run = 0; run < 200; run++) { /* random chunks of 0..15 bytes */
    size_t n = 0, pos = 0;
    for (;;) {
      pos += (size_t)(rng_next(&seed) % 16);
      if (pos >= len) break;
      cuts[n++] = pos;
    }
    snprintf(how, sizeof how, "random run %d", run);
    run_split(f, cuts, n, &ref, how);
  }
  free(cuts);
  vr_parse_result_free(&ref);
}

static void test_api_errors(void) {
  char err[200] = "";
  vr_parser_opts o = {.tool_parser = "nope"};
  vr_parse_result r;
  if (vr_parser_create(&o, vr_parse_collect, &r, err, sizeof err) || !strstr(err, "nope"))
    FAIL("unknown tool parser not refused with a message: %s", err);
  o.tool_parser = NULL;
  o.reasoning_parser = "qwen9";
  if (vr_parser_create(&o, vr_parse_collect, &r, err, sizeof err) || !strstr(err, "qwen9"))
    FAIL("unknown reasoning parser not refused with a message: %s", err);
  vr_parser_opts named = {.tool_choice = VR_TOOL_CHOICE_NAMED};
  if (vr_parser_create(&named, vr_parse_collect, &r, err, sizeof err)) FAIL("named without a name accepted");
  if (!vr_tool_parser_known("hermes") || !vr_tool_parser_known("deepseek_v3") || vr_tool_parser_known("x") ||
      !vr_reasoning_parser_known("deepseek_r1") || vr_reasoning_parser_known(""))
    FAIL("known-parser lookups wrong");
  /* finish twice, feed after finish */
  memset(&r, 0, sizeof r);
  vr_parser_opts h = {.tool_parser = "hermes"};
  vr_parser *p = vr_parser_create(&h, vr_parse_collect, &r, err, sizeof err);
  if (!p) { FAIL("create hermes: %s", err); return; }
  if (vr_parser_feed(p, "hi", 2) || vr_parser_finish(p)) FAIL("plain feed/finish failed");
  if (!vr_parser_feed(p, "x", 1) || !vr_parser_finish(p)) FAIL("feed/finish after finish not refused");
  vr_parser_destroy(p);
  if (!same_str(r.content, "hi")) FAIL("content 'hi' expected");
  vr_parse_result_free(&r);
  /* default ids are deterministic per seed and well-formed */
  vr_parser_opts d = {.tool_parser = "hermes", .id_seed = 42};
  const char *t = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
  vr_parse_result a, b;
  if (vr_parse_text(&d, t, strlen(t), &a, err, sizeof err) || vr_parse_text(&d, t, strlen(t), &b, err, sizeof err)) {
    FAIL("default-id parse failed");
    return;
  }
  if (a.n_calls != 1 || b.n_calls != 1 || strcmp(a.calls[0].id, b.calls[0].id) != 0 ||
      strlen(a.calls[0].id) != 14 + 32)
    FAIL("default ids not deterministic / well-formed");
  vr_parse_result_free(&a);
  vr_parse_result_free(&b);
}

static void test_prompt_opens_think(void) {
  struct { const char *prompt; int want; } cases[] = {
      {"<|im_start|>assistant\n<think>\n", 1},
      {"<|im_start|>assistant\n<think>\n\n</think>\n\n", 0},
      {"<|im_start|>assistant\n", 0},
      {"<think> then text", 0},
      {"<think>", 1},
      {"", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (vr_prompt_opens_think(cases[i].prompt, strlen(cases[i].prompt)) != cases[i].want)
      FAIL("vr_prompt_opens_think(%s) != %d", cases[i].prompt, cases[i].want);
}

int main(void) {
  for (int i = 0; i < vr_test_fixture_count; i++) test_fixture(&vr_test_fixtures[i]);
  test_api_errors();
  test_prompt_opens_think();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("parsers: %d recorded outputs, every split agrees with the one-shot parse\n", vr_test_fixture_count);
  return 0;
}
