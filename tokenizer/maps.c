/* tokenizer/maps.c — open-addressing hash maps: string -> id (vocab) and
 * (id, id) -> (rank, merged id) (BPE merges). Keys of the string map are
 * borrowed, not copied: they live in the model's token table. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t table_size(size_t expected) {
    size_t n = 16;
    while (n < expected * 2 + 16) n *= 2;
    return n;
}

#define EMPTY_OFF UINT32_MAX

int vr_tok_strmap_init(vr_strmap *m, size_t expected, const char *arena) {
    size_t n = table_size(expected);
    m->slots = vr_tok_big_alloc(n * sizeof *m->slots);
    if (!m->slots) return -1;
    memset(m->slots, 0xff, n * sizeof *m->slots);
    m->mask = n - 1;
    m->count = 0;
    m->arena = arena;
    return 0;
}

static const vr_strrec *rec_at(const vr_strmap *m, uint32_t off) {
    return (const vr_strrec *)(const void *)(m->arena + (size_t)off * 8);
}

static int strmap_grow(vr_strmap *m) {
    size_t n = (m->mask + 1) * 2;
    vr_strslot *s = vr_tok_big_alloc(n * sizeof *s);
    if (!s) return -1;
    memset(s, 0xff, n * sizeof *s);
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->slots[i].off == EMPTY_OFF) continue;
        size_t j = m->slots[i].hash & (n - 1);
        while (s[j].off != EMPTY_OFF) j = (j + 1) & (n - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->mask = n - 1;
    return 0;
}

int vr_tok_strmap_put(vr_strmap *m, size_t off) {
    const vr_strrec *r = (const vr_strrec *)(const void *)(m->arena + off);
    return vr_tok_strmap_put_h(m, off, (uint32_t)vr_tok_hash_bytes(r->bytes, r->len));
}

int vr_tok_strmap_put_h(vr_strmap *m, size_t off, uint32_t h) {
    if (off % 8 || off / 8 >= EMPTY_OFF) return -1;
    if ((m->count + 1) * 2 > m->mask + 1 && strmap_grow(m)) return -1;
    const vr_strrec *r = rec_at(m, (uint32_t)(off / 8));
    size_t i = h & m->mask;
    while (m->slots[i].off != EMPTY_OFF) {
        const vr_strrec *o = rec_at(m, m->slots[i].off);
        if (m->slots[i].hash == h && o->len == r->len && !memcmp(o->bytes, r->bytes, r->len)) return 1;
        i = (i + 1) & m->mask;
    }
    m->slots[i] = (vr_strslot){h, (uint32_t)(off / 8)};
    m->count++;
    return 0;
}

uint32_t vr_tok_strmap_hash(const char *key, size_t len) { return (uint32_t)vr_tok_hash_bytes(key, len); }

void vr_tok_strmap_prefetch(const vr_strmap *m, uint32_t h) { __builtin_prefetch(&m->slots[h & m->mask]); }

void vr_tok_strmap_prefetch_key(const vr_strmap *m, uint32_t h) {
    for (size_t i = h & m->mask; m->slots[i].off != EMPTY_OFF; i = (i + 1) & m->mask)
        if (m->slots[i].hash == h) {
            __builtin_prefetch(rec_at(m, m->slots[i].off));
            return;
        }
}

int32_t vr_tok_strmap_get(const vr_strmap *m, const char *key, size_t len) {
    return vr_tok_strmap_get_h(m, (uint32_t)vr_tok_hash_bytes(key, len), key, len);
}

int32_t vr_tok_strmap_get_h(const vr_strmap *m, uint32_t h, const char *key, size_t len) {
    if (!m->slots) return -1;
    size_t i = h & m->mask;
    while (m->slots[i].off != EMPTY_OFF) {
        if (m->slots[i].hash == h) {
            const vr_strrec *o = rec_at(m, m->slots[i].off);
            if (o->len == len && !memcmp(o->bytes, key, len)) return o->val;
        }
        i = (i + 1) & m->mask;
    }
    return -1;
}

void vr_tok_strmap_free(vr_strmap *m) {
    free(m->slots);
    m->slots = NULL;
}

/* Pair keys are (a+1)<<32 | (b+1) so that 0 marks an empty slot. */
static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1); }
static size_t pair_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    return (size_t)k;
}

int vr_tok_pairmap_init(vr_pairmap *m, size_t expected) {
    size_t n = table_size(expected);
    m->slots = vr_tok_big_alloc(n * sizeof *m->slots);
    if (!m->slots) return -1;
    memset(m->slots, 0, n * sizeof *m->slots);
    m->mask = n - 1;
    m->count = 0;
    return 0;
}

int vr_tok_pairmap_put(vr_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
    if ((m->count + 1) * 2 > m->mask + 1) {
        size_t n = (m->mask + 1) * 2;
        vr_pairslot *s = vr_tok_big_alloc(n * sizeof *s);
        if (!s) return -1;
        memset(s, 0, n * sizeof *s);
        for (size_t i = 0; i <= m->mask; i++) {
            if (!m->slots[i].key) continue;
            size_t j = pair_hash(m->slots[i].key) & (n - 1);
            while (s[j].key) j = (j + 1) & (n - 1);
            s[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = s;
        m->mask = n - 1;
    }
    uint64_t k = pair_key(a, b);
    size_t i = pair_hash(k) & m->mask;
    while (m->slots[i].key) {
        if (m->slots[i].key == k) { /* a later duplicate wins, as in HF's HashMap collect */
            m->slots[i].rank = rank;
            m->slots[i].id = id;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
    m->slots[i] = (vr_pairslot){k, rank, id};
    m->count++;
    return 0;
}

void vr_tok_pairmap_prefetch(const vr_pairmap *m, int32_t a, int32_t b) {
    __builtin_prefetch(&m->slots[pair_hash(pair_key(a, b)) & m->mask]);
}

const vr_pairslot *vr_tok_pairmap_get(const vr_pairmap *m, int32_t a, int32_t b) {
    if (!m->slots) return NULL;
    uint64_t k = pair_key(a, b);
    size_t i = pair_hash(k) & m->mask;
    while (m->slots[i].key) {
        if (m->slots[i].key == k) return &m->slots[i];
        i = (i + 1) & m->mask;
    }
    return NULL;
}

void vr_tok_pairmap_free(vr_pairmap *m) {
    free(m->slots);
    m->slots = NULL;
}
