/* tokenizer/util.c — growable buffers, an arena, error messages, hashing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

int vr_tok_buf_put(vr_buf *b, const void *s, size_t n) {
    if (n == 0) return 0;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int vr_tok_buf_putc(vr_buf *b, char c) { return vr_tok_buf_put(b, &c, 1); }

void vr_tok_buf_free(vr_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

int vr_tok_ids_push(vr_ids *v, int32_t id) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        int32_t *p = realloc(v->p, cap * sizeof *p);
        if (!p) return -1;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = id;
    return 0;
}

int vr_tok_ids_append(vr_ids *v, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (vr_tok_ids_push(v, ids[i])) return -1;
    return 0;
}

struct vr_arena_block {
    vr_arena_block *next;
    size_t used, cap;
    char data[];
};

char *vr_tok_arena_alloc(vr_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        vr_arena_block *b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

void vr_tok_arena_free(vr_arena *a) {
    while (a->head) {
        vr_arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

void vr_tok_set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A fast non-cryptographic hash (8 bytes per step, multiply-xorshift mix). */
uint64_t vr_tok_hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ (w * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ (w * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return h;
}

/* Large tables (vocab and merge hashes) are random-access: ask for huge
 * pages so loading takes a few page faults instead of thousands and lookups
 * miss the TLB less. Plain malloc when small or when it fails. */
void *vr_tok_big_alloc(size_t n) {
    const size_t huge = (size_t)2 << 20;
    if (n < 2 * huge) return malloc(n);
    size_t rounded = (n + huge - 1) & ~(huge - 1);
    void *p = NULL;
    if (posix_memalign(&p, huge, rounded)) return malloc(n);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}
