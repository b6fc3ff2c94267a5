/* server/json.h — private to server/: JSON in, as a read-only tree walkable from C.
 *
 * simdjson parses (and validates UTF-8); json.cpp copies its DOM into one
 * arena of plain C nodes so handlers can walk it with type checks and say
 * exactly which field is wrong ("messages[2].content must be a string").
 * Strings are NUL-terminated copies (they may also contain NULs; use len).
 */
#ifndef VR_SERVER_JSON_H
#define VR_SERVER_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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
    const char *key;
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

/* Parse len bytes. On error returns NULL and writes a one-line message. */
vr_jdoc *vr_jdoc_parse(const char *text, size_t len, char *err, size_t errlen);
void vr_jdoc_free(vr_jdoc *doc);
const vr_json *vr_jdoc_root(const vr_jdoc *doc);

/* Lookup helpers; all accept NULL and return NULL/0 when absent. */
const vr_json *vr_jget(const vr_json *obj, const char *key); /* last duplicate wins */
const char *vr_jtype_name(vr_json_type t);                   /* "string", "object", ... */
int vr_jis_number(const vr_json *v);
double vr_jnum(const vr_json *v); /* int or double as double */

#ifdef __cplusplus
}
#endif

#endif
