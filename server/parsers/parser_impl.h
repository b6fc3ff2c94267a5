/* parser_impl.h — the vr_parser struct and the seams between its parts.
 * Private to server/parsers/.
 *
 * Every part is a state machine over a byte buffer of input not yet
 * consumed. A step looks at the buffer and either consumes bytes (or only
 * changes state) or answers NEED_MORE when the bytes so far cannot decide
 * (a possible marker prefix, a cut UTF-8 character). Decisions depend on
 * the bytes alone, never on where a feed ended, which is why any chunking
 * of the same text gives the same result. At end of input (eof) no step
 * may answer NEED_MORE.
 */
#ifndef VR_PARSERS_IMPL_H
#define VR_PARSERS_IMPL_H

#include "parsers.h"
#include "json_scan.h"
#include "pbuf.h"

#define NEED_MORE (-1L)
#define VR_NAME_MAX 256 /* longest function name accepted */

typedef enum { G_NONE, G_HERMES, G_LLAMA, G_MISTRAL, G_DEEPSEEK, G_JSON_LIST, G_NAMED } tool_grammar;
typedef enum { R_NONE, R_QWEN3, R_DEEPSEEK_R1 } reasoning_kind;

typedef enum {
  /* shared */
  T_TEXT,      /* content, watching for the grammar's opening marker */
  T_PLAIN,     /* content to the end, no more parsing */
  T_SKIP,      /* malformed call: keep its text until a region end marker */
  T_JUNK,      /* after a complete call: drop text until a region end marker */
  /* hermes */
  H_PRE, H_BODY, H_POST,
  /* JSON call sequences (llama3_json, mistral list, required list) */
  SEQ_EXPECT, SEQ_BODY, SEQ_AFTER,
  L_START,
  M_AFTER_MARK, M_NAME,
  /* arguments object of a call whose name is already known */
  A_PRE, A_BODY,
  /* deepseek_v3 */
  D_WAIT, D_TYPE, D_NAME, D_POST,
  /* tool_choice named / required */
  N_START, J_START
} tool_state;

typedef enum { R_START, R_REASONING, R_CONTENT } reasoning_state;

struct vr_parser {
  vr_event_fn fn;
  void *user;
  unsigned warnings;
  int failed;   /* out of memory: every later call fails */
  int finished;

  /* options, copied */
  vr_pbuf names;            /* allow-list, NUL-separated */
  size_t n_names;
  vr_pbuf named_function;
  vr_tool_id_fn id_fn;
  void *id_user;
  int max_calls;
  unsigned long long id_seed;

  /* reasoning stage */
  reasoning_kind rkind;
  reasoning_state rstate;
  int think_open;           /* start inside reasoning when no <think> leads */
  int unclosed_as_content;
  vr_pbuf r_in;             /* unconsumed input */
  vr_pbuf r_raw;            /* unclosed_as_content: original text so far */
  vr_pbuf r_held;           /* unclosed_as_content: reasoning not yet sent */

  /* tool stage */
  tool_grammar grammar;
  tool_state tstate;
  vr_pbuf t_in;             /* unconsumed content */
  vr_pbuf raw;              /* original text of the call region being parsed */
  int block_used;           /* a call in this block ended or was given up */
  /* where T_SKIP / T_JUNK stop: up to two end markers, each with a next state */
  const char *skip_marker[2];
  tool_state skip_next[2];
  /* JSON sequences */
  char seq_sep, seq_close;
  tool_state seq_after_close;
  tool_state args_after;    /* state after a name-first call's arguments */

  /* content gate: whitespace next to calls is held, then dropped */
  int gate_hold;
  vr_pbuf gate_ws;

  /* the call being parsed */
  vr_json_scan js;
  vr_pbuf name, args, key;
  size_t args_sent;
  int name_state;           /* 0 none, 1 reading, 2 done */
  int args_state;           /* 0 none, 1 reading, 2 done */
  int key_id;               /* key whose value comes next */
  int started, ended;
  int suppressed;           /* beyond max_calls: parsed, never sent */
  int next_index;
  int calls_done;
};

/* events */
void vr_emit_text(vr_parser *p, vr_event_kind kind, const char *s, size_t n);
void vr_content_out(vr_parser *p, const char *s, size_t n);
void vr_reasoning_out(vr_parser *p, const char *s, size_t n);
void vr_oom(vr_parser *p);

/* text scanning: content up to the first of `markers`. Returns bytes
 * consumed (sets *which to the marker index when the bytes consumed are
 * that marker, else -1) or NEED_MORE. */
long vr_scan_text(vr_parser *p, const char *s, size_t n, int eof, const char *const *markers,
                  int *which, void (*out)(vr_parser *, const char *, size_t));
/* Bytes of leading whitespace in s (all of s when it is all whitespace). */
size_t vr_ws_len(const char *s, size_t n);

/* tool stage */
void vr_tool_init(vr_parser *p);
void vr_tool_feed(vr_parser *p, const char *s, size_t n);
void vr_tool_finish(vr_parser *p);
void vr_raw_take(vr_parser *p, const char *s, size_t n);
void vr_region_begin(vr_parser *p, const char *marker);
void vr_emit_raw_as_content(vr_parser *p);

/* the current call */
void vr_call_reset(vr_parser *p);
int vr_call_set_name(vr_parser *p, const char *s, size_t n); /* -1: not acceptable */
/* One byte of a {"name":..,"arguments":{..}} object: 0 go on, 1 the object
 * closed, -1 not valid (byte not consumed). */
int vr_call_object_byte(vr_parser *p, unsigned char c);
/* One byte of a bare arguments object: 0 go on, 1 it closed, -1 not valid. */
int vr_call_args_byte(vr_parser *p, unsigned char c);
void vr_call_progress(vr_parser *p);    /* send start / end when due */
void vr_call_flush_args(vr_parser *p, int all);
/* Give up on the call: abort it if started, then either keep its text
 * until an end marker (T_SKIP) or hand it over as content (T_PLAIN). */
void vr_call_malformed(vr_parser *p);
void vr_gate_call_ended(vr_parser *p);

/* grammar steps: bytes consumed, 0 with a state change, or NEED_MORE */
long vr_hermes_step(vr_parser *p, const char *s, size_t n, int eof);
long vr_seq_step(vr_parser *p, const char *s, size_t n, int eof);
long vr_deepseek_step(vr_parser *p, const char *s, size_t n, int eof);
long vr_args_step(vr_parser *p, const char *s, size_t n, int eof);
void vr_grammar_start(vr_parser *p);
const char *const *vr_grammar_markers(const vr_parser *p);
long vr_grammar_opened(vr_parser *p, int which, size_t consumed);

/* reasoning stage */
void vr_reasoning_init(vr_parser *p, vr_think_start start);
void vr_reasoning_feed(vr_parser *p, const char *s, size_t n);
void vr_reasoning_finish(vr_parser *p);

#endif
