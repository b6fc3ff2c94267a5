/* engine/block_pool.c — KV block reference counts, LRU free queue, prefix cache. */
#include "engine/block_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t vr_block_hash_bytes(const void *data, size_t n) {
    const unsigned char *b = data;
    uint64_t h = 0x6a09e667f3bcc908ULL ^ (uint64_t)n;
    for (size_t i = 0; i < n; i++) h = mix64(h ^ b[i]) + 0x9e3779b97f4a7c15ULL;
    return mix64(h);
}

uint64_t vr_block_hash_root(uint64_t extra) { return mix64(extra ^ 0x243f6a8885a308d3ULL); }

uint64_t vr_block_hash(uint64_t parent, const int32_t *tokens, int n, uint64_t extra) {
    uint64_t h = mix64(parent ^ 0x13198a2e03707344ULL) ^ mix64(extra + (uint64_t)n);
    for (int i = 0; i < n; i++)
        h = mix64(h ^ ((uint64_t)(uint32_t)tokens[i] * 0x9e3779b97f4a7c15ULL + (uint64_t)i));
    return h;
}

int vr_block_pool_init(vr_block_pool *p, int num_blocks, int block_size, int enable_caching,
                       char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    if (num_blocks <= 0 || block_size <= 0) {
        snprintf(err, errlen, "block pool: %d blocks of %d tokens is not a pool", num_blocks,
                 block_size);
        return -1;
    }
    p->num_blocks = num_blocks;
    p->block_size = block_size;
    p->enable_caching = enable_caching;
    uint32_t cap = 16;
    while (cap < (uint32_t)num_blocks * 2u) cap <<= 1;
    p->table_mask = cap - 1;
    p->ref = calloc((size_t)num_blocks, sizeof *p->ref);
    p->prev = malloc((size_t)num_blocks * sizeof *p->prev);
    p->next = malloc((size_t)num_blocks * sizeof *p->next);
    p->in_free = calloc((size_t)num_blocks, 1);
    p->hashed = calloc((size_t)num_blocks, 1);
    p->hash = calloc((size_t)num_blocks, sizeof *p->hash);
    p->parent = calloc((size_t)num_blocks, sizeof *p->parent);
    p->tokens = enable_caching ? malloc((size_t)num_blocks * block_size * sizeof *p->tokens) : NULL;
    p->table = malloc((size_t)cap * sizeof *p->table);
    if (!p->ref || !p->prev || !p->next || !p->in_free || !p->hashed || !p->hash || !p->parent ||
        (enable_caching && !p->tokens) || !p->table) {
        vr_block_pool_free(p);
        snprintf(err, errlen, "block pool: out of memory for %d blocks", num_blocks);
        return -1;
    }
    for (uint32_t i = 0; i < cap; i++) p->table[i] = -1;
    for (int i = 0; i < num_blocks; i++) {
        p->prev[i] = i - 1;
        p->next[i] = i + 1 < num_blocks ? i + 1 : -1;
        p->in_free[i] = 1;
    }
    p->free_head = 0;
    p->free_tail = num_blocks - 1;
    p->num_free = num_blocks;
    return 0;
}

void vr_block_pool_free(vr_block_pool *p) {
    free(p->ref);
    free(p->prev);
    free(p->next);
    free(p->in_free);
    free(p->hashed);
    free(p->hash);
    free(p->parent);
    free(p->tokens);
    free(p->table);
    memset(p, 0, sizeof *p);
}

static void queue_remove(vr_block_pool *p, int32_t id) {
    int32_t a = p->prev[id], b = p->next[id];
    if (a >= 0) p->next[a] = b; else p->free_head = b;
    if (b >= 0) p->prev[b] = a; else p->free_tail = a;
    p->prev[id] = p->next[id] = -1;
    p->in_free[id] = 0;
    p->num_free--;
}

static void queue_append(vr_block_pool *p, int32_t id) {
    p->prev[id] = p->free_tail;
    p->next[id] = -1;
    if (p->free_tail >= 0) p->next[p->free_tail] = id; else p->free_head = id;
    p->free_tail = id;
    p->in_free[id] = 1;
    p->num_free++;
}

/* Linear probing keyed by the block hash; deletion shifts later entries back
 * so lookups never need tombstones. */
static uint32_t slot_of(const vr_block_pool *p, uint64_t h) { return (uint32_t)(h ^ (h >> 32)) & p->table_mask; }

static void table_remove(vr_block_pool *p, int32_t id) {
    uint32_t i = slot_of(p, p->hash[id]);
    while (p->table[i] != id) {
        if (p->table[i] < 0) return; /* not present: nothing to do */
        i = (i + 1) & p->table_mask;
    }
    p->table[i] = -1;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & p->table_mask;
        int32_t b = p->table[j];
        if (b < 0) break;
        uint32_t home = slot_of(p, p->hash[b]);
        /* move b into the hole at i unless its home lies cyclically in (i, j] */
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            p->table[i] = b;
            p->table[j] = -1;
            i = j;
        }
    }
    p->hashed[id] = 0;
}

static int key_equal(const vr_block_pool *p, int32_t id, uint64_t hash, uint64_t parent,
                     const int32_t *tokens) {
    return p->hash[id] == hash && p->parent[id] == parent &&
           !memcmp(p->tokens + (size_t)id * p->block_size, tokens, (size_t)p->block_size * sizeof *tokens);
}

int32_t vr_block_pool_lookup(const vr_block_pool *p, uint64_t hash, uint64_t parent,
                             const int32_t *tokens) {
    if (!p->enable_caching) return -1;
    for (uint32_t i = slot_of(p, hash);; i = (i + 1) & p->table_mask) {
        int32_t b = p->table[i];
        if (b < 0) return -1;
        if (key_equal(p, b, hash, parent, tokens)) return b;
    }
}

void vr_block_pool_register(vr_block_pool *p, int32_t id, uint64_t hash, uint64_t parent,
                            const int32_t *tokens) {
    if (!p->enable_caching || p->hashed[id]) return;
    if (vr_block_pool_lookup(p, hash, parent, tokens) >= 0) return;
    p->hash[id] = hash;
    p->parent[id] = parent;
    memcpy(p->tokens + (size_t)id * p->block_size, tokens, (size_t)p->block_size * sizeof *tokens);
    uint32_t i = slot_of(p, hash);
    while (p->table[i] >= 0) i = (i + 1) & p->table_mask;
    p->table[i] = id;
    p->hashed[id] = 1;
}

int vr_block_pool_alloc(vr_block_pool *p, int n, int32_t *out) {
    if (n < 0 || n > p->num_free) return -1;
    for (int k = 0; k < n; k++) {
        int32_t id = p->free_head;
        queue_remove(p, id);
        if (p->hashed[id]) {
            table_remove(p, id);
            p->evictions++;
        }
        p->ref[id] = 1;
        out[k] = id;
    }
    return 0;
}

void vr_block_pool_ref(vr_block_pool *p, const int32_t *ids, int n) {
    for (int k = 0; k < n; k++) {
        int32_t id = ids[k];
        if (p->ref[id] == 0 && p->in_free[id]) queue_remove(p, id);
        p->ref[id]++;
    }
}

void vr_block_pool_unref(vr_block_pool *p, const int32_t *ids, int n) {
    for (int k = 0; k < n; k++) {
        int32_t id = ids[k];
        if (p->ref[id] <= 0) continue; /* defensive: never double-free into the queue */
        if (--p->ref[id] == 0) queue_append(p, id);
    }
}

double vr_block_pool_usage(const vr_block_pool *p) {
    return p->num_blocks ? (double)(p->num_blocks - p->num_free) / p->num_blocks : 0.0;
}

void vr_block_pool_reset_cache(vr_block_pool *p) {
    for (int i = 0; i < p->num_blocks; i++) p->hashed[i] = 0;
    for (uint32_t i = 0; i <= p->table_mask; i++) p->table[i] = -1;
}
