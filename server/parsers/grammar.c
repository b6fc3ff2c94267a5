/* grammar.c — which grammar a tool parser name selects, and how each one
 * begins: its opening markers and the state after one. */
#include "parser_impl.h"

#include <string.h>

extern const char vr_ds_calls_begin[];
void vr_deepseek_setup(vr_parser *p);

static const char *const hermes_markers[] = {"<tool_call>", NULL};
static const char *const deepseek_markers[] = {vr_ds_calls_begin, NULL};
static const char *const mistral_markers[] = {"[TOOL_CALLS]", NULL};

const char *const *vr_grammar_markers(const vr_parser *p) {
  switch (p->grammar) {
  case G_HERMES: return hermes_markers;
  case G_DEEPSEEK: return deepseek_markers;
  case G_MISTRAL: return mistral_markers;
  default: return NULL;
  }
}

void vr_grammar_start(vr_parser *p) {
  p->tstate = T_TEXT;
  p->skip_marker[0] = p->skip_marker[1] = NULL;
  switch (p->grammar) {
  case G_HERMES:
    p->skip_marker[0] = "</tool_call>";
    p->skip_next[0] = T_TEXT;
    break;
  case G_DEEPSEEK: vr_deepseek_setup(p); break;
  case G_MISTRAL: p->args_after = T_TEXT; break;
  case G_LLAMA: p->tstate = L_START; break;
  case G_JSON_LIST: p->tstate = J_START; break;
  case G_NAMED: p->tstate = N_START; break;
  default: break;
  }
}

long vr_grammar_opened(vr_parser *p, int which, size_t consumed) {
  const char *m = vr_grammar_markers(p)[which];
  vr_region_begin(p, m);
  switch (p->grammar) {
  case G_HERMES: p->tstate = H_PRE; break;
  case G_DEEPSEEK: p->tstate = D_WAIT; break;
  case G_MISTRAL: p->tstate = M_AFTER_MARK; break;
  default: break;
  }
  return (long)consumed;
}
