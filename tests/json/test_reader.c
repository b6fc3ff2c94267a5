/* Unit tests of json/: values, lookups, typed reads, and that hostile text
 * (deep nesting, bad UTF-8, lone surrogates, huge numbers, truncation) is a
 * one-line message with a position, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "tests/json/check.h"

static vr_jdoc *parse(const char *s, char *err, size_t errlen) { return vr_jdoc_parse(s, strlen(s), err, errlen); }

static void test_values(void) {
    char err[200];
    const char *text = " {\"s\":\"h\\u00e9\\n\",\"i\":-42,\"big\":18446744073709551615,\"d\":1.5e3,"
                       "\"t\":true,\"f\":false,\"n\":null,\"a\":[1,[2,{}]],\"dup\":1,\"dup\":2,"
                       "\"e\":\"x\\u00e9\\ud83d\\ude00\\n\",\"z\":\"a\\u0000b\",\"i64\":12345678901,"
                       "\"neg\":-2.5e1,\"min\":-9223372036854775808} ";
    vr_jdoc *d = parse(text, err, sizeof err);
    CHECK(d != NULL, "%s", err);
    if (!d) return;
    const vr_json *r = vr_jdoc_root(d);
    CHECK(r->type == VR_JSON_OBJECT && vr_jlen(r) == 15, "root");
    const vr_json *s = vr_jget(r, "s");
    CHECK(s && s->type == VR_JSON_STRING && s->u.str.len == 4 && !memcmp(s->u.str.s, "h\xc3\xa9\n", 5),
          "escapes decode, NUL-terminated");
    CHECK(vr_jget(r, "i")->type == VR_JSON_INT && vr_jget(r, "i")->u.i == -42, "int");
    CHECK(vr_jget(r, "big")->type == VR_JSON_DOUBLE, "above int64 is a double");
    CHECK(vr_jget(r, "d")->type == VR_JSON_DOUBLE && vr_jnum(vr_jget(r, "d")) == 1500.0, "double");
    CHECK(vr_jis_number(vr_jget(r, "d")) && !vr_jis_number(vr_jget(r, "s")), "is_number");
    int b = -1;
    CHECK(vr_jbool(vr_jget(r, "t"), &b) == 0 && b == 1, "true");
    CHECK(vr_jbool(vr_jget(r, "f"), &b) == 0 && b == 0, "false");
    CHECK(vr_jget(r, "n")->type == VR_JSON_NULL, "null");
    CHECK(vr_jis(vr_jget(r, "n"), VR_JSON_NULL) && !vr_jis(NULL, VR_JSON_NULL) && !vr_jis(vr_jget(r, "i"), VR_JSON_DOUBLE), "vr_jis");
    const vr_json *a = vr_jget(r, "a");
    CHECK(a->type == VR_JSON_ARRAY && vr_jlen(a) == 2 && vr_jlen(vr_jat(a, 1)) == 2, "nested array");
    CHECK(vr_jat(vr_jat(a, 1), 1)->type == VR_JSON_OBJECT && vr_jlen(vr_jat(vr_jat(a, 1), 1)) == 0, "{}");
    CHECK(vr_jat(a, 2) == NULL && vr_jat(NULL, 0) == NULL, "out of range");
    /* duplicates: both kept in order, vr_jget answers the last */
    CHECK(vr_jget(r, "dup")->u.i == 2, "last duplicate wins");
    CHECK(!strcmp(vr_jkey_at(r, 8), "dup") && vr_jat(r, 8)->u.i == 1 && !strcmp(vr_jkey_at(r, 9), "dup"),
          "members keep document order");
    const char *str;
    size_t n;
    CHECK(vr_jstr(vr_jget(r, "e"), &str, &n) == 0 && n == 8 && !memcmp(str, "x\xc3\xa9\xf0\x9f\x98\x80\n", 8),
          "surrogate pair joined");
    CHECK(vr_jstr(vr_jget(r, "z"), &str, &n) == 0 && n == 3 && !memcmp(str, "a\0b", 4), "embedded NUL");
    CHECK(vr_jstring(vr_jget(r, "s")) == vr_jget(r, "s")->u.str.s && vr_jstring(vr_jget(r, "i")) == NULL,
          "vr_jstring");
    int64_t i;
    double x;
    CHECK(vr_jint64(vr_jget(r, "i64"), &i) == 0 && i == 12345678901LL, "int64");
    CHECK(vr_jint64(vr_jget(r, "neg"), &i) == 0 && i == -25, "integral double as int");
    CHECK(vr_jint64(vr_jget(r, "min"), &i) == 0 && i == INT64_MIN, "INT64_MIN");
    CHECK(vr_jint64(vr_jget(r, "d"), &i) == 0 && i == 1500, "1.5e3 is integral");
    CHECK(vr_jint64(vr_jget(r, "big"), &i) != 0, "2^64-1 does not fit int64");
    CHECK(vr_jint64(vr_jget(r, "s"), &i) != 0 && vr_jdouble(vr_jget(r, "s"), &x) != 0, "type checks");
    CHECK(vr_jdouble(vr_jget(r, "i"), &x) == 0 && x == -42, "int as double");
    CHECK(vr_jstr(vr_jget(r, "i"), &str, NULL) != 0 && vr_jbool(vr_jget(r, "i"), &b) != 0, "type checks");
    CHECK(vr_jget(r, "missing") == NULL && vr_jget(a, "x") == NULL && vr_jget(NULL, "x") == NULL, "absent");
    CHECK(vr_jkey_at(a, 0) == NULL && vr_jkey_at(r, 99) == NULL && vr_jlen(vr_jget(r, "s")) == 0, "keys");
    CHECK(!strcmp(vr_jtype_name(VR_JSON_STRING), "string") && !strcmp(vr_jtype_of(NULL), "missing") &&
              !strcmp(vr_jtype_of(vr_jget(r, "i")), "integer") && !strcmp(vr_jtype_of(vr_jget(r, "d")), "number"),
          "type names");
    vr_jdoc_free(d);
    vr_jdoc_free(NULL);
    CHECK(vr_jdoc_root(NULL) == NULL, "root of NULL");

    /* scalars are documents too */
    d = parse("  \"only\" ", err, sizeof err);
    CHECK(d && vr_jdoc_root(d)->type == VR_JSON_STRING, "scalar root: %s", err);
    vr_jdoc_free(d);
    d = parse("-0", err, sizeof err);
    CHECK(d && vr_jdoc_root(d)->type == VR_JSON_INT && vr_jdoc_root(d)->u.i == 0, "-0 is the integer 0: %s", err);
    vr_jdoc_free(d);
    /* text is not read past len (no NUL, no padding needed) */
    d = vr_jdoc_parse("[1]garbage", 3, err, sizeof err);
    CHECK(d && vr_jlen(vr_jdoc_root(d)) == 1, "len respected: %s", err);
    vr_jdoc_free(d);
}

/* Each bad text is refused with "line L col C: <want>". */
static void expect_bad(const char *text, size_t len, const char *want, const char *pos) {
    char err[256];
    err[0] = 0;
    vr_jdoc *d = vr_jdoc_parse(text, len, err, sizeof err);
    CHECK(d == NULL, "accepted: %.40s", text);
    CHECK(strncmp(err, "line ", 5) == 0 && strstr(err, " col ") && strchr(err, '\n') == NULL,
          "no one-line position: %s", err);
    if (want) CHECK(strstr(err, want) != NULL, "want \"%s\" in: %s", want, err);
    if (pos) CHECK(strncmp(err, pos, strlen(pos)) == 0, "want position \"%s\" in: %s", pos, err);
    vr_jdoc_free(d);
}
#define BAD(s, want, pos) expect_bad(s, sizeof(s) - 1, want, pos)

static void test_errors(void) {
    /* grammar */
    BAD("", "empty", "line 1 col 1:");
    BAD("   ", "empty", NULL);
    BAD("{", NULL, NULL);
    BAD("[1,]", NULL, "line 1 col 4:");
    BAD("{\"a\" 1}", NULL, "line 1 col 6:");
    BAD("{\"a\":1,}", NULL, "line 1 col 8:");
    BAD("{\"a\":}", NULL, "line 1 col 6:");
    BAD("{1:2}", NULL, "line 1 col 2:");
    BAD("[1 2]", NULL, "line 1 col 4:");
    BAD("{\n  \"a\": 1\n  \"b\": 2\n}", NULL, "line 3 col 3:");
    BAD("[1] x", NULL, "line 1 col 5:");
    BAD("{\"a\":1}x", NULL, "line 1 col 8:");
    BAD("[[1],[2]", NULL, NULL);
    BAD("tru", "true", "line 1 col 1:");
    BAD("nul", "null", "line 1 col 1:");
    BAD("[fals]", "false", "line 1 col 2:");
    BAD("{\"a\":[1,2,{\"b\":tru}]}", NULL, "line 1 col 16:");
    /* numbers */
    BAD("01", "number", NULL);
    BAD("1.", "number", NULL);
    BAD("-", "number", NULL);
    BAD("[1e400]", "number", "line 1 col 2:");
    BAD("[+1]", NULL, NULL);
    BAD("[.5]", NULL, NULL);
    BAD("[0x10]", NULL, NULL);
    BAD("[NaN]", NULL, NULL);
    /* strings */
    BAD("\"abc", "unterminated", NULL);
    BAD("[\"abc", "unterminated", NULL);
    BAD("\"\\x\"", "string", NULL);
    BAD("\"a\x01\"", "control", "line 1 col 3:");
    BAD("[\"a\tb\"]", "control", "line 1 col 4:");
    BAD("\"\\ud800\"", "surrogate", NULL);
    BAD("\"\\udc00\"", "surrogate", NULL);
    BAD("\"\\ud800\\u0041\"", "surrogate", NULL);
    BAD("\"\\ud800x\"", "surrogate", NULL);
    BAD("\"\\u12\"", NULL, NULL);
    /* UTF-8: the position is the first bad byte */
    BAD("\"\xff\"", "UTF-8", "line 1 col 2:");
    BAD("{\"a\":\"\xc3\"}", "UTF-8", "line 1 col 7:");
    BAD("[\n\"ok\",\n\"\xc0\xaf\"]", "UTF-8", "line 3 col 2:");       /* overlong '/' */
    BAD("\"\xed\xa0\x80\"", "UTF-8", "line 1 col 2:");                 /* encoded surrogate */
    BAD("\"\xf4\x90\x80\x80\"", "UTF-8", "line 1 col 2:");             /* above U+10FFFF */
    BAD("\"\xe2\x82\"", "UTF-8", NULL);                                /* cut short */
    BAD("{\"k\xff\":1}", "UTF-8", "line 1 col 4:");
    /* NUL bytes are not whitespace */
    BAD("[1,\0 2]", NULL, NULL);
    BAD("{\"a\":1}\0", NULL, NULL);
}

static void test_truncations(void) {
    /* every proper prefix of a valid document is refused cleanly */
    const char *good = "{\"a\": [1, -2.5e-3, true, false, null, \"x\\u00e9\\ud83d\\ude00\"], \"b\": {\"c\": {}}}";
    size_t n = strlen(good);
    char err[256];
    vr_jdoc *d = vr_jdoc_parse(good, n, err, sizeof err);
    CHECK(d != NULL, "%s", err);
    vr_jdoc_free(d);
    for (size_t k = 0; k < n; k++) {
        err[0] = 0;
        d = vr_jdoc_parse(good, k, err, sizeof err);
        CHECK(d == NULL && !strncmp(err, "line 1 col ", 11), "prefix %zu: %s", k, err);
        vr_jdoc_free(d);
    }
}

/* simdjson refuses integers beyond 64 bits; json/ reads them as doubles */
static void test_big_integers(void) {
    char err[256];
    const char *t = "{\"model_max_length\": 1000000000000000019884624838656, \"neg\": -9223372036854775809,"
                    " \"frac\": 0.12345678901234567890123, \"exp\": 1e-0000000000000000000005,"
                    " \"s\": \"12345678901234567890123\", \"u\": 18446744073709551615}";
    vr_jdoc *d = parse(t, err, sizeof err);
    CHECK(d != NULL, "%s", err);
    const vr_json *r = vr_jdoc_root(d);
    CHECK(vr_jget(r, "model_max_length")->type == VR_JSON_DOUBLE && vr_jnum(vr_jget(r, "model_max_length")) == 1e30,
          "big int as double");
    CHECK(vr_jnum(vr_jget(r, "neg")) == -9223372036854775808.0, "below int64");
    CHECK(vr_jnum(vr_jget(r, "frac")) == 0.12345678901234567890123, "fraction digits untouched");
    CHECK(vr_jnum(vr_jget(r, "exp")) == 1e-5, "exponent digits untouched");
    CHECK(!strcmp(vr_jstring(vr_jget(r, "s")), "12345678901234567890123"), "strings untouched");
    CHECK(vr_jget(r, "u")->type == VR_JSON_DOUBLE, "uint64 range");
    vr_jdoc_free(d);
    /* an error after a widened integer still points into the original text */
    BAD("[10000000000000000000000000000, 10000000000000000000000000000, tru]", "true", "line 1 col 64:");
    BAD("[100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000]",
        "number", "line 1 col 2:");
}

static void test_depth(void) {
    char err[256];
    /* very deep nesting is refused, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(depth * 2);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    vr_jdoc *x = vr_jdoc_parse(deep, depth * 2, err, sizeof err);
    CHECK(x == NULL && strstr(err, "nesting too deep"), "%s", err);
    /* unclosed too */
    x = vr_jdoc_parse(deep, depth, err, sizeof err);
    CHECK(x == NULL && err[0], "%s", err);
    x = vr_jdoc_parse(deep, 4000, err, sizeof err);
    CHECK(x == NULL && strstr(err, "nesting too deep"), "%s", err);
    /* objects count as levels as well */
    size_t p = 0;
    for (int i = 0; i < 5000; i++) memcpy(deep + p, "{\"a\":", 5), p += 5;
    x = vr_jdoc_parse(deep, p, err, sizeof err);
    CHECK(x == NULL && err[0], "%s", err);
    /* the default limit is VR_JSON_MAX_DEPTH levels */
    depth = 1000;
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    x = vr_jdoc_parse(deep, depth * 2, err, sizeof err);
    CHECK(x != NULL, "1000 levels: %s", err);
    const vr_json *v = vr_jdoc_root(x);
    size_t levels = 0;
    while (v && v->type == VR_JSON_ARRAY) levels++, v = vr_jat(v, 0);
    CHECK(levels == depth, "levels %zu", levels);
    vr_jdoc_free(x);
    /* a caller's own limit */
    x = vr_jdoc_parse_depth(deep, depth * 2, 64, err, sizeof err);
    CHECK(x == NULL && strstr(err, "nesting too deep") && strstr(err, "64"), "%s", err);
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    x = vr_jdoc_parse_depth(deep, 128, 64, err, sizeof err);
    CHECK(x != NULL, "64 levels within 64: %s", err);
    vr_jdoc_free(x);
    free(deep);
}

static void test_sizes(void) {
    /* a large document: many members, long strings, big arrays */
    size_t cap = 4 << 20, p = 0;
    char *t = malloc(cap);
    p += (size_t)sprintf(t + p, "{");
    for (int i = 0; i < 50000; i++) p += (size_t)sprintf(t + p, "%s\"k%d\":[%d,%d.5,\"v%d\"]", i ? "," : "", i, i, i, i);
    p += (size_t)sprintf(t + p, ",\"long\":\"");
    memset(t + p, 'x', 1 << 20);
    p += 1 << 20;
    p += (size_t)sprintf(t + p, "\"}");
    char err[256];
    vr_jdoc *d = vr_jdoc_parse(t, p, err, sizeof err);
    CHECK(d != NULL, "%s", err);
    if (d) {
        const vr_json *r = vr_jdoc_root(d);
        CHECK(vr_jlen(r) == 50001, "members %zu", vr_jlen(r));
        const vr_json *e = vr_jget(r, "k49999");
        CHECK(vr_jat(e, 0)->u.i == 49999 && vr_jat(e, 1)->u.d == 49999.5 &&
                  !strcmp(vr_jstring(vr_jat(e, 2)), "v49999"),
              "last member");
        CHECK(vr_jget(r, "long")->u.str.len == 1 << 20, "long string");
    }
    vr_jdoc_free(d);
    free(t);
}

/* Random byte mutations of a valid document: each is parsed or refused with
 * a positioned one-line message (and ASan watches). */
static void test_mutations(void) {
    const char *good = "{\"a\": [1, -2.5e-3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"],"
                       " \"b\": {\"c\": {\"d\": [[], {}, \"\xc3\xa9\"]}}, \"e\": 12345678901234567890123}";
    size_t n = strlen(good);
    char *buf = malloc(n + 1), err[256];
    const char pick[] = "{}[],:\"\\-.0123456789eE+tfnu \n\x01\xff\xc3";
    unsigned seed = 12345;
    int refused = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, good, n);
        int edits = 1 + iter % 3;
        for (int k = 0; k < edits; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            buf[at] = pick[(seed >> 8) % (sizeof pick - 1)];
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = iter % 5 == 0 ? (seed >> 8) % (n + 1) : n; /* sometimes cut short too */
        err[0] = 0;
        vr_jdoc *d = vr_jdoc_parse(buf, len, err, sizeof err);
        if (!d) {
            refused++;
            CHECK(!strncmp(err, "line ", 5) && strstr(err, " col ") && !strchr(err, '\n'), "mutation %d: %s", iter, err);
        }
        vr_jdoc_free(d);
    }
    CHECK(refused > 1000, "refused %d of 3000", refused);
    free(buf);
}

static void test_no_error_buffer(void) {
    /* err may be NULL or empty */
    CHECK(vr_jdoc_parse("[", 1, NULL, 0) == NULL, "NULL err");
    char one[1] = {'x'};
    CHECK(vr_jdoc_parse("[", 1, one, sizeof one) == NULL && one[0] == 0, "1-byte err");
    char small[12];
    CHECK(vr_jdoc_parse("\"\xff\"", 3, small, sizeof small) == NULL && strlen(small) == sizeof small - 1,
          "truncated message");
}

int main(void) {
    test_values();
    test_errors();
    test_truncations();
    test_big_integers();
    test_depth();
    test_sizes();
    test_mutations();
    test_no_error_buffer();
    if (failures) {
        fprintf(stderr, "json_test_reader: %d failure(s)\n", failures);
        return 1;
    }
    printf("json_test_reader: ok\n");
    return 0;
}
