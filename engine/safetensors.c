/* engine/safetensors.c — mmap + validate safetensors files (see safetensors.h). */
#include "engine/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/json.h"

/* The safetensors format caps the header at 100 MB; a bigger claim is a lie. */
#define ST_MAX_HEADER (100u * 1024u * 1024u)

typedef struct st_file {
    char *name; /* base name, for messages */
    void *map;
    size_t size;
} st_file;

struct vr_safetensors {
    st_file *files;
    size_t nfiles;
    char source[64];       /* see vr_st_source */
    vr_st_tensor *tensors; /* sorted by name once loading is complete */
    size_t ntensors, cap;
};

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int dtype_from_name(const char *s, vr_dtype *dt, int *known) {
    static const char *other[] = {"F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8",
                                  "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
                                  "F6_E3M2", "C64"};
    *known = 0;
    if (strcmp(s, "F32") == 0)
        *dt = VR_F32;
    else if (strcmp(s, "F16") == 0)
        *dt = VR_F16;
    else if (strcmp(s, "BF16") == 0)
        *dt = VR_BF16;
    else {
        for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
            if (strcmp(s, other[i]) == 0)
                *known = 1;
        return -1;
    }
    *known = 1;
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const vr_st_tensor *)a)->name, ((const vr_st_tensor *)b)->name);
}

typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : (x->end > y->end);
}

static int add_tensor(vr_safetensors *st, const vr_st_tensor *t) {
    if (st->ntensors == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 64;
        vr_st_tensor *nt = realloc(st->tensors, nc * sizeof *nt);
        if (!nt)
            return -1;
        st->tensors = nt;
        st->cap = nc;
    }
    st->tensors[st->ntensors++] = *t;
    return 0;
}

/* Parse one tensor entry of the header. */
static int parse_entry(const char *fname, const char *tname, const vr_json *e,
                       uint64_t data_size, vr_st_tensor *t, char *err, size_t errlen) {
    const char *dts;
    if (!vr_jis(e, VR_JSON_OBJECT)) {
        snprintf(err, errlen, "%s: header entry '%s' is not an object", fname, tname);
        return -1;
    }
    if (vr_jstr(vr_jget(e, "dtype"), &dts, NULL)) {
        snprintf(err, errlen, "%s: tensor '%s' has no \"dtype\" string", fname, tname);
        return -1;
    }
    int known;
    if (dtype_from_name(dts, &t->dtype, &known)) {
        snprintf(err, errlen, "%s: tensor '%s' has %s dtype %.32s (supported: BF16, F16, F32)",
                 fname, tname, known ? "unsupported" : "unknown", dts);
        return -1;
    }
    const vr_json *shape = vr_jget(e, "shape");
    if (!vr_jis(shape, VR_JSON_ARRAY)) {
        snprintf(err, errlen, "%s: tensor '%s' has no \"shape\" array", fname, tname);
        return -1;
    }
    size_t nd = vr_jlen(shape);
    if (nd > VR_ST_MAX_DIMS) {
        snprintf(err, errlen, "%s: tensor '%s' has %zu dimensions (at most %d)", fname, tname, nd,
                 VR_ST_MAX_DIMS);
        return -1;
    }
    t->ndim = (int)nd;
    uint64_t nelem = 1;
    for (size_t i = 0; i < nd; i++) {
        int64_t d;
        if (vr_jint64(vr_jat(shape, i), &d) || d < 0) {
            snprintf(err, errlen, "%s: tensor '%s' shape[%zu] is not a non-negative integer",
                     fname, tname, i);
            return -1;
        }
        t->shape[i] = d;
        /* Overflow-safe product: anything beyond the file size is a lie anyway. */
        if (d != 0 && nelem > (UINT64_MAX / 2) / (uint64_t)d) {
            snprintf(err, errlen, "%s: tensor '%s' shape is too large", fname, tname);
            return -1;
        }
        nelem *= (uint64_t)d;
    }
    const vr_json *off = vr_jget(e, "data_offsets");
    int64_t b, en;
    if (!vr_jis(off, VR_JSON_ARRAY) || vr_jlen(off) != 2 ||
        vr_jint64(vr_jat(off, 0), &b) || vr_jint64(vr_jat(off, 1), &en) ||
        b < 0 || en < b) {
        snprintf(err, errlen, "%s: tensor '%s' needs \"data_offsets\": [begin, end] with 0 <= begin <= end",
                 fname, tname);
        return -1;
    }
    if ((uint64_t)en > data_size) {
        snprintf(err, errlen,
                 "%s: tensor '%s' data_offsets [%lld, %lld] run past the end of the data (%llu bytes; file truncated?)",
                 fname, tname, (long long)b, (long long)en, (unsigned long long)data_size);
        return -1;
    }
    size_t esz = vr_dtype_size(t->dtype);
    uint64_t want = nelem * esz;
    if ((uint64_t)(en - b) != want) {
        snprintf(err, errlen,
                 "%s: tensor '%s' occupies %lld bytes but shape and dtype %s need %llu",
                 fname, tname, (long long)(en - b), dts, (unsigned long long)want);
        return -1;
    }
    t->nelem = (size_t)nelem;
    t->nbytes = (size_t)want;
    return 0;
}

static int open_one(vr_safetensors *st, const char *path, char *err, size_t errlen) {
    const char *fname = base_name(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        snprintf(err, errlen, "%s: file is %zu bytes, too short for a safetensors header", fname,
                 size);
        close(fd);
        return -1;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap failed: %s", fname, strerror(errno));
        return -1;
    }
    /* Start reading the weights in the background now: the first forward
     * touches all of them. Advice only; failure changes nothing. */
    (void)madvise(map, size, MADV_WILLNEED);
    st_file *nf = realloc(st->files, (st->nfiles + 1) * sizeof *nf);
    if (!nf) {
        munmap(map, size);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->files = nf;
    st_file *f = &st->files[st->nfiles++];
    f->map = map;
    f->size = size;
    f->name = strdup(fname);
    if (!f->name) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* Header length: 8 bytes little-endian, assembled byte by byte so the
     * code is right on big-endian hosts too. */
    const unsigned char *bytes = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | bytes[i];
    if (hlen > ST_MAX_HEADER || hlen > size - 8) {
        snprintf(err, errlen,
                 "%s: header length %llu is larger than the file allows (%zu bytes after the length field)",
                 fname, (unsigned long long)hlen, size - 8);
        return -1;
    }
    char jerr[200];
    vr_jdoc *doc = vr_jdoc_parse((const char *)bytes + 8, (size_t)hlen, jerr, sizeof jerr);
    const vr_json *h = vr_jdoc_root(doc);
    if (!doc) {
        snprintf(err, errlen, "%s: header is not valid JSON: %s", fname, jerr);
        return -1;
    }
    if (!vr_jis(h, VR_JSON_OBJECT)) {
        snprintf(err, errlen, "%s: header is not a JSON object", fname);
        vr_jdoc_free(doc);
        return -1;
    }
    const unsigned char *data = bytes + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    size_t n = vr_jlen(h);
    span *spans = calloc(n ? n : 1, sizeof *spans);
    size_t nspans = 0;
    int rc = -1;
    if (!spans) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *tname = vr_jkey_at(h, i);
        if (strcmp(tname, "__metadata__") == 0)
            continue;
        vr_st_tensor t;
        memset(&t, 0, sizeof t);
        if (parse_entry(fname, tname, vr_jat(h, i), data_size, &t, err, errlen))
            goto done;
        int64_t b;
        vr_jint64(vr_jat(vr_jget(vr_jat(h, i), "data_offsets"), 0), &b);
        size_t esz = vr_dtype_size(t.dtype);
        /* The mapping is page aligned; the kernels load whole elements, so the
         * element must sit at a multiple of its size. */
        if ((8 + hlen + (uint64_t)b) % esz != 0) {
            snprintf(err, errlen, "%s: tensor '%s' data is not aligned to its %zu-byte elements",
                     fname, tname, esz);
            goto done;
        }
        t.data = data + b;
        t.file = f->name;
        t.name = strdup(tname);
        if (!t.name || add_tensor(st, &t)) {
            free(t.name);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        if (t.nbytes > 0)
            spans[nspans++] = (span){(uint64_t)b, (uint64_t)b + t.nbytes, st->tensors[st->ntensors - 1].name};
    }
    qsort(spans, nspans, sizeof *spans, cmp_span);
    for (size_t i = 1; i < nspans; i++) {
        if (spans[i].begin < spans[i - 1].end) {
            snprintf(err, errlen, "%s: tensors '%s' and '%s' overlap in the data buffer", fname,
                     spans[i - 1].name, spans[i].name);
            goto done;
        }
    }
    rc = 0;
done:
    free(spans);
    vr_jdoc_free(doc);
    return rc;
}

/* Sort by name and reject a name that appears twice (in one file or across shards). */
static int finish(vr_safetensors *st, char *err, size_t errlen) {
    qsort(st->tensors, st->ntensors, sizeof *st->tensors, cmp_tensor_name);
    for (size_t i = 1; i < st->ntensors; i++) {
        if (strcmp(st->tensors[i].name, st->tensors[i - 1].name) == 0) {
            snprintf(err, errlen, "%s: tensor '%s' appears twice (also in %s)", st->tensors[i].file,
                     st->tensors[i].name, st->tensors[i - 1].file);
            return -1;
        }
    }
    return 0;
}

int vr_st_open_file(const char *path, vr_safetensors **out, char *err, size_t errlen) {
    *out = NULL;
    vr_safetensors *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(st->source, sizeof st->source, "%.63s", base_name(path));
    if (open_one(st, path, err, errlen) || finish(st, err, errlen)) {
        vr_st_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

static char *read_small_file(const char *path, size_t max, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    if (buf && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = n;
    else if (!err[0])
        snprintf(err, errlen, "out of memory");
    return buf;
}

/* Shards named by the index must be plain file names inside the folder. */
static int safe_shard_name(const char *s) {
    return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL && strlen(s) < 256;
}

static int open_index(vr_safetensors *st, const char *dir, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    size_t len = 0;
    err[0] = '\0';
    char *text = read_small_file(path, 64u << 20, &len, err, errlen);
    if (!text)
        return -1;
    char jerr[200];
    vr_jdoc *doc = vr_jdoc_parse(text, len, jerr, sizeof jerr);
    const vr_json *idx = vr_jdoc_root(doc);
    free(text);
    if (!doc) {
        snprintf(err, errlen, "model.safetensors.index.json: not valid JSON: %s", jerr);
        return -1;
    }
    int rc = -1;
    const vr_json *wm = vr_jget(idx, "weight_map");
    if (!vr_jis(wm, VR_JSON_OBJECT) || vr_jlen(wm) == 0) {
        snprintf(err, errlen, "model.safetensors.index.json: no \"weight_map\" object");
        goto done;
    }
    size_t n = vr_jlen(wm);
    /* Open each distinct shard once, in order of first mention. */
    for (size_t i = 0; i < n; i++) {
        const char *shard;
        if (vr_jstr(vr_jat(wm, i), &shard, NULL) || !safe_shard_name(shard)) {
            snprintf(err, errlen,
                     "model.safetensors.index.json: weight_map[\"%s\"] is not a file name in the model folder",
                     vr_jkey_at(wm, i));
            goto done;
        }
        int seen = 0;
        for (size_t f = 0; f < st->nfiles; f++)
            if (strcmp(st->files[f].name, shard) == 0)
                seen = 1;
        if (seen)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, shard);
        if (access(path, F_OK) != 0) {
            snprintf(err, errlen, "model.safetensors.index.json: names shard %s, which does not exist",
                     shard);
            goto done;
        }
        if (open_one(st, path, err, errlen))
            goto done;
    }
    if (finish(st, err, errlen))
        goto done;
    /* Every tensor the index promises must be in the shard it names. */
    for (size_t i = 0; i < n; i++) {
        const char *name = vr_jkey_at(wm, i), *shard;
        vr_jstr(vr_jat(wm, i), &shard, NULL);
        const vr_st_tensor *t = vr_st_find(st, name);
        if (!t || strcmp(t->file, shard) != 0) {
            snprintf(err, errlen, "model.safetensors.index.json: tensor '%s' is not in %s", name,
                     shard);
            goto done;
        }
    }
    rc = 0;
done:
    vr_jdoc_free(doc);
    return rc;
}

int vr_st_open_dir(const char *dir, vr_safetensors **out, char *err, size_t errlen) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (access(path, F_OK) == 0)
        return vr_st_open_file(path, out, err, errlen);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    if (access(path, F_OK) != 0) {
        snprintf(err, errlen, "%s: no model.safetensors or model.safetensors.index.json", dir);
        return -1;
    }
    vr_safetensors *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(st->source, sizeof st->source, "model.safetensors.index.json");
    if (open_index(st, dir, err, errlen)) {
        vr_st_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void vr_st_close(vr_safetensors *st) {
    if (!st)
        return;
    for (size_t i = 0; i < st->ntensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].map)
            munmap(st->files[i].map, st->files[i].size);
        free(st->files[i].name);
    }
    free(st->files);
    free(st);
}

const vr_st_tensor *vr_st_find(const vr_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->tensors[mid].name);
        if (c == 0)
            return &st->tensors[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *vr_st_source(const vr_safetensors *st) { return st->source; }

size_t vr_st_count(const vr_safetensors *st) { return st->ntensors; }

const vr_st_tensor *vr_st_at(const vr_safetensors *st, size_t i) {
    return i < st->ntensors ? &st->tensors[i] : NULL;
}
