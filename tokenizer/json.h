/* tokenizer/json.h — private: a small C view of a simdjson DOM document.
 *
 * Values are opaque 16-byte copies of simdjson elements; they stay valid
 * until the document is freed. Only json.cpp knows simdjson. */
#ifndef VR_TOK_JSON_H
#define VR_TOK_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_tokjson_doc vr_tokjson_doc;
typedef struct { uint64_t opaque[2]; } vr_jv;
typedef struct { uint64_t opaque[6]; } vr_jit;

enum vr_jtype { VR_J_NULL, VR_J_BOOL, VR_J_INT, VR_J_DOUBLE, VR_J_STRING, VR_J_ARRAY, VR_J_OBJECT };

/* Bytes that must be readable (any value) after the end of the buffer. */
size_t vr_tokjson_padding(void);
/* buf must have vr_tokjson_padding() readable bytes after len. */
vr_tokjson_doc *vr_tokjson_parse(const char *buf, size_t len, char *err, size_t errlen);
void vr_tokjson_free(vr_tokjson_doc *d);
vr_jv vr_tokjson_root(const vr_tokjson_doc *d);

int vr_jv_type(vr_jv v);
/* Object member by key: 1 and *out when present, 0 otherwise (or not an object). */
int vr_jv_get(vr_jv obj, const char *key, vr_jv *out);
/* Typed reads: 0 on success, -1 on a type mismatch. */
int vr_jv_str(vr_jv v, const char **s, size_t *n);
int vr_jv_int(vr_jv v, int64_t *out); /* integers only (unsigned above INT64_MAX fail) */
int vr_jv_bool(vr_jv v, int *out);
size_t vr_jv_size(vr_jv v); /* elements of an array / members of an object, else 0 */

/* Iteration over an array (key is NULL) or object:
 *   vr_jit it; vr_jv val; const char *k; size_t kn;
 *   for (vr_jit_begin(v, &it); vr_jit_next(&it, &k, &kn, &val);) ... */
void vr_jit_begin(vr_jv v, vr_jit *it);
int vr_jit_next(vr_jit *it, const char **key, size_t *keylen, vr_jv *val);

#ifdef __cplusplus
}
#endif

#endif
