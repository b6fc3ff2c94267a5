/* benchmarks/serve/bjson.h — a small, careful JSON reader for the load generator.
 *
 * The harness must not depend on the server or engine libraries, and it reads
 * untrusted bytes (a misbehaving server, a user's dataset file), so it has its
 * own parser: a recursive-descent reader into one arena of nodes, with a depth
 * limit, strict grammar, \u escapes (surrogate pairs joined) unescaped into
 * NUL-terminated copies. Errors are messages with the byte offset. */
#ifndef VR_BENCH_BJSON_H
#define VR_BENCH_BJSON_H

#include <stddef.h>

typedef enum { VR_BJ_NULL, VR_BJ_BOOL, VR_BJ_NUM, VR_BJ_STR, VR_BJ_ARR, VR_BJ_OBJ } vr_bj_type;

typedef struct vr_bj vr_bj;
struct vr_bj {
    vr_bj_type type;
    double num;        /* VR_BJ_NUM, also 0/1 for VR_BJ_BOOL */
    const char *str;   /* VR_BJ_STR: unescaped, NUL-terminated; key of an object member */
    size_t len;        /* string length in bytes */
    const char *key;   /* set on members of an object */
    vr_bj *child;      /* first element / member */
    vr_bj *next;       /* next sibling */
    size_t n;          /* number of children */
};

typedef struct vr_bj_doc vr_bj_doc;

/* Parse len bytes. NULL on error with a one-line message in err. */
vr_bj_doc *vr_bj_parse(const char *text, size_t len, char *err, size_t errlen);
void vr_bj_free(vr_bj_doc *doc);
const vr_bj *vr_bj_root(const vr_bj_doc *doc);

/* Lookups; all accept NULL and return NULL when absent or of another type. */
const vr_bj *vr_bj_get(const vr_bj *obj, const char *key);
const vr_bj *vr_bj_at(const vr_bj *arr, size_t i);
const char *vr_bj_str(const vr_bj *v);              /* NULL unless a string */
int vr_bj_num(const vr_bj *v, double *out);         /* 0 ok, -1 not a number */

#endif
