/* server/guided/guided.h — guided (constrained) decoding for JSON outputs.
 *
 * Three layers, each usable on its own:
 *
 *  1. vr_jpda: a byte-level pushdown automaton that accepts exactly the
 *     outputs of one shape (vr_jshape): any JSON object, a value of a JSON
 *     Schema (schema.c: a documented subset), or the list of tool
 *     calls that tool_choice "required" asks for,
 *     [{"name": <one of the names>, "parameters": {...}}, ...]. It is a small
 *     fixed-size value, so it can be copied freely (the mask walk keeps one
 *     per trie depth).
 *  2. vr_guided_vocab: every token's bytes in a byte trie (preorder, each
 *     node knows where its subtree ends), built once per tokenizer and shared
 *     read-only by all requests. vr_guided_mask walks it depth-first from an
 *     automaton state and marks exactly the tokens whose bytes keep the
 *     automaton alive; a rejected byte skips the whole subtree.
 *  3. vr_guided_proc: an engine per-request logits processor (engine.h)
 *     holding one automaton per sequence.
 *
 * Rules of the language (documented in README.md): no whitespace before the
 * root value and nothing after it (only EOS may follow); at most
 * VR_JPDA_MAX_WS whitespace bytes in a row between tokens; nesting at most
 * VR_JPDA_MAX_DEPTH containers; strings are valid UTF-8 with no control
 * bytes, \u escapes pair surrogates, and \u0000 is refused (C consumers).
 */
#ifndef VR_GUIDED_H
#define VR_GUIDED_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

struct vr_tokenizer;

#define VR_JPDA_MAX_DEPTH 32
#define VR_JPDA_MAX_WS 8

/* JSON Schema limits (schema.c; README.md lists the supported keywords). */
#define VR_JSCHEMA_MAX_DEPTH 32   /* nested schemas, $ref hops included */
#define VR_JSCHEMA_MAX_NODES 1024 /* compiled nodes per shape */
#define VR_JSCHEMA_MAX_PROPS 64   /* properties of one object */
#define VR_JSCHEMA_MAX_ENUM 256   /* values of one enum */
#define VR_JSCHEMA_MAX_ITEMS 4096 /* minItems / maxItems */
#define VR_JSCHEMA_MAX_BYTES (1 << 20) /* enum / const texts and keys of one shape ($ref
                                          targets count at every use) */
#define VR_JNODE_ANY 0xFFFF       /* node index meaning "any JSON value" */

enum { /* vr_jnode.types */
    VR_JT_NULL = 1, VR_JT_BOOL = 2, VR_JT_INT = 4, VR_JT_NUM = 8,
    VR_JT_STR = 16, VR_JT_ARR = 32, VR_JT_OBJ = 64, VR_JT_ALL = 127,
};

typedef struct vr_jprop {
    char *key;     /* the key as the model writes it: JSON-escaped, quoted */
    size_t len;
    uint16_t node; /* its value */
} vr_jprop;

/* One compiled schema. A value either matches one of `lits` (enum / const)
 * or, when there are none, has one of `types`; an object with has_props
 * holds only `props`, in their order, each one in `required` present. */
typedef struct vr_jnode {
    uint8_t types;
    uint8_t has_props;
    int n_props;
    vr_jprop *props;
    uint64_t required;          /* bit i: props[i] */
    uint16_t items;             /* array elements (VR_JNODE_ANY: any) */
    int min_items, max_items;   /* max_items < 0: no limit */
    int n_lits;                 /* enum / const: JSON texts, sorted, distinct */
    char **lits;
    size_t *lit_lens;
    int n_alts;                 /* anyOf: the branches, told apart by a value's first byte */
    uint16_t *alts;
    uint8_t first;              /* VR_JF_*: how a value of this node can start */
} vr_jnode;

enum { /* the first byte of a value, by class (vr_jnode.first) */
    VR_JF_OBJ = 1, VR_JF_ARR = 2, VR_JF_STR = 4, VR_JF_NUM = 8, VR_JF_T = 16, VR_JF_F = 32, VR_JF_N = 64,
    VR_JF_ALL = 127,
};

typedef enum {
    VR_JSHAPE_OBJECT = 0,  /* any JSON object (named tool choice, json_object) */
    VR_JSHAPE_TOOL_CALLS,  /* [{"name": NAME, "parameters": {...}}, ...] */
    VR_JSHAPE_SCHEMA,      /* a value of nodes[root] (response_format json_schema) */
} vr_jshape_kind;

/* The shape an output must have. Built once per request, immutable after;
 * automata point into it, so it must outlive them. */
typedef struct vr_jshape {
    vr_jshape_kind kind;
    int max_calls;  /* TOOL_CALLS: 0 = any number (>= 1), else at most this */
    int n_names;    /* TOOL_CALLS: the allowed names, JSON-escaped, sorted */
    char **names;
    size_t *name_lens;
    uint16_t *name_roots; /* TOOL_CALLS: each name's parameters node (ANY: any object) */
    int n_nodes;          /* compiled schemas (schema.c) */
    vr_jnode *nodes;
    uint16_t root;        /* SCHEMA: the output's node */
} vr_jshape;

/* names are raw (unescaped) strings; copied. Returns NULL on a bad argument
 * (TOOL_CALLS with no names, an empty name) or no memory, with err set. */
vr_jshape *vr_jshape_new(vr_jshape_kind kind, const char *const *names, int n_names, int max_calls,
                         char *err, size_t errlen);
void vr_jshape_free(vr_jshape *s);
/* s[0..n) as a JSON string's escaped bytes (with the quotes when quoted), the
 * way the automaton expects a model to write a name, key or enum string:
 * short escapes (\n, \t, ...) where JSON has them, \u00XX for other control
 * bytes. NUL-terminated, malloc'd; NULL when out of memory. */
char *vr_jshape_escape(const char *s, size_t n, int quoted, size_t *out_len);

struct vr_json;
/* Checks a JSON Schema against the supported subset (README.md) without
 * building anything: 0, or -1 with err = "<path>: <why>", the path starting
 * at `path` (e.g. "response_format.json_schema.schema"). root_object: the
 * root must be an object (tool parameters) rather than an object or array. */
int vr_jschema_check(const struct vr_json *schema, const char *path, int root_object, char *err, size_t errlen);
/* A SCHEMA shape for the schema; NULL with err set when it is outside the
 * subset (same messages as vr_jschema_check) or no memory. root_object: as
 * for vr_jschema_check (a named function's parameters). */
vr_jshape *vr_jshape_new_schema(const struct vr_json *schema, const char *path, int root_object, char *err,
                                size_t errlen);
/* TOOL_CALLS: enforce `schema` on the parameters of the function `name`
 * (raw). 0, or -1 with err set (the function then keeps any object). */
int vr_jshape_set_tool_schema(vr_jshape *s, const char *name, const struct vr_json *schema, const char *path,
                              char *err, size_t errlen);
/* Compiles schema into s->nodes: 0 and *node, or -1 with err set. */
int vr_jschema_compile(vr_jshape *s, const struct vr_json *schema, const char *path, int root_object,
                       uint16_t *node, char *err, size_t errlen);

typedef struct vr_jpda {
    const vr_jshape *shape;
    uint32_t stack;      /* bit d: container d is an array (1) or object (0) */
    const char *lit;     /* literal being matched (keywords, skeleton keys) */
    uint16_t pos;        /* position in lit / in the name being matched */
    uint16_t elo, ehi;   /* names still matching: [elo, ehi) of shape->names */
    uint16_t ncalls;     /* calls closed so far */
    uint16_t cp;         /* \u escape being read */
    uint8_t phase;       /* where in the shape's skeleton */
    uint8_t st;          /* lexical state inside a free JSON value */
    uint8_t depth;       /* open containers of the free value */
    uint8_t ws;          /* whitespace bytes in a row */
    uint8_t u;           /* hex digits / UTF-8 continuation bytes left */
    uint8_t ulo, uhi;    /* range of the next UTF-8 continuation byte */
    uint8_t flags;
    /* schema shapes: the open schema containers (their nodes, and the next
     * property / the items so far), whether each is an array (bit d), the
     * node whose value comes next, and the keys still matching */
    uint8_t sd;
    uint16_t vn;
    uint32_t sarr;
    uint64_t cand;
    uint16_t sn[VR_JSCHEMA_MAX_DEPTH];
    uint16_t sc[VR_JSCHEMA_MAX_DEPTH];
} vr_jpda;

void vr_jpda_init(vr_jpda *a, const vr_jshape *shape);
/* 0: the byte keeps the output a viable prefix (a changed); -1: it does not
 * (a is then garbage: feed a copy when probing). */
int vr_jpda_feed(vr_jpda *a, uint8_t c);
int vr_jpda_feed_all(vr_jpda *a, const char *s, size_t n); /* same, for bytes */
/* 1 when a complete value has been read: only EOS may follow. */
int vr_jpda_done(const vr_jpda *a);
/* 1 between characters of a string of the free value: every "plain" token
 * (no '"', '\\' or control byte; whole UTF-8 characters) keeps it viable
 * and in the same state. The mask uses this to skip most of the walk. */
int vr_jpda_in_string(const vr_jpda *a);

/* ---- the vocabulary trie ---- */

typedef struct vr_guided_vocab vr_guided_vocab;

/* From explicit token bytes (tests): bytes[i] of lens[i] bytes for token i;
 * lens[i] == 0 or excluded[i] (may be NULL) leaves token i out. */
vr_guided_vocab *vr_guided_vocab_new(int n_tokens, const char *const *bytes, const size_t *lens,
                                     const uint8_t *excluded);
void vr_guided_vocab_free(vr_guided_vocab *v);
/* The trie of a tokenizer's vocabulary, with special tokens left out; built
 * on first use and cached for the life of the process (thread-safe). NULL
 * when out of memory. */
const vr_guided_vocab *vr_guided_vocab_for(const struct vr_tokenizer *t);
int vr_guided_vocab_size(const vr_guided_vocab *v);
/* Token id's bytes (NULL, *len 0 when left out). */
const char *vr_guided_vocab_token(const vr_guided_vocab *v, int id, size_t *len);

/* allowed[0..vocab size) = 1 for every token whose bytes, fed to a copy of
 * a, are all accepted; else 0. Returns how many were allowed. */
int vr_guided_mask(const vr_guided_vocab *v, const vr_jpda *a, uint8_t *allowed);

/* ---- the per-request logits processor ---- */

typedef struct vr_guided_proc vr_guided_proc;

/* shape and vocab are taken by reference and must outlive the processor
 * (shape is owned by it: freed in vr_guided_proc_free). n_seqs: the
 * request's n. eos_ids: the tokens that end a sequence (copied). */
vr_guided_proc *vr_guided_proc_new(vr_jshape *shape, const vr_guided_vocab *vocab, int n_seqs,
                                   const int *eos_ids, int n_eos);
/* vr_logits_processor_fn: everything but the viable tokens goes to -inf;
 * once the value is complete only EOS stays. */
void vr_guided_logits(void *user, const vr_logits_info *info, float *logits, int vocab_size);
void vr_guided_proc_free(void *user);

#endif
