/* stream_check TOKENIZER — streaming detokenizer driver for the oracle test.
 * stdin: one line of space-separated token ids per sequence.
 * stdout: one JSON line per input line, {"stream": "...", "stream_skip": "..."}:
 * the concatenated chunks of vr_detok pushed one id at a time (without and
 * with skip_special_tokens). The oracle test compares them with Hugging
 * Face's decode. Exits 1 if a chunk ends inside a UTF-8 character. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static int whole_utf8(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : p[i] >= 0xC2 ? 2 : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

static void put_json(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c == 0x7F) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static int stream(vr_detok *d, const int *ids, size_t n, char **out, size_t *len) {
    size_t cap = 1024, k;
    *out = malloc(cap);
    *len = 0;
    const char *s;
    for (size_t i = 0; i <= n; i++) {
        int rc = i < n ? vr_detok_push(d, ids[i], &s, &k) : vr_detok_flush(d, &s, &k);
        if (rc) return fprintf(stderr, "push of id %d failed\n", i < n ? ids[i] : -1), -1;
        if (!whole_utf8(s, k)) return fprintf(stderr, "chunk after id %zu is not whole UTF-8\n", i), -1;
        if (*len + k + 1 > cap) {
            while (*len + k + 1 > cap) cap *= 2;
            *out = realloc(*out, cap);
        }
        memcpy(*out + *len, s, k);
        *len += k;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: stream_check TOKENIZER < ids\n");
        return 2;
    }
    char err[512];
    vr_tokenizer *t;
    if (vr_tokenizer_load(argv[1], &t, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    vr_detok *plain = vr_detok_create(t, 0), *skip = vr_detok_create(t, 1);
    char *line = NULL;
    size_t cap = 0, n = 0, idcap = 1024;
    int *ids = malloc(idcap * sizeof *ids), rc = 0;
    while (getline(&line, &cap, stdin) >= 0) {
        n = 0;
        for (char *p = line, *e;; p = e) {
            long v = strtol(p, &e, 10);
            if (e == p) break;
            if (n == idcap) ids = realloc(ids, (idcap *= 2) * sizeof *ids);
            ids[n++] = (int)v;
        }
        char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        if (stream(plain, ids, n, &a, &al)) rc = 1;
        if (stream(skip, ids, n, &b, &bl)) rc = 1;
        printf("{\"stream\": ");
        put_json(a, al);
        printf(", \"stream_skip\": ");
        put_json(b, bl);
        printf("}\n");
        free(a);
        free(b);
    }
    free(line);
    free(ids);
    vr_detok_free(plain);
    vr_detok_free(skip);
    vr_tokenizer_free(t);
    return rc;
}
