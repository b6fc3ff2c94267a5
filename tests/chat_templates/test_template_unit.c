/* Unit tests of the chat template engine: rendering basics, errors with
 * line:column, the sandbox limits against hostile templates, malformed
 * input, the public API's edge cases and concurrent rendering. Expected
 * outputs are what Python jinja2 (HF settings) gives for the same input. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/template.h"

static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* render src with ctx; returns 0 and the text, or nonzero and the error */
static int render(const char *src, const char *ctx, const vr_template_limits *lim, char **out, char *err, size_t errlen) {
    vr_template *t = NULL;
    *out = NULL;
    if (vr_template_compile(src, strlen(src), &t, err, errlen)) return -1;
    size_t n;
    int rc = vr_template_render(t, ctx, ctx ? strlen(ctx) : 0, lim, out, &n, err, errlen);
    if (rc == 0 && strlen(*out) != n) { rc = -2; snprintf(err, errlen, "length mismatch"); }
    vr_template_free(t);
    return rc;
}

static void expect_ok(const char *src, const char *ctx, const char *want) {
    char *out, err[512];
    int rc = render(src, ctx, NULL, &out, err, sizeof err);
    CHECK(rc == 0 && strcmp(out, want) == 0, "%.100s\n   want %s\n   got  %s", src, want, rc ? err : out);
    free(out);
}

static void expect_err(const char *src, const char *ctx, const vr_template_limits *lim, const char *want_substr) {
    char *out, err[512];
    int rc = render(src, ctx, lim, &out, err, sizeof err);
    CHECK(rc != 0 && out == NULL && strstr(err, want_substr), "%.100s\n   want error containing '%s'\n   got  %.200s", src, want_substr, rc ? err : out);
    free(out);
}

static void test_basics(void) {
    const char *conv = "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Hi \\u00e9\"}],"
                       "\"add_generation_prompt\":true,\"bos_token\":\"<s>\",\"n\":1,\"f\":1.0,\"big\":1e-05}";
    expect_ok("{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
              conv, "<s><|system|>S\n<|user|>Hi \xc3\xa9\n<|assistant|>");
    expect_ok("{{ n }} {{ f }} {{ big }} {{ n == f }} {{ none }} {{ true }}", conv, "1 1.0 1e-05 True None True");
    expect_ok("{{ messages[0] }}", conv, "{'role': 'system', 'content': 'S'}");
    expect_ok("{{ messages[0]|tojson }}", conv, "{\"role\": \"system\", \"content\": \"S\"}");
    expect_ok("{{ messages|length }}|{{ missing }}|{{ missing is defined }}", conv, "2||False");
    expect_ok("{% if true %}\n  x\n{% endif %}\ny\n", NULL, "  x\ny");
    expect_ok("  {% if true %}a{% endif %}  \n", NULL, "a  ");
    expect_ok("{%- if true -%}  a  {%- endif -%}  ", NULL, "a");
    expect_ok("{% set ns = namespace(k=0) %}{% for i in range(4) %}{% set ns.k = ns.k + i %}{% endfor %}{{ ns.k }}", NULL, "6");
    expect_ok("{% macro m(a, b=2) %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(3, b=4) }}", NULL, "1234");
    expect_ok("{{ 'a b  c'.split() }} {{ 'x,y'.split(',', 1) }} {{ '  s '.strip() }}", NULL, "['a', 'b', 'c'] ['x', 'y'] s");
    expect_ok("{{ [3, 1, 2]|sort }} {{ 'h\xc3\xa9llo'[1:3] }} {{ [1, 2, 3][::-1] }}", NULL, "[1, 2, 3] \xc3\xa9l [3, 2, 1]");
    expect_ok("{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}{{ v }}{% endfor %}", NULL, "b1a2");
    expect_ok("{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1 / 4 }} {{ 7 // -2 }} {{ -7 % 3 }}", NULL, "0.30000000000000004 1e+16 0.25 -4 2");
    expect_ok("", NULL, "");
    expect_ok("plain\n", NULL, "plain");
    expect_ok("{{ strftime_now('%Y-%m-%d') }}", NULL, "2025-07-10");
    /* JSON context keeps key order and int/float distinction */
    expect_ok("{{ d|tojson }} {{ d.keys()|list }}", "{\"d\":{\"z\":1,\"a\":2.0,\"m\":[true,null,\"\\\"q\\\"\"]}}",
              "{\"z\": 1, \"a\": 2.0, \"m\": [true, null, \"\\\"q\\\"\"]} ['z', 'a', 'm']");
}

static void test_errors(void) {
    expect_err("{{ raise_exception('Only user and assistant roles are supported!') }}", NULL, NULL,
               "Only user and assistant roles are supported!");
    char *out, err[512];
    render("{{ raise_exception('exact message') }}", NULL, NULL, &out, err, sizeof err);
    CHECK(strcmp(err, "exact message") == 0, "raise_exception message should be passed as is, got '%s'", err);
    free(out);
    expect_err("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}", NULL, NULL, "line 3:");
    expect_err("{% for x in y %}", NULL, NULL, "endfor");
    expect_err("{{ x ", NULL, NULL, "line 1:");
    expect_err("{# never closed", NULL, NULL, "comment");
    expect_err("{% raw %} never closed", NULL, NULL, "raw");
    expect_err("{% endif %}", NULL, NULL, "unexpected 'endif'");
    expect_err("{{ 'unterminated }}", NULL, NULL, "string");
    expect_err("{{ 1 | nosuch }}", NULL, NULL, "nosuch");
    expect_err("{% include 'x' %}", NULL, NULL, "unknown tag");
    expect_err("{{ a.b }}", NULL, NULL, "'a' is undefined");
    expect_err("{{ 'a' + 1 }}", NULL, NULL, "TypeError");
    expect_err("{{ 1 / 0 }}", NULL, NULL, "ZeroDivisionError");
    expect_err("{% set l = [] %}{{ l.append(1) }}", NULL, NULL, "SecurityError");
    expect_err("{{ {}.update({}) }}", NULL, NULL, "SecurityError");
    expect_err("{{ range(200000)|length }}", NULL, NULL, "Range too big");
    expect_err("{{ x }}", "{\"x\": [1, 2", NULL, "context JSON");
    expect_err("{{ x }}", "[1, 2]", NULL, "must be an object");
    expect_err("{{ x }}", "{\"x\": 1} trailing", NULL, "context JSON");
    expect_err("{{ x }}", "{\"x\": \"\\q\"}", NULL, "context JSON");
    /* invalid UTF-8 anywhere is refused (Python could not decode it either) */
    expect_err("{{ 'a\xdf\x8d\x9a' }}", NULL, NULL, "not valid UTF-8");
    expect_err("{{ x }}", "{\"x\": \"\xff\"}", NULL, "not valid UTF-8");
    expect_err("{{ x }}", "{\"x\": \"\\ud800\"}", NULL, "surrogate");
    /* found by the fuzzer: iterating a string with stray continuation bytes */
    expect_err("{{ '-'.join('\x85\x86\xdf\x8d\x9a\x9c\x8a\x8ds') }}", NULL, NULL, "not valid UTF-8");
    /* found by the fuzzer: a format field that starts with a digit but is no index */
    expect_err("{{ '{1|x}'.format('a', 'b') }}", NULL, NULL, "KeyError");
}

static void test_hostile(void) {
    vr_template_limits small = {.max_output_bytes = 1 << 20, .max_loop_iterations = 1000000, .max_recursion_depth = 64};
    /* unbounded recursion through a macro */
    expect_err("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, &small, "recursion");
    expect_err("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, NULL, "recursion");
    /* mutual recursion */
    expect_err("{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}", NULL, NULL, "recursion");
    /* recursive loop without end */
    expect_err("{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}", NULL, NULL, "recursion");
    /* recursion whose every level also nests expressions deeply: the stack
     * guard stops it before the C stack runs out */
    {
        char big[8192];
        size_t q = 0;
        q += (size_t)sprintf(big + q, "{%% macro f(n) %%}{{ ");
        for (int i = 0; i < 50; i++) big[q++] = '(';
        q += (size_t)sprintf(big + q, "f(n + 1)");
        for (int i = 0; i < 50; i++) big[q++] = ')';
        q += (size_t)sprintf(big + q, " }}{%% endmacro %%}{{ f(0) }}");
        vr_template_limits deep = {.max_recursion_depth = 100000};
        expect_err(big, NULL, &deep, "recursion");
    }
    /* found by the fuzzer, or by reading for what it could find: huge
     * integers, paddings and repetitions end at once in an error */
    expect_err("{{ 0o77777777777777777777777 }}", NULL, NULL, "too large");
    expect_err("{{ 'a'.center(9223372036854775807) }}", NULL, NULL, "too long");
    expect_err("{{ '5'.zfill(9223372036854775807) }}", NULL, NULL, "too long");
    expect_err("{{ 1e300|int }}", NULL, NULL, "too large");
    expect_ok("{{ '' * 9223372036854775807 }}{{ [] * 9223372036854775807 }}", NULL, "[]");
    expect_ok("{{ range(-9223372036854775807, 9223372036854775807, 9223372036854775807)|list }}", NULL, "[-9223372036854775807, 0]");
    expect_ok("{{ [1, 2, 3][1::9223372036854775807] }}", NULL, "[2]");
    /* CPU-heavy work inside the loop budget: the time limit ends it */
    {
        vr_template_limits quick = {.max_time_ms = 200};
        expect_err("{% set s = 'ab' * 500000 %}{% for i in range(100000) %}{% for j in range(100) %}{{ s.find('zz') }}{% endfor %}{% endfor %}",
                   NULL, &quick, "time limit");
    }
    /* long loops */
    expect_err("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", NULL, &small, "loop iteration limit");
    /* huge output */
    expect_err("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", NULL, &small, "output exceeds");
    expect_err("{{ 'x' * 100000000 }}", NULL, &small, "limit");
    /* exponential string growth */
    expect_err("{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}", NULL, &small, "limit");
    expect_err("{% set ns = namespace(s=[1]) %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}", NULL, &small, "limit");
    /* deep nesting in the parser: an error, never a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 16);
    strcpy(deep, "{{ ");
    size_t k = 3;
    for (size_t i = 0; i < depth; i++) deep[k++] = '(';
    deep[k++] = '1';
    for (size_t i = 0; i < depth; i++) deep[k++] = ')';
    strcpy(deep + k, " }}");
    expect_err(deep, NULL, NULL, "nested too deeply");
    k = 3;
    for (size_t i = 0; i < depth; i++) deep[k++] = '[';
    strcpy(deep + k, " }}");
    expect_err(deep, NULL, NULL, "line 1:"); /* the lexer sees no end: brackets are open */
    k = 3;
    for (size_t i = 0; i < depth; i++) deep[k++] = '[';
    for (size_t i = 0; i < depth; i++) deep[k++] = ']';
    strcpy(deep + k, " }}");
    expect_err(deep, NULL, NULL, "nested too deeply");
    k = 3;
    for (size_t i = 0; i < depth; i++) deep[k++] = '-';
    strcpy(deep + k, "1 }}");
    expect_err(deep, NULL, NULL, "nested too deeply");
    free(deep);
    size_t nif = 20000;
    char *ifs = malloc(nif * 24 + 16);
    ifs[0] = 0;
    size_t p = 0;
    for (size_t i = 0; i < nif; i++) p += (size_t)sprintf(ifs + p, "{%% if true %%}");
    for (size_t i = 0; i < nif; i++) p += (size_t)sprintf(ifs + p, "{%% endif %%}");
    expect_err(ifs, NULL, NULL, "nested too deeply");
    free(ifs);
    /* deeply nested JSON context */
    char *js = malloc(200000);
    strcpy(js, "{\"x\":");
    p = 5;
    for (int i = 0; i < 50000; i++) js[p++] = '[';
    for (int i = 0; i < 50000; i++) js[p++] = ']';
    strcpy(js + p, "}");
    expect_err("{{ x }}", js, NULL, "nesting too deep");
    free(js);
    /* a namespace holding itself: printing and tojson terminate */
    char *out, err[512];
    int rc = render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", NULL, NULL, &out, err, sizeof err);
    CHECK(rc == 0 || err[0], "self-referencing namespace");
    free(out);
    expect_err("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns|tojson }}", NULL, NULL, "not JSON serializable");
    /* malformed fragments: each must fail cleanly */
    const char *bad[] = {"{{", "{%", "{{ }}", "{% %}", "{% if %}", "{% for %}", "{% for x %}", "{% for x in %}{% endfor %}",
                         "{% set %}", "{% set x %}", "{% macro %}", "{% macro m( %}", "{{ [1, 2 }}", "{{ {1: } }}", "{{ a. }}",
                         "{{ a[ }}", "{{ a( }}", "{{ a | }}", "{{ a is }}", "{% endfor %}", "{% else %}", "{{ 1 + }}", "{{ 'a }}",
                         "{{ 0x }}", "{% if x %}{% elif %}{% endif %}", "{% call %}{% endcall %}", "{% filter %}{% endfilter %}",
                         "{{ x }}}}{{", "{{ a is is b }}", "{% break %x", "{{ \"\\x4\" }}", "{{ ) }}", "{{ ] }}", "{{ } }}", NULL};
    for (int i = 0; bad[i]; i++) {
        vr_template *t = NULL;
        int c = vr_template_compile(bad[i], strlen(bad[i]), &t, err, sizeof err);
        if (c == 0) {
            char *o = NULL;
            size_t n;
            c = vr_template_render(t, "{}", 2, NULL, &o, &n, err, sizeof err);
            free(o);
            vr_template_free(t);
        }
        CHECK(c != 0 && err[0], "malformed template %d '%s' should fail", i, bad[i]);
    }
}

static void test_api_edges(void) {
    char err[64];
    vr_template *t = NULL;
    CHECK(vr_template_compile("{{ x }}", 7, &t, err, sizeof err) == 0, "compile");
    char *out = (char *)1;
    size_t n = 99;
    /* NULL context renders with an empty context */
    CHECK(vr_template_render(t, NULL, 0, NULL, &out, &n, err, sizeof err) == 0 && n == 0 && out && out[0] == 0, "NULL context");
    free(out);
    /* no error buffer at all is allowed */
    CHECK(vr_template_render(t, "nope", 4, NULL, &out, &n, NULL, 0) != 0 && out == NULL, "bad JSON without error buffer");
    /* a small error buffer truncates, never overflows */
    char tiny[8];
    CHECK(vr_template_render(t, "{", 1, NULL, &out, &n, tiny, sizeof tiny) != 0 && strlen(tiny) < sizeof tiny, "tiny error buffer");
    vr_template_free(t);
    vr_template_free(NULL);
    /* length-delimited source: bytes after len are not read */
    CHECK(vr_template_compile("ab{{", 2, &t, err, sizeof err) == 0, "length-delimited compile");
    CHECK(vr_template_render(t, "{}", 2, NULL, &out, &n, err, sizeof err) == 0 && strcmp(out, "ab") == 0, "length-delimited render");
    free(out);
    vr_template_free(t);
    /* embedded NUL bytes in data pass through */
    CHECK(vr_template_compile("a\0b", 3, &t, err, sizeof err) == 0, "NUL compile");
    CHECK(vr_template_render(t, "{}", 2, NULL, &out, &n, err, sizeof err) == 0 && n == 3 && memcmp(out, "a\0b", 3) == 0, "NUL render");
    free(out);
    vr_template_free(t);
}

typedef struct job { const vr_template *t; const char *ctx; const char *want; int ok; } job;

static void *render_many(void *arg) {
    job *j = arg;
    j->ok = 1;
    for (int i = 0; i < 200; i++) {
        char *out, err[256];
        size_t n;
        if (vr_template_render(j->t, j->ctx, strlen(j->ctx), NULL, &out, &n, err, sizeof err) || strcmp(out, j->want) != 0) j->ok = 0;
        free(out);
    }
    return NULL;
}

static void test_threads(void) {
    const char *src = "{% set ns = namespace(s='') %}{% for m in messages %}{% set ns.s = ns.s ~ m.content|upper %}{% endfor %}{{ ns.s }}{{ messages|tojson }}";
    vr_template *t;
    char err[256];
    CHECK(vr_template_compile(src, strlen(src), &t, err, sizeof err) == 0, "compile for threads");
    job jobs[4] = {
        {t, "{\"messages\":[{\"content\":\"a\"},{\"content\":\"b\"}]}", "AB[{\"content\": \"a\"}, {\"content\": \"b\"}]", 0},
        {t, "{\"messages\":[{\"content\":\"x\"}]}", "X[{\"content\": \"x\"}]", 0},
        {t, "{\"messages\":[]}", "[]", 0},
        {t, "{\"messages\":[{\"content\":\"q\"},{\"content\":\"r\"},{\"content\":\"s\"}]}", "QRS[{\"content\": \"q\"}, {\"content\": \"r\"}, {\"content\": \"s\"}]", 0},
    };
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, render_many, &jobs[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) CHECK(jobs[i].ok, "concurrent render %d", i);
    vr_template_free(t);
}

int main(void) {
    setenv("SOURCE_DATE_EPOCH", "1752148800", 1);
    setenv("TZ", "UTC", 1);
    test_basics();
    test_errors();
    test_hostile();
    test_api_edges();
    test_threads();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
