/* engine/stop.c — stop-string search and hold-back. */
#include "engine/stop.h"

#include <stdlib.h>
#include <string.h>

int vr_stop_init(vr_stop_strings *st, const char *const *strs, int n) {
    memset(st, 0, sizeof *st);
    if (n <= 0) return 0;
    st->s = calloc((size_t)n, sizeof *st->s);
    st->len = calloc((size_t)n, sizeof *st->len);
    if (!st->s || !st->len) {
        vr_stop_free(st);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        size_t l = strs[i] ? strlen(strs[i]) : 0;
        if (!l) continue;
        char *c = malloc(l + 1);
        if (!c) {
            vr_stop_free(st);
            return -1;
        }
        memcpy(c, strs[i], l + 1);
        st->s[st->n] = c;
        st->len[st->n] = l;
        st->n++;
        if (l > st->max_len) st->max_len = l;
    }
    return 0;
}

void vr_stop_free(vr_stop_strings *st) {
    if (st->s)
        for (int i = 0; i < st->n; i++) free(st->s[i]);
    free(st->s);
    free(st->len);
    memset(st, 0, sizeof *st);
}

int vr_stop_find(const vr_stop_strings *st, const char *text, size_t len, size_t old_len,
                 size_t *pos) {
    int best = -1;
    size_t best_pos = 0;
    for (int i = 0; i < st->n; i++) {
        size_t l = st->len[i];
        if (l > len) continue;
        /* a match ending in the new text starts at or after old_len - l + 1 */
        size_t from = old_len + 1 > l ? old_len + 1 - l : 0;
        for (size_t p = from; p + l <= len; p++) {
            if (best >= 0 && p > best_pos) break;
            if (text[p] == st->s[i][0] && !memcmp(text + p, st->s[i], l)) {
                if (best < 0 || p < best_pos || (p == best_pos && l > st->len[best])) {
                    best = i;
                    best_pos = p;
                }
                break;
            }
        }
    }
    if (best >= 0) *pos = best_pos;
    return best;
}

size_t vr_stop_holdback(const vr_stop_strings *st, const char *text, size_t len) {
    size_t hold = 0;
    for (int i = 0; i < st->n; i++) {
        size_t l = st->len[i];
        size_t maxk = l - 1 < len ? l - 1 : len;
        for (size_t k = maxk; k > hold; k--)
            if (!memcmp(text + len - k, st->s[i], k)) {
                hold = k;
                break;
            }
    }
    return hold;
}
