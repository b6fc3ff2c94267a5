/* vireo generate MODEL (--prompt TEXT | --prompt-ids 1,2,3 | --prompts-file F)... [flags]
 *
 * Offline generation: every prompt goes into one engine at once (continuous
 * batching does the rest) and the results are printed in prompt order: the
 * text, or with --json one line per prompt and sample,
 * {"prompt_ids":[...],"ids":[...],"text":"...","finish_reason":"..."}. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "server/cli/commands.h"
#include "tokenizer/tokenizer.h"

typedef struct gen_out {
    int32_t *ids;
    int n_ids, cap_ids;
    char *text;
    size_t len, cap;
    char reason[16];
    int finished;
} gen_out;

typedef struct gen_req {
    int32_t *prompt;
    int n_prompt;
    gen_out *outs; /* [n] */
    int done;
    int failed;
} gen_req;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *n = realloc(*p, c * elem);
    if (!n) return -1;
    *p = n;
    *cap = c;
    return 0;
}

static void on_output(void *user, const vr_output_delta *d) {
    gen_req *r = user;
    gen_out *o = &r->outs[d->seq_index];
    size_t cap = (size_t)o->cap_ids;
    if (d->n_new && !grow((void **)&o->ids, &cap, (size_t)(o->n_ids + d->n_new), sizeof *o->ids)) {
        o->cap_ids = (int)cap;
        memcpy(o->ids + o->n_ids, d->new_ids, (size_t)d->n_new * sizeof *o->ids);
        o->n_ids += d->n_new;
    }
    if (d->text_len && !grow((void **)&o->text, &o->cap, o->len + d->text_len + 1, 1)) {
        memcpy(o->text + o->len, d->text, d->text_len);
        o->len += d->text_len;
        o->text[o->len] = 0;
    }
    if (d->finished) {
        o->finished = 1;
        snprintf(o->reason, sizeof o->reason, "%s", d->finish_reason ? d->finish_reason : "");
    }
    if (d->error) {
        fprintf(stderr, "vireo generate: %s\n", d->error);
        r->failed = 1;
    }
    if (d->request_finished) r->done = 1;
}

static void json_string(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') fputs("\\\"", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void json_ids(FILE *f, const int32_t *ids, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%d" : "%d", (int)ids[i]);
    fputc(']', f);
}

static int parse_ids(const char *s, int32_t **out, int *n) {
    int cap = 16, k = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids) return -1;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX) {
            free(ids);
            return -1;
        }
        if (k == cap) {
            cap *= 2;
            int32_t *g = realloc(ids, (size_t)cap * sizeof *g);
            if (!g) { free(ids); return -1; }
            ids = g;
        }
        ids[k++] = (int32_t)v;
        s = end;
        while (*s == ' ') s++;
        if (*s == ',') s++;
        else if (*s) { free(ids); return -1; }
    }
    *out = ids;
    *n = k;
    return k > 0 ? 0 : -1;
}

typedef struct prompt_src {
    int is_ids;
    char *text; /* owned */
} prompt_src;

static void usage(FILE *f) {
    fprintf(f,
            "usage: vireo generate MODEL (--prompt TEXT | --prompt-ids 1,2,3 | --prompts-file F)...\n"
            "  sampling: --max-tokens N (16) --temperature T --top-p P --top-k K --min-p M --seed S\n"
            "            --repetition-penalty R --presence-penalty P --frequency-penalty F\n"
            "            --ignore-eos --n N --stop STR (repeatable)\n"
            "  engine:   --max-num-seqs C --max-num-batched-tokens B --kv-cache-memory-bytes X\n"
            "            --block-size B --max-model-len L --threads T --dtype D --kv-cache-dtype D\n"
            "            --device D\n"
            "            --no-enable-prefix-caching --generation-config auto|vllm|DIR\n"
            "  output:   --json (one line per prompt and sample)\n"
            "--prompts-file: one text prompt per line (empty lines skipped).\n");
}

static int add_prompt(prompt_src **ps, int *n, int *cap, int is_ids, const char *text) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        prompt_src *g = realloc(*ps, (size_t)*cap * sizeof *g);
        if (!g) return -1;
        *ps = g;
    }
    (*ps)[*n].is_ids = is_ids;
    (*ps)[*n].text = strdup(text);
    if (!(*ps)[*n].text) return -1;
    (*n)++;
    return 0;
}

static int read_prompts_file(const char *path, prompt_src **ps, int *n, int *cap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vireo generate: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t lc = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lc, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (add_prompt(ps, n, cap, 0, line)) { rc = -1; break; }
    }
    free(line);
    fclose(f);
    return rc;
}

int vr_cmd_generate(int argc, char **argv) {
    vr_engine_options o;
    vr_engine_options_default(&o);
    o.log_stats = 0;
    prompt_src *ps = NULL;
    int n_ps = 0, cap_ps = 0;
    const char *stops[64];
    int n_stops = 0;
    int json = 0, max_tokens = 16, n = 1, ignore_eos = 0, has_seed = 0, has_temp = 0;
    int top_k = -2;
    float temperature = 1, top_p = -1, min_p = -1, rep = -1, pres = 0, freq = 0;
    unsigned long long seed = 0;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) { fprintf(stderr, "vireo generate: %s needs a value\n", a); goto out; } i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); rc = 0; goto out; }
        else if (!strcmp(a, "--prompt")) { NEEDV(); if (add_prompt(&ps, &n_ps, &cap_ps, 0, v)) goto out; }
        else if (!strcmp(a, "--prompt-ids")) { NEEDV(); if (add_prompt(&ps, &n_ps, &cap_ps, 1, v)) goto out; }
        else if (!strcmp(a, "--prompts-file")) { NEEDV(); if (read_prompts_file(v, &ps, &n_ps, &cap_ps)) { rc = 1; goto out; } }
        else if (!strcmp(a, "--max-tokens")) { NEEDV(); max_tokens = atoi(v); }
        else if (!strcmp(a, "--temperature")) { NEEDV(); temperature = strtof(v, NULL); has_temp = 1; }
        else if (!strcmp(a, "--top-p")) { NEEDV(); top_p = strtof(v, NULL); }
        else if (!strcmp(a, "--top-k")) { NEEDV(); top_k = atoi(v); }
        else if (!strcmp(a, "--min-p")) { NEEDV(); min_p = strtof(v, NULL); }
        else if (!strcmp(a, "--repetition-penalty")) { NEEDV(); rep = strtof(v, NULL); }
        else if (!strcmp(a, "--presence-penalty")) { NEEDV(); pres = strtof(v, NULL); }
        else if (!strcmp(a, "--frequency-penalty")) { NEEDV(); freq = strtof(v, NULL); }
        else if (!strcmp(a, "--seed")) { NEEDV(); seed = strtoull(v, NULL, 10); has_seed = 1; o.seed = seed; }
        else if (!strcmp(a, "--ignore-eos")) ignore_eos = 1;
        else if (!strcmp(a, "--n")) { NEEDV(); n = atoi(v); }
        else if (!strcmp(a, "--stop")) { NEEDV(); if (n_stops < 64) stops[n_stops++] = v; }
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--max-num-seqs")) { NEEDV(); o.max_num_seqs = atoi(v); }
        else if (!strcmp(a, "--max-num-batched-tokens")) { NEEDV(); o.max_num_batched_tokens = atoi(v); }
        else if (!strcmp(a, "--kv-cache-memory-bytes")) { NEEDV(); o.kv_cache_memory_bytes = (size_t)strtoull(v, NULL, 10); }
        else if (!strcmp(a, "--block-size")) { NEEDV(); o.block_size = atoi(v); }
        else if (!strcmp(a, "--max-model-len")) { NEEDV(); o.max_model_len = atoi(v); }
        else if (!strcmp(a, "--threads")) { NEEDV(); o.num_threads = atoi(v); }
        else if (!strcmp(a, "--dtype")) { NEEDV(); o.dtype = v; }
        else if (!strcmp(a, "--kv-cache-dtype")) { NEEDV(); o.kv_cache_dtype = v; }
        else if (!strcmp(a, "--device")) { NEEDV(); o.device = v; }
        else if (!strcmp(a, "--generation-config")) { NEEDV(); o.generation_config = v; }
        else if (!strcmp(a, "--no-enable-prefix-caching")) o.enable_prefix_caching = 0;
        else if (!strcmp(a, "--enable-prefix-caching")) o.enable_prefix_caching = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (a[0] == '-') { fprintf(stderr, "vireo generate: unknown flag %s\n", a); usage(stderr); goto out; }
        else if (!o.model_path) o.model_path = a;
        else { fprintf(stderr, "vireo generate: unexpected argument %s\n", a); goto out; }
#undef NEEDV
    }
    if (!o.model_path || !n_ps) {
        usage(stderr);
        goto out;
    }
    rc = 1;
    o.no_thread = 1; /* this command drives the steps itself */
    char err[1024];
    vr_engine *e = NULL;
    if (vr_engine_create(&o, &e, err, sizeof err)) {
        fprintf(stderr, "vireo generate: %s\n", err);
        goto out;
    }
    const vr_tokenizer *tok = vr_engine_tokenizer(e);
    vr_sampling_params p;
    vr_sampling_params_default(&p, e);
    if (has_temp) p.temperature = temperature;
    if (top_p >= 0) p.top_p = top_p;
    if (top_k != -2) p.top_k = top_k;
    if (min_p >= 0) p.min_p = min_p;
    if (rep >= 0) p.repetition_penalty = rep;
    p.presence_penalty = pres;
    p.frequency_penalty = freq;
    p.has_seed = has_seed;
    p.seed = seed;
    p.max_tokens = max_tokens;
    p.ignore_eos = ignore_eos;
    p.n = n;
    p.stop = stops;
    p.n_stop = n_stops;
    gen_req *reqs = calloc((size_t)n_ps, sizeof *reqs);
    int failed = !reqs;
    for (int i = 0; !failed && i < n_ps; i++) {
        gen_req *r = &reqs[i];
        if (ps[i].is_ids) {
            if (parse_ids(ps[i].text, &r->prompt, &r->n_prompt)) {
                fprintf(stderr, "vireo generate: --prompt-ids '%s' is not a comma-separated id list\n", ps[i].text);
                failed = 1;
                break;
            }
        } else {
            size_t nn = 0;
            if (!tok) {
                fprintf(stderr, "vireo generate: --prompt needs a tokenizer; this model has none (use --prompt-ids)\n");
                failed = 1;
                break;
            }
            if (vr_tokenizer_encode(tok, ps[i].text, strlen(ps[i].text), 1, &r->prompt, &nn, err, sizeof err)) {
                fprintf(stderr, "vireo generate: prompt %d: %s\n", i, err);
                failed = 1;
                break;
            }
            r->n_prompt = (int)nn;
        }
        r->outs = calloc((size_t)(n > 0 ? n : 1), sizeof *r->outs);
        char id[32];
        snprintf(id, sizeof id, "gen-%d", i);
        if (!r->outs || vr_engine_submit(e, id, VR_REQ_GENERATE, r->prompt, r->n_prompt, &p, 0, on_output, r,
                                         err, sizeof err)) {
            fprintf(stderr, "vireo generate: prompt %d: %s\n", i, r->outs ? err : "out of memory");
            failed = 1;
        }
        /* keep the queue short: step while many are waiting */
        while (!failed && vr_engine_num_unfinished(e) >= 1024)
            if (vr_engine_step(e, err, sizeof err) < 0) { fprintf(stderr, "vireo generate: %s\n", err); failed = 1; }
    }
    while (!failed && vr_engine_num_unfinished(e) > 0)
        if (vr_engine_step(e, err, sizeof err) < 0) {
            fprintf(stderr, "vireo generate: %s\n", err);
            failed = 1;
        }
    vr_engine_destroy(e); /* aborts whatever a failure left behind */
    for (int i = 0; reqs && i < n_ps; i++) {
        gen_req *r = &reqs[i];
        failed |= r->failed;
        for (int s = 0; r->outs && s < n && !failed; s++) {
            gen_out *g = &r->outs[s];
            if (json) {
                fputs("{\"prompt_ids\":", stdout);
                json_ids(stdout, r->prompt, r->n_prompt);
                if (n > 1) printf(",\"index\":%d", s);
                fputs(",\"ids\":", stdout);
                json_ids(stdout, g->ids, g->n_ids);
                fputs(",\"text\":", stdout);
                json_string(stdout, g->text ? g->text : "", g->len);
                fputs(",\"finish_reason\":", stdout);
                json_string(stdout, g->reason, strlen(g->reason));
                fputs("}\n", stdout);
            } else {
                if (n_ps > 1 || n > 1) printf("--- prompt %d%s", i, n > 1 ? "" : "\n");
                if (n > 1) printf(", sample %d\n", s);
                fwrite(g->text ? g->text : "", 1, g->len, stdout);
                fputc('\n', stdout);
            }
        }
        for (int s = 0; r->outs && s < n; s++) {
            free(r->outs[s].ids);
            free(r->outs[s].text);
        }
        free(r->outs);
        free(r->prompt);
    }
    free(reqs);
    rc = failed ? 1 : 0;
out:
    for (int i = 0; i < n_ps; i++) free(ps[i].text);
    free(ps);
    return rc;
}
