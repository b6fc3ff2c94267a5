/* tests/guided/test_jpda.c — the JSON automaton: complete values it must
 * accept, and outputs it must refuse (at some byte, or by never being
 * complete). */
#include <stdlib.h>
#include <string.h>

#include "server/guided/guided.h"
#include "tests/json/check.h" /* CHECK: report, count, go on */

/* 1: complete; 0: a viable but unfinished prefix; -1: refused. */
static int run(const vr_jshape *s, const char *text) {
    vr_jpda a;
    vr_jpda_init(&a, s);
    if (vr_jpda_feed_all(&a, text, strlen(text))) return -1;
    return vr_jpda_done(&a);
}

static const char *object_ok[] = {
    "{}",
    "{\"a\":1}",
    "{ \"a\" : [ 1 , 2 ] }",
    "{\"a\":{\"b\":{\"c\":[[],[{}]]}}}",
    "{\"s\":\"\"}",
    "{\"s\":\"tab\\tquote\\\"slash\\/back\\\\\\b\\f\\n\\r\"}",
    "{\"u\":\"\\u00e9\\u20AC\"}",
    "{\"pair\":\"\\ud83d\\ude00\"}",
    "{\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\"}",
    "{\"n\":[0,-0,1,-1,10,0.5,-0.25,1e5,1E+5,1e-5,-0.0e0,123456789012345678901234567890]}",
    "{\"k\":[true,false,null]}",
    "{\"\":\"empty key\"}",
    "{\"a\":1,\"a\":2}",
    "{\n  \"a\": 1\n}",
    NULL,
};

static const char *object_bad[] = {
    " {}",            /* nothing before the value */
    "{} ",            /* nor after it */
    "{}{}",
    "[]",             /* not an object */
    "\"s\"",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":.5}",
    "{\"a\":+1}",
    "{\"a\":1e}",
    "{\"a\":1e+}",
    "{\"a\":-}",
    "{\"a\":--1}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\"}",
    "{\"a\" 1}",
    "{a:1}",
    "{'a':1}",
    "{\"a\":tru}",
    "{\"a\":True}",
    "{\"a\":nul }",
    "{\"a\":[1,]}",
    "{\"a\":[,1]}",
    "{\"a\":]}",
    "{\"a\":[}",
    "{\"s\":\"\\x\"}",
    "{\"s\":\"\\u12\"}",
    "{\"s\":\"\\u12G4\"}",
    "{\"s\":\"\\u0000\"}",
    "{\"s\":\"\\udc00\"}",             /* lone low surrogate */
    "{\"s\":\"\\ud800x\"}",            /* high without low */
    "{\"s\":\"\\ud800\\u0041\"}",
    "{\"s\":\"a\nb\"}",                /* raw control byte */
    "{\"s\":\"\x80\"}",                /* stray continuation */
    "{\"s\":\"\xc0\xaf\"}",            /* overlong */
    "{\"s\":\"\xe0\x80\xaf\"}",
    "{\"s\":\"\xed\xa0\x80\"}",        /* UTF-8 surrogate */
    "{\"s\":\"\xf4\x90\x80\x80\"}",    /* above U+10FFFF */
    "{\"s\":\"\xf5\x80\x80\x80\"}",
    "{\"s\":\"\xc3\"}",                /* cut character */
    "{\"a\":1}}",
    "{\"a\":1]",
    "{         \"a\":1}",              /* more whitespace in a row than allowed */
    NULL,
};

static const char *object_unfinished[] = {"", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":[1,2]", "{\"s\":\"\\ud83d", "{\"a\":-0.5e", NULL};

static const char *calls_ok[] = {
    "[{\"name\":\"get_weather\",\"parameters\":{}}]",
    "[{\"name\":\"get\",\"parameters\":{\"city\":\"Paris\"}}]",
    "[ { \"name\" : \"get_weather_now\" , \"parameters\" : { \"a\" : [1] } } ]",
    "[{\"name\":\"get\",\"parameters\":{}},{\"name\":\"get_weather\",\"parameters\":{\"x\":null}}]",
    "[{\"name\":\"q\\\"uote\",\"parameters\":{}}]",
    NULL,
};

static const char *calls_bad[] = {
    "[]",                                           /* at least one call */
    "[{\"name\":\"ge\",\"parameters\":{}}]",        /* prefix of a name only */
    "[{\"name\":\"gets\",\"parameters\":{}}]",
    "[{\"name\":\"other\",\"parameters\":{}}]",
    "[{\"parameters\":{},\"name\":\"get\"}]",       /* name comes first */
    "[{\"name\":\"get\",\"arguments\":{}}]",
    "[{\"name\":\"get\",\"parameters\":[]}]",       /* arguments are an object */
    "[{\"name\":\"get\",\"parameters\":1}]",
    "[{\"name\":\"get\",\"parameters\":{}},]",
    "[{\"name\":\"get\",\"parameters\":{},\"x\":1}]",
    " [{\"name\":\"get\",\"parameters\":{}}]",
    "{\"name\":\"get\",\"parameters\":{}}",
    NULL,
};

int main(void) {
    char err[128];
    vr_jshape *obj = vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, sizeof err);
    CHECK(obj != NULL, "%s", err);
    for (int i = 0; object_ok[i]; i++) CHECK(run(obj, object_ok[i]) == 1, "object should be accepted: %s", object_ok[i]);
    for (int i = 0; object_bad[i]; i++) CHECK(run(obj, object_bad[i]) == -1, "object should be refused: %s", object_bad[i]);
    for (int i = 0; object_unfinished[i]; i++)
        CHECK(run(obj, object_unfinished[i]) == 0, "should be viable, unfinished: %s", object_unfinished[i]);

    /* nesting: VR_JPDA_MAX_DEPTH containers fit, one more does not */
    char deep[256] = "{\"a\":";
    for (int i = 1; i < VR_JPDA_MAX_DEPTH; i++) strcat(deep, "[");
    CHECK(run(obj, deep) == 0, "depth %d should be viable", VR_JPDA_MAX_DEPTH);
    strcat(deep, "[");
    CHECK(run(obj, deep) == -1, "depth %d should be refused", VR_JPDA_MAX_DEPTH + 1);

    const char *names[] = {"get_weather", "get", "get_weather_now", "q\"uote", "get"};
    vr_jshape *calls = vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 5, 0, err, sizeof err);
    CHECK(calls != NULL && calls->n_names == 4, "%s", err);
    for (int i = 0; calls_ok[i]; i++) CHECK(run(calls, calls_ok[i]) == 1, "calls should be accepted: %s", calls_ok[i]);
    for (int i = 0; calls_bad[i]; i++) CHECK(run(calls, calls_bad[i]) == -1, "calls should be refused: %s", calls_bad[i]);

    vr_jshape *one = vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 3, 1, err, sizeof err);
    CHECK(run(one, calls_ok[0]) == 1, "one call");
    CHECK(run(one, "[{\"name\":\"get\",\"parameters\":{}},") == -1, "max_calls 1 refuses a second call");

    CHECK(vr_jshape_new(VR_JSHAPE_TOOL_CALLS, NULL, 0, 0, err, sizeof err) == NULL, "no names");
    const char *empty[] = {""};
    CHECK(vr_jshape_new(VR_JSHAPE_TOOL_CALLS, empty, 1, 0, err, sizeof err) == NULL, "empty name");

    vr_jshape_free(obj);
    vr_jshape_free(calls);
    vr_jshape_free(one);
    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    return failures != 0;
}
