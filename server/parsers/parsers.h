/* parsers.h — tool-call and reasoning parsers for generated text.
 *
 * A vr_parser turns the text a model generates, fed in arbitrary pieces
 * (any byte boundary, even inside a UTF-8 character or inside a marker such
 * as "<tool_call>"), into a stream of events: content deltas, reasoning
 * deltas, and tool calls (start, argument fragments, end). The one-shot
 * vr_parse_text() is the same machine fed the whole text at once, so stream
 * and non-stream answers agree by construction.
 *
 * Pipeline: reasoning parser (optional) -> tool parser (optional) -> events.
 * Tool calls are only looked for in the content the reasoning parser lets
 * through. See server/parsers/README.md for the streaming contract.
 *
 * Depends on libc only. No global state; one parser per generated choice.
 */
#ifndef VR_PARSERS_H
#define VR_PARSERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  VR_EV_CONTENT = 1,    /* text/len: a piece of message content */
  VR_EV_REASONING,      /* text/len: a piece of reasoning (think block) */
  VR_EV_TOOL_START,     /* index, id, name: a tool call begins */
  VR_EV_TOOL_ARGS,      /* index, text/len: next fragment of its arguments */
  VR_EV_TOOL_END        /* index, aborted: the call is complete (or dropped) */
} vr_event_kind;

typedef struct {
  vr_event_kind kind;
  const char *text;     /* not NUL-terminated; valid during the callback only */
  size_t len;
  int index;            /* tool events: 0, 1, 2, ... in order of START */
  const char *id;       /* TOOL_START: NUL-terminated call id */
  const char *name;     /* TOOL_START: NUL-terminated function name */
  int aborted;          /* TOOL_END: 1 when the arguments turned out malformed
                           after the start was sent; the call is not part of
                           the result and its original text follows as content */
} vr_event;

typedef void (*vr_event_fn)(void *user, const vr_event *ev);

/* Writes a NUL-terminated tool-call id for call `index` into out[cap].
 * The server passes a random source; tests pass a deterministic one. */
typedef void (*vr_tool_id_fn)(void *user, int index, char *out, size_t cap);
#define VR_TOOL_ID_MAX 64

/* Where the output starts relative to a think block. */
typedef enum {
  VR_THINK_DEFAULT = 0, /* the reasoning parser's own default (qwen3: AUTO,
                           deepseek_r1: OPEN) */
  VR_THINK_AUTO,        /* reasoning only if the output starts with <think> */
  VR_THINK_OPEN,        /* the prompt opened the think block: output starts
                           inside reasoning (a leading <think> is skipped) */
  VR_THINK_OFF          /* thinking disabled: everything is content */
} vr_think_start;

/* How tool calls are recognised (OpenAI tool_choice). */
typedef enum {
  VR_TOOL_CHOICE_AUTO = 0, /* the model's own format, via tool_parser */
  VR_TOOL_CHOICE_NONE,     /* no tool parsing: calls stay text */
  VR_TOOL_CHOICE_REQUIRED, /* output is a JSON list [{"name":..,"parameters":{..}}]
                              (what constrained decoding produces, as in vLLM) */
  VR_TOOL_CHOICE_NAMED     /* output is the arguments object of named_function */
} vr_tool_choice;

typedef struct {
  const char *tool_parser;      /* NULL/"": none; "hermes", "llama3_json",
                                   "mistral", "deepseek_v3" */
  const char *reasoning_parser; /* NULL/"": none; "qwen3", "deepseek_r1" */
  vr_think_start think_start;
  /* 1: a think block that never closes becomes content (the whole original
   * text), as vLLM's non-streaming qwen3 parser does; reasoning is then held
   * back until </think> arrives. 0 (default): it stays reasoning. */
  int unclosed_think_as_content;
  vr_tool_choice tool_choice;
  const char *named_function;   /* VR_TOOL_CHOICE_NAMED */
  /* Optional allow-list: a call to any other name is treated as malformed
   * (it stays content). NULL = accept any name. */
  const char *const *tool_names;
  size_t n_tool_names;
  /* 0: no limit. 1 for parallel_tool_calls:false: calls after the first
   * max_calls are dropped (neither calls nor content). */
  int max_calls;
  vr_tool_id_fn id_fn;          /* NULL: deterministic ids from id_seed */
  void *id_user;
  unsigned long long id_seed;
} vr_parser_opts;

/* Warning bits, for the server's log (never errors: the text is kept). */
#define VR_WARN_MALFORMED_CALL 0x1u /* a tool call was not valid: kept as content */
#define VR_WARN_ABORTED_CALL   0x2u /* ... after its start had been streamed */
#define VR_WARN_IGNORED_TEXT   0x4u /* junk inside a call's wrapper was dropped */
#define VR_WARN_UNKNOWN_TOOL   0x8u /* a call named a function not in tool_names */
#define VR_WARN_UNCLOSED_THINK 0x10u /* output ended inside a think block */
#define VR_WARN_EXTRA_CALL     0x20u /* a call beyond max_calls was dropped */

typedef struct vr_parser vr_parser;

/* NULL on bad options (unknown parser name, ...) with a message in err. */
vr_parser *vr_parser_create(const vr_parser_opts *opts, vr_event_fn fn, void *user,
                            char *err, size_t errcap);
/* Feed the next piece of generated text. Events fire from inside the call.
 * Nonzero on out-of-memory or after finish (the parser is then unusable). */
int vr_parser_feed(vr_parser *p, const char *text, size_t len);
/* End of generation: flushes everything held back. */
int vr_parser_finish(vr_parser *p);
void vr_parser_destroy(vr_parser *p);
unsigned vr_parser_warnings(const vr_parser *p);
/* Tool calls completed so far (ended, not aborted): the server answers
 * finish_reason "tool_calls" when this is > 0 after finish. */
int vr_parser_tool_calls(const vr_parser *p);

/* Names known to the library, for CLI validation and messages. */
int vr_tool_parser_known(const char *name);
int vr_reasoning_parser_known(const char *name);
extern const char vr_tool_parser_names[];      /* "hermes, llama3_json, ..." */
extern const char vr_reasoning_parser_names[];

/* If a rendered prompt ends inside an open think block (its last <think>
 * is not followed by </think>, only whitespace after it), the output starts
 * in reasoning: returns 1 (use VR_THINK_OPEN), else 0. */
int vr_prompt_opens_think(const char *prompt, size_t len);

/* ---- collecting events into one answer (non-stream, and tests) ---- */

typedef struct {
  char *id;
  char *name;
  char *arguments;  /* the JSON text of the arguments object */
} vr_tool_call;

typedef struct {
  char *content;    /* NULL when there was none */
  size_t content_len;
  char *reasoning;  /* NULL when there was none */
  size_t reasoning_len;
  vr_tool_call *calls;
  size_t n_calls;
  unsigned warnings;
  /* internal: the call being assembled and allocation state */
  int open_index;
  size_t cap_calls, content_cap, reasoning_cap, args_len, args_cap;
  int failed;
} vr_parse_result;

/* An event callback that accumulates into a zeroed vr_parse_result
 * (pass the result as `user`). Aborted calls are removed. */
void vr_parse_collect(void *result, const vr_event *ev);
void vr_parse_result_free(vr_parse_result *r);

/* One-shot: the whole text through a fresh parser and the collector.
 * 0 on success; nonzero with a message in err (bad options, out of memory). */
int vr_parse_text(const vr_parser_opts *opts, const char *text, size_t len,
                  vr_parse_result *out, char *err, size_t errcap);

/* ---- one stream chunk: the events of one feed, ready for a delta ---- */

typedef struct {
  int index;
  char *id;         /* non-NULL only in the call's first delta (with name) */
  char *name;
  char *arguments;  /* fragments of this chunk joined (arguments_len 0: none) */
  size_t arguments_len, arguments_cap;
  int aborted;      /* the call was dropped (see README): log, nothing to send */
} vr_tool_delta;

typedef struct {
  char *content;    /* content_len 0: this chunk has none */
  size_t content_len, content_cap;
  char *reasoning;
  size_t reasoning_len, reasoning_cap;
  vr_tool_delta *tools; /* in event order; one entry per call index; an
                           entry may carry nothing to send (an END only) */
  size_t n_tools, cap_tools;
  int failed;       /* out of memory while collecting */
} vr_parse_delta;

/* An event callback gathering into a zeroed vr_parse_delta (as `user`).
 * After each feed (+ finish), write the chunk from it, then clear it. */
void vr_parse_delta_collect(void *delta, const vr_event *ev);
int vr_parse_delta_empty(const vr_parse_delta *d);
void vr_parse_delta_clear(vr_parse_delta *d); /* empties it, keeps memory */
void vr_parse_delta_free(vr_parse_delta *d);

#ifdef __cplusplus
}
#endif
#endif
