/* kernels/cuda/gpu_attention.cu — paged attention over the flat mixed batch,
 * with the semantics of kernels/cpu/ref_attention.c: token t of sequence s
 * attends to cached positions [lo, min(pos, ctx-1)] (lo from the sliding
 * window), scores are q.k * scale (then softcap), softmax in f32, an empty
 * range gives zeros. GQA: head h reads kv head h / (heads / kv_heads).
 *
 * Two kernels, chosen per sequence (each one skips the other's sequences):
 *
 *  - decode (query length 1): one block per (sequence, head, split). The
 *    sequence's key range is cut into chunks of a fixed number of keys (64
 *    up to 4k contexts) so that a small batch with long contexts still fills
 *    the GPU and a result never depends on the batch; each warp walks keys of
 *    its chunk (kDecUnroll at a time, so several rows are in flight) with
 *    the head's dims spread over its lanes and a running max / sum (online
 *    softmax); the warps' partial results are merged in shared memory. With
 *    nsplit > 1 each block writes (m, l, o) to scratch and a reduce kernel
 *    merges the splits.
 *
 *  - prefill (query length > 1): one block per (16 flat tokens, head), one
 *    segment per sequence the 16 tokens touch. The segment's queries stay in
 *    shared memory while 16-key tiles of K then V are staged through one
 *    shared buffer; each query keeps its own running max / sum and its
 *    output in registers (8 threads per query, each owning every 8th dim).
 *
 * Neither kernel uses tensor cores yet (a follow-up for long prefills).
 */
#include <limits.h>
#include <math.h>

#include "kernels/cuda/gpu_backend.h"

namespace VR_GPU_NS {

constexpr int kDecThreads = 128;
constexpr int kDecWarps = kDecThreads / VR_WARP;
constexpr int kDecDims = kMaxHeadDim / VR_WARP; /* dims per lane, at most */
constexpr int kDecUnroll = 4;
constexpr int kPreQ = 16, kPreK = 16, kPreThreads = 128;
constexpr int kPreSub = kPreThreads / kPreQ; /* threads per query */
constexpr int kPreDims = kMaxHeadDim / kPreSub;
constexpr int kMaxSplits = 64;

struct attn_params {
    const float *q;
    float *out;
    const void *kpool, *vpool; /* this layer's pools, of the cache's dtype */
    const int32_t *qs, *ctx_len, *positions, *block_table;
    int mbps, block_size, window;
    int heads, kv_heads, head_dim;
    size_t block_elems;
    float scale, softcap;
    int nsplit;
    int chunk;   /* keys per split (decode) */
    float *part; /* [num_seqs][heads][nsplit][head_dim + 2] when nsplit > 1 */
};

/* Causal (and windowed) key range of a query at `pos` in a context of ctx. */
__device__ __forceinline__ void key_range(int pos, int ctx, int window, int *lo, int *hi) {
    *hi = pos < ctx - 1 ? pos : ctx - 1;
    *lo = (window > 0 && pos - window + 1 > 0) ? pos - window + 1 : 0;
}

template <vr_dtype KDT>
__device__ __forceinline__ const typename kv_store<KDT>::type *
kv_row(const void *pool, const attn_params &p, const int32_t *bt, int kvh, int j) {
    int blk = bt[j / p.block_size], off = j % p.block_size;
    return static_cast<const typename kv_store<KDT>::type *>(pool) +
           (size_t)blk * p.block_elems + ((size_t)kvh * p.block_size + off) * (size_t)p.head_dim;
}

__device__ __forceinline__ float cap_score(float sc, float softcap) {
    return softcap > 0.0f ? softcap * tanhf(sc / softcap) : sc;
}

/* ---------------- decode ---------------- */

template <vr_dtype KDT>
__global__ void __launch_bounds__(kDecThreads) attn_decode_kernel(attn_params p) {
    typedef typename kv_store<KDT>::type T;
    const int h = blockIdx.x % p.heads;
    const int split = (blockIdx.x / p.heads) % p.nsplit;
    const int s = blockIdx.x / p.heads / p.nsplit;
    const int q0 = p.qs[s];
    if (p.qs[s + 1] - q0 != 1) return; /* not a decode sequence: the prefill kernel's */
    const int D = p.head_dim, warp = threadIdx.x / VR_WARP, lane = threadIdx.x % VR_WARP;
    const int kvh = h / (p.heads / p.kv_heads);
    const int32_t *bt = p.block_table + (size_t)s * p.mbps;
    int lo, hi;
    key_range(p.positions[q0], p.ctx_len[s], p.window, &lo, &hi);
    int start = lo + split * p.chunk, end = start + p.chunk;
    if (end > hi + 1) end = hi + 1;

    const float *qh = p.q + ((size_t)q0 * p.heads + h) * D;
    float qv[kDecDims], acc[kDecDims];
#pragma unroll
    for (int i = 0; i < kDecDims; i++) {
        int d = lane + i * VR_WARP;
        qv[i] = d < D ? qh[d] : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int j0 = start + warp * kDecUnroll; j0 < end; j0 += kDecWarps * kDecUnroll) {
        float sc[kDecUnroll];
        const T *rows[kDecUnroll];
#pragma unroll
        for (int u = 0; u < kDecUnroll; u++)
            rows[u] = j0 + u < end ? kv_row<KDT>(p.kpool, p, bt, kvh, j0 + u) : nullptr;
#pragma unroll
        for (int u = 0; u < kDecUnroll; u++) {
            float dot = 0.0f;
            if (rows[u]) {
#pragma unroll
                for (int i = 0; i < kDecDims; i++) {
                    int d = lane + i * VR_WARP;
                    if (d < D) dot += qv[i] * kv_load<KDT>(rows[u], d);
                }
            }
            sc[u] = dot;
        }
        float tmax = -INFINITY;
#pragma unroll
        for (int u = 0; u < kDecUnroll; u++) {
            sc[u] = warp_sum(sc[u]);
            sc[u] = rows[u] ? cap_score(sc[u] * p.scale, p.softcap) : -INFINITY;
            tmax = fmaxf(tmax, sc[u]);
        }
        if (tmax > m) { /* every lane agrees: the branch is warp-uniform */
            float r = expf(m - tmax); /* 0 when m is -inf */
            l *= r;
#pragma unroll
            for (int i = 0; i < kDecDims; i++) acc[i] *= r;
            m = tmax;
        }
#pragma unroll
        for (int u = 0; u < kDecUnroll; u++) {
            if (!rows[u]) continue;
            float pr = expf(sc[u] - m);
            l += pr;
            const T *vr = kv_row<KDT>(p.vpool, p, bt, kvh, j0 + u);
#pragma unroll
            for (int i = 0; i < kDecDims; i++) {
                int d = lane + i * VR_WARP;
                if (d < D) acc[i] += pr * kv_load<KDT>(vr, d);
            }
        }
    }

    /* merge the warps */
    __shared__ float wm[kDecWarps], wl[kDecWarps];
    __shared__ float wo[kDecWarps][kMaxHeadDim];
    if (lane == 0) {
        wm[warp] = m;
        wl[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < kDecDims; i++) {
        int d = lane + i * VR_WARP;
        if (d < D) wo[warp][d] = acc[i];
    }
    __syncthreads();
    float M = -INFINITY;
    for (int w = 0; w < kDecWarps; w++) M = fmaxf(M, wm[w]);
    float L = 0.0f;
    for (int w = 0; w < kDecWarps; w++)
        if (wm[w] > -INFINITY) L += wl[w] * expf(wm[w] - M);
    if (p.nsplit == 1) {
        float inv = L > 0.0f ? 1.0f / L : 0.0f; /* empty range: zeros */
        float *o = p.out + ((size_t)q0 * p.heads + h) * D;
        for (int d = threadIdx.x; d < D; d += blockDim.x) {
            float v = 0.0f;
            for (int w = 0; w < kDecWarps; w++)
                if (wm[w] > -INFINITY) v += wo[w][d] * expf(wm[w] - M);
            o[d] = v * inv;
        }
        return;
    }
    float *rec = p.part + (((size_t)s * p.heads + h) * p.nsplit + split) * (size_t)(D + 2);
    if (threadIdx.x == 0) {
        rec[0] = M;
        rec[1] = L;
    }
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float v = 0.0f;
        for (int w = 0; w < kDecWarps; w++)
            if (wm[w] > -INFINITY) v += wo[w][d] * expf(wm[w] - M);
        rec[2 + d] = v;
    }
}

/* Merge the splits of one (decode sequence, head). */
__global__ void attn_reduce_kernel(attn_params p) {
    const int h = blockIdx.x % p.heads, s = blockIdx.x / p.heads;
    const int q0 = p.qs[s];
    if (p.qs[s + 1] - q0 != 1) return;
    const int D = p.head_dim;
    const float *rec = p.part + ((size_t)s * p.heads + h) * p.nsplit * (size_t)(D + 2);
    float M = -INFINITY;
    for (int k = 0; k < p.nsplit; k++) M = fmaxf(M, rec[k * (D + 2)]);
    float L = 0.0f;
    for (int k = 0; k < p.nsplit; k++) {
        float mk = rec[k * (D + 2)];
        if (mk > -INFINITY) L += rec[k * (D + 2) + 1] * expf(mk - M);
    }
    float inv = L > 0.0f ? 1.0f / L : 0.0f;
    float *o = p.out + ((size_t)q0 * p.heads + h) * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float v = 0.0f;
        for (int k = 0; k < p.nsplit; k++) {
            float mk = rec[k * (D + 2)];
            if (mk > -INFINITY) v += rec[k * (D + 2) + 2 + d] * expf(mk - M);
        }
        o[d] = v * inv;
    }
}

/* ---------------- prefill ---------------- */

/* One segment: queries [t0, t0 + nq) of sequence s (nq <= kPreQ), head h. */
template <vr_dtype KDT>
__device__ void prefill_segment(const attn_params &p, int s, int t0, int nq, int h,
                                float (*qsm)[kMaxHeadDim + 1], float (*kvsm)[kMaxHeadDim + 1],
                                float (*ssm)[kPreK + 1], int *range) {
    const int D = p.head_dim, tid = threadIdx.x;
    const int kvh = h / (p.heads / p.kv_heads);
    const int32_t *bt = p.block_table + (size_t)s * p.mbps;

    __syncthreads(); /* the previous segment is done with the shared arrays */
    for (int e = tid; e < kPreQ * D; e += kPreThreads) {
        int i = e / D, d = e % D;
        qsm[i][d] = i < nq ? p.q[((size_t)(t0 + i) * p.heads + h) * D + d] : 0.0f;
    }
    if (tid == 0) {
        range[0] = INT_MAX;
        range[1] = -1;
    }
    __syncthreads();
    const int qi = tid / kPreSub, sub = tid % kPreSub;
    int lo = 0, hi = -1;
    if (qi < nq) key_range(p.positions[t0 + qi], p.ctx_len[s], p.window, &lo, &hi);
    if (sub == 0 && hi >= lo) {
        atomicMin(&range[0], lo);
        atomicMax(&range[1], hi);
    }
    __syncthreads();
    const int kfirst = range[0], klast = range[1];

    float acc[kPreDims];
#pragma unroll
    for (int i = 0; i < kPreDims; i++) acc[i] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int kb = kfirst; kb <= klast; kb += kPreK) {
        const int nk = klast + 1 - kb < kPreK ? klast + 1 - kb : kPreK;
        __syncthreads(); /* the previous tile's V is no longer read */
        for (int e = tid; e < kPreK * D; e += kPreThreads) {
            int j = e / D, d = e % D;
            kvsm[j][d] = j < nk ? kv_load<KDT>(kv_row<KDT>(p.kpool, p, bt, kvh, kb + j), d) : 0.0f;
        }
        __syncthreads();
        for (int jj = 0; jj < kPreK / kPreSub; jj++) {
            int j = sub * (kPreK / kPreSub) + jj, key = kb + j;
            float sc = -INFINITY;
            if (j < nk && key >= lo && key <= hi) {
                float dot = 0.0f;
                for (int d = 0; d < D; d++) dot += qsm[qi][d] * kvsm[j][d];
                sc = cap_score(dot * p.scale, p.softcap);
            }
            ssm[qi][j] = sc;
        }
        __syncthreads();
        for (int e = tid; e < kPreK * D; e += kPreThreads) {
            int j = e / D, d = e % D;
            kvsm[j][d] = j < nk ? kv_load<KDT>(kv_row<KDT>(p.vpool, p, bt, kvh, kb + j), d) : 0.0f;
        }
        __syncthreads();
        float tmax = -INFINITY;
        for (int j = 0; j < kPreK; j++) tmax = fmaxf(tmax, ssm[qi][j]);
        if (tmax == -INFINITY) continue; /* nothing visible to this query here */
        if (tmax > m) {
            float r = expf(m - tmax);
            l *= r;
#pragma unroll
            for (int i = 0; i < kPreDims; i++) acc[i] *= r;
            m = tmax;
        }
        for (int j = 0; j < kPreK; j++) {
            float sc = ssm[qi][j];
            if (sc == -INFINITY) continue;
            float pr = expf(sc - m);
            l += pr;
#pragma unroll
            for (int i = 0; i < kPreDims; i++) {
                int d = sub + i * kPreSub;
                if (d < D) acc[i] += pr * kvsm[j][d];
            }
        }
    }
    if (qi >= nq) return;
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
    float *o = p.out + ((size_t)(t0 + qi) * p.heads + h) * D;
#pragma unroll
    for (int i = 0; i < kPreDims; i++) {
        int d = sub + i * kPreSub;
        if (d < D) o[d] = acc[i] * inv;
    }
}

/* Block (tile, head) takes the flat tokens [tile * kPreQ, +kPreQ): the
 * grid follows num_tokens, so decode sequences in a mixed batch cost no
 * idle blocks. A tile that straddles sequences is done one segment per
 * sequence; segments of decode sequences (query length 1) are skipped. */
template <vr_dtype KDT>
__global__ void __launch_bounds__(kPreThreads) attn_prefill_kernel(attn_params p, int num_tokens,
                                                                   int num_seqs) {
    /* row stride kMaxHeadDim + 1: the 8 threads of a query read keys 2 rows
     * apart, which would otherwise hit one bank */
    __shared__ float qsm[kPreQ][kMaxHeadDim + 1];
    __shared__ float kvsm[kPreK][kMaxHeadDim + 1];
    __shared__ float ssm[kPreQ][kPreK + 1];
    __shared__ int range[2];

    const int h = blockIdx.x % p.heads;
    const int tb = (int)(blockIdx.x / p.heads) * kPreQ;
    const int te = tb + kPreQ < num_tokens ? tb + kPreQ : num_tokens;
    /* the sequence holding token tb: the last s with query_start[s] <= tb */
    int a = 0, b = num_seqs - 1;
    while (a < b) {
        int mid = (a + b + 1) / 2;
        if (p.qs[mid] <= tb) a = mid;
        else b = mid - 1;
    }
    for (int s = a, t = tb; s < num_seqs && t < te; s++) {
        int send = p.qs[s + 1] < te ? p.qs[s + 1] : te;
        if (send > t && p.qs[s + 1] - p.qs[s] > 1)
            prefill_segment<KDT>(p, s, t, send - t, h, qsm, kvsm, ssm, range);
        if (send > t) t = send;
    }
}

/* ---------------- launch ---------------- */

/* Keys per decode split: kSplitKeys, more only when the longest context
 * would need over kMaxSplits splits. It depends on the longest context
 * alone, never on how many sequences share the step, so a sequence's
 * result is the same alone or in any batch (up to 4k keys of context). */
constexpr int kSplitKeys = 64;
static int choose_chunk(int max_keys) {
    int chunk = (max_keys + kMaxSplits - 1) / kMaxSplits;
    return chunk > kSplitKeys ? chunk : kSplitKeys;
}

template <vr_dtype KDT>
static void run_attention(gpu_backend *g, const attn_params &p, const vr_attn_meta *meta) {
    const int S = meta->num_seqs, heads = p.heads;
    unsigned dec_blocks = (unsigned)((size_t)S * p.nsplit * heads);
    attn_decode_kernel<KDT><<<dec_blocks, kDecThreads, 0, g->stream>>>(p);
    check(g, cudaGetLastError(), "attention (decode)");
    if (p.nsplit > 1) {
        attn_reduce_kernel<<<(unsigned)((size_t)S * heads), 128, 0, g->stream>>>(p);
        check(g, cudaGetLastError(), "attention (reduce)");
    }
    if (meta->max_query_len > 1) {
        int ntiles = (meta->num_tokens + kPreQ - 1) / kPreQ;
        unsigned pre_blocks = (unsigned)((size_t)ntiles * heads);
        attn_prefill_kernel<KDT><<<pre_blocks, kPreThreads, 0, g->stream>>>(p, meta->num_tokens, S);
        check(g, cudaGetLastError(), "attention (prefill)");
    }
}

void launch_attention(gpu_backend *g, float *out, const float *q, const gpu_kv *kv, int layer,
                      const vr_attn_meta *meta, int heads, int kv_heads, int head_dim,
                      float scale, float softcap) {
    const int S = meta->num_seqs;
    if (meta->num_tokens <= 0 || S <= 0) return;
    if (head_dim > kMaxHeadDim) { /* kv_create refuses such caches */
        check(g, cudaErrorInvalidValue, "attention: head_dim above 256");
        return;
    }
    attn_params p;
    p.q = q;
    p.out = out;
    const size_t layer_bytes = kv->layer_elems * kv->esize;
    p.kpool = static_cast<const char *>(kv->k) + (size_t)layer * layer_bytes;
    p.vpool = static_cast<const char *>(kv->v) + (size_t)layer * layer_bytes;
    p.qs = meta->query_start;
    p.ctx_len = meta->context_len;
    p.positions = meta->positions;
    p.block_table = meta->block_table;
    p.mbps = meta->max_blocks_per_seq;
    p.block_size = meta->block_size;
    p.window = meta->sliding_window;
    p.heads = heads;
    p.kv_heads = kv_heads;
    p.head_dim = head_dim;
    p.block_elems = kv->block_elems;
    p.scale = scale;
    p.softcap = softcap;
    int max_keys = meta->max_context_len;
    if (meta->sliding_window > 0 && meta->sliding_window < max_keys) max_keys = meta->sliding_window;
    p.chunk = choose_chunk(max_keys);
    p.nsplit = (max_keys + p.chunk - 1) / p.chunk;
    if (p.nsplit < 1) p.nsplit = 1;
    p.part = nullptr;
    if (p.nsplit > 1) {
        size_t need = (size_t)S * heads * p.nsplit * (size_t)(head_dim + 2) * sizeof(float);
        if (need > g->attn_part_cap) {
            /* grows with the batch; bounded by num_seqs x heads x kMaxSplits */
            if (g->attn_part) check(g, cudaFree(g->attn_part), "attention scratch free");
            g->attn_part = nullptr;
            g->attn_part_cap = 0;
            if (cudaMalloc((void **)&g->attn_part, need) == cudaSuccess)
                g->attn_part_cap = need;
            else
                (void)cudaGetLastError(); /* out of memory: run unsplit instead */
        }
        if (g->attn_part) {
            p.part = g->attn_part;
        } else {
            p.nsplit = 1; /* one split takes every key */
            p.chunk = max_keys > 0 ? max_keys : 1;
        }
    }
    switch (kv->desc.dtype) {
    case VR_F32: run_attention<VR_F32>(g, p, meta); break;
    case VR_BF16: run_attention<VR_BF16>(g, p, meta); break;
    case VR_F16: run_attention<VR_F16>(g, p, meta); break;
    }
}

} /* namespace VR_GPU_NS */
