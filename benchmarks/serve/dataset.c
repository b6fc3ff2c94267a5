/* benchmarks/serve/dataset.c — the prompts a run sends.
 *
 * random / prefix-repetition: when the server exposes /tokenize and
 * /detokenize, prompts are made of the server's own tokens: the built-in
 * word list is tokenized once to get a pool of ordinary (non-special) token
 * ids, prompts draw ids from that pool, are detokenized to text, and the
 * text is re-tokenized to correct the count (concatenated tokens can merge),
 * so the input length is what was asked for. Without a tokenizer the prompt
 * is words from the list, one word counted as one token.
 * sharegpt: a conversation's first human turn is the prompt, the reply after
 * it gives the output length (its token count, or --sharegpt-output-len);
 * conversations too short or too long are skipped as vLLM's harness does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/serve/bench.h"
#include "json/json.h"

static const char *const WORDS[] = {
    "the", "of", "and", "to", "in", "is", "for", "that", "with", "on", "as", "was", "by", "it", "at", "from",
    "this", "be", "are", "or", "an", "have", "not", "which", "but", "his", "they", "their", "one", "all",
    "were", "we", "can", "there", "been", "has", "more", "when", "will", "would", "who", "so", "if", "no",
    "out", "up", "into", "time", "about", "other", "some", "what", "only", "new", "could", "first", "also",
    "after", "two", "like", "over", "than", "its", "people", "them", "may", "these", "years", "world",
    "water", "light", "river", "mountain", "city", "house", "garden", "morning", "evening", "music", "paper",
    "window", "table", "story", "number", "system", "market", "school", "family", "country", "question",
    "answer", "history", "science", "language", "machine", "engine", "model", "token", "stream", "server",
    "memory", "cache", "window", "signal", "forest", "ocean", "island", "bridge", "winter", "summer",
    "spring", "autumn", "travel", "letter", "voice", "color", "number", "simple", "quick", "bright", "quiet",
    "small", "large", "early", "late", "green", "blue", "red", "yellow", "north", "south", "east", "west",
    "build", "write", "read", "run", "walk", "speak", "listen", "learn", "teach", "open", "close", "carry",
    "follow", "measure", "change", "reason", "because", "while", "before", "between", "under", "again",
};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

static int uniform_len(vr_bench_rng *rng, int base, double ratio) {
    if (ratio <= 0) return base;
    int lo = (int)floor(base * (1.0 - ratio)), hi = (int)ceil(base * (1.0 + ratio));
    if (lo < 1) lo = 1;
    if (hi < lo) hi = lo;
    return lo + (int)(vr_bench_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

static char *word_text(vr_bench_rng *rng, int n_words) {
    vr_bench_buf b = {0};
    for (int i = 0; i < n_words; i++) {
        const char *w = WORDS[vr_bench_rng_next(rng) % N_WORDS];
        if (i) vr_bench_buf_put(&b, " ", 1);
        vr_bench_buf_put(&b, w, strlen(w));
    }
    if (!b.p) vr_bench_buf_put(&b, "", 0);
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

/* ---- token pool from the server ---- */

typedef struct {
    const vr_bench_vocab *v;
    int *pool;
    size_t n_pool;
} token_source;

static int pool_init(token_source *ts, const vr_bench_vocab *v, char *err, size_t errlen) {
    memset(ts, 0, sizeof *ts);
    if (!v) return -1;
    vr_bench_buf all = {0};
    for (size_t i = 0; i < N_WORDS; i++) {
        vr_bench_buf_put(&all, " ", 1);
        vr_bench_buf_put(&all, WORDS[i], strlen(WORDS[i]));
    }
    if (all.oom) { free(all.p); return -1; }
    int *ids = NULL;
    size_t n = 0;
    int rc = v->tokenize(v->user, all.p, &ids, &n, err, errlen);
    free(all.p);
    if (rc || n < 8) {
        free(ids);
        return -1;
    }
    /* unique ids only, so frequent words do not dominate */
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < u && ids[j] != ids[i]) j++;
        if (j == u) ids[u++] = ids[i];
    }
    /* both routes must work, or prompts come from the word list instead */
    char *probe = NULL;
    if (v->detokenize(v->user, ids, u < 4 ? u : 4, &probe, err, errlen)) {
        free(ids);
        return -1;
    }
    free(probe);
    ts->v = v;
    ts->pool = ids;
    ts->n_pool = u;
    return 0;
}

/* Text of about want tokens drawn from the pool, corrected by re-tokenizing
 * (a few rounds at most; the last count is what *got says). */
static char *pool_text(token_source *ts, vr_bench_rng *rng, int want, int *got, char *err, size_t errlen) {
    int *ids = malloc(sizeof *ids * (size_t)(want + 4 * 64 + 1)); /* room for every correction round */
    if (!ids) return NULL;
    size_t n = (size_t)want;
    for (size_t i = 0; i < n; i++) ids[i] = ts->pool[vr_bench_rng_next(rng) % ts->n_pool];
    char *text = NULL;
    for (int round = 0; round < 4; round++) {
        free(text);
        text = NULL;
        if (ts->v->detokenize(ts->v->user, ids, n, &text, err, errlen)) break;
        int *re = NULL;
        size_t rn = 0;
        if (ts->v->tokenize(ts->v->user, text, &re, &rn, err, errlen)) {
            free(text);
            text = NULL;
            break;
        }
        free(re);
        *got = (int)rn;
        if ((int)rn == want) break;
        if ((int)rn > want) {
            size_t cut = (size_t)((int)rn - want);
            n = n > cut ? n - cut : 1;
        } else {
            size_t add = (size_t)(want - (int)rn);
            if (add > 64) add = 64;
            for (size_t i = 0; i < add; i++) ids[n++] = ts->pool[vr_bench_rng_next(rng) % ts->n_pool];
        }
    }
    free(ids);
    return text;
}

/* Text of want tokens from the server's vocabulary, or want words. */
static char *make_text(token_source *ts, vr_bench_rng *rng, int want, int *got, char *err, size_t errlen) {
    if (want <= 0) {
        *got = 0;
        return calloc(1, 1);
    }
    if (ts->pool) {
        char *t = pool_text(ts, rng, want, got, err, errlen);
        if (t) return t;
        return NULL;
    }
    *got = want;
    return word_text(rng, want);
}

void vr_bench_prompts_free(vr_bench_prompt *p, size_t n) {
    if (!p) return;
    for (size_t i = 0; i < n; i++) free(p[i].text);
    free(p);
}

static int build_random(const vr_bench_config *cfg, token_source *ts, vr_bench_rng *rng, vr_bench_prompt *out,
                        char *err, size_t errlen) {
    for (int i = 0; i < cfg->num_prompts; i++) {
        int in = uniform_len(rng, cfg->random_input_len, cfg->random_range_ratio);
        out[i].output_len = uniform_len(rng, cfg->random_output_len, cfg->random_range_ratio);
        out[i].text = make_text(ts, rng, in, &out[i].prompt_len, err, errlen);
        if (!out[i].text) return -1;
    }
    return 0;
}

static int build_prefix(const vr_bench_config *cfg, token_source *ts, vr_bench_rng *rng, vr_bench_prompt *out,
                        char *err, size_t errlen) {
    int np = cfg->num_prefixes;
    char **prefix = calloc((size_t)np, sizeof *prefix);
    int *plen = calloc((size_t)np, sizeof *plen);
    int rc = -1;
    if (!prefix || !plen) goto done;
    for (int k = 0; k < np; k++)
        if (!(prefix[k] = make_text(ts, rng, cfg->prefix_len, &plen[k], err, errlen))) goto done;
    for (int i = 0; i < cfg->num_prompts; i++) {
        int k = i % np, slen = 0;
        char *suffix = make_text(ts, rng, cfg->suffix_len, &slen, err, errlen);
        if (!suffix) goto done;
        size_t a = strlen(prefix[k]), b = strlen(suffix);
        char *t = malloc(a + b + 2);
        if (!t) { free(suffix); goto done; }
        memcpy(t, prefix[k], a);
        t[a] = ' '; /* a word break keeps the prefix's last token intact */
        memcpy(t + a + 1, suffix, b + 1);
        free(suffix);
        out[i].text = t;
        out[i].prompt_len = plen[k] + slen;
        out[i].output_len = cfg->prefix_output_len;
    }
    /* shuffle so requests sharing a prefix do not arrive back to back */
    for (int i = cfg->num_prompts - 1; i > 0; i--) {
        int j = (int)(vr_bench_rng_next(rng) % (uint64_t)(i + 1));
        vr_bench_prompt tmp = out[i];
        out[i] = out[j];
        out[j] = tmp;
    }
    rc = 0;
done:
    if (prefix)
        for (int k = 0; k < np; k++) free(prefix[k]);
    free(prefix);
    free(plen);
    if (rc && err[0] == 0) snprintf(err, errlen, "out of memory building prefix-repetition prompts");
    return rc;
}

static int count_tokens(token_source *ts, const char *text) {
    if (ts->pool) {
        int *ids = NULL;
        size_t n = 0;
        char e[8];
        if (!ts->v->tokenize(ts->v->user, text, &ids, &n, e, sizeof e)) {
            free(ids);
            return (int)n;
        }
    }
    size_t l = strlen(text); /* about four bytes per token in English text */
    return (int)((l + 3) / 4);
}

static int is_role(const vr_json *turn, const char *const *names) {
    const char *from = vr_jstring(vr_jget(turn, "from"));
    if (!from) from = vr_jstring(vr_jget(turn, "role"));
    if (!from) return -1; /* no speaker named: go by position */
    for (; *names; names++)
        if (!strcmp(from, *names)) return 1;
    return 0;
}

/* The first human turn with text and the model turn right after it. */
static int first_exchange(const vr_json *turns, const char **prompt, const char **reply) {
    static const char *const human[] = {"human", "user", NULL};
    static const char *const model[] = {"gpt", "assistant", "chatgpt", "bard", "model", NULL};
    for (size_t i = 0; i + 1 < vr_jlen(turns); i++) {
        const vr_json *t = vr_jat(turns, i), *next = vr_jat(turns, i + 1);
        int h = is_role(t, human), m = is_role(next, model);
        if (h == 0 || m == 0) continue;
        const char *p = vr_jstring(vr_jget(t, "value")), *a = vr_jstring(vr_jget(next, "value"));
        if (!p) p = vr_jstring(vr_jget(t, "content"));
        if (!a) a = vr_jstring(vr_jget(next, "content"));
        if (!p || !p[0] || !a) continue;
        *prompt = p;
        *reply = a;
        return 1;
    }
    return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open dataset '%s'", path);
        return NULL;
    }
    vr_bench_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) vr_bench_buf_put(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad || b.oom) {
        free(b.p);
        snprintf(err, errlen, "cannot read dataset '%s'", path);
        return NULL;
    }
    *len = b.len;
    return b.p ? b.p : calloc(1, 1);
}

static int build_sharegpt(const vr_bench_config *cfg, token_source *ts, vr_bench_rng *rng, vr_bench_prompt *out,
                          char *err, size_t errlen) {
    size_t len = 0;
    char *text = read_file(cfg->dataset_path, &len, err, errlen);
    if (!text) return -1;
    char jerr[200];
    vr_jdoc *doc = vr_jdoc_parse(text, len, jerr, sizeof jerr);
    free(text);
    if (!doc) {
        snprintf(err, errlen, "dataset '%s': not valid JSON: %s", cfg->dataset_path, jerr);
        return -1;
    }
    const vr_json *root = vr_jdoc_root(doc);
    int rc = -1;
    const vr_json **convs = NULL; /* entries that hold a usable exchange */
    size_t nc = 0;
    if (root->type != VR_JSON_ARRAY) {
        snprintf(err, errlen, "dataset '%s': expected a JSON array of conversations", cfg->dataset_path);
        goto done;
    }
    convs = malloc((vr_jlen(root) ? vr_jlen(root) : 1) * sizeof *convs);
    if (!convs) { snprintf(err, errlen, "out of memory"); goto done; }
    for (size_t i = 0; i < vr_jlen(root); i++) {
        const vr_json *c = vr_jat(root, i);
        const vr_json *turns = vr_jget(c, "conversations");
        if (!turns) turns = vr_jget(c, "conversation");
        const char *p, *a;
        if (!turns || turns->type != VR_JSON_ARRAY || !first_exchange(turns, &p, &a)) continue;
        convs[nc++] = c;
    }
    /* seeded shuffle, then take conversations in order until enough pass the filter */
    for (size_t i = nc; i > 1; i--) {
        size_t j = (size_t)(vr_bench_rng_next(rng) % i);
        const vr_json *t = convs[i - 1];
        convs[i - 1] = convs[j];
        convs[j] = t;
    }
    int got = 0;
    for (size_t i = 0; i < nc && got < cfg->num_prompts; i++) {
        const vr_json *turns = vr_jget(convs[i], "conversations");
        if (!turns) turns = vr_jget(convs[i], "conversation");
        const char *p = NULL, *a = NULL;
        first_exchange(turns, &p, &a);
        int pl = count_tokens(ts, p);
        int ol = cfg->sharegpt_output_len > 0 ? cfg->sharegpt_output_len : count_tokens(ts, a);
        if (pl < 4 || (cfg->sharegpt_output_len <= 0 && ol < 4)) continue; /* too short to time */
        if (pl > 1024 || pl + ol > 2048) continue;                           /* too long for most contexts */
        if (!(out[got].text = strdup(p))) { snprintf(err, errlen, "out of memory"); goto done; }
        out[got].prompt_len = pl;
        out[got].output_len = ol;
        got++;
    }
    if (got == 0) {
        snprintf(err, errlen, "dataset '%s': no usable conversation (need a prompt and a reply turn)",
                 cfg->dataset_path);
        goto done;
    }
    /* fewer than asked: reuse them in order, as vLLM oversamples */
    for (int i = got; i < cfg->num_prompts; i++) {
        out[i] = out[i % got];
        if (!(out[i].text = strdup(out[i % got].text))) { snprintf(err, errlen, "out of memory"); goto done; }
    }
    rc = 0;
done:
    free(convs);
    vr_jdoc_free(doc);
    return rc;
}

int vr_bench_dataset_build(const vr_bench_config *cfg, const vr_bench_vocab *vocab,
                           vr_bench_prompt **out, size_t *n_out, char *note, size_t notelen,
                           char *err, size_t errlen) {
    *out = NULL;
    *n_out = 0;
    err[0] = 0;
    if (cfg->num_prompts <= 0) {
        snprintf(err, errlen, "--num-prompts must be at least 1");
        return -1;
    }
    vr_bench_prompt *p = calloc((size_t)cfg->num_prompts, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory for %d prompts", cfg->num_prompts);
        return -1;
    }
    vr_bench_rng rng = {cfg->seed ^ 0x5EEDDA7A5E7ull};
    token_source ts;
    char verr[160] = "";
    int have_vocab = vocab && pool_init(&ts, vocab, verr, sizeof verr) == 0;
    if (!have_vocab) memset(&ts, 0, sizeof ts);
    if (note) {
        if (have_vocab) snprintf(note, notelen, "prompts from the server's vocabulary (/tokenize, /detokenize; %zu token ids)", ts.n_pool);
        else snprintf(note, notelen, "prompts from the built-in word list%s%s", verr[0] ? " (" : "",
                      verr[0] ? "server tokenizer unavailable)" : "");
    }
    int rc;
    switch (cfg->dataset) {
    case VR_DS_RANDOM: rc = build_random(cfg, &ts, &rng, p, err, errlen); break;
    case VR_DS_PREFIX: rc = build_prefix(cfg, &ts, &rng, p, err, errlen); break;
    default: rc = build_sharegpt(cfg, &ts, &rng, p, err, errlen); break;
    }
    free(ts.pool);
    if (rc) {
        if (!err[0]) snprintf(err, errlen, "could not build prompts");
        vr_bench_prompts_free(p, (size_t)cfg->num_prompts);
        return -1;
    }
    *out = p;
    *n_out = (size_t)cfg->num_prompts;
    return 0;
}
