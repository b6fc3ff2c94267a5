/* tests/engine/test_block_pool.c — reference counts, LRU free queue,
 * prefix-cache registration and eviction, and a randomized run against a
 * simple model of the pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/block_pool.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void test_basics(void) {
    vr_block_pool p;
    char err[128];
    CHECK(vr_block_pool_init(&p, 0, 16, 1, err, sizeof err) != 0, "empty pool accepted");
    CHECK(vr_block_pool_init(&p, 8, 4, 1, err, sizeof err) == 0, "%s", err);
    int32_t a[8];
    CHECK(vr_block_pool_alloc(&p, 9, a) == -1 && vr_block_pool_num_free(&p) == 8, "over-allocation");
    CHECK(vr_block_pool_alloc(&p, 3, a) == 0 && a[0] == 0 && a[1] == 1 && a[2] == 2, "alloc order");
    CHECK(vr_block_pool_num_free(&p) == 5, "free count");
    vr_block_pool_ref(&p, a, 1);
    vr_block_pool_unref(&p, a, 1);
    CHECK(p.ref[0] == 1 && vr_block_pool_num_free(&p) == 5, "shared block freed early");
    /* free tail first: 2 then 1 then 0 go to the back of the queue */
    int32_t rev[3] = {2, 1, 0};
    vr_block_pool_unref(&p, rev, 3);
    CHECK(vr_block_pool_num_free(&p) == 8, "free count after release");
    int32_t b[8];
    vr_block_pool_alloc(&p, 8, b);
    int32_t want[8] = {3, 4, 5, 6, 7, 2, 1, 0};
    CHECK(!memcmp(b, want, sizeof want), "LRU order: got %d %d %d %d %d %d %d %d", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    vr_block_pool_unref(&p, b, 8);
    vr_block_pool_free(&p);
}

static void test_prefix_cache(void) {
    vr_block_pool p;
    char err[128];
    vr_block_pool_init(&p, 6, 4, 1, err, sizeof err);
    int32_t toks[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint64_t root = vr_block_hash_root(0);
    uint64_t h0 = vr_block_hash(root, toks, 4, 0), h1 = vr_block_hash(h0, toks + 4, 4, 0);
    CHECK(vr_block_hash(root, toks, 4, 1) != h0 && vr_block_hash(root + 1, toks, 4, 0) != h0, "hash ignores its inputs");
    int32_t b[3];
    vr_block_pool_alloc(&p, 3, b);
    vr_block_pool_register(&p, b[0], h0, root, toks);
    vr_block_pool_register(&p, b[1], h1, h0, toks + 4);
    CHECK(vr_block_pool_lookup(&p, h0, root, toks) == b[0], "lookup of a live block");
    CHECK(vr_block_pool_lookup(&p, h1, root, toks + 4) == -1, "lookup with the wrong parent");
    int32_t other[4] = {1, 2, 3, 5};
    CHECK(vr_block_pool_lookup(&p, h0, root, other) == -1, "lookup with other tokens and a colliding hash");
    /* freed (tail first): still findable; reuse by a hit takes it off the queue */
    int32_t rev[3] = {b[2], b[1], b[0]};
    vr_block_pool_unref(&p, rev, 3);
    CHECK(vr_block_pool_num_free(&p) == 6, "all free");
    CHECK(vr_block_pool_lookup(&p, h1, h0, toks + 4) == b[1], "freed block not findable");
    int32_t hit = b[0];
    vr_block_pool_ref(&p, &hit, 1);
    CHECK(vr_block_pool_num_free(&p) == 5 && p.ref[b[0]] == 1, "hit did not take the block");
    vr_block_pool_unref(&p, &hit, 1);
    /* allocate everything: cached blocks are evicted, the tail (b[1]) before the head (b[0]) */
    int32_t c[6];
    vr_block_pool_alloc(&p, 4, c); /* the never-registered blocks and b[2] */
    CHECK(vr_block_pool_lookup(&p, h1, h0, toks + 4) == b[1], "LRU order: b[1] was freed after these");
    vr_block_pool_alloc(&p, 1, c + 4);
    CHECK(vr_block_pool_lookup(&p, h1, h0, toks + 4) == -1, "tail block should be evicted first");
    CHECK(vr_block_pool_lookup(&p, h0, root, toks) == b[0], "head block evicted too early");
    vr_block_pool_alloc(&p, 1, c + 5);
    CHECK(vr_block_pool_lookup(&p, h0, root, toks) == -1 && p.evictions == 2, "evictions %llu", (unsigned long long)p.evictions);
    vr_block_pool_unref(&p, c, 6);
    vr_block_pool_free(&p);
    /* caching off: nothing is ever found */
    vr_block_pool_init(&p, 4, 4, 0, err, sizeof err);
    vr_block_pool_alloc(&p, 1, b);
    vr_block_pool_register(&p, b[0], h0, root, toks);
    CHECK(vr_block_pool_lookup(&p, h0, root, toks) == -1, "caching disabled but found");
    vr_block_pool_unref(&p, b, 1);
    vr_block_pool_free(&p);
}

/* Random alloc / share / free / register / lookup against plain arrays. */
static void test_random(void) {
    enum { NB = 64, BS = 2, STEPS = 20000 };
    vr_block_pool p;
    char err[128];
    vr_block_pool_init(&p, NB, BS, 1, err, sizeof err);
    int ref[NB] = {0};
    uint64_t key[NB];
    int keyed[NB] = {0};
    int32_t held[4096];
    int nheld = 0;
    uint64_t s = 12345;
    for (int step = 0; step < STEPS; step++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int op = (int)((s >> 33) % 4);
        if (op == 0) {
            int32_t id;
            if (vr_block_pool_alloc(&p, 1, &id) == 0) {
                CHECK(ref[id] == 0, "allocated a referenced block %d", id);
                ref[id] = 1;
                keyed[id] = 0; /* eviction */
                held[nheld++] = id;
            } else {
                int zero = 0;
                for (int i = 0; i < NB; i++) zero += ref[i] == 0;
                CHECK(zero == 0, "alloc failed with %d free", zero);
            }
        } else if (op == 1 && nheld) {
            int i = (int)((s >> 40) % (uint64_t)nheld);
            int32_t id = held[i];
            vr_block_pool_unref(&p, &id, 1);
            ref[id]--;
            held[i] = held[--nheld];
        } else if (op == 2 && nheld && nheld < 4000) {
            int32_t id = held[(s >> 40) % (uint64_t)nheld];
            vr_block_pool_ref(&p, &id, 1);
            ref[id]++;
            held[nheld++] = id;
        } else if (op == 3 && nheld) {
            int32_t id = held[(s >> 40) % (uint64_t)nheld];
            int32_t toks[BS] = {(int32_t)(s >> 50) % 5, 7};
            uint64_t h = vr_block_hash(0, toks, BS, 0);
            int32_t found = vr_block_pool_lookup(&p, h, 0, toks);
            int expect = -1;
            for (int b = 0; b < NB; b++) if (keyed[b] && key[b] == h) expect = b;
            CHECK(found == expect, "lookup %d, model says %d", found, expect);
            if (found < 0 && !keyed[id]) {
                vr_block_pool_register(&p, id, h, 0, toks);
                keyed[id] = 1;
                key[id] = h;
            }
        }
        int zero = 0;
        for (int i = 0; i < NB; i++) zero += ref[i] == 0;
        if (zero != vr_block_pool_num_free(&p)) {
            CHECK(0, "step %d: pool says %d free, model %d", step, vr_block_pool_num_free(&p), zero);
            break;
        }
    }
    vr_block_pool_unref(&p, held, nheld);
    CHECK(vr_block_pool_num_free(&p) == NB, "leak after random run");
    vr_block_pool_free(&p);
}

int main(void) {
    test_basics();
    test_prefix_cache();
    test_random();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_block_pool: ok\n");
    return 0;
}
