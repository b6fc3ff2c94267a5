/* parsers_fixtures_export.c — writes the recorded outputs and their
 * expected parses as JSON lines, for the end-to-end tests of issue 9 (a
 * fixture model scripted to emit each text; the HTTP answers must match):
 *
 *   {"id", "tool_parser", "reasoning_parser", "think_start", "tool_choice",
 *    "named_function", "allowed_tool", "max_calls", "unclosed_as_content",
 *    "text", "content", "reasoning", "tool_calls": [{"name", "arguments"}],
 *    "warnings"}
 *
 * Every line is checked with the JSON validator before it is written.
 * Usage: parsers_fixtures_export OUT.jsonl */
#include "parsers_fixtures.h"
#include "json_scan.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  char buf[16384];
  size_t len;
  int overflow;
} line;

static void put(line *l, const char *s, size_t n) {
  if (l->len + n >= sizeof l->buf) { l->overflow = 1; return; }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void put_str(line *l, const char *s) {
  if (!s) { put(l, "null", 4); return; }
  put(l, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; put(l, esc, 2); }
    else if (c < 0x20) put(l, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
    else put(l, (const char *)&c, 1);
  }
  put(l, "\"", 1);
}

static void put_key(line *l, const char *k, int first) {
  if (!first) put(l, ",", 1);
  put_str(l, k);
  put(l, ":", 1);
}

static void put_int(line *l, long v) {
  char b[32];
  put(l, b, (size_t)snprintf(b, sizeof b, "%ld", v));
}

static int valid_json(const line *l) {
  vr_json_scan j;
  vr_json_scan_init(&j, 0);
  for (size_t i = 0; i < l->len; i++) {
    vr_json_ev ev = vr_json_scan_byte(&j, (unsigned char)l->buf[i]);
    if (ev == VR_J_ERR) return 0;
    if (ev == VR_J_DONE) return i + 1 == l->len;
  }
  return 0;
}

static const char *const think_names[] = {"default", "auto", "open", "off"};
static const char *const choice_names[] = {"auto", "none", "required", "named"};

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s OUT.jsonl\n", argv[0]); return 2; }
  FILE *f = fopen(argv[1], "w");
  if (!f) { perror(argv[1]); return 1; }
  int bad = 0;
  for (int i = 0; i < vr_test_fixture_count; i++) {
    const fixture *x = &vr_test_fixtures[i];
    line l = {.len = 0};
    put(&l, "{", 1);
    put_key(&l, "id", 1); put_str(&l, x->id);
    put_key(&l, "tool_parser", 0); put_str(&l, x->tool_parser);
    put_key(&l, "reasoning_parser", 0); put_str(&l, x->reasoning_parser);
    put_key(&l, "think_start", 0); put_str(&l, think_names[x->think_start]);
    put_key(&l, "tool_choice", 0); put_str(&l, choice_names[x->tool_choice]);
    put_key(&l, "named_function", 0); put_str(&l, x->named_function);
    put_key(&l, "allowed_tool", 0); put_str(&l, x->allowed_tool);
    put_key(&l, "max_calls", 0); put_int(&l, x->max_calls);
    put_key(&l, "unclosed_as_content", 0); put_int(&l, x->unclosed_as_content);
    put_key(&l, "text", 0); put_str(&l, x->text);
    put_key(&l, "content", 0); put_str(&l, x->content);
    put_key(&l, "reasoning", 0); put_str(&l, x->reasoning);
    put_key(&l, "tool_calls", 0);
    put(&l, "[", 1);
    for (int c = 0; c < FIX_MAX_CALLS && x->calls[c].name; c++) {
      if (c) put(&l, ",", 1);
      put(&l, "{", 1);
      put_key(&l, "name", 1); put_str(&l, x->calls[c].name);
      put_key(&l, "arguments", 0); put_str(&l, x->calls[c].args);
      put(&l, "}", 1);
    }
    put(&l, "]", 1);
    put_key(&l, "warnings", 0); put_int(&l, (long)x->warnings);
    put(&l, "}", 1);
    if (l.overflow || !valid_json(&l)) {
      fprintf(stderr, "fixture %s: line is not valid JSON\n", x->id);
      bad = 1;
      continue;
    }
    fwrite(l.buf, 1, l.len, f);
    fputc('\n', f);
  }
  if (fclose(f) != 0) bad = 1;
  return bad;
}
