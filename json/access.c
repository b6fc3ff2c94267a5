/* json/access.c — lookups and typed reads over a parsed tree. Every function
 * accepts NULL so callers can chain them (vr_jget(vr_jget(root, "a"), "b"))
 * and check once at the end. */
#include <math.h>
#include <string.h>

#include "json/json.h"

const vr_json *vr_jget(const vr_json *obj, const char *key) {
    if (!obj || obj->type != VR_JSON_OBJECT || !key) return NULL;
    size_t kl = strlen(key);
    /* from the end: the last duplicate wins, as in Python's json.loads */
    for (size_t i = obj->u.obj.n; i-- > 0;) {
        const vr_json_member *m = &obj->u.obj.m[i];
        if (m->key_len == kl && memcmp(m->key, key, kl) == 0) return m->value;
    }
    return NULL;
}

size_t vr_jlen(const vr_json *v) {
    if (!v) return 0;
    if (v->type == VR_JSON_ARRAY) return v->u.arr.n;
    if (v->type == VR_JSON_OBJECT) return v->u.obj.n;
    return 0;
}

const vr_json *vr_jat(const vr_json *v, size_t i) {
    if (!v) return NULL;
    if (v->type == VR_JSON_ARRAY) return i < v->u.arr.n ? &v->u.arr.items[i] : NULL;
    if (v->type == VR_JSON_OBJECT) return i < v->u.obj.n ? v->u.obj.m[i].value : NULL;
    return NULL;
}

const char *vr_jkey_at(const vr_json *obj, size_t i) {
    if (!obj || obj->type != VR_JSON_OBJECT || i >= obj->u.obj.n) return NULL;
    return obj->u.obj.m[i].key;
}

int vr_jis(const vr_json *v, vr_json_type t) { return v && v->type == t; }

int vr_jbool(const vr_json *v, int *out) {
    if (!v || v->type != VR_JSON_BOOL) return -1;
    *out = v->u.b;
    return 0;
}

int vr_jint64(const vr_json *v, int64_t *out) {
    if (!v) return -1;
    if (v->type == VR_JSON_INT) {
        *out = v->u.i;
        return 0;
    }
    /* -2^63 is exact as a double; 2^63 is the first value out of range */
    if (v->type == VR_JSON_DOUBLE && v->u.d == floor(v->u.d) && v->u.d >= -9223372036854775808.0 &&
        v->u.d < 9223372036854775808.0) {
        *out = (int64_t)v->u.d;
        return 0;
    }
    return -1;
}

int vr_jdouble(const vr_json *v, double *out) {
    if (!v) return -1;
    if (v->type == VR_JSON_INT) *out = (double)v->u.i;
    else if (v->type == VR_JSON_DOUBLE) *out = v->u.d;
    else return -1;
    return 0;
}

int vr_jstr(const vr_json *v, const char **s, size_t *len) {
    if (!v || v->type != VR_JSON_STRING) return -1;
    *s = v->u.str.s;
    if (len) *len = v->u.str.len;
    return 0;
}

const char *vr_jstring(const vr_json *v) { return v && v->type == VR_JSON_STRING ? v->u.str.s : NULL; }

const char *vr_jtype_name(vr_json_type t) {
    switch (t) {
    case VR_JSON_NULL: return "null";
    case VR_JSON_BOOL: return "boolean";
    case VR_JSON_INT: return "integer";
    case VR_JSON_DOUBLE: return "number";
    case VR_JSON_STRING: return "string";
    case VR_JSON_ARRAY: return "array";
    case VR_JSON_OBJECT: return "object";
    }
    return "?";
}

const char *vr_jtype_of(const vr_json *v) { return v ? vr_jtype_name(v->type) : "missing"; }

int vr_jis_number(const vr_json *v) { return v && (v->type == VR_JSON_INT || v->type == VR_JSON_DOUBLE); }

double vr_jnum(const vr_json *v) {
    if (!v) return 0;
    return v->type == VR_JSON_INT ? (double)v->u.i : v->type == VR_JSON_DOUBLE ? v->u.d : 0;
}
