/* tests/guided/test_schema.c — JSON Schema shapes: what the compiler
 * accepts and refuses (with the path in the message), what the automaton
 * accepts and refuses per schema feature, and the trie mask against brute
 * force on a schema with strings, enums and numbers. */
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "server/guided/guided.h"
#include "tests/json/check.h" /* CHECK: report, count, go on */

static vr_jdoc *parse(const char *text) {
    char err[256];
    vr_jdoc *d = vr_jdoc_parse(text, strlen(text), err, sizeof err);
    if (!d) fprintf(stderr, "bad test JSON %s: %s\n", text, err);
    return d;
}

/* 1: complete; 0: viable but unfinished; -1: refused; -2: schema refused. */
static int run(const char *schema, const char *text) {
    vr_jdoc *d = parse(schema);
    if (!d) return -3;
    char err[256];
    vr_jshape *s = vr_jshape_new_schema(vr_jdoc_root(d), "schema", 0, err, sizeof err);
    vr_jdoc_free(d);
    if (!s) {
        fprintf(stderr, "schema refused: %s\n", err);
        return -2;
    }
    vr_jpda a;
    vr_jpda_init(&a, s);
    int rc = vr_jpda_feed_all(&a, text, strlen(text)) ? -1 : vr_jpda_done(&a);
    vr_jshape_free(s);
    return rc;
}

typedef struct { const char *schema, *text; int want; } acase;

#define PERSON                                                                                          \
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}," \
    "\"nick\":{\"type\":\"string\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"      \
    "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}"
#define ENUMS "{\"type\":\"object\",\"properties\":{\"c\":{\"enum\":[\"red\",\"re\",1,10,true,null]},\"k\":{\"const\":\"x\\\"y\"}},\"required\":[\"c\",\"k\"]}"
#define NUMS "{\"properties\":{\"n\":{\"type\":\"number\"},\"i\":{\"type\":\"integer\"},\"b\":{\"type\":\"boolean\"},\"z\":{\"type\":[\"null\",\"string\"]}},\"required\":[\"n\",\"i\",\"b\",\"z\"]}"
#define ARR "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":2}"
#define REF "{\"$defs\":{\"pt\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"}},\"required\":[\"x\"]}},\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/pt\"},\"b\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/pt\"}}},\"required\":[\"a\",\"b\"]}"
#define ANYOF "{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"default\":null},\"b\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"array\",\"items\":{\"enum\":[\"x\"]}},{\"type\":\"object\",\"properties\":{\"k\":{\"const\":true}},\"required\":[\"k\"]}]}},\"required\":[\"a\",\"b\"]}"
/* enum values outside the schema's type are dropped; a control byte in a
 * string takes JSON's short escape */
#define TYPED_ENUM "{\"type\":\"object\",\"properties\":{\"e\":{\"type\":\"string\",\"enum\":[\"a\",1,\"b\\nc\"]},\"n\":{\"type\":\"integer\",\"enum\":[2.0,2.5]}},\"required\":[\"e\",\"n\"]}"
#define ANYV "{\"type\":\"object\",\"properties\":{\"v\":{},\"o\":{\"type\":\"object\"}},\"required\":[\"v\",\"o\"]}"

static const acase cases[] = {
    /* properties in order; required present; optional ones may be left out */
    {PERSON, "{\"name\":\"Ann\",\"age\":3}", 1},
    {PERSON, "{ \"name\" : \"A\\u00e9\" , \"age\" : -12 , \"nick\" : \"a\" , \"tags\" : [ \"x\" , \"y\" ] }", 1},
    {PERSON, "{\"name\":\"Ann\",\"age\":3,\"tags\":[]}", 1},
    {PERSON, "{\"age\":3,\"name\":\"Ann\"}", -1},           /* out of order */
    {PERSON, "{\"name\":\"Ann\"}", -1},                     /* age required */
    {PERSON, "{\"name\":\"Ann\",\"age\":3,\"extra\":1}", -1}, /* not listed */
    {PERSON, "{\"name\":\"Ann\",\"age\":3.5}", -1},         /* integer */
    {PERSON, "{\"name\":\"Ann\",\"age\":1e3}", -1},
    {PERSON, "{\"name\":1,\"age\":3}", -1},
    {PERSON, "{\"name\":\"Ann\",\"age\":3,\"tags\":[1]}", -1},
    {PERSON, "{\"name\":\"Ann\",\"age\":3,\"nick\":\"a\",\"nick\":\"b\"}", -1},
    {PERSON, "{\"name\":\"Ann\",\"age\":3}x", -1},
    {PERSON, " {\"name\":\"Ann\",\"age\":3}", -1},
    {PERSON, "{\"name\":\"Ann\",\"age\":3", 0},
    {PERSON, "{\"name\":\"Ann\",\"age\":3,", 0},
    {PERSON, "{\"na", 0},
    /* enum / const: exactly the canonical texts */
    {ENUMS, "{\"c\":\"red\",\"k\":\"x\\\"y\"}", 1},
    {ENUMS, "{\"c\":\"re\",\"k\":\"x\\\"y\"}", 1},
    {ENUMS, "{\"c\":10,\"k\":\"x\\\"y\"}", 1},
    {ENUMS, "{\"c\":1 ,\"k\":\"x\\\"y\"}", 1},
    {ENUMS, "{\"c\":true,\"k\":\"x\\\"y\"}", 1},
    {ENUMS, "{\"c\":null,\"k\":\"x\\\"y\"}", 1},
    {ENUMS, "{\"c\":\"r\",\"k\":\"x\\\"y\"}", -1},
    {ENUMS, "{\"c\":\"redd\"", -1},
    {ENUMS, "{\"c\":100", -1},
    {ENUMS, "{\"c\":2", -1},
    {ENUMS, "{\"c\":false", -1},
    {ENUMS, "{\"c\":1,\"k\":\"xy\"}", -1},
    /* scalar types */
    {NUMS, "{\"n\":-1.5e3,\"i\":0,\"b\":false,\"z\":null}", 1},
    {NUMS, "{\"n\":2,\"i\":-7,\"b\":true,\"z\":\"s\"}", 1},
    {NUMS, "{\"n\":\"2\"", -1},
    {NUMS, "{\"n\":2,\"i\":0.0", -1},
    {NUMS, "{\"n\":2,\"i\":1,\"b\":null", -1},
    {NUMS, "{\"n\":2,\"i\":1,\"b\":true,\"z\":1", -1},
    {NUMS, "{\"n\":2,\"i\":01", -1},
    /* arrays: items, minItems, maxItems; an array root */
    {ARR, "[1]", 1},
    {ARR, "[1, 2]", 1},
    {ARR, "[]", -1},
    {ARR, "[1,2,3]", -1},
    {ARR, "[1.5]", -1},
    {ARR, "[1,2", 0},
    /* $ref to $defs, also inside items */
    {REF, "{\"a\":{\"x\":1},\"b\":[{\"x\":2.5},{\"x\":0}]}", 1},
    {REF, "{\"a\":{},\"b\":[]}", -1},
    {REF, "{\"a\":{\"x\":1},\"b\":[{\"y\":2}]}", -1},
    /* anyOf: the first byte picks the branch */
    {ANYOF, "{\"a\":\"s\",\"b\":3}", 1},
    {ANYOF, "{\"a\":null,\"b\":[\"x\",\"x\"]}", 1},
    {ANYOF, "{\"a\":null,\"b\":{\"k\":true}}", 1},
    {ANYOF, "{\"a\":1", -1},
    {ANYOF, "{\"a\":null,\"b\":2.5", -1},
    {ANYOF, "{\"a\":null,\"b\":[\"y\"", -1},
    {ANYOF, "{\"a\":null,\"b\":{\"k\":false", -1},
    {ANYOF, "{\"a\":null,\"b\":true", -1},
    /* {} is any value; "type": "object" alone is any object */
    {ANYV, "{\"v\":[1,{\"q\":\"r\"},null],\"o\":{\"any\":[true]}}", 1},
    {ANYV, "{\"v\":\"s\",\"o\":{}}", 1},
    {ANYV, "{\"v\":3,\"o\":{}}", 1},
    {ANYV, "{\"v\":3,\"o\":[]}", -1},
    {TYPED_ENUM, "{\"e\":\"a\",\"n\":2}", 1}, /* 2.0 is written 2 */
    {TYPED_ENUM, "{\"e\":\"b\\nc\",\"n\":2}", 1},
    {TYPED_ENUM, "{\"e\":1", -1},           /* 1 is not a string */
    {TYPED_ENUM, "{\"e\":\"a\",\"n\":2.5", -1}, /* 2.5 is not an integer */
    {NULL, NULL, 0},
};

typedef struct { const char *schema, *msg; } rcase;
static const rcase rejects[] = {
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"x\"}}}",
     "schema.properties.a: unsupported JSON Schema keyword 'pattern'"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"date\"}}}", "'format'"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":1}}}", "'minimum'"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":{\"minLength\":1}}}}",
     "schema.properties.a.items: unsupported JSON Schema keyword 'minLength'"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},{\"enum\":[\"x\"]}]}}}",
     "schema.properties.a.anyOf[1]: anyOf branches whose values can start alike"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},{}]}}}", "start alike"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"anyOf\":[{\"type\":\"string\"}]}}}",
     "'type' next to anyOf"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[]}}}", "non-empty list"},
    {"{\"type\":\"object\",\"oneOf\":[]}", "'oneOf'"},
    {"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}", "schema.additionalProperties"},
    {"{\"type\":\"string\"}", "the root must"},
    {"{\"enum\":[{\"a\":1}]}", "enum / const values"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"strin\"}}}", "schema.properties.a.type"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{}},\"required\":[\"b\"]}", "'b' is not in properties"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/n\"}}}", "is not defined"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"http://x\"}}}", "schema.properties.a.$ref"},
    {"{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"c\":{\"$ref\":\"#/$defs/n\"}}}},\"$ref\":\"#/$defs/n\"}",
     "deeper than"},
    {"{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}", "minItems is greater"},
    {"{\"type\":\"array\",\"maxItems\":-1}", "maxItems"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[]}}}", "empty enum"},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"enum\":[1,null]}}}",
     "schema.properties.a: no enum / const value has the schema's type"},
    {"false", "allows nothing"},
    {"[]", "must be an object"},
    {NULL, NULL},
};

/* A $ref target is compiled at every use: the bytes of its enum values count
 * each time, so a schema cannot multiply a large enum into gigabytes. */
static void budget_check(void) {
    size_t cap = 300000;
    char *sch = malloc(cap), *p = sch;
    p += sprintf(p, "{\"$defs\":{\"big\":{\"enum\":[");
    for (int v = 0; v < 200; v++) {
        p += sprintf(p, "%s\"%04d", v ? "," : "", v);
        memset(p, 'x', 1000);
        p += 1000;
        *p++ = '"';
    }
    p += sprintf(p, "]}},\"type\":\"object\",\"properties\":{");
    for (int k = 0; k < 8; k++) p += sprintf(p, "%s\"k%d\":{\"$ref\":\"#/$defs/big\"}", k ? "," : "", k);
    p += sprintf(p, "}}");
    vr_jdoc *d = parse(sch);
    char err[256] = "";
    vr_jshape *s = d ? vr_jshape_new_schema(vr_jdoc_root(d), "schema", 0, err, sizeof err) : NULL;
    CHECK(d && !s && strstr(err, "exceed"), "8 uses of a 200 KB enum: expected the byte limit, got '%s'", err);
    vr_jshape_free(s);
    vr_jdoc_free(d);
    free(sch);
}

static void compile_checks(void) {
    budget_check();
    for (int i = 0; rejects[i].schema; i++) {
        vr_jdoc *d = parse(rejects[i].schema);
        char err[256] = "";
        CHECK(vr_jschema_check(vr_jdoc_root(d), "schema", 0, err, sizeof err) == -1 && strstr(err, rejects[i].msg),
              "schema %s: want an error with \"%s\", got \"%s\"", rejects[i].schema, rejects[i].msg, err);
        vr_jdoc_free(d);
    }
    /* 65 properties: over the limit */
    char big[4096] = "{\"type\":\"object\",\"properties\":{";
    for (int i = 0; i <= VR_JSCHEMA_MAX_PROPS; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"p%d\":{}", i ? "," : "", i);
    strcat(big, "}}");
    vr_jdoc *d = parse(big);
    char err[256] = "";
    CHECK(vr_jschema_check(vr_jdoc_root(d), "schema", 0, err, sizeof err) == -1 && strstr(err, "at most"), "%s", err);
    vr_jdoc_free(d);
    /* a property name too long to match */
    char *longkey = malloc(6000);
    memset(longkey, 'k', 5000);
    snprintf(longkey + 5000, 1000, "\":{}}}");
    char *ls = malloc(7000);
    snprintf(ls, 7000, "{\"type\":\"object\",\"properties\":{\"%s", longkey);
    d = parse(ls);
    CHECK(vr_jschema_check(vr_jdoc_root(d), "schema", 0, err, sizeof err) == -1 && strstr(err, "too long"), "%s", err);
    vr_jdoc_free(d);
    free(ls);
    free(longkey);
    /* nesting: 31 levels fit (the automaton's stack holds them all), 32 do not */
    for (int levels = 31; levels <= 32; levels++) {
        char nest[2048] = "", text[256] = "";
        for (int k = 0; k < levels; k++) strcat(nest, "{\"type\":\"array\",\"items\":");
        strcat(nest, "{\"type\":\"integer\"}");
        for (int k = 0; k < levels; k++) strcat(nest, "}");
        for (int k = 0; k < levels; k++) strcat(text, "[");
        strcat(text, "1");
        for (int k = 0; k < levels; k++) strcat(text, "]");
        if (levels == 31) CHECK(run(nest, text) == 1, "%d nested arrays", levels);
        else CHECK(run(nest, text) == -2, "%d nested arrays should be refused", levels);
    }
    /* annotations are fine; tool parameters need an object root */
    d = parse("{\"title\":\"t\",\"description\":\"d\",\"$schema\":\"x\",\"type\":\"array\",\"items\":{\"default\":1}}");
    CHECK(vr_jschema_check(vr_jdoc_root(d), "schema", 0, err, sizeof err) == 0, "annotations: %s", err);
    CHECK(vr_jschema_check(vr_jdoc_root(d), "tools[0].function.parameters", 1, err, sizeof err) == -1 &&
              strstr(err, "tools[0].function.parameters: the root must have \"type\": \"object\""),
          "%s", err);
    vr_jdoc_free(d);
}

/* Tool calls with one function's parameters under a schema, the other's free. */
static void tool_checks(void) {
    const char *names[] = {"get", "put"};
    char err[256];
    vr_jshape *s = vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 2, 0, err, sizeof err);
    vr_jdoc *d = parse(PERSON);
    CHECK(vr_jshape_set_tool_schema(s, "get", vr_jdoc_root(d), "tools[0]", err, sizeof err) == 0, "%s", err);
    vr_jdoc_free(d);
    static const acase tc[] = {
        {NULL, "[{\"name\":\"get\",\"parameters\":{\"name\":\"a\",\"age\":1}}]", 1},
        {NULL, "[{\"name\":\"put\",\"parameters\":{\"x\":[1]}},{\"name\":\"get\",\"parameters\": {\"name\":\"b\",\"age\":2}}]", 1},
        {NULL, "[{\"name\":\"get\",\"parameters\":{\"x\":1}}]", -1},
        {NULL, "[{\"name\":\"get\",\"parameters\":{\"name\":\"a\"}}]", -1},
        {NULL, "[{\"name\":\"get\",\"parameters\":{\"name\":\"a\",\"age\":1.5}}]", -1},
        {NULL, NULL, 0},
    };
    for (int i = 0; tc[i].text; i++) {
        vr_jpda a;
        vr_jpda_init(&a, s);
        int rc = vr_jpda_feed_all(&a, tc[i].text, strlen(tc[i].text)) ? -1 : vr_jpda_done(&a);
        CHECK(rc == tc[i].want, "tool calls %s: got %d want %d", tc[i].text, rc, tc[i].want);
    }
    vr_jshape_free(s);
}

/* ---- mask against brute force on a schema ---- */

static uint64_t g_rng = 88172645463325252ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

#define NTOK 600
static char g_bytes[NTOK][12];
static size_t g_lens[NTOK];

static void mask_checks(void) {
    static const char alpha[] = "{}[]\":, \nabcdegmnrstuy0123-.eEtfl\\";
    int na = (int)sizeof alpha - 1, i = 0;
    for (; i < 255; i++) { g_bytes[i][0] = (char)(i + 1); g_lens[i] = 1; }
    static const char *pieces[] = {"{\"", "\":", "\",", "\"name", "\"age", "\"tags", "\"nick", "red", "\"re", "1,", "10", "true", "null", "\"x\\\"", "y\"}", "}", NULL};
    for (int k = 0; pieces[k]; k++, i++) { g_lens[i] = strlen(pieces[k]); memcpy(g_bytes[i], pieces[k], g_lens[i]); }
    for (; i < NTOK; i++) {
        g_lens[i] = 1 + rnd() % 8;
        for (size_t k = 0; k < g_lens[i]; k++) g_bytes[i][k] = alpha[rnd() % (uint32_t)na];
    }
    const char *ptrs[NTOK];
    for (int k = 0; k < NTOK; k++) ptrs[k] = g_bytes[k];
    vr_guided_vocab *v = vr_guided_vocab_new(NTOK, ptrs, g_lens, NULL);
    const char *schemas[] = {PERSON, ENUMS, NUMS, ARR, REF, ANYOF};
    uint8_t allowed[NTOK];
    for (int si = 0; si < 6; si++) {
        vr_jdoc *d = parse(schemas[si]);
        char err[256];
        vr_jshape *s = vr_jshape_new_schema(vr_jdoc_root(d), "schema", 0, err, sizeof err);
        vr_jdoc_free(d);
        CHECK(s != NULL, "%s", err);
        if (!s) continue;
        int finished = 0;
        for (int w = 0; w < 40; w++) {
            vr_jpda a;
            vr_jpda_init(&a, s);
            for (int step = 0; step < 120 && !vr_jpda_done(&a); step++) {
                int n = vr_guided_mask(v, &a, allowed), nb = 0;
                for (int id = 0; id < NTOK; id++) {
                    vr_jpda c = a;
                    int b = vr_jpda_feed_all(&c, g_bytes[id], g_lens[id]) == 0;
                    nb += b;
                    CHECK(b == allowed[id], "schema %d walk %d step %d token %d: trie %d brute %d", si, w, step, id,
                          allowed[id], b);
                }
                CHECK(n == nb && n > 0, "schema %d walk %d step %d: %d allowed, brute %d", si, w, step, n, nb);
                if (!n) break;
                int pick = -1, k = (int)(rnd() % (uint32_t)n);
                for (int id = 0; id < NTOK; id++)
                    if (allowed[id] && k-- == 0) pick = id;
                if (step > 60) /* late: single bytes that close things, so walks finish */
                    for (int id = 0; id < 255; id++)
                        if (allowed[id] && strchr("}]\"", g_bytes[id][0])) pick = id;
                CHECK(vr_jpda_feed_all(&a, g_bytes[pick], g_lens[pick]) == 0, "allowed token refused");
            }
            finished += vr_jpda_done(&a);
        }
        CHECK(finished > 0, "schema %d: no walk finished", si);
        vr_jshape_free(s);
    }
    vr_guided_vocab_free(v);
}

int main(void) {
    for (int i = 0; cases[i].schema; i++) {
        int rc = run(cases[i].schema, cases[i].text);
        CHECK(rc == cases[i].want, "case %d %s: got %d want %d", i, cases[i].text, rc, cases[i].want);
    }
    compile_checks();
    tool_checks();
    mask_checks();
    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    return failures != 0;
}
