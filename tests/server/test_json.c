/* JSON writer: escaping, UTF-8 repair, numbers, re-serializing parsed values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "server/json_writer.h"

static int failures;
#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static void check_str(const char *in, size_t n, const char *want) {
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_strn(&w, in, n);
    if (!b.p || strcmp(b.p, want)) {
        fprintf(stderr, "escape: got %s want %s\n", b.p ? b.p : "(null)", want);
        failures++;
    }
    /* whatever went in, what comes out parses back */
    vr_jdoc *d = vr_jdoc_parse(b.p, b.len, NULL, 0);
    CHECK(d != NULL);
    vr_jdoc_free(d);
    vr_sb_free(&b);
}

static void test_escaping(void) {
    check_str("plain", 5, "\"plain\"");
    check_str("q\"b\\", 4, "\"q\\\"b\\\\\"");
    check_str("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    check_str("\x01\x1f", 2, "\"\\u0001\\u001f\"");
    check_str("a\0b", 3, "\"a\\u0000b\"");
    check_str("\x7f", 1, "\"\x7f\"");
    check_str("\xe2\x80\xa8|\xe2\x80\xa9", 7, "\"\\u2028|\\u2029\"");
    check_str("h\xc3\xa9llo \xf0\x9f\x98\x80", 11, "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
    /* invalid UTF-8 never leaves: lone continuation, truncated sequences,
     * overlongs, surrogates, > U+10FFFF -> U+FFFD per bad byte */
    check_str("\x80", 1, "\"\xef\xbf\xbd\"");
    check_str("a\xe4\xb8", 3, "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
    check_str("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    check_str("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    check_str("\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    check_str("\xff", 1, "\"\xef\xbf\xbd\"");
}

static void check_double(double v, const char *want) {
    char buf[40];
    vr_fmt_double(buf, v);
    if (strcmp(buf, want)) {
        fprintf(stderr, "double: got %s want %s\n", buf, want);
        failures++;
    }
}

static void test_numbers(void) {
    check_double(0.1, "0.1");
    check_double(1.0, "1.0");
    check_double(-2.5, "-2.5");
    check_double(1e21, "1e+21");
    check_double(1500.0, "1500.0");
    check_double(1e16, "1e+16");
    check_double(123456789012345.6, "123456789012345.6");
    check_double(0.0001, "0.0001");
    check_double(0.00001234, "1.234e-05");
    check_double(0.0, "0.0");
    check_double(-9999.0, "-9999.0");
    check_double(NAN, "null");
    check_double(INFINITY, "null");
    char buf[40];
    /* shortest text that round-trips, for many values */
    unsigned x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        double v = ((double)x / 4294967296.0 - 0.5) * pow(10, (int)(x % 40) - 20);
        vr_fmt_double(buf, v);
        CHECK(strtod(buf, NULL) == v);
        float f = (float)v;
        vr_fmt_float(buf, f);
        CHECK(strtof(buf, NULL) == f);
        CHECK(strlen(buf) <= 24);
    }
    vr_fmt_float(buf, 0.1f);
    CHECK(!strcmp(buf, "0.1"));
    vr_fmt_float(buf, -1.5f);
    CHECK(!strcmp(buf, "-1.5"));
}

static void test_writer_structure(void) {
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_obj_begin(&w);
    vr_jw_key(&w, "a");
    vr_jw_int(&w, -3);
    vr_jw_key(&w, "b");
    vr_jw_arr_begin(&w);
    vr_jw_bool(&w, 1);
    vr_jw_null(&w);
    vr_jw_str(&w, NULL);
    vr_jw_double(&w, 2.25);
    vr_jw_arr_begin(&w);
    vr_jw_arr_end(&w);
    vr_jw_obj_begin(&w);
    vr_jw_obj_end(&w);
    vr_jw_arr_end(&w);
    vr_jw_key(&w, "k\"ey");
    vr_jw_raw(&w, "{\"x\":1}", 7);
    vr_jw_obj_end(&w);
    CHECK(!w.err);
    CHECK(!strcmp(b.p, "{\"a\":-3,\"b\":[true,null,null,2.25,[],{}],\"k\\\"ey\":{\"x\":1}}"));
    vr_sb_free(&b);
}

/* vr_jw_value re-serializes what json/ parsed (the reader itself is tested
 * in tests/json/): duplicates and order kept, big integers as doubles. */
static void test_reserialize(void) {
    char err[200];
    const char *text = "{\"s\":\"h\\u00e9\\n\",\"i\":-42,\"big\":18446744073709551615,\"d\":1.5e3,"
                       "\"t\":true,\"n\":null,\"a\":[1,[2,{}]],\"dup\":1,\"dup\":2}";
    vr_jdoc *d = vr_jdoc_parse(text, strlen(text), err, sizeof err);
    CHECK(d != NULL);
    if (!d) return;
    vr_sbuf b = {0};
    vr_jw w;
    vr_jw_init(&w, &b);
    vr_jw_value(&w, vr_jdoc_root(d));
    CHECK(!strcmp(b.p, "{\"s\":\"h\xc3\xa9\\n\",\"i\":-42,\"big\":1.8446744073709552e+19,\"d\":1500.0,\"t\":true,"
                       "\"n\":null,\"a\":[1,[2,{}]],\"dup\":1,\"dup\":2}"));
    vr_sb_free(&b);
    vr_jdoc_free(d);

    /* a value nested as deep as the reader allows re-serializes */
    size_t depth = 1000;
    char *deep = malloc(depth * 2);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    vr_jdoc *x = vr_jdoc_parse(deep, depth * 2, err, sizeof err);
    CHECK(x != NULL);
    if (x) {
        vr_sbuf o = {0};
        vr_jw_init(&w, &o);
        vr_jw_value(&w, vr_jdoc_root(x));
        CHECK(!w.err && o.len == depth * 2 && !memcmp(o.p, deep, depth * 2));
        vr_sb_free(&o);
        vr_jdoc_free(x);
    }
    free(deep);
}

static void test_buf(void) {
    vr_sbuf b = {0};
    for (int i = 0; i < 1000; i++) vr_sb_printf(&b, "%d,", i);
    CHECK(b.len > 3000 && !b.oom && b.p[b.len] == 0);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    size_t before = b.len;
    vr_sb_printf(&b, "%s", big);
    CHECK(b.len == before + sizeof big - 1);
    char *t = vr_sb_take(&b);
    CHECK(t && b.p == NULL && b.len == 0);
    free(t);
}

int main(void) {
    test_escaping();
    test_numbers();
    test_writer_structure();
    test_reserialize();
    test_buf();
    if (failures) {
        fprintf(stderr, "test_json: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_json: ok\n");
    return 0;
}
