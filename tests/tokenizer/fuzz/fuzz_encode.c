/* libFuzzer target: arbitrary bytes as text for the fixture tokenizers.
 * Checks: encode never crashes (invalid UTF-8 is an error), decode of the
 * ids succeeds, and the streaming detokenizer's chunks concatenate to the
 * full decode. The first byte picks the tokenizer and the flags. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must be defined"
#endif

static const char *const names[] = {"sp-tiny", "bl-tiny", "bert-tiny", "sp-meta", "bpe-suffix", "wp-mix"};
#define N_TOK (sizeof names / sizeof names[0])
/* Loaded once per process: fuzz harness state, not library state. */
static vr_tokenizer *toks[N_TOK];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < N_TOK; i++) {
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, names[i]);
        if (vr_tokenizer_load(path, &toks[i], err, sizeof err)) {
            fprintf(stderr, "fuzz_encode: %s\n", err);
            abort();
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const vr_tokenizer *t = toks[data[0] % N_TOK];
    int special = (data[0] >> 4) & 1, skip = (data[0] >> 5) & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t *ids;
    size_t n;
    char err[256];
    if (vr_tokenizer_encode(t, text, len, special, &ids, &n, err, sizeof err)) return 0;
    char *full;
    size_t flen;
    if (vr_tokenizer_decode(t, ids, n, skip, &full, &flen, err, sizeof err)) __builtin_trap();
    vr_detok *d = vr_detok_create(t, skip);
    char *acc = malloc(flen + 1);
    size_t alen = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t k;
        if (i < n ? vr_detok_push(d, ids[i], &s, &k) : vr_detok_flush(d, &s, &k)) __builtin_trap();
        if (alen + k > flen) __builtin_trap();
        memcpy(acc + alen, s, k);
        alen += k;
    }
    if (alen != flen || memcmp(acc, full, flen)) __builtin_trap();
    free(acc);
    free(full);
    free(ids);
    vr_detok_free(d);
    return 0;
}
