/* tests/guided/test_qwen3.c — the mask on a real vocabulary (Qwen3, 151k
 * tokens): equal to brute force in a few states of each shape, and its time
 * per step, printed (the budget is a few ms; the test fails only far above
 * it, as machines vary). argv[1]: a tokenizer.json. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/json.h"
#include "server/guided/guided.h"
#include "tests/json/check.h" /* CHECK: report, count, go on */
#include "tokenizer/tokenizer.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s tokenizer.json\n", argv[0]);
        return 2;
    }
    char err[256];
    vr_tokenizer *t;
    if (vr_tokenizer_load(argv[1], &t, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = now_ms();
    const vr_guided_vocab *v = vr_guided_vocab_for(t);
    double t_build = now_ms() - t0;
    CHECK(v != NULL, "vocab");
    CHECK(vr_guided_vocab_for(t) == v, "built once");
    int n = vr_guided_vocab_size(v);
    printf("vocabulary: %d tokens, trie built in %.1f ms\n", n, t_build);
    uint8_t *allowed = malloc((size_t)n);
    const char *names[] = {"get_weather", "search"};
    vr_jshape *obj = vr_jshape_new(VR_JSHAPE_OBJECT, NULL, 0, 0, err, sizeof err);
    vr_jshape *calls = vr_jshape_new(VR_JSHAPE_TOOL_CALLS, names, 2, 0, err, sizeof err);
    /* a schema with strings, enums, numbers, an array and an optional key */
    static const char schema_text[] =
        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
        "\"unit\":{\"enum\":[\"celsius\",\"fahrenheit\",\"kelvin\"]},\"days\":{\"type\":\"integer\"},"
        "\"temp\":{\"type\":\"number\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
        "\"note\":{\"type\":\"string\"}},\"required\":[\"city\",\"unit\",\"days\",\"temp\"]}";
    vr_jdoc *sd = vr_jdoc_parse(schema_text, strlen(schema_text), err, sizeof err);
    vr_jshape *sch = sd ? vr_jshape_new_schema(vr_jdoc_root(sd), "schema", 0, err, sizeof err) : NULL;
    vr_jdoc_free(sd);
    CHECK(sch != NULL, "schema: %s", err);
    struct { vr_jshape *s; const char *prefix; } cases[] = {
        {obj, ""}, {obj, "{"}, {obj, "{\"city"}, {obj, "{\"city\":"}, {obj, "{\"n\":12"},
        {obj, "{\"a\":[1,{\"b\":\"x\\u00"}, {calls, ""}, {calls, "[{\"name\":\"ge"},
        {calls, "[{\"name\":\"search\",\"parameters\":{\"q\":\"caf"}, {calls, "[{\"name\":\"search\",\"parameters\":{}}"},
        {sch, ""}, {sch, "{"}, {sch, "{\"city\":\"Par"}, {sch, "{\"city\":\"Paris\","},
        {sch, "{\"city\":\"Paris\",\"unit\":"}, {sch, "{\"city\":\"Paris\",\"unit\":\"c"},
        {sch, "{\"city\":\"Paris\",\"unit\":\"kelvin\",\"days\":1"},
        {sch, "{\"city\":\"P\",\"unit\":\"kelvin\",\"days\":1,\"temp\":-0.5"},
        {sch, "{\"city\":\"P\",\"unit\":\"kelvin\",\"days\":1,\"temp\":2,\"tags\":[\"a\","},
    };
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        vr_jpda a;
        vr_jpda_init(&a, cases[c].s);
        CHECK(vr_jpda_feed_all(&a, cases[c].prefix, strlen(cases[c].prefix)) == 0, "prefix %s", cases[c].prefix);
        int reps = 20, count = 0;
        double t1 = now_ms();
        for (int r = 0; r < reps; r++) count = vr_guided_mask(v, &a, allowed);
        double ms = (now_ms() - t1) / reps;
        if (ms > worst) worst = ms;
        int bad = 0, nb = 0;
        for (int id = 0; id < n; id++) {
            size_t len;
            const char *b = vr_guided_vocab_token(v, id, &len);
            vr_jpda x = a;
            int ok = b && vr_jpda_feed_all(&x, b, len) == 0;
            nb += ok;
            bad += ok != allowed[id];
        }
        CHECK(bad == 0 && nb == count && count > 0, "after '%s': %d differ from brute force", cases[c].prefix, bad);
        printf("after %-72s %6d tokens allowed, mask %.3f ms\n", cases[c].prefix, count, ms);
    }
    printf("worst mask time per step: %.3f ms\n", worst);
    CHECK(worst < 100.0, "mask far too slow: %.1f ms", worst);
    free(allowed);
    vr_jshape_free(obj);
    vr_jshape_free(calls);
    vr_jshape_free(sch);
    vr_tokenizer_free(t);
    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    return failures != 0;
}
