/* arena.c — bump allocator with a byte cap, and a growable buffer on it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chat_templates/internal.h"

struct arena_chunk {
    arena_chunk *next;
    size_t size, used;
    max_align_t data[];
};

void arena_init(arena *a, size_t cap_total) {
    a->head = NULL;
    a->used_total = 0;
    a->cap_total = cap_total;
    a->exhausted = false;
}

void arena_free(arena *a) {
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

void *arena_alloc(arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = c ? c->size * 2 : 16384;
        if (size > (1u << 22)) size = 1u << 22;
        if (size < n) size = n;
        if (a->cap_total && a->used_total + size > a->cap_total) {
            a->exhausted = true;
            return NULL;
        }
        arena_chunk *nc = malloc(sizeof(arena_chunk) + size);
        if (!nc) { a->exhausted = true; return NULL; }
        nc->size = size;
        nc->used = 0;
        a->used_total += size;
        /* a big one-off block goes behind the head so the head keeps its free space */
        if (c && size == n && c->size - c->used > 1024) {
            nc->next = c->next;
            c->next = nc;
            nc->used = n;
            return (char *)nc->data;
        }
        nc->next = c;
        a->head = c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void *arena_realloc(arena *a, void *p, size_t old, size_t n) {
    if (n <= old) return p;
    /* grow in place when p is the last allocation of the head chunk */
    arena_chunk *c = a->head;
    size_t oldr = (old + 15) & ~(size_t)15, nr = (n + 15) & ~(size_t)15;
    if (p && c && (char *)p + oldr == (char *)c->data + c->used && c->size - c->used >= nr - oldr) {
        c->used += nr - oldr;
        return p;
    }
    void *q = arena_alloc(a, n);
    if (q && p && old) memcpy(q, p, old);
    return q;
}

char *arena_strdup(arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void sbuf_init(sbuf *b, arena *a) {
    memset(b, 0, sizeof *b);
    b->a = a;
}

bool sbuf_put(sbuf *b, const char *s, size_t n) {
    if (b->overflow || b->oom) return false;
    if (b->limit && b->n + n > b->limit) { b->overflow = true; return false; }
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *q = arena_realloc(b->a, b->p, b->cap, nc);
        if (!q) { b->oom = true; return false; }
        b->p = q;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

bool sbuf_putc(sbuf *b, char c) { return sbuf_put(b, &c, 1); }
bool sbuf_puts(sbuf *b, const char *s) { return sbuf_put(b, s, strlen(s)); }

bool sbuf_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return false;
    if ((size_t)k < sizeof tmp) return sbuf_put(b, tmp, (size_t)k);
    char *big = arena_alloc(b->a, (size_t)k + 1);
    if (!big) { b->oom = true; return false; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    return sbuf_put(b, big, (size_t)k);
}
