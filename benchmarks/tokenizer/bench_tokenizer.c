/* bench_tokenizer — encode throughput and load time of vireo's tokenizer
 * beside Hugging Face's Rust tokenizers, measured in the same run.
 *
 * usage: bench_tokenizer [--size BYTES] [--no-hf] TOKENIZER_JSON...
 *
 * The text (~1 MB English, ~1 MB mixed scripts) is generated
 * deterministically from the committed seed files: sentences are drawn and
 * varied by a fixed-seed PRNG, then cut into ~8 KB chunks that both sides
 * encode one at a time on one thread (no special tokens). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenizer/tokenizer.h"

#ifndef SEED_DIR
#error "SEED_DIR must be defined"
#endif

typedef struct { char *p; size_t n, cap; } sbuf;
static void put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

typedef struct { char **line; size_t n; } lines_t;

static lines_t read_lines(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SEED_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    lines_t l = {0};
    char *s = NULL;
    size_t cap = 0;
    ssize_t k;
    while ((k = getline(&s, &cap, f)) > 0) {
        if (s[k - 1] == '\n') s[--k] = 0;
        if (!k) continue;
        l.line = realloc(l.line, (l.n + 1) * sizeof *l.line);
        l.line[l.n++] = strdup(s);
    }
    free(s);
    fclose(f);
    return l;
}

/* Draws seed lines; half the time swaps one space-separated word with a word
 * from another line so the text is not a loop of identical sentences. */
static void generate(const lines_t *a, const lines_t *b, int mix_pct, size_t size, uint64_t seed, sbuf *out) {
    uint64_t s = seed;
    int in_para = 0;
    while (out->n < size) {
        const lines_t *src = (int)(rng_next(&s) % 100) < mix_pct ? b : a;
        const char *line = src->line[rng_next(&s) % src->n];
        if (rng_next(&s) % 2) {
            const char *other = a->line[rng_next(&s) % a->n];
            const char *w = strchr(other, ' '), *we;
            const char *sp = strchr(line, ' ');
            if (w && sp && (we = strchr(w + 1, ' '))) {
                put(out, line, (size_t)(sp - line));
                put(out, w, (size_t)(we - w));
                puts_(out, sp);
            } else puts_(out, line);
        } else puts_(out, line);
        if (rng_next(&s) % 7 == 0) {
            char num[32];
            snprintf(num, sizeof num, " %u", (unsigned)(rng_next(&s) % 100000));
            puts_(out, num);
        }
        in_para++;
        puts_(out, in_para >= 5 && rng_next(&s) % 3 == 0 ? (in_para = 0, "\n\n") : " ");
    }
}

/* Cuts at whitespace near every `chunk` bytes (never inside a character). */
static size_t cut_chunks(const sbuf *t, size_t chunk, size_t **starts) {
    size_t n = 0, pos = 0;
    *starts = malloc((t->n / chunk + 2) * sizeof **starts);
    while (pos < t->n) {
        (*starts)[n++] = pos;
        size_t e = pos + chunk;
        if (e >= t->n) break;
        while (e < t->n && t->p[e] != ' ' && t->p[e] != '\n') e++;
        pos = e;
    }
    (*starts)[n] = t->n;
    return n;
}

static void json_str(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* tps: tokens per wall second; cpu_tps: per CPU second of the measuring
 * process (less disturbed when the machine is shared). */
typedef struct { double load_s, load_cpu_s, en_tps, mixed_tps, en_cpu_tps, mixed_cpu_tps; size_t en_tokens, mixed_tokens; } result;

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double encode_all(const vr_tokenizer *t, const sbuf *text, const size_t *st, size_t n, size_t *tokens,
                         double *best_cpu) {
    double best = 1e30;
    *best_cpu = 1e30;
    for (int r = 0; r < 3; r++) {
        size_t total = 0;
        double t0 = now(), c0 = cpu_now();
        for (size_t i = 0; i < n; i++) {
            int32_t *ids;
            size_t k;
            char err[256];
            if (vr_tokenizer_encode(t, text->p + st[i], st[i + 1] - st[i], 0, &ids, &k, err, sizeof err)) {
                fprintf(stderr, "encode: %s\n", err);
                exit(1);
            }
            total += k;
            free(ids);
        }
        double dt = now() - t0, dc = cpu_now() - c0;
        if (dt < best) best = dt;
        if (dc < *best_cpu) *best_cpu = dc;
        *tokens = total;
    }
    return best;
}

static double json_num(const char *line, const char *key) {
    const char *p = strstr(line, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

int main(int argc, char **argv) {
    size_t size = 1 << 20;
    int hf = 1, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "--size") && first + 1 < argc) size = (size_t)strtoull(argv[++first], NULL, 10);
        else if (!strcmp(argv[first], "--no-hf")) hf = 0;
        else {
            fprintf(stderr, "usage: bench_tokenizer [--size BYTES] [--no-hf] TOKENIZER_JSON...\n");
            return 2;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "usage: bench_tokenizer [--size BYTES] [--no-hf] TOKENIZER_JSON...\n");
        return 2;
    }
    lines_t en = read_lines("seed_en.txt"), mixed = read_lines("seed_mixed.txt");
    sbuf ten = {0}, tmix = {0};
    generate(&en, &en, 0, size, 0x5EED0001, &ten);
    generate(&en, &mixed, 70, size, 0x5EED0002, &tmix);
    size_t *sen, *smix;
    size_t nen = cut_chunks(&ten, 8192, &sen), nmix = cut_chunks(&tmix, 8192, &smix);

    char chunks_path[] = "/tmp/vireo-bench-tok-XXXXXX";
    int fd = mkstemp(chunks_path);
    FILE *cf = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!cf) {
        perror("mkstemp");
        return 1;
    }
    for (size_t i = 0; i < nen; i++) {
        fputs("{\"set\": \"en\", \"text\": ", cf);
        json_str(cf, ten.p + sen[i], sen[i + 1] - sen[i]);
        fputs("}\n", cf);
    }
    for (size_t i = 0; i < nmix; i++) {
        fputs("{\"set\": \"mixed\", \"text\": ", cf);
        json_str(cf, tmix.p + smix[i], smix[i + 1] - smix[i]);
        fputs("}\n", cf);
    }
    fclose(cf);

    int ntok = argc - first;
    result *v = calloc((size_t)ntok, sizeof *v), *h = calloc((size_t)ntok, sizeof *h);
    for (int i = 0; i < ntok; i++) {
        double loads[3], cpu[3];
        vr_tokenizer *t = NULL;
        for (int r = 0; r < 3; r++) {
            char err[512];
            if (t) vr_tokenizer_free(t);
            double t0 = now(), c0 = cpu_now();
            if (vr_tokenizer_load(argv[first + i], &t, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            loads[r] = now() - t0;
            cpu[r] = cpu_now() - c0;
        }
        v[i].load_cpu_s = cpu[0] < cpu[1] ? (cpu[0] < cpu[2] ? cpu[0] : cpu[2]) : (cpu[1] < cpu[2] ? cpu[1] : cpu[2]);
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (loads[b] < loads[a]) { double x = loads[a]; loads[a] = loads[b]; loads[b] = x; }
        v[i].load_s = loads[1];
        double dc, dt = encode_all(t, &ten, sen, nen, &v[i].en_tokens, &dc);
        v[i].en_tps = (double)v[i].en_tokens / dt;
        v[i].en_cpu_tps = (double)v[i].en_tokens / dc;
        dt = encode_all(t, &tmix, smix, nmix, &v[i].mixed_tokens, &dc);
        v[i].mixed_tps = (double)v[i].mixed_tokens / dt;
        v[i].mixed_cpu_tps = (double)v[i].mixed_tokens / dc;
        vr_tokenizer_free(t);
    }
    if (hf) {
        sbuf cmd = {0};
        puts_(&cmd, "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false '" NODE_BIN "' '" HF_SCRIPT "' '" NODE_MODULES "' ");
        puts_(&cmd, chunks_path);
        for (int i = 0; i < ntok; i++) {
            puts_(&cmd, " '");
            puts_(&cmd, argv[first + i]);
            puts_(&cmd, "'");
        }
        FILE *p = popen(cmd.p, "r");
        char line[4096];
        for (int i = 0; p && i < ntok && fgets(line, sizeof line, p); i++) {
            char *m = strstr(line, "\"mixed\"");
            h[i].load_s = json_num(line, "\"load_s\":");
            h[i].en_tokens = (size_t)json_num(line, "\"tokens\":");
            h[i].en_tps = (double)h[i].en_tokens / json_num(line, "\"seconds\":");
            h[i].en_cpu_tps = (double)h[i].en_tokens / json_num(line, "\"cpu_seconds\":");
            if (m) {
                h[i].mixed_tokens = (size_t)json_num(m, "\"tokens\":");
                h[i].mixed_tps = (double)h[i].mixed_tokens / json_num(m, "\"seconds\":");
                h[i].mixed_cpu_tps = (double)h[i].mixed_tokens / json_num(m, "\"cpu_seconds\":");
            }
        }
        if (!p || pclose(p) != 0) {
            fprintf(stderr, "bench_tokenizer: the Hugging Face side failed (node, @anush008/tokenizers); use --no-hf\n");
            hf = 0;
        }
        free(cmd.p);
    }
    unlink(chunks_path);

    printf("text: %zu bytes English (%zu chunks), %zu bytes mixed scripts (%zu chunks); one thread\n", ten.n, nen,
           tmix.n, nmix);
    printf("%-14s %9s %9s %6s | %10s %10s %6s | %10s %10s %6s\n", "tokenizer", "load ms", "HF ms", "x", "en tok/s",
           "HF tok/s", "x", "mix tok/s", "HF tok/s", "x");
    for (int i = 0; i < ntok; i++) {
        const char *name = argv[first + i];
        const char *m = strstr(name, "tokenizer-");
        char shown[15];
        snprintf(shown, sizeof shown, "%s", m ? m + 10 : name);
        char *slash = strchr(shown, '/');
        if (slash) *slash = 0;
        printf("%-14s %9.1f %9.1f %6.2f | %10.0f %10.0f %6.2f | %10.0f %10.0f %6.2f\n", shown, v[i].load_s * 1e3,
               hf ? h[i].load_s * 1e3 : 0, hf ? h[i].load_s / v[i].load_s : 0, v[i].en_tps, hf ? h[i].en_tps : 0,
               hf ? v[i].en_tps / h[i].en_tps : 0, v[i].mixed_tps, hf ? h[i].mixed_tps : 0,
               hf ? v[i].mixed_tps / h[i].mixed_tps : 0);
        if (hf)
            printf("  %-12s load CPU %.1f ms; per CPU second: en %10.0f vs HF %10.0f (x %.2f), mixed %10.0f vs HF %10.0f (x %.2f)\n", "",
                   v[i].load_cpu_s * 1e3, v[i].en_cpu_tps, h[i].en_cpu_tps, v[i].en_cpu_tps / h[i].en_cpu_tps, v[i].mixed_cpu_tps,
                   h[i].mixed_cpu_tps, v[i].mixed_cpu_tps / h[i].mixed_cpu_tps);
        if (hf && (h[i].en_tokens != v[i].en_tokens || h[i].mixed_tokens != v[i].mixed_tokens))
            printf("  note: token counts differ (vireo %zu/%zu, HF %zu/%zu)\n", v[i].en_tokens, v[i].mixed_tokens,
                   h[i].en_tokens, h[i].mixed_tokens);
    }
    printf("(x: load = HF time / vireo time; throughput = vireo / HF. Targets: encode x >= 2, load <= 300 ms)\n");
    for (size_t i = 0; i < en.n; i++) free(en.line[i]);
    for (size_t i = 0; i < mixed.n; i++) free(mixed.line[i]);
    free(en.line);
    free(mixed.line);
    free(ten.p);
    free(tmix.p);
    free(sen);
    free(smix);
    free(v);
    free(h);
    return 0;
}
