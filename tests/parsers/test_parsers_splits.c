/* test_parsers_splits.c — every recorded output through its parser, split
 * at every byte boundary (all 2-chunk splits, all single bytes) and at
 * seeded random multi-chunk boundaries. Each run must reassemble to the
 * one-shot parse, the one-shot parse must equal the recorded expectation,
 * every event sequence must keep the streaming contract (checked in
 * parsers_harness.c), and no marker text may reach content. */
#include "parsers_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const markers[] = {
    "<tool_call>", "</tool_call>", "<think>", "</think>", "[TOOL_CALLS]", "[ARGS]", "<|python_tag|>",
    "<\xef\xbd\x9ctool", NULL};

/* Checks the one-shot answer against the recorded expectation. */
static void check_expected(const fixture *f, const vr_parse_result *r) {
  int ok = harness_same_str(r->content, f->content) && harness_same_str(r->reasoning, f->reasoning) &&
           r->warnings == f->warnings;
  size_t n = 0;
  while (n < FIX_MAX_CALLS && f->calls[n].name) n++;
  ok = ok && r->n_calls == n;
  for (size_t i = 0; ok && i < n; i++)
    ok = harness_same_str(r->calls[i].name, f->calls[i].name) && harness_same_str(r->calls[i].arguments, f->calls[i].args);
  if (!ok) {
    FAIL("[%s] one-shot parse differs from the recording", f->id);
    harness_show("content  ", r->content);
    harness_show("expected ", f->content);
    harness_show("reasoning", r->reasoning);
    harness_show("expected ", f->reasoning);
    fprintf(stderr, "    calls %zu (expected %zu), warnings 0x%x (expected 0x%x)\n", r->n_calls, n,
            r->warnings, f->warnings);
    for (size_t i = 0; i < r->n_calls; i++) {
      harness_show("call name", r->calls[i].name);
      harness_show("call args", r->calls[i].arguments);
    }
  }
  for (size_t i = 0; i < r->n_calls; i++)
    if (!harness_json_object_valid(r->calls[i].arguments))
      FAIL("[%s] call %zu arguments are not one JSON object: %s", f->id, i, r->calls[i].arguments);
  if (!f->markers_in_content && r->content)
    for (int k = 0; markers[k]; k++)
      if (strstr(r->content, markers[k])) FAIL("[%s] marker %s leaked into content", f->id, markers[k]);
}

static void test_fixture(const fixture *f) {
  vr_parser_opts o;
  const char *allow;
  harness_fixture_opts(f, &o, &allow);
  vr_parse_result ref;
  size_t len = strlen(f->text);
  if (harness_one_shot(&o, f->text, len, &ref, f->id)) return;
  check_expected(f, &ref);
  size_t *cuts = malloc((len + 1) * sizeof *cuts);
  if (!cuts) { FAIL("out of memory"); vr_parse_result_free(&ref); return; }
  char how[64];
  for (size_t k = 0; k <= len; k++) { /* every 2-chunk split, empty chunks included */
    cuts[0] = k;
    snprintf(how, sizeof how, "split at %zu", k);
    harness_run_split(&o, f->text, len, cuts, 1, &ref, f->id, how);
  }
  for (size_t k = 0; k + 1 < len; k++) cuts[k] = k + 1; /* one byte at a time */
  harness_run_split(&o, f->text, len, cuts, len ? len - 1 : 0, &ref, f->id, "single bytes");
  unsigned long long seed = 0x9E3779B97F4A7C15ULL ^ len;
  for (int run = 0; run < 200; run++) { /* random chunks of 0..15 bytes */
    size_t n = 0, pos = 0;
    for (;;) {
      pos += (size_t)(harness_rng(&seed) % 16);
      if (pos >= len || n >= len) break;
      cuts[n++] = pos;
    }
    snprintf(how, sizeof how, "random run %d", run);
    harness_run_split(&o, f->text, len, cuts, n, &ref, f->id, how);
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
  if (!harness_same_str(r.content, "hi")) FAIL("content 'hi' expected");
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
  if (vr_test_failures) {
    fprintf(stderr, "%d failure(s)\n", vr_test_failures);
    return 1;
  }
  printf("parsers: %d recorded outputs, every split agrees with the one-shot parse\n", vr_test_fixture_count);
  return 0;
}
