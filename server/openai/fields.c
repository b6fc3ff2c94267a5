/* server/openai/fields.c — typed field getters whose errors name the field. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "server/openai/openai.h"

int vr_field_fail(vr_field_err *e, const char *param, const char *fmt, ...) {
    e->param = param;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const vr_json *field(const vr_json *o, const char *key) {
    const vr_json *v = vr_jget(o, key);
    return v && v->type != VR_JSON_NULL ? v : NULL;
}

int vr_get_bool(const vr_json *o, const char *key, int *out, vr_field_err *e) {
    const vr_json *v = field(o, key);
    if (!v) return 0;
    if (v->type != VR_JSON_BOOL)
        return vr_field_fail(e, key, "%s must be a boolean, not %s", key, vr_jtype_name(v->type));
    *out = v->u.b;
    return 0;
}

int vr_get_int(const vr_json *o, const char *key, long long lo, long long hi, long long *out, vr_field_err *e) {
    const vr_json *v = field(o, key);
    if (!v) return 0;
    long long x;
    if (v->type == VR_JSON_INT) x = v->u.i;
    else if (v->type == VR_JSON_DOUBLE && v->u.d == floor(v->u.d) && fabs(v->u.d) < 9e18) x = (long long)v->u.d;
    else return vr_field_fail(e, key, "%s must be an integer, not %s", key, vr_jtype_name(v->type));
    if (x < lo || x > hi) return vr_field_fail(e, key, "%s must be between %lld and %lld, got %lld", key, lo, hi, x);
    *out = x;
    return 0;
}

int vr_get_num(const vr_json *o, const char *key, double lo, double hi, double *out, vr_field_err *e) {
    const vr_json *v = field(o, key);
    if (!v) return 0;
    if (!vr_jis_number(v))
        return vr_field_fail(e, key, "%s must be a number, not %s", key, vr_jtype_name(v->type));
    double x = vr_jnum(v);
    if (!(x >= lo && x <= hi)) return vr_field_fail(e, key, "%s must be between %g and %g, got %g", key, lo, hi, x);
    *out = x;
    return 0;
}

int vr_get_str(const vr_json *o, const char *key, const char **out, vr_field_err *e) {
    const vr_json *v = field(o, key);
    if (!v) return 0;
    if (v->type != VR_JSON_STRING)
        return vr_field_fail(e, key, "%s must be a string, not %s", key, vr_jtype_name(v->type));
    *out = v->u.str.s;
    return 0;
}
