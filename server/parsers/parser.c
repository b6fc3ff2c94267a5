/* parser.c — creating a parser from options, feeding it, finishing it. */
#include "parser_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char vr_tool_parser_names[] = "hermes, llama3_json, mistral, deepseek_v3";
const char vr_reasoning_parser_names[] = "qwen3, deepseek_r1";

static int tool_grammar_of(const char *name, tool_grammar *g) {
  if (!name || !*name) { *g = G_NONE; return 0; }
  if (strcmp(name, "hermes") == 0) *g = G_HERMES;
  else if (strcmp(name, "llama3_json") == 0) *g = G_LLAMA;
  else if (strcmp(name, "mistral") == 0) *g = G_MISTRAL;
  else if (strcmp(name, "deepseek_v3") == 0) *g = G_DEEPSEEK;
  else return -1;
  return 0;
}

static int reasoning_kind_of(const char *name, reasoning_kind *k) {
  if (!name || !*name) { *k = R_NONE; return 0; }
  if (strcmp(name, "qwen3") == 0) *k = R_QWEN3;
  else if (strcmp(name, "deepseek_r1") == 0) *k = R_DEEPSEEK_R1;
  else return -1;
  return 0;
}

int vr_tool_parser_known(const char *name) {
  tool_grammar g;
  return name && *name && tool_grammar_of(name, &g) == 0;
}

int vr_reasoning_parser_known(const char *name) {
  reasoning_kind k;
  return name && *name && reasoning_kind_of(name, &k) == 0;
}

static void set_err(char *err, size_t cap, const char *fmt, const char *arg) {
  if (err && cap) snprintf(err, cap, fmt, arg);
}

vr_parser *vr_parser_create(const vr_parser_opts *opts, vr_event_fn fn, void *user, char *err,
                            size_t errcap) {
  vr_parser_opts zero = {0};
  if (!opts) opts = &zero;
  if (!fn) { set_err(err, errcap, "%s", "parser needs an event callback"); return NULL; }
  tool_grammar g;
  reasoning_kind rk;
  if (tool_grammar_of(opts->tool_parser, &g)) {
    set_err(err, errcap, "unknown tool call parser '%s' (known: hermes, llama3_json, mistral, deepseek_v3)",
            opts->tool_parser);
    return NULL;
  }
  if (reasoning_kind_of(opts->reasoning_parser, &rk)) {
    set_err(err, errcap, "unknown reasoning parser '%s' (known: qwen3, deepseek_r1)", opts->reasoning_parser);
    return NULL;
  }
  switch (opts->tool_choice) {
  case VR_TOOL_CHOICE_AUTO: break;
  case VR_TOOL_CHOICE_NONE: g = G_NONE; break;
  case VR_TOOL_CHOICE_REQUIRED: g = G_JSON_LIST; break;
  case VR_TOOL_CHOICE_NAMED:
    if (!opts->named_function || !*opts->named_function) {
      set_err(err, errcap, "%s", "tool_choice names no function");
      return NULL;
    }
    g = G_NAMED;
    break;
  default: set_err(err, errcap, "%s", "unknown tool_choice"); return NULL;
  }
  vr_parser *p = calloc(1, sizeof *p);
  if (!p) { set_err(err, errcap, "%s", "out of memory"); return NULL; }
  p->fn = fn;
  p->user = user;
  p->grammar = g;
  p->rkind = rk;
  p->unclosed_as_content = opts->unclosed_think_as_content;
  p->id_fn = opts->id_fn;
  p->max_calls = opts->max_calls > 0 ? opts->max_calls : 0;
  p->id_user = opts->id_user;
  p->id_seed = opts->id_seed;
  for (size_t i = 0; i < opts->n_tool_names; i++) {
    const char *nm = opts->tool_names[i] ? opts->tool_names[i] : "";
    if (vr_pbuf_append(&p->names, nm, strlen(nm) + 1)) p->failed = 1;
  }
  p->n_names = opts->n_tool_names;
  if (opts->named_function &&
      vr_pbuf_append(&p->named_function, opts->named_function, strlen(opts->named_function)))
    p->failed = 1;
  if (p->failed) {
    vr_parser_destroy(p);
    set_err(err, errcap, "%s", "out of memory");
    return NULL;
  }
  vr_tool_init(p);
  vr_reasoning_init(p, opts->think_start);
  return p;
}

int vr_parser_feed(vr_parser *p, const char *text, size_t len) {
  if (!p || p->failed || p->finished) return -1;
  if (len) vr_reasoning_feed(p, text, len);
  return p->failed ? -1 : 0;
}

int vr_parser_finish(vr_parser *p) {
  if (!p || p->failed || p->finished) return -1;
  p->finished = 1;
  vr_reasoning_finish(p);
  vr_tool_finish(p);
  return p->failed ? -1 : 0;
}

void vr_parser_destroy(vr_parser *p) {
  if (!p) return;
  vr_pbuf *bufs[] = {&p->names, &p->named_function, &p->r_in, &p->r_raw, &p->r_held, &p->t_in,
                     &p->raw, &p->gate_ws, &p->name, &p->args, &p->key};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vr_pbuf_free(bufs[i]);
  free(p);
}

unsigned vr_parser_warnings(const vr_parser *p) { return p ? p->warnings : 0; }
int vr_parser_tool_calls(const vr_parser *p) { return p ? p->calls_done : 0; }
