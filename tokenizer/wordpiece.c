/* tokenizer/wordpiece.c — WordPiece (BERT): greedy longest match first,
 * continuation pieces carry a prefix ("##"); a word with any part not in the
 * vocab, or longer than max_input_chars_per_word, becomes the unk token. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int vr_tok_wordpiece_tokenize(const vr_tok_model *m, const char *w, size_t n, vr_ids *out) {
    if (n == 0) return 0;
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)w[i] & 0xC0) != 0x80;
    if (chars > m->max_chars) return vr_tok_ids_push(out, m->unk_id);
    char *tmp = malloc(m->prefix_len + n + 1);
    if (!tmp) return -1;
    size_t before = out->n, start = 0;
    int bad = 0;
    while (start < n) {
        size_t end = n;
        int32_t found = -1;
        while (start < end) {
            size_t k = 0;
            if (start > 0) { memcpy(tmp, m->prefix, m->prefix_len); k = m->prefix_len; }
            memcpy(tmp + k, w + start, end - start);
            found = vr_tok_strmap_get(&m->vocab, tmp, k + end - start);
            if (found >= 0) break;
            do end--; while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80);
        }
        if (found < 0) { bad = 1; break; }
        if (vr_tok_ids_push(out, found)) { free(tmp); return -1; }
        start = end;
    }
    free(tmp);
    if (bad) {
        out->n = before;
        return vr_tok_ids_push(out, m->unk_id);
    }
    return 0;
}
