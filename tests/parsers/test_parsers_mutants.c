/* test_parsers_mutants.c — model output is untrusted input. Every recorded
 * output is mangled many times over (bytes deleted, duplicated, replaced by
 * JSON punctuation, marker pieces spliced in, cut short), and every mangled
 * text must still parse without a crash or a leak (ASan run), keep the
 * streaming contract, give completed calls valid JSON arguments, and give
 * the same answer however it is split. */
#include "parsers_harness.h"

#include <stdlib.h>
#include <string.h>

static const char *const pieces[] = {
    "<tool_call>", "</tool_call>", "<think>", "</think>", "[TOOL_CALLS]", "[ARGS]", "<|python_tag|>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "sep\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>",
    "{\"name\": \"x\", \"arguments\": {", "\"arguments\": {", "}", "]", "\"", "\\", ",", ";", "\n",
    "```json\n", "\xe6\x9d\xb1", "\xf0\x9f\x98\x80",
};
static const char punct[] = "{}[]\",:\\ \n<>|;`0-e";

/* One random edit of buf[0..*len) in place (cap bytes available). */
static void mutate(char *buf, size_t *len, size_t cap, unsigned long long *rng) {
  size_t n = *len;
  size_t at = n ? (size_t)(harness_rng(rng) % (n + 1)) : 0;
  switch (harness_rng(rng) % 5) {
  case 0: { /* delete a short range */
    size_t k = (size_t)(harness_rng(rng) % 8);
    if (at + k > n) k = n - at;
    memmove(buf + at, buf + at + k, n - at - k);
    *len = n - k;
    break;
  }
  case 1: /* replace a byte with punctuation */
    if (at < n) buf[at] = punct[harness_rng(rng) % (sizeof punct - 1)];
    break;
  case 2: { /* splice in a marker or JSON piece, maybe only its start */
    const char *pc = pieces[harness_rng(rng) % (sizeof pieces / sizeof pieces[0])];
    size_t k = strlen(pc);
    if (harness_rng(rng) % 3 == 0) k = (size_t)(harness_rng(rng) % (k + 1));
    if (n + k >= cap) break;
    memmove(buf + at + k, buf + at, n - at);
    memcpy(buf + at, pc, k);
    *len = n + k;
    break;
  }
  case 3: { /* duplicate a range */
    size_t k = (size_t)(harness_rng(rng) % 24);
    if (at + k > n) k = n - at;
    if (n + k >= cap) break;
    memmove(buf + at + k, buf + at, n - at);
    *len = n + k;
    break;
  }
  default: /* cut short, as at the length limit */
    *len = at;
    break;
  }
}

static void check_mutant(const vr_parser_opts *o, const char *text, size_t len, const char *label,
                         unsigned long long *rng) {
  vr_parse_result ref;
  if (harness_one_shot(o, text, len, &ref, label)) return;
  size_t cuts[64];
  char how[64];
  for (int k = 0; k < 12; k++) { /* some 2-chunk splits */
    cuts[0] = len ? (size_t)(harness_rng(rng) % (len + 1)) : 0;
    snprintf(how, sizeof how, "split at %zu", cuts[0]);
    harness_run_split(o, text, len, cuts, 1, &ref, label, how);
  }
  for (int run = 0; run < 4; run++) { /* random chunks, ascending */
    size_t n = 0, pos = 0;
    while (n < 64) {
      pos += 1 + (size_t)(harness_rng(rng) % 12);
      if (pos >= len) break;
      cuts[n++] = pos;
    }
    harness_run_split(o, text, len, cuts, n, &ref, label, "random chunks");
  }
  size_t *bytes = malloc((len + 1) * sizeof *bytes);
  if (bytes) {
    for (size_t k = 0; k + 1 < len; k++) bytes[k] = k + 1;
    harness_run_split(o, text, len, bytes, len ? len - 1 : 0, &ref, label, "single bytes");
    free(bytes);
  }
  vr_parse_result_free(&ref);
}

int main(void) {
  unsigned long long rng = 0xC0FFEE1234567ULL;
  for (int i = 0; i < vr_test_fixture_count; i++) {
    const fixture *f = &vr_test_fixtures[i];
    vr_parser_opts o;
    const char *allow;
    harness_fixture_opts(f, &o, &allow);
    size_t base = strlen(f->text), cap = base * 2 + 256;
    char *buf = malloc(cap);
    if (!buf) return 1;
    for (int m = 0; m < 150; m++) {
      memcpy(buf, f->text, base);
      size_t len = base;
      int edits = 1 + (int)(harness_rng(&rng) % 4);
      for (int e = 0; e < edits; e++) mutate(buf, &len, cap, &rng);
      char label[96];
      snprintf(label, sizeof label, "%s mutant %d", f->id, m);
      check_mutant(&o, buf, len, label, &rng);
    }
    free(buf);
  }
  if (vr_test_failures) {
    fprintf(stderr, "%d failure(s)\n", vr_test_failures);
    return 1;
  }
  printf("parsers: %d x 150 mangled outputs parse consistently\n", vr_test_fixture_count);
  return 0;
}
