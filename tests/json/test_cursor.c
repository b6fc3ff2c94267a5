/* Unit tests of json/'s cursor (the zero-copy reader the tokenizer uses):
 * the same answers as the tree, straight from simdjson's DOM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "tests/json/check.h"

/* The cursor reads its input in place: give it the padding it asks for. */
static vr_jcur_doc *parse(const char *text, char *err, size_t errlen) {
    size_t n = strlen(text), pad = vr_jcur_padding();
    char *buf = malloc(n + pad);
    memcpy(buf, text, n);
    memset(buf + n, 'x', pad); /* any bytes: the padding is never part of the text */
    vr_jcur_doc *d = vr_jcur_parse(buf, n, err, errlen);
    free(buf); /* the DOM does not point into the input */
    return d;
}

static void test_values(void) {
    char err[256];
    vr_jcur_doc *d = parse("{\"s\":\"h\\u00e9\",\"i\":-42,\"d\":2.0,\"f\":1.5,\"t\":true,\"n\":null,"
                           "\"a\":[1,\"x\",[]],\"dup\":1,\"dup\":2,\"big\":100000000000000000000000,"
                           "\"u\":18446744073709551615}",
                           err, sizeof err);
    CHECK(d != NULL, "%s", err);
    if (!d) return;
    vr_jcur r = vr_jcur_root(d), v;
    CHECK(vr_jcur_type(r) == VR_JSON_OBJECT && vr_jcur_len(r) == 11, "root");
    const char *s;
    size_t n;
    CHECK(vr_jcur_get(r, "s", &v) && vr_jcur_str(v, &s, &n) == 0 && n == 3 && !memcmp(s, "h\xc3\xa9", 4),
          "string, NUL-terminated");
    int64_t i;
    CHECK(vr_jcur_get(r, "i", &v) && vr_jcur_type(v) == VR_JSON_INT && vr_jcur_int64(v, &i) == 0 && i == -42, "int");
    CHECK(vr_jcur_get(r, "d", &v) && vr_jcur_type(v) == VR_JSON_DOUBLE && vr_jcur_int64(v, &i) == 0 && i == 2,
          "integral double as int");
    CHECK(vr_jcur_get(r, "f", &v) && vr_jcur_int64(v, &i) != 0 && vr_jcur_str(v, &s, &n) != 0, "type checks");
    int b = 0;
    CHECK(vr_jcur_get(r, "t", &v) && vr_jcur_bool(v, &b) == 0 && b == 1, "bool");
    CHECK(vr_jcur_get(r, "n", &v) && vr_jcur_type(v) == VR_JSON_NULL && vr_jcur_bool(v, &b) != 0, "null");
    CHECK(vr_jcur_get(r, "dup", &v) && vr_jcur_int64(v, &i) == 0 && i == 2, "last duplicate wins, as the tree");
    CHECK(vr_jcur_get(r, "big", &v) && vr_jcur_type(v) == VR_JSON_DOUBLE, "beyond 64 bits: a double");
    CHECK(vr_jcur_get(r, "u", &v) && vr_jcur_type(v) == VR_JSON_DOUBLE && vr_jcur_int64(v, &i) != 0,
          "above int64: a double, as the tree");
    CHECK(!vr_jcur_get(r, "missing", &v) && !vr_jcur_get(r, NULL, &v), "absent");
    /* iteration: arrays, objects in order, scalars as empty */
    vr_jcur a, x;
    CHECK(vr_jcur_get(r, "a", &a) && vr_jcur_len(a) == 3, "array");
    vr_jcur_it it;
    const char *k;
    size_t kn, count = 0;
    for (vr_jcur_begin(a, &it); vr_jcur_next(&it, &k, &kn, &x);) {
        CHECK(k == NULL && kn == 0, "array elements have no key");
        count++;
    }
    CHECK(count == 3, "array iteration %zu", count);
    CHECK(!vr_jcur_get(a, "x", &v), "get on an array");
    char keys[64] = "";
    for (vr_jcur_begin(r, &it); vr_jcur_next(&it, &k, &kn, &x);) strncat(keys, k, kn);
    CHECK(!strcmp(keys, "sidftnadupdupbigu"), "members in order: %s", keys);
    vr_jcur_get(r, "i", &v);
    vr_jcur_begin(v, &it);
    CHECK(!vr_jcur_next(&it, &k, &kn, &x) && vr_jcur_len(v) == 0, "a scalar iterates as empty");
    vr_jcur_free(d);
    vr_jcur_free(NULL);
}

static void test_errors(void) {
    char err[256];
    const char *bad[] = {"", "{", "[1,]", "\"\xff\"", "\"\\ud800\"", "[1] x", "{\"a\":tru}"};
    const char *pos[] = {"line 1 col 1:", NULL, "line 1 col 4:", "line 1 col 2:", NULL, "line 1 col 5:", "line 1 col 6:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        vr_jcur_doc *d = parse(bad[i], err, sizeof err);
        CHECK(d == NULL && !strncmp(err, "line ", 5), "bad %zu: %s", i, err);
        if (pos[i]) CHECK(!strncmp(err, pos[i], strlen(pos[i])), "bad %zu: want %s in %s", i, pos[i], err);
        vr_jcur_free(d);
    }
    size_t depth = 5000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = 0;
    vr_jcur_doc *d = parse(deep, err, sizeof err);
    CHECK(d == NULL && strstr(err, "nesting too deep"), "%s", err);
    free(deep);
}

int main(void) {
    test_values();
    test_errors();
    if (failures) {
        fprintf(stderr, "json_test_cursor: %d failure(s)\n", failures);
        return 1;
    }
    printf("json_test_cursor: ok\n");
    return 0;
}
