/* server/json_writer.h — private to server/: JSON out, and the growable byte
 * buffer everything in server/ writes into.
 *
 * The writer always emits valid JSON: strings are escaped (control
 * characters, '"', '\\', U+2028/U+2029 as \u escapes so the output is safe in
 * JavaScript too), invalid UTF-8 becomes U+FFFD, non-finite numbers become
 * null (callers that want -9999.0 for -inf map it first), and doubles use the
 * shortest text that reads back to the same value. Allocation failure is
 * sticky: check vr_sbuf.oom once at the end. */
#ifndef VR_SERVER_JSON_WRITER_H
#define VR_SERVER_JSON_WRITER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "json/json.h"

typedef struct vr_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} vr_sbuf;

void vr_sb_free(vr_sbuf *b);
int vr_sb_reserve(vr_sbuf *b, size_t extra); /* 0 ok; keeps p NUL-terminated */
void vr_sb_put(vr_sbuf *b, const void *data, size_t n);
void vr_sb_puts(vr_sbuf *b, const char *s);
void vr_sb_printf(vr_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *vr_sb_take(vr_sbuf *b); /* hands p to the caller (NUL-terminated), resets b */

#define VR_JW_MAX_DEPTH 1040 /* above simdjson's parse depth limit, so any parsed value re-serializes */

typedef struct vr_jw {
    vr_sbuf *out;
    int depth;
    int err;                            /* nesting overflow / misuse */
    unsigned char first[VR_JW_MAX_DEPTH]; /* 1 until the first element at a level */
    int after_key;
} vr_jw;

void vr_jw_init(vr_jw *w, vr_sbuf *out);
void vr_jw_obj_begin(vr_jw *w);
void vr_jw_obj_end(vr_jw *w);
void vr_jw_arr_begin(vr_jw *w);
void vr_jw_arr_end(vr_jw *w);
void vr_jw_key(vr_jw *w, const char *key);
void vr_jw_str(vr_jw *w, const char *s); /* NULL writes null */
void vr_jw_strn(vr_jw *w, const char *s, size_t n);
void vr_jw_int(vr_jw *w, int64_t v);
void vr_jw_double(vr_jw *w, double v); /* shortest round-trip */
void vr_jw_float(vr_jw *w, float v);   /* shortest text that reads back as the same float */
void vr_jw_bool(vr_jw *w, int v);
void vr_jw_null(vr_jw *w);
void vr_jw_raw(vr_jw *w, const char *json, size_t n); /* pre-serialized value */
void vr_jw_value(vr_jw *w, const vr_json *v);          /* re-serialize a parsed value */

/* Escaped string body (no quotes) appended to b: for building messages. */
void vr_json_escape(vr_sbuf *b, const char *s, size_t n);
/* Shortest round-trip formatting into buf (>= 32 bytes); returns length. */
int vr_fmt_double(char *buf, double v);
int vr_fmt_float(char *buf, float v);

#endif
