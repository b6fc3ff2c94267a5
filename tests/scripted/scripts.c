/* tests/scripted/scripts.c — load, tokenize and match scripted outputs. */
#include "tests/scripted/scripts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "tokenizer/tokenizer.h"

/* The whole file, NUL-terminated; NULL with a message when unreadable or
 * too large for a test fixture. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, errlen, "%s: cannot open", path), NULL;
    char *buf = malloc(VR_SCRIPTS_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, VR_SCRIPTS_MAX_FILE + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf) return snprintf(err, errlen, "%s: out of memory", path), NULL;
    if (bad || n > VR_SCRIPTS_MAX_FILE) {
        free(buf);
        snprintf(err, errlen, bad ? "%s: read error" : "%s: larger than %d bytes", path, VR_SCRIPTS_MAX_FILE);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static char *dup_bytes(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* One array entry: exactly the keys "match" (non-empty) and "output". */
static int load_one(const char *path, int i, const vr_json *v, vr_script *s, char *err, size_t errlen) {
    if (v->type != VR_JSON_OBJECT)
        return snprintf(err, errlen, "%s: [%d] must be an object {\"match\", \"output\"}, not %s", path, i,
                        vr_jtype_name(v->type)), -1;
    for (size_t k = 0; k < v->u.obj.n; k++) {
        const char *key = v->u.obj.m[k].key;
        if (strcmp(key, "match") && strcmp(key, "output"))
            return snprintf(err, errlen, "%s: [%d]: unknown key \"%s\" (keys: match, output)", path, i, key), -1;
    }
    const vr_json *m = vr_jget(v, "match"), *o = vr_jget(v, "output");
    if (!m || m->type != VR_JSON_STRING || m->u.str.len == 0)
        return snprintf(err, errlen, "%s: [%d].match must be a non-empty string", path, i), -1;
    if (!o || o->type != VR_JSON_STRING)
        return snprintf(err, errlen, "%s: [%d].output must be a string", path, i), -1;
    s->match = dup_bytes(m->u.str.s, m->u.str.len);
    s->match_len = m->u.str.len;
    s->output = dup_bytes(o->u.str.s, o->u.str.len);
    s->output_len = o->u.str.len;
    if (!s->match || !s->output) return snprintf(err, errlen, "%s: out of memory", path), -1;
    return 0;
}

int vr_scripts_load(const char *path, vr_scripts *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *text = slurp(path, &len, err, errlen);
    if (!text) return -1;
    char jerr[256];
    vr_jdoc *doc = vr_jdoc_parse(text, len, jerr, sizeof jerr);
    free(text);
    if (!doc) return snprintf(err, errlen, "%s: not JSON: %s", path, jerr), -1;
    const vr_json *root = vr_jdoc_root(doc);
    int rc = -1;
    if (root->type != VR_JSON_ARRAY) {
        snprintf(err, errlen, "%s: must be a JSON array of {\"match\", \"output\"}, not %s", path,
                 vr_jtype_name(root->type));
    } else if (root->u.arr.n > VR_SCRIPTS_MAX) {
        snprintf(err, errlen, "%s: %zu scripts, at most %d", path, root->u.arr.n, VR_SCRIPTS_MAX);
    } else if (!(out->s = calloc(root->u.arr.n + 1, sizeof *out->s))) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else {
        rc = 0;
        for (size_t i = 0; i < root->u.arr.n && !rc; i++, out->n++)
            rc = load_one(path, (int)i, &root->u.arr.items[i], &out->s[i], err, errlen);
    }
    vr_jdoc_free(doc);
    if (rc) vr_scripts_free(out);
    return rc;
}

int vr_scripts_tokenize(vr_scripts *sc, const struct vr_tokenizer *tok, int vocab_size, char *err,
                        size_t errlen) {
    for (int i = 0; i < sc->n; i++) {
        vr_script *s = &sc->s[i];
        char terr[256];
        /* no BOS/EOS: the output is a continuation, EOS is forced after it */
        if (vr_tokenizer_encode(tok, s->output, s->output_len, 0, &s->ids, &s->n_ids, terr, sizeof terr))
            return snprintf(err, errlen, "script [%d].output: %s", i, terr), -1;
        for (size_t k = 0; k < s->n_ids; k++)
            if (s->ids[k] < 0 || s->ids[k] >= vocab_size)
                return snprintf(err, errlen, "script [%d].output: token id %d is outside the model's %d", i,
                                s->ids[k], vocab_size), -1;
    }
    return 0;
}

static uint64_t hash_ids(const int32_t *ids, int n) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the ids' bytes */
    for (int i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 0x100000001b3ULL;
        }
    }
    return h;
}

static int match_prompt(const vr_scripts *sc, const struct vr_tokenizer *tok, const int32_t *prompt,
                        int n_prompt) {
    char *text = NULL, err[256];
    size_t len = 0;
    if (vr_tokenizer_decode(tok, prompt, (size_t)n_prompt, 0, &text, &len, err, sizeof err)) {
        fprintf(stderr, "vireo_scripted: cannot decode a prompt (%s); not scripted\n", err);
        return -1;
    }
    int found = -1;
    for (int i = 0; i < sc->n && found < 0; i++)
        if (memmem(text, len, sc->s[i].match, sc->s[i].match_len)) found = i;
    free(text);
    return found;
}

const vr_script *vr_scripts_find(vr_scripts *sc, const struct vr_tokenizer *tok, const int32_t *prompt,
                                 int n_prompt) {
    uint64_t h = hash_ids(prompt, n_prompt);
    for (int i = 0; i < VR_SCRIPTS_CACHE; i++)
        if (sc->cache[i].used && sc->cache[i].hash == h && sc->cache[i].n_prompt == n_prompt)
            return sc->cache[i].script >= 0 ? &sc->s[sc->cache[i].script] : NULL;
    int found = match_prompt(sc, tok, prompt, n_prompt);
    int slot = sc->cache_next;
    sc->cache_next = (sc->cache_next + 1) % VR_SCRIPTS_CACHE;
    sc->cache[slot].hash = h;
    sc->cache[slot].n_prompt = n_prompt;
    sc->cache[slot].script = found;
    sc->cache[slot].used = 1;
    return found >= 0 ? &sc->s[found] : NULL;
}

void vr_scripts_free(vr_scripts *sc) {
    for (int i = 0; i < sc->n; i++) {
        free(sc->s[i].match);
        free(sc->s[i].output);
        free(sc->s[i].ids);
    }
    free(sc->s);
    memset(sc, 0, sizeof *sc);
}
