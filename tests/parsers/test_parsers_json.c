/* test_parsers_json.c — the incremental JSON validator and text helpers
 * the parsers are built on. */
#include "json_scan.h"
#include "pbuf.h"

#include <stdio.h>
#include <string.h>

static int failures;
#define FAIL(...) do { failures++; fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } while (0)

/* 1 valid, 0 invalid; fed byte by byte; must end exactly at the last byte. */
static int valid(const char *s) {
  vr_json_scan j;
  vr_json_scan_init(&j, 0);
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    vr_json_ev ev = vr_json_scan_byte(&j, (unsigned char)s[i]);
    if (ev == VR_J_ERR) return 0;
    if (ev == VR_J_DONE) return i + 1 == n;
  }
  return 0;
}

int main(void) {
  const char *good[] = {
      "{}", "[]", " {\"a\":1}", "{\"a\": [1, -2, 3.5, -0.0, 1e10, 2E-3, 0e+1]}",
      "{\"s\": \"q\\\"uote \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9\"}", "[true, false, null]",
      "{\"nested\": {\"x\": [[], {}, [{}]]}}", "{\"u\": \"東京 😀\"}", "[0]", "[-1]",
  };
  const char *bad[] = {
      "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "{a:1}", "{'a':1}", "[01]", "[1.]", "[.5]",
      "[-]", "[1e]", "[tru]", "[True]", "[nul]", "{\"a\":1}}", "[\"\\x\"]", "[\"\\u12G4\"]",
      "[\"raw\nnewline\"]", "\"str\"", "42", "[1 2]", "{\"a\" 1}", "[}", "{]", "[NaN]",
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    if (!valid(good[i])) FAIL("valid JSON refused: %s", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (valid(bad[i])) FAIL("invalid JSON accepted: %s", bad[i]);

  /* raw control characters: refused strictly, reported when allowed */
  {
    vr_json_scan j;
    vr_json_scan_init(&j, 1);
    const char *t = "[\"a\nb\"]";
    int ctrl = 0, done = 0;
    for (const char *c = t; *c; c++) {
      vr_json_ev ev = vr_json_scan_byte(&j, (unsigned char)*c);
      if (ev == VR_J_ERR) break;
      if (ev == VR_J_STR_CTRL) ctrl++;
      if (ev == VR_J_DONE) done = 1;
    }
    if (ctrl != 1 || !done) FAIL("allow_raw_ctrl: ctrl %d done %d", ctrl, done);
  }

  /* depth bound: deeper than VR_JSON_MAX_DEPTH is refused, not overflowed */
  char deep[2 * VR_JSON_MAX_DEPTH + 8];
  size_t k = 0;
  for (int i = 0; i < VR_JSON_MAX_DEPTH + 1; i++) deep[k++] = '[';
  deep[k] = '\0';
  if (valid(deep)) FAIL("over-deep JSON accepted");
  k = 0;
  for (int i = 0; i < VR_JSON_MAX_DEPTH; i++) deep[k++] = '[';
  for (int i = 0; i < VR_JSON_MAX_DEPTH; i++) deep[k++] = ']';
  deep[k] = '\0';
  if (!valid(deep)) FAIL("JSON at the depth limit refused");

  /* unescape */
  char out[64];
  size_t olen;
  const char *esc = "a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u2581";
  if (vr_json_unescape(esc, strlen(esc), out, &olen) ||
      strcmp(out, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\xe2\x96\x81") != 0)
    FAIL("unescape wrong: %s", out);
  if (vr_json_unescape("\\q", 2, out, &olen) == 0) FAIL("bad escape accepted");
  if (vr_json_unescape("\\u12", 4, out, &olen) == 0) FAIL("short \\u accepted");
  if (vr_json_unescape("\\ud83dx", 7, out, &olen) || strcmp(out, "\xef\xbf\xbdx") != 0)
    FAIL("lone surrogate not replaced");

  /* markers and UTF-8 boundaries */
  if (vr_marker_at("<tool_call>x", 12, "<tool_call>") != 1) FAIL("marker full");
  if (vr_marker_at("<tool_", 6, "<tool_call>") != 0) FAIL("marker prefix");
  if (vr_marker_at("<tool_x", 7, "<tool_call>") != -1) FAIL("marker mismatch");
  const char *e = "\xe6\x9d\xb1"; /* one 3-byte character */
  if (vr_utf8_complete_len(e, 1) != 0 || vr_utf8_complete_len(e, 2) != 0 || vr_utf8_complete_len(e, 3) != 3)
    FAIL("utf8 3-byte boundaries");
  const char *f4 = "a\xf0\x9f\x98\x80";
  if (vr_utf8_complete_len(f4, 4) != 1 || vr_utf8_complete_len(f4, 5) != 5) FAIL("utf8 4-byte boundaries");
  if (vr_utf8_complete_len("ab", 2) != 2 || vr_utf8_complete_len("\x80\x80", 2) != 2)
    FAIL("utf8 ascii / stray continuation");

  if (failures) return 1;
  printf("parsers json: ok\n");
  return 0;
}
