/* engine/block_pool.h — private: the pool of KV cache blocks.
 *
 * Every block has a reference count (how many sequences' block tables hold
 * it). Blocks with no reference sit in a free queue in LRU order: the block
 * at the head is the next one handed out. With prefix caching, a full block
 * is also registered under the chained hash of its contents; a freed but
 * still registered block stays findable until it reaches the head of the
 * free queue and is reused (evicted). Freeing a sequence's blocks tail
 * first puts its tail blocks nearer the head, so they are evicted before
 * the prefix blocks other requests are more likely to share.
 */
#ifndef VR_ENGINE_BLOCK_POOL_H
#define VR_ENGINE_BLOCK_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct vr_block_pool {
    int num_blocks;
    int block_size;
    int enable_caching;
    int32_t *ref;        /* [num_blocks] reference counts */
    int32_t *prev, *next;/* free queue links, -1 = none */
    uint8_t *in_free;    /* [num_blocks] 1 while in the free queue */
    int free_head, free_tail, num_free;
    /* prefix cache: per block its key, and an open-addressing table hash -> block */
    uint8_t *hashed;     /* [num_blocks] registered in the table */
    uint64_t *hash;      /* [num_blocks] chained hash of the block */
    uint64_t *parent;    /* [num_blocks] hash of the block before it */
    int32_t *tokens;     /* [num_blocks][block_size] token ids of the block */
    int32_t *table;      /* [table_cap] block id or -1 */
    uint32_t table_mask;
    uint64_t evictions;  /* registered blocks reused for new contents */
} vr_block_pool;

int vr_block_pool_init(vr_block_pool *p, int num_blocks, int block_size, int enable_caching,
                       char *err, size_t errlen);
void vr_block_pool_free(vr_block_pool *p);

/* Hash of a full block given its parent's hash (or the root key), its token
 * ids and an extra key (e.g. a hash of the cache_salt). */
uint64_t vr_block_hash(uint64_t parent, const int32_t *tokens, int n, uint64_t extra);
/* Root of a chain: depends only on the extra key. */
uint64_t vr_block_hash_root(uint64_t extra);
uint64_t vr_block_hash_bytes(const void *data, size_t n);

/* Take n blocks from the head of the free queue (evicting their cache
 * entries) with reference count 1. Returns 0, or -1 (nothing taken) when
 * fewer than n are free. */
int vr_block_pool_alloc(vr_block_pool *p, int n, int32_t *out);
/* One more reference to each block (removing it from the free queue when it
 * had none): how a prefix hit or a fork shares blocks. */
void vr_block_pool_ref(vr_block_pool *p, const int32_t *ids, int n);
/* Drop one reference to each block, in the order given; blocks reaching zero
 * join the tail of the free queue (still findable when registered). */
void vr_block_pool_unref(vr_block_pool *p, const int32_t *ids, int n);
/* Register a full block under its key; a block already registered or a key
 * already present (same contents computed twice) is left alone. */
void vr_block_pool_register(vr_block_pool *p, int32_t id, uint64_t hash, uint64_t parent,
                            const int32_t *tokens);
/* The registered block with exactly this key, or -1. */
int32_t vr_block_pool_lookup(const vr_block_pool *p, uint64_t hash, uint64_t parent,
                             const int32_t *tokens);

static inline int vr_block_pool_num_free(const vr_block_pool *p) { return p->num_free; }
/* Fraction of blocks referenced by some sequence. */
double vr_block_pool_usage(const vr_block_pool *p);
/* Drop every cache registration (blocks stay where they are). */
void vr_block_pool_reset_cache(vr_block_pool *p);

#endif
