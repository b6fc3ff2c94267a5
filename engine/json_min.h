/* engine/json_min.h — private to engine/: a small, strict JSON reader.
 *
 * Parses a whole document (RFC 8259: objects, arrays, strings with every
 * escape including surrogate pairs, numbers, true/false/null) into a tree
 * the caller walks with the typed getters below. Used for config.json,
 * generation_config.json, model.safetensors.index.json and the safetensors
 * header. Documents are small (a few MB at most), so a tree is simpler than
 * streaming. Nesting is limited (VR_JSON_MAX_DEPTH) so hostile input cannot
 * overflow the stack.
 *
 * Object members keep file order; vr_json_get() returns the first member
 * with a key (duplicate keys are not an error here; callers that must reject
 * them check). Strings are decoded to UTF-8 and NUL-terminated; a string with
 * an embedded \u0000 reports its true length through vr_json_string().
 */
#ifndef VR_ENGINE_JSON_MIN_H
#define VR_ENGINE_JSON_MIN_H

#include <stddef.h>
#include <stdint.h>

#define VR_JSON_MAX_DEPTH 64

typedef enum vr_json_type {
    VR_JSON_NULL = 0,
    VR_JSON_BOOL,
    VR_JSON_NUMBER,
    VR_JSON_STRING,
    VR_JSON_ARRAY,
    VR_JSON_OBJECT,
} vr_json_type;

typedef struct vr_json vr_json;

/* Parse text[0..len). Returns the root, or NULL with "line L col C: why" in
 * err. Free with vr_json_free(). */
vr_json *vr_json_parse(const char *text, size_t len, char *err, size_t errlen);
void vr_json_free(vr_json *root);

vr_json_type vr_json_type_of(const vr_json *v);
/* "null", "bool", "number", "string", "array", "object" (for messages). */
const char *vr_json_type_name(vr_json_type t);

/* Arrays and objects: number of elements / members (0 for other types). */
size_t vr_json_len(const vr_json *v);
/* Element i of an array or value of member i of an object (NULL if out of range). */
const vr_json *vr_json_at(const vr_json *v, size_t i);
/* Key of member i of an object (NULL if v is not an object or i out of range). */
const char *vr_json_key_at(const vr_json *v, size_t i);
/* Member `key` of an object; NULL when absent or v is not an object. */
const vr_json *vr_json_get(const vr_json *v, const char *key);

/* Typed reads. Each returns 0 on success and nonzero when v has another type
 * (or, for int, is not an integer that fits in int64: 3.5, 1e300). */
int vr_json_get_bool(const vr_json *v, int *out);
int vr_json_get_double(const vr_json *v, double *out);
int vr_json_get_int64(const vr_json *v, int64_t *out);
/* The decoded string and its length in bytes (len may be NULL). */
int vr_json_get_string(const vr_json *v, const char **out, size_t *len);

#endif
