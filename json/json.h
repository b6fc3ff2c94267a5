/* json/json.h — the one JSON reader of vireo: text in, a read-only tree of
 * plain C nodes out. A leaf library (it knows nothing of the rest of vireo);
 * the engine, tokenizer, chat templates, server and load generator all use it.
 *
 * simdjson (libsimdjson-dev) parses and validates: strict RFC 8259 grammar,
 * UTF-8 checked over the whole text, escapes decoded (surrogate pairs joined,
 * unpaired surrogates refused). json.cpp copies its DOM into one arena of
 * vr_json nodes, so C callers get random access (arrays by index, objects by
 * key), exact field names in their own error messages, and a tree that
 * outlives the parser.
 *
 * Rules every user can rely on:
 *  - Errors are one line "line L col C: why" (the position is where the
 *    problem was found; L and C count from 1, C in bytes).
 *  - Nesting deeper than the limit (VR_JSON_MAX_DEPTH unless the caller asks
 *    for less) is an error, never a stack overflow.
 *  - Strings are NUL-terminated copies and carry their length (a string may
 *    hold \u0000; use len).
 *  - Integers that fit int64 are VR_JSON_INT; every other number (fractions,
 *    exponents, integers beyond int64) is VR_JSON_DOUBLE. Numbers that do
 * not fit a double (1e400) are an error.
 *  - Object members keep document order, duplicates included; vr_jget()
 *    returns the LAST member with a key (what Python's json.loads and serde
 *    keep). Callers that must refuse duplicates walk the members.
 *  - Every accessor accepts NULL and answers "absent".
 */
#ifndef VR_JSON_H
#define VR_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default nesting limit: deep enough for any real document (the server
 * round-trips 1000 levels), small enough that walking it recursively is safe
 * on a worker thread's stack. */
#define VR_JSON_MAX_DEPTH 1024

typedef enum vr_json_type {
    VR_JSON_NULL = 0,
    VR_JSON_BOOL,
    VR_JSON_INT,    /* fits int64 */
    VR_JSON_DOUBLE, /* any other number (fractions, exponents, > int64) */
    VR_JSON_STRING,
    VR_JSON_ARRAY,
    VR_JSON_OBJECT,
} vr_json_type;

typedef struct vr_json vr_json;
typedef struct vr_json_member {
    const char *key; /* decoded, NUL-terminated */
    size_t key_len;
    const vr_json *value;
} vr_json_member;

struct vr_json {
    vr_json_type type;
    union {
        int b;
        int64_t i;
        double d;
        struct { const char *s; size_t len; } str;
        struct { const vr_json *items; size_t n; } arr;
        struct { const vr_json_member *m; size_t n; } obj;
    } u;
};

typedef struct vr_jdoc vr_jdoc;

/* Parse len bytes (no padding or NUL needed). On error returns NULL and
 * writes the one-line message to err (err may be NULL). */
vr_jdoc *vr_jdoc_parse(const char *text, size_t len, char *err, size_t errlen);
/* The same with a tighter nesting limit (1..VR_JSON_MAX_DEPTH): for callers
 * that walk the tree recursively with a smaller budget of their own. */
vr_jdoc *vr_jdoc_parse_depth(const char *text, size_t len, size_t max_depth, char *err,
                             size_t errlen);
void vr_jdoc_free(vr_jdoc *doc);
const vr_json *vr_jdoc_root(const vr_jdoc *doc);

/* ---- lookups; all accept NULL and return NULL / 0 when absent */

const vr_json *vr_jget(const vr_json *obj, const char *key); /* last duplicate wins */
size_t vr_jlen(const vr_json *v);                /* elements / members; 0 for scalars */
const vr_json *vr_jat(const vr_json *v, size_t i); /* element i, or value of member i */
const char *vr_jkey_at(const vr_json *obj, size_t i); /* key of member i */
int vr_jis(const vr_json *v, vr_json_type t);        /* present and of type t */

/* ---- typed reads: 0 on success, -1 when v is absent or of another type */

int vr_jbool(const vr_json *v, int *out);
/* An INT, or a DOUBLE with an integral value inside int64 (2.0, -2.5e1):
 * configs written by hand or by other tools say "4.0" where they mean 4. */
int vr_jint64(const vr_json *v, int64_t *out);
int vr_jdouble(const vr_json *v, double *out); /* any number */
int vr_jstr(const vr_json *v, const char **s, size_t *len); /* len may be NULL */
/* The string, or NULL when v is not one. */
const char *vr_jstring(const vr_json *v);

/* "null", "boolean", "integer", "number", "string", "array", "object". */
const char *vr_jtype_name(vr_json_type t);
/* The type name of a value, "missing" for NULL (for "x must be ..., got %s"). */
const char *vr_jtype_of(const vr_json *v);
int vr_jis_number(const vr_json *v);
double vr_jnum(const vr_json *v); /* int or double as double; 0 otherwise */

/* ---- the cursor: zero-copy reads of a big document
 *
 * The tree copies every value; for multi-megabyte files read once (an 11 MB
 * tokenizer.json) that copy costs more than the parse itself. A cursor is a
 * 16-byte handle into simdjson's own DOM instead: same rules as the tree
 * (types, NUL-terminated strings, last duplicate wins, errors with line and
 * col), valid until vr_jcur_free(). The input needs vr_jcur_padding()
 * readable bytes after len (any value) so simdjson can read it in place. */

typedef struct vr_jcur_doc vr_jcur_doc;
typedef struct { uint64_t opaque[2]; } vr_jcur;
typedef struct { uint64_t opaque[6]; } vr_jcur_it;

size_t vr_jcur_padding(void);
vr_jcur_doc *vr_jcur_parse(const char *buf, size_t len, char *err, size_t errlen);
void vr_jcur_free(vr_jcur_doc *doc);
vr_jcur vr_jcur_root(const vr_jcur_doc *doc);

vr_json_type vr_jcur_type(vr_jcur v);
/* Member by key (the last duplicate): 1 and *out when present, else 0. */
int vr_jcur_get(vr_jcur obj, const char *key, vr_jcur *out);
size_t vr_jcur_len(vr_jcur v); /* elements / members; 0 for scalars */
/* Typed reads, as vr_jstr / vr_jint64 / vr_jbool: 0 on success, -1 on a
 * type mismatch. */
int vr_jcur_str(vr_jcur v, const char **s, size_t *len);
int vr_jcur_int64(vr_jcur v, int64_t *out);
int vr_jcur_bool(vr_jcur v, int *out);

/* Iteration over an array (key NULL) or an object's members in order:
 *   vr_jcur_it it; vr_jcur val; const char *k; size_t kn;
 *   for (vr_jcur_begin(v, &it); vr_jcur_next(&it, &k, &kn, &val);) ...
 * A scalar iterates as empty. */
void vr_jcur_begin(vr_jcur v, vr_jcur_it *it);
int vr_jcur_next(vr_jcur_it *it, const char **key, size_t *keylen, vr_jcur *val);

#ifdef __cplusplus
}
#endif

#endif
