/* tokenizer/load.c — tokenizer.json (and tokenizer_config.json) into the
 * structures of internal.h. Every field is type-checked; any problem is an
 * error naming the field, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json/json.h"

#define MAX_ID (1 << 24) /* ids are dense table indices: refuse absurd ones */

typedef struct {
    char *err;
    size_t errlen;
} ctx;

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Optional string field: 0 absent/null, 1 present, -1 wrong type. */
static int opt_str(ctx *c, vr_jcur o, const char *key, const char **s, size_t *n, const char *where) {
    vr_jcur v;
    if (!vr_jcur_get(o, key, &v) || vr_jcur_type(v) == VR_JSON_NULL) return 0;
    if (vr_jcur_str(v, s, n)) {
        vr_tok_set_err(c->err, c->errlen, "%s: \"%s\" must be a string", where, key);
        return -1;
    }
    return 1;
}

static int opt_bool(ctx *c, vr_jcur o, const char *key, int def, int *out, const char *where) {
    vr_jcur v;
    *out = def;
    if (!vr_jcur_get(o, key, &v) || vr_jcur_type(v) == VR_JSON_NULL) return 0;
    if (vr_jcur_bool(v, out)) {
        vr_tok_set_err(c->err, c->errlen, "%s: \"%s\" must be a boolean", where, key);
        return -1;
    }
    return 0;
}

static int opt_int(ctx *c, vr_jcur o, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out,
                   const char *where) {
    vr_jcur v;
    *out = def;
    if (!vr_jcur_get(o, key, &v) || vr_jcur_type(v) == VR_JSON_NULL) return 0;
    if (vr_jcur_int64(v, out) || *out < lo || *out > hi) {
        vr_tok_set_err(c->err, c->errlen, "%s: \"%s\" must be an integer in [%lld, %lld]", where, key, (long long)lo,
                   (long long)hi);
        return -1;
    }
    return 0;
}

static int get_type(ctx *c, vr_jcur o, const char **type, const char *where) {
    size_t n;
    if (vr_jcur_type(o) != VR_JSON_OBJECT) {
        vr_tok_set_err(c->err, c->errlen, "%s must be an object or null", where);
        return -1;
    }
    int r = opt_str(c, o, "type", type, &n, where);
    if (r <= 0) {
        if (!r) vr_tok_set_err(c->err, c->errlen, "%s: missing \"type\"", where);
        return -1;
    }
    return 0;
}

static int parse_pattern(ctx *c, vr_jcur o, vr_pattern *p, const char *where) {
    vr_jcur pat;
    const char *s;
    size_t n;
    if (!vr_jcur_get(o, "pattern", &pat) || vr_jcur_type(pat) != VR_JSON_OBJECT) {
        vr_tok_set_err(c->err, c->errlen, "%s: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", where);
        return -1;
    }
    int r = opt_str(c, pat, "String", &s, &n, where);
    if (r < 0) return -1;
    if (r) {
        p->kind = PAT_STRING;
        p->str = dup_n(s, n);
        p->str_len = n;
        if (!p->str) goto oom;
        return 0;
    }
    r = opt_str(c, pat, "Regex", &s, &n, where);
    if (r <= 0) {
        if (!r) vr_tok_set_err(c->err, c->errlen, "%s: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", where);
        return -1;
    }
    p->kind = PAT_REGEX;
    char e[200];
    if (vr_tok_regex_compile(&p->re, s, n, e, sizeof e)) {
        vr_tok_set_err(c->err, c->errlen, "%s: %s", where, e);
        return -1;
    }
    return 0;
oom:
    vr_tok_set_err(c->err, c->errlen, "out of memory");
    return -1;
}

static int parse_behavior(ctx *c, vr_jcur o, int def, int *out, const char *where) {
    const char *s;
    size_t n;
    int r = opt_str(c, o, "behavior", &s, &n, where);
    *out = def;
    if (r <= 0) return r;
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    for (int i = 0; i < 5; i++)
        if (strlen(names[i]) == n && !memcmp(names[i], s, n)) {
            *out = i;
            return 0;
        }
    vr_tok_set_err(c->err, c->errlen, "%s: unknown behavior \"%.*s\"", where, (int)(n > 40 ? 40 : n), s);
    return -1;
}

/* Single-character string field (Metaspace replacement, Strip content). */
static int char_field(ctx *c, vr_jcur o, const char *key, uint32_t def, uint32_t *out, const char *where) {
    const char *s;
    size_t n, adv;
    int r = opt_str(c, o, key, &s, &n, where);
    *out = def;
    if (r < 0) return -1;
    if (!r) return 0;
    if (n == 0 || vr_tok_utf8_valid_prefix(s, n) != n || (vr_tok_utf8_next(s, n, &adv), adv != n)) {
        vr_tok_set_err(c->err, c->errlen, "%s: \"%s\" must be a single character", where, key);
        return -1;
    }
    *out = vr_tok_utf8_next(s, n, &adv);
    return 0;
}

static int prepend_scheme(ctx *c, vr_jcur o, int *out, const char *where) {
    const char *s;
    size_t n;
    int r = opt_str(c, o, "prepend_scheme", &s, &n, where);
    if (r < 0) return -1;
    if (r) {
        if (n == 5 && !memcmp(s, "first", 5)) *out = PREPEND_FIRST;
        else if (n == 6 && !memcmp(s, "always", 6)) *out = PREPEND_ALWAYS;
        else if (n == 5 && !memcmp(s, "never", 5)) *out = PREPEND_NEVER;
        else {
            vr_tok_set_err(c->err, c->errlen, "%s: unknown prepend_scheme", where);
            return -1;
        }
        return 0;
    }
    int aps;
    if (opt_bool(c, o, "add_prefix_space", 1, &aps, where)) return -1;
    *out = aps ? PREPEND_ALWAYS : PREPEND_NEVER;
    return 0;
}

#define IS(t, lit) (!strcmp((t), (lit)))

/* ---- normalizers ---- */
static int parse_normalizer(ctx *c, vr_jcur o, vr_normalizer *nz, int depth) {
    const char *type, *s;
    size_t n;
    const char *W = "normalizer";
    if (depth > 16) { vr_tok_set_err(c->err, c->errlen, "normalizer: nesting too deep"); return -1; }
    if (get_type(c, o, &type, W)) return -1;
    if (IS(type, "NFC")) nz->type = NORM_NFC;
    else if (IS(type, "NFD")) nz->type = NORM_NFD;
    else if (IS(type, "NFKC")) nz->type = NORM_NFKC;
    else if (IS(type, "NFKD")) nz->type = NORM_NFKD;
    else if (IS(type, "Lowercase")) nz->type = NORM_LOWERCASE;
    else if (IS(type, "StripAccents")) nz->type = NORM_STRIP_ACCENTS;
    else if (IS(type, "Strip")) {
        nz->type = NORM_STRIP;
        if (opt_bool(c, o, "strip_left", 1, &nz->left, W) || opt_bool(c, o, "strip_right", 1, &nz->right, W)) return -1;
    } else if (IS(type, "Prepend")) {
        nz->type = NORM_PREPEND;
        if (opt_str(c, o, "prepend", &s, &n, W) <= 0) {
            vr_tok_set_err(c->err, c->errlen, "normalizer Prepend: \"prepend\" must be a string");
            return -1;
        }
        if (!(nz->text = dup_n(s, n))) return -1;
        nz->text_len = n;
    } else if (IS(type, "Replace")) {
        nz->type = NORM_REPLACE;
        if (parse_pattern(c, o, &nz->pat, "normalizer Replace")) return -1;
        if (opt_str(c, o, "content", &s, &n, W) <= 0) {
            vr_tok_set_err(c->err, c->errlen, "normalizer Replace: \"content\" must be a string");
            return -1;
        }
        if (!(nz->text = dup_n(s, n))) return -1;
        nz->text_len = n;
    } else if (IS(type, "BertNormalizer")) {
        nz->type = NORM_BERT;
        if (opt_bool(c, o, "clean_text", 1, &nz->clean_text, W) ||
            opt_bool(c, o, "handle_chinese_chars", 1, &nz->chinese, W) ||
            opt_bool(c, o, "lowercase", 1, &nz->lowercase, W) ||
            opt_bool(c, o, "strip_accents", nz->lowercase, &nz->strip_accents, W))
            return -1;
    } else if (IS(type, "Sequence")) {
        nz->type = NORM_SEQUENCE;
        vr_jcur arr, v;
        if (!vr_jcur_get(o, "normalizers", &arr) || vr_jcur_type(arr) != VR_JSON_ARRAY) {
            vr_tok_set_err(c->err, c->errlen, "normalizer Sequence: \"normalizers\" must be an array");
            return -1;
        }
        nz->subs = calloc(vr_jcur_len(arr) + 1, sizeof *nz->subs);
        if (!nz->subs) return -1;
        vr_jcur_it it;
        for (vr_jcur_begin(arr, &it); vr_jcur_next(&it, NULL, NULL, &v);)
            if (parse_normalizer(c, v, &nz->subs[nz->n_subs++], depth + 1)) return -1;
    } else {
        vr_tok_set_err(c->err, c->errlen, "normalizer: unsupported type \"%s\"", type);
        return -1;
    }
    return 0;
}

/* ---- pre-tokenizers ---- */
static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* Oniguruma's Unicode \w: letters, marks, decimal digits, connector
 * punctuation, letter numbers and the joiners ZWNJ / ZWJ */
#define WORD_CLASS "\\p{L}\\p{M}\\p{Nd}\\p{Nl}\\p{Pc}\\x{200C}\\x{200D}"
static const char WHITESPACE_PATTERN[] = "[" WORD_CLASS "]+|[^" WORD_CLASS "\\s]+";

static int parse_pretok(ctx *c, vr_jcur o, vr_pretok *pt, int depth) {
    const char *type;
    const char *W = "pre_tokenizer";
    if (depth > 16) { vr_tok_set_err(c->err, c->errlen, "pre_tokenizer: nesting too deep"); return -1; }
    if (get_type(c, o, &type, W)) return -1;
    pt->behavior = SPLIT_ISOLATED;
    if (IS(type, "ByteLevel")) {
        pt->type = PRE_BYTELEVEL;
        if (opt_bool(c, o, "add_prefix_space", 1, &pt->add_prefix_space, W) ||
            opt_bool(c, o, "use_regex", 1, &pt->use_regex, W))
            return -1;
        if (pt->use_regex) {
            pt->pat.kind = PAT_REGEX;
            if (vr_tok_regex_compile(&pt->pat.re, GPT2_PATTERN, sizeof GPT2_PATTERN - 1, c->err, c->errlen)) return -1;
        }
    } else if (IS(type, "Split")) {
        pt->type = PRE_SPLIT;
        if (parse_pattern(c, o, &pt->pat, "pre_tokenizer Split") || parse_behavior(c, o, SPLIT_ISOLATED, &pt->behavior, W) ||
            opt_bool(c, o, "invert", 0, &pt->invert, W))
            return -1;
        vr_jcur b;
        if (!vr_jcur_get(o, "behavior", &b)) {
            vr_tok_set_err(c->err, c->errlen, "pre_tokenizer Split: missing \"behavior\"");
            return -1;
        }
    } else if (IS(type, "Metaspace")) {
        pt->type = PRE_METASPACE;
        uint32_t ch;
        if (char_field(c, o, "replacement", 0x2581, &ch, W) || prepend_scheme(c, o, &pt->prepend_scheme, W) ||
            opt_bool(c, o, "split", 1, &pt->split, W))
            return -1;
        pt->rep_len = vr_tok_utf8_put(ch, pt->rep);
    } else if (IS(type, "Whitespace")) {
        pt->type = PRE_WHITESPACE;
        pt->pat.kind = PAT_REGEX;
        pt->behavior = SPLIT_REMOVED;
        pt->invert = 1;
        if (vr_tok_regex_compile(&pt->pat.re, WHITESPACE_PATTERN, sizeof WHITESPACE_PATTERN - 1, c->err, c->errlen)) return -1;
    } else if (IS(type, "WhitespaceSplit")) {
        pt->type = PRE_WHITESPACE_SPLIT;
        pt->pat.kind = PAT_WHITESPACE;
        pt->behavior = SPLIT_REMOVED;
    } else if (IS(type, "BertPreTokenizer")) {
        pt->type = PRE_BERT;
    } else if (IS(type, "Punctuation")) {
        pt->type = PRE_PUNCT;
        pt->pat.kind = PAT_BERT_PUNCT;
        if (parse_behavior(c, o, SPLIT_ISOLATED, &pt->behavior, W)) return -1;
    } else if (IS(type, "Digits")) {
        int ind;
        pt->type = PRE_DIGITS;
        pt->pat.kind = PAT_NUMERIC;
        if (opt_bool(c, o, "individual_digits", 0, &ind, W)) return -1;
        pt->behavior = ind ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS;
    } else if (IS(type, "CharDelimiterSplit")) {
        pt->type = PRE_CHAR_DELIM;
        pt->pat.kind = PAT_CHAR;
        pt->behavior = SPLIT_REMOVED;
        if (char_field(c, o, "delimiter", ' ', &pt->pat.ch, W)) return -1;
    } else if (IS(type, "Sequence")) {
        pt->type = PRE_SEQUENCE;
        vr_jcur arr, v;
        if (!vr_jcur_get(o, "pretokenizers", &arr) || vr_jcur_type(arr) != VR_JSON_ARRAY) {
            vr_tok_set_err(c->err, c->errlen, "pre_tokenizer Sequence: \"pretokenizers\" must be an array");
            return -1;
        }
        pt->subs = calloc(vr_jcur_len(arr) + 1, sizeof *pt->subs);
        if (!pt->subs) return -1;
        vr_jcur_it it;
        for (vr_jcur_begin(arr, &it); vr_jcur_next(&it, NULL, NULL, &v);)
            if (parse_pretok(c, v, &pt->subs[pt->n_subs++], depth + 1)) return -1;
    } else {
        vr_tok_set_err(c->err, c->errlen, "pre_tokenizer: unsupported type \"%s\"", type);
        return -1;
    }
    return 0;
}

/* ---- post-processors ---- */
static int token_pair(ctx *c, vr_jcur o, const char *key, int32_t *id, const char *where) {
    vr_jcur a, v;
    int64_t x;
    if (!vr_jcur_get(o, key, &a) || vr_jcur_type(a) != VR_JSON_ARRAY || vr_jcur_len(a) != 2) goto bad;
    vr_jcur_it it;
    vr_jcur_begin(a, &it);
    vr_jcur_next(&it, NULL, NULL, &v);
    if (vr_jcur_type(v) != VR_JSON_STRING) goto bad;
    vr_jcur_next(&it, NULL, NULL, &v);
    if (vr_jcur_int64(v, &x) || x < 0 || x >= MAX_ID) goto bad;
    *id = (int32_t)x;
    return 0;
bad:
    vr_tok_set_err(c->err, c->errlen, "%s: \"%s\" must be [token, id] with a valid id", where, key);
    return -1;
}

static int parse_post(ctx *c, vr_jcur o, vr_postproc *pp, int depth) {
    const char *type;
    const char *W = "post_processor";
    if (depth > 16) { vr_tok_set_err(c->err, c->errlen, "post_processor: nesting too deep"); return -1; }
    if (get_type(c, o, &type, W)) return -1;
    if (IS(type, "ByteLevel")) pp->type = POST_NOOP;
    else if (IS(type, "BertProcessing") || IS(type, "RobertaProcessing")) {
        pp->type = POST_BERT;
        if (token_pair(c, o, "cls", &pp->cls, W) || token_pair(c, o, "sep", &pp->sep, W)) return -1;
    } else if (IS(type, "TemplateProcessing")) {
        pp->type = POST_TEMPLATE;
        vr_jcur single, specials, item, v;
        if (!vr_jcur_get(o, "single", &single) || vr_jcur_type(single) != VR_JSON_ARRAY) {
            vr_tok_set_err(c->err, c->errlen, "TemplateProcessing: \"single\" must be an array");
            return -1;
        }
        int has_specials = vr_jcur_get(o, "special_tokens", &specials) && vr_jcur_type(specials) == VR_JSON_OBJECT;
        pp->items = calloc(vr_jcur_len(single) + 1, sizeof *pp->items);
        if (!pp->items) return -1;
        vr_jcur_it it;
        for (vr_jcur_begin(single, &it); vr_jcur_next(&it, NULL, NULL, &item);) {
            vr_tpl_item *ti = &pp->items[pp->n_items++];
            const char *name;
            size_t nn;
            if (vr_jcur_get(item, "Sequence", &v)) {
                ti->is_seq = 1;
                continue;
            }
            if (!vr_jcur_get(item, "SpecialToken", &v) || opt_str(c, v, "id", &name, &nn, W) <= 0) {
                vr_tok_set_err(c->err, c->errlen, "TemplateProcessing: each item must be {\"Sequence\"} or {\"SpecialToken\": {\"id\": ...}}");
                return -1;
            }
            char *key = dup_n(name, nn);
            vr_jcur st, ids, idv;
            int found = key && has_specials && vr_jcur_get(specials, key, &st) && vr_jcur_get(st, "ids", &ids) &&
                        vr_jcur_type(ids) == VR_JSON_ARRAY;
            free(key);
            if (!found) {
                vr_tok_set_err(c->err, c->errlen, "TemplateProcessing: special token \"%.*s\" has no ids in \"special_tokens\"",
                           (int)(nn > 60 ? 60 : nn), name);
                return -1;
            }
            ti->ids = calloc(vr_jcur_len(ids) + 1, sizeof *ti->ids);
            if (!ti->ids) return -1;
            vr_jcur_it it2;
            for (vr_jcur_begin(ids, &it2); vr_jcur_next(&it2, NULL, NULL, &idv);) {
                int64_t x;
                if (vr_jcur_int64(idv, &x) || x < 0 || x >= MAX_ID) {
                    vr_tok_set_err(c->err, c->errlen, "TemplateProcessing: special token ids must be integers in [0, %d)", MAX_ID);
                    return -1;
                }
                ti->ids[ti->n_ids++] = (int32_t)x;
            }
        }
    } else if (IS(type, "Sequence")) {
        pp->type = POST_SEQUENCE;
        vr_jcur arr, v;
        if (!vr_jcur_get(o, "processors", &arr) || vr_jcur_type(arr) != VR_JSON_ARRAY) {
            vr_tok_set_err(c->err, c->errlen, "post_processor Sequence: \"processors\" must be an array");
            return -1;
        }
        pp->subs = calloc(vr_jcur_len(arr) + 1, sizeof *pp->subs);
        if (!pp->subs) return -1;
        vr_jcur_it it;
        for (vr_jcur_begin(arr, &it); vr_jcur_next(&it, NULL, NULL, &v);)
            if (parse_post(c, v, &pp->subs[pp->n_subs++], depth + 1)) return -1;
    } else {
        vr_tok_set_err(c->err, c->errlen, "post_processor: unsupported type \"%s\"", type);
        return -1;
    }
    return 0;
}

/* ---- decoders (a Sequence is flattened into the stage list) ---- */
static int add_stage(vr_tokenizer *t, vr_decstage **g) {
    vr_decstage *p = realloc(t->dec, (t->n_dec + 1) * sizeof *p);
    if (!p) return -1;
    t->dec = p;
    *g = &p[t->n_dec++];
    memset(*g, 0, sizeof **g);
    return 0;
}

static int parse_decoder(ctx *c, vr_jcur o, vr_tokenizer *t, int depth) {
    const char *type, *s;
    size_t n;
    const char *W = "decoder";
    vr_decstage *g;
    if (depth > 16) { vr_tok_set_err(c->err, c->errlen, "decoder: nesting too deep"); return -1; }
    if (get_type(c, o, &type, W)) return -1;
    if (IS(type, "Sequence")) {
        vr_jcur arr, v;
        if (!vr_jcur_get(o, "decoders", &arr) || vr_jcur_type(arr) != VR_JSON_ARRAY) {
            vr_tok_set_err(c->err, c->errlen, "decoder Sequence: \"decoders\" must be an array");
            return -1;
        }
        vr_jcur_it it;
        for (vr_jcur_begin(arr, &it); vr_jcur_next(&it, NULL, NULL, &v);)
            if (parse_decoder(c, v, t, depth + 1)) return -1;
        return 0;
    }
    if (add_stage(t, &g)) return -1;
    if (IS(type, "ByteLevel")) g->type = DEC_BYTELEVEL;
    else if (IS(type, "ByteFallback")) g->type = DEC_BYTEFALLBACK;
    else if (IS(type, "Fuse")) g->type = DEC_FUSE;
    else if (IS(type, "Metaspace")) {
        int scheme;
        g->type = DEC_METASPACE;
        if (char_field(c, o, "replacement", 0x2581, &g->ch, W) || prepend_scheme(c, o, &scheme, W)) return -1;
        g->prepend = scheme != PREPEND_NEVER;
    } else if (IS(type, "Strip")) {
        int64_t a, b;
        g->type = DEC_STRIP;
        if (char_field(c, o, "content", ' ', &g->ch, W) || opt_int(c, o, "start", 0, 0, 1 << 20, &a, W) ||
            opt_int(c, o, "stop", 0, 0, 1 << 20, &b, W))
            return -1;
        g->start = (size_t)a;
        g->stop = (size_t)b;
    } else if (IS(type, "Replace")) {
        g->type = DEC_REPLACE;
        if (parse_pattern(c, o, &g->pat, "decoder Replace")) return -1;
        if (opt_str(c, o, "content", &s, &n, W) <= 0) {
            vr_tok_set_err(c->err, c->errlen, "decoder Replace: \"content\" must be a string");
            return -1;
        }
        if (!(g->text = dup_n(s, n))) return -1;
        g->text_len = n;
    } else if (IS(type, "WordPiece") || IS(type, "BPEDecoder")) {
        int wp = IS(type, "WordPiece");
        g->type = wp ? DEC_WORDPIECE : DEC_BPE_SUFFIX;
        int r = opt_str(c, o, wp ? "prefix" : "suffix", &s, &n, W);
        if (r < 0 || opt_bool(c, o, "cleanup", 1, &g->cleanup, W)) return -1;
        if (!r) {
            s = wp ? "##" : "</w>";
            n = strlen(s);
        }
        if (!(g->text = dup_n(s, n))) return -1;
        g->text_len = n;
    } else {
        vr_tok_set_err(c->err, c->errlen, "decoder: unsupported type \"%s\"", type);
        return -1;
    }
    return 0;
}

/* ---- model ---- */
static int parse_vocab(ctx *c, vr_jcur vocab, vr_tok_model *m) {
    if (vr_jcur_type(vocab) != VR_JSON_OBJECT) {
        vr_tok_set_err(c->err, c->errlen, "model: \"vocab\" must be an object {token: id}");
        return -1;
    }
    size_t count = vr_jcur_len(vocab), bytes = 0;
    int64_t max_id = -1;
    vr_jcur_it it;
    const char *k;
    size_t kn;
    vr_jcur v;
    for (vr_jcur_begin(vocab, &it); vr_jcur_next(&it, &k, &kn, &v);) {
        int64_t id;
        if (vr_jcur_int64(v, &id) || id < 0 || id >= MAX_ID) {
            vr_tok_set_err(c->err, c->errlen, "model vocab: token \"%.*s\" has an invalid id (need an integer in [0, %d))",
                       (int)(kn > 60 ? 60 : kn), k, MAX_ID);
            return -1;
        }
        if (id > max_id) max_id = id;
        bytes += (sizeof(vr_strrec) + kn + 1 + 7) & ~(size_t)7;
    }
    m->n_ids = (size_t)(max_id + 1);
    m->tok = calloc(m->n_ids + 1, sizeof *m->tok);
    m->tok_len = calloc(m->n_ids + 1, sizeof *m->tok_len);
    m->arena = malloc(bytes + 8);
    if (!m->tok || !m->tok_len || !m->arena || vr_tok_strmap_init(&m->vocab, count, m->arena)) {
        vr_tok_set_err(c->err, c->errlen, "out of memory loading the vocab");
        return -1;
    }
    /* Records are written in order; hash-table inserts go in batches whose
     * slots are prefetched first (see parse_merges). */
    size_t off = 0, pend_off[64], np = 0;
    uint32_t pend_h[64];
    int more = 1;
    vr_jcur_begin(vocab, &it);
    while (more) {
        np = 0;
        while (np < 64 && (more = vr_jcur_next(&it, &k, &kn, &v))) {
            int64_t id;
            vr_jcur_int64(v, &id);
            if (m->tok[id]) {
                vr_tok_set_err(c->err, c->errlen, "model vocab: id %lld is used by two tokens", (long long)id);
                return -1;
            }
            vr_strrec *r = (vr_strrec *)(void *)(m->arena + off);
            r->len = (uint32_t)kn;
            r->val = (int32_t)id;
            memcpy(r->bytes, k, kn);
            r->bytes[kn] = 0;
            m->tok[id] = r->bytes;
            m->tok_len[id] = (uint32_t)kn;
            pend_off[np] = off;
            pend_h[np] = vr_tok_strmap_hash(k, kn);
            vr_tok_strmap_prefetch(&m->vocab, pend_h[np]);
            np++;
            off += (sizeof(vr_strrec) + kn + 1 + 7) & ~(size_t)7;
        }
        for (size_t i = 0; i < np; i++) {
            int rc = vr_tok_strmap_put_h(&m->vocab, pend_off[i], pend_h[i]);
            if (rc) {
                vr_tok_set_err(c->err, c->errlen, rc > 0 ? "model vocab: duplicate token" : "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

static int report_missing(ctx *c, const char *s, size_t n, size_t rank) {
    vr_tok_set_err(c->err, c->errlen, "model merges[%zu]: token \"%.*s\" is not in the vocab", rank,
                   (int)(n > 60 ? 60 : n), s);
    return -1;
}

/* One merge "a b": its parts, the joined token, and their hashes. */
typedef struct {
    const char *s[3];
    size_t n[3];
    uint32_t h[3];
    int32_t id[3];
} merge_rec;

#define MERGE_BATCH 64

/* Splits merges[rank] into its two parts. */
static int merge_parts(ctx *c, vr_jcur v, size_t rank, merge_rec *r) {
    if (vr_jcur_type(v) == VR_JSON_STRING) {
        const char *s;
        size_t n;
        vr_jcur_str(v, &s, &n);
        const char *sp = memchr(s, ' ', n);
        if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp - s) - 1)) {
            vr_tok_set_err(c->err, c->errlen, "model merges[%zu]: expected \"left right\" with one space", rank);
            return -1;
        }
        r->s[0] = s;
        r->n[0] = (size_t)(sp - s);
        r->s[1] = sp + 1;
        r->n[1] = n - r->n[0] - 1;
        return 0;
    }
    if (vr_jcur_type(v) == VR_JSON_ARRAY && vr_jcur_len(v) == 2) {
        vr_jcur_it i2;
        vr_jcur x, y;
        vr_jcur_begin(v, &i2);
        vr_jcur_next(&i2, NULL, NULL, &x);
        vr_jcur_next(&i2, NULL, NULL, &y);
        if (vr_jcur_str(x, &r->s[0], &r->n[0]) || vr_jcur_str(y, &r->s[1], &r->n[1])) {
            vr_tok_set_err(c->err, c->errlen, "model merges[%zu]: expected two strings", rank);
            return -1;
        }
        return 0;
    }
    vr_tok_set_err(c->err, c->errlen, "model merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", rank);
    return -1;
}

/* Merges are resolved in batches: every lookup of a batch is hashed and its
 * hash slot prefetched before any is probed, so the cache misses of a big
 * vocab (three per merge) overlap instead of queuing. */
static int parse_merges(ctx *c, vr_jcur merges, vr_tok_model *m, int *touch_special) {
    if (vr_jcur_type(merges) != VR_JSON_ARRAY) {
        vr_tok_set_err(c->err, c->errlen, "model: \"merges\" must be an array");
        return -1;
    }
    if (vr_tok_pairmap_init(&m->merges, vr_jcur_len(merges))) return -1;
    /* symbols whose text is not input text: byte-fallback tokens and unk */
    unsigned char *special = calloc(m->n_ids + 1, 1);
    if (!special) return -1;
    for (int b = 0; b < 256; b++)
        if (m->byte_tok[b] >= 0) special[m->byte_tok[b]] = 1;
    if (m->unk_id >= 0) special[m->unk_id] = 1;
    *touch_special = 0;
    merge_rec batch[MERGE_BATCH];
    vr_buf joined = {0}; /* the batch's joined tokens, back to back */
    size_t joff[MERGE_BATCH];
    vr_jcur_it it;
    vr_jcur v;
    size_t rank = 0, nb = 0;
    int more = 1, rc = -1;
    vr_jcur_begin(merges, &it);
    while (more) {
        nb = 0;
        joined.n = 0;
        while (nb < MERGE_BATCH && (more = vr_jcur_next(&it, NULL, NULL, &v))) {
            merge_rec *r = &batch[nb];
            if (merge_parts(c, v, rank + nb, r)) goto done;
            const char *b = r->s[1];
            size_t bn = r->n[1];
            if (m->prefix_len && bn >= m->prefix_len && !memcmp(b, m->prefix, m->prefix_len)) {
                b += m->prefix_len;
                bn -= m->prefix_len;
            }
            joff[nb] = joined.n;
            if (vr_tok_buf_put(&joined, r->s[0], r->n[0]) || vr_tok_buf_put(&joined, b, bn)) goto done;
            r->n[2] = r->n[0] + bn;
            for (int k = 0; k < 3; k++) {
                if (k < 2) r->h[k] = vr_tok_strmap_hash(r->s[k], r->n[k]);
                else r->h[k] = vr_tok_strmap_hash(joined.p + joff[nb], r->n[2]);
                vr_tok_strmap_prefetch(&m->vocab, r->h[k]);
            }
            nb++;
        }
        for (size_t i = 0; i < nb; i++) {
            batch[i].s[2] = joined.p ? joined.p + joff[i] : "";
            for (int k = 0; k < 3; k++) vr_tok_strmap_prefetch_key(&m->vocab, batch[i].h[k]);
        }
        for (size_t i = 0; i < nb; i++) {
            merge_rec *r = &batch[i];
            for (int k = 0; k < 3; k++) {
                r->id[k] = vr_tok_strmap_get_h(&m->vocab, r->h[k], r->s[k], r->n[k]);
                if (r->id[k] < 0) {
                    report_missing(c, r->s[k], r->n[k], rank + i);
                    goto done;
                }
            }
            vr_tok_pairmap_prefetch(&m->merges, r->id[0], r->id[1]);
            *touch_special |= special[r->id[0]] | special[r->id[1]];
            if (vr_tok_bpe_note_marks(m, r->s[2], r->n[2])) goto done;
        }
        for (size_t i = 0; i < nb; i++)
            if (vr_tok_pairmap_put(&m->merges, batch[i].id[0], batch[i].id[1], (int32_t)(rank + i), batch[i].id[2]) < 0)
                goto done;
        rank += nb;
    }
    rc = 0;
done:
    vr_tok_buf_free(&joined);
    free(special);
    return rc;
}

static int opt_dup(ctx *c, vr_jcur o, const char *key, char **out, size_t *len, const char *def) {
    const char *s;
    size_t n;
    int r = opt_str(c, o, key, &s, &n, "model");
    if (r < 0) return -1;
    if (!r) {
        if (!def) return 0;
        s = def;
        n = strlen(def);
    }
    if (!(*out = dup_n(s, n))) return -1;
    *len = n;
    return 0;
}

static int parse_model(ctx *c, vr_jcur o, vr_tok_model *m) {
    const char *type = NULL;
    size_t n;
    vr_jcur vocab, merges;
    if (vr_jcur_type(o) != VR_JSON_OBJECT) {
        vr_tok_set_err(c->err, c->errlen, "\"model\" must be an object");
        return -1;
    }
    if (opt_str(c, o, "type", &type, &n, "model") < 0) return -1;
    int has_merges = vr_jcur_get(o, "merges", &merges);
    if (!type) type = has_merges ? "BPE" : "WordPiece";
    if (!vr_jcur_get(o, "vocab", &vocab)) {
        vr_tok_set_err(c->err, c->errlen, "model: missing \"vocab\"");
        return -1;
    }
    m->unk_id = -1;
    memset(m->byte_tok, 0xff, sizeof m->byte_tok);
    int is_bpe = IS(type, "BPE");
    if (is_bpe) {
        m->type = MODEL_BPE;
        if (opt_bool(c, o, "fuse_unk", 0, &m->fuse_unk, "model") ||
            opt_bool(c, o, "byte_fallback", 0, &m->byte_fallback, "model") ||
            opt_bool(c, o, "ignore_merges", 0, &m->ignore_merges, "model") ||
            opt_dup(c, o, "continuing_subword_prefix", &m->prefix, &m->prefix_len, NULL) ||
            opt_dup(c, o, "end_of_word_suffix", &m->suffix, &m->suffix_len, NULL))
            return -1;
        if (!has_merges) {
            vr_tok_set_err(c->err, c->errlen, "model BPE: missing \"merges\"");
            return -1;
        }
    } else if (IS(type, "WordPiece")) {
        int64_t mx;
        m->type = MODEL_WORDPIECE;
        if (opt_dup(c, o, "continuing_subword_prefix", &m->prefix, &m->prefix_len, "##") ||
            opt_int(c, o, "max_input_chars_per_word", 100, 0, INT32_MAX, &mx, "model"))
            return -1;
        m->max_chars = (size_t)mx;
    } else if (IS(type, "WordLevel")) {
        m->type = MODEL_WORDLEVEL;
    } else {
        vr_tok_set_err(c->err, c->errlen, "model: unsupported type \"%s\" (supported: BPE, WordPiece, WordLevel)", type);
        return -1;
    }
    if (parse_vocab(c, vocab, m)) return -1;
    const char *unk;
    int r = opt_str(c, o, "unk_token", &unk, &n, "model");
    if (r < 0) return -1;
    if (!r && m->type == MODEL_WORDPIECE) {
        unk = "[UNK]";
        n = 5;
        r = 1;
    }
    if (r) {
        m->unk_id = vr_tok_strmap_get(&m->vocab, unk, n);
        if (m->unk_id < 0) {
            vr_tok_set_err(c->err, c->errlen, "model: unk_token \"%.*s\" is not in the vocab", (int)(n > 60 ? 60 : n), unk);
            return -1;
        }
    }
    if (is_bpe) {
        for (int b = 0; b < 256; b++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            m->byte_tok[b] = vr_tok_strmap_get(&m->vocab, name, 6);
        }
        int touch_special;
        if (parse_merges(c, merges, m, &touch_special) || vr_tok_bpe_prepare_split(m, touch_special)) return -1;
        if (!(m->cache = vr_tok_cache_create())) return -1;
    }
    return 0;
}

static int parse_added(ctx *c, vr_jcur arr, vr_tokenizer *t) {
    if (vr_jcur_type(arr) == VR_JSON_NULL) return 0;
    if (vr_jcur_type(arr) != VR_JSON_ARRAY) {
        vr_tok_set_err(c->err, c->errlen, "\"added_tokens\" must be an array");
        return -1;
    }
    t->added = calloc(vr_jcur_len(arr) + 1, sizeof *t->added);
    if (!t->added) return -1;
    vr_jcur_it it;
    vr_jcur v;
    const char *W = "added_tokens";
    for (vr_jcur_begin(arr, &it); vr_jcur_next(&it, NULL, NULL, &v);) {
        vr_added *a = &t->added[t->n_added];
        const char *s;
        size_t n;
        int64_t id;
        if (vr_jcur_type(v) != VR_JSON_OBJECT || opt_str(c, v, "content", &s, &n, W) <= 0) {
            vr_tok_set_err(c->err, c->errlen, "added_tokens[%zu]: needs a string \"content\"", t->n_added);
            return -1;
        }
        if (opt_int(c, v, "id", -1, 0, MAX_ID - 1, &id, W)) return -1;
        if (id < 0) {
            vr_tok_set_err(c->err, c->errlen, "added_tokens[%zu]: needs an integer \"id\"", t->n_added);
            return -1;
        }
        if (opt_bool(c, v, "special", 0, &a->special, W) || opt_bool(c, v, "lstrip", 0, &a->lstrip, W) ||
            opt_bool(c, v, "rstrip", 0, &a->rstrip, W) || opt_bool(c, v, "single_word", 0, &a->single_word, W) ||
            opt_bool(c, v, "normalized", !a->special, &a->normalized, W))
            return -1;
        if (!(a->content = dup_n(s, n))) return -1;
        a->len = n;
        a->id = (int32_t)id;
        t->n_added++;
    }
    return 0;
}

int vr_tok_load_tokenizer_json(vr_tokenizer *t, const char *json, size_t len, int padded, char *err, size_t errlen) {
    ctx c = {err, errlen};
    size_t pad = vr_jcur_padding();
    char *buf = NULL;
    if (!padded) {
        buf = malloc(len + pad);
        if (!buf) {
            vr_tok_set_err(err, errlen, "out of memory");
            return -1;
        }
        memcpy(buf, json, len);
        memset(buf + len, 0, pad);
    }
    char e[200];
    vr_jcur_doc *doc = vr_jcur_parse(buf ? buf : json, len, e, sizeof e);
    int rc = -1;
    if (!doc) {
        vr_tok_set_err(err, errlen, "tokenizer.json is not valid JSON: %s", e);
        goto done;
    }
    vr_jcur root = vr_jcur_root(doc), v;
    if (vr_jcur_type(root) != VR_JSON_OBJECT) {
        vr_tok_set_err(err, errlen, "tokenizer.json must be a JSON object");
        goto done;
    }
    if (!vr_jcur_get(root, "model", &v)) {
        vr_tok_set_err(err, errlen, "tokenizer.json has no \"model\"");
        goto done;
    }
    if (parse_model(&c, v, &t->model)) goto done;
    if (vr_jcur_get(root, "added_tokens", &v) && parse_added(&c, v, t)) goto done;
    if (vr_jcur_get(root, "normalizer", &v) && vr_jcur_type(v) != VR_JSON_NULL) {
        t->has_normalizer = 1;
        if (parse_normalizer(&c, v, &t->normalizer, 0)) goto done;
    }
    if (vr_jcur_get(root, "pre_tokenizer", &v) && vr_jcur_type(v) != VR_JSON_NULL) {
        t->has_pretok = 1;
        if (parse_pretok(&c, v, &t->pretok, 0)) goto done;
    }
    if (vr_jcur_get(root, "post_processor", &v) && vr_jcur_type(v) != VR_JSON_NULL) {
        t->has_post = 1;
        if (parse_post(&c, v, &t->post, 0)) goto done;
    }
    if (vr_jcur_get(root, "decoder", &v) && vr_jcur_type(v) != VR_JSON_NULL) {
        t->has_decoder = 1;
        if (parse_decoder(&c, v, t, 0)) goto done;
        int stream = 0;
        for (size_t k = 0; k < t->n_dec; k++) {
            t->dec[k].stream_in = stream;
            if (t->dec[k].type == DEC_FUSE || t->dec[k].type == DEC_BYTELEVEL) stream = 1;
        }
    }
    rc = 0;
done:
    vr_jcur_free(doc);
    free(buf);
    if (rc && err && !err[0]) vr_tok_set_err(err, errlen, "out of memory loading tokenizer.json");
    return rc;
}

/* ---- tokenizer_config.json ---- */
static int push_pair(char ***keys, char ***vals, size_t *n, const char *k, size_t kn, const char *v, size_t vn) {
    char **a = realloc(*keys, (*n + 1) * sizeof *a);
    if (!a) return -1;
    *keys = a;
    char **b = realloc(*vals, (*n + 1) * sizeof *b);
    if (!b) return -1;
    *vals = b;
    a[*n] = dup_n(k, kn);
    b[*n] = dup_n(v, vn);
    if (!a[*n] || !b[*n]) {
        free(a[*n]);
        free(b[*n]);
        return -1;
    }
    (*n)++;
    return 0;
}

int vr_tok_load_config_json(vr_tokenizer *t, const char *json, size_t len, char *err, size_t errlen) {
    /* a padded copy for the cursor (json/ reads 1e30-sized model_max_length
     * integers as doubles) */
    size_t pad = vr_jcur_padding();
    char *buf = malloc(len + pad);
    if (buf) {
        memcpy(buf, json, len);
        memset(buf + len, 0, pad);
    }
    if (!buf) {
        vr_tok_set_err(err, errlen, "out of memory");
        return -1;
    }
    char e[200];
    vr_jcur_doc *doc = vr_jcur_parse(buf, len, e, sizeof e);
    int rc = -1;
    if (!doc) {
        vr_tok_set_err(err, errlen, "tokenizer_config.json is not valid JSON: %s", e);
        goto done;
    }
    vr_jcur root = vr_jcur_root(doc), v;
    if (vr_jcur_type(root) != VR_JSON_OBJECT) {
        vr_tok_set_err(err, errlen, "tokenizer_config.json must be a JSON object");
        goto done;
    }
    vr_jcur_it it;
    const char *k;
    size_t kn;
    for (vr_jcur_begin(root, &it); vr_jcur_next(&it, &k, &kn, &v);) {
        const char *s;
        size_t n;
        vr_jcur content;
        if (kn == 13 && !memcmp(k, "chat_template", 13)) continue;
        if (vr_jcur_str(v, &s, &n) == 0 || (vr_jcur_get(v, "content", &content) && vr_jcur_str(content, &s, &n) == 0))
            if (push_pair(&t->cfg_keys, &t->cfg_vals, &t->n_cfg, k, kn, s, n)) goto oom;
    }
    if (vr_jcur_get(root, "chat_template", &v)) {
        const char *s, *name;
        size_t n, nn;
        if (vr_jcur_str(v, &s, &n) == 0) {
            if (push_pair(&t->tpl_names, &t->tpl_vals, &t->n_tpl, "default", 7, s, n)) goto oom;
        } else if (vr_jcur_type(v) == VR_JSON_ARRAY) {
            vr_jcur item, a, b;
            for (vr_jcur_begin(v, &it); vr_jcur_next(&it, NULL, NULL, &item);) {
                if (!vr_jcur_get(item, "name", &a) || !vr_jcur_get(item, "template", &b) || vr_jcur_str(a, &name, &nn) ||
                    vr_jcur_str(b, &s, &n)) {
                    vr_tok_set_err(err, errlen, "tokenizer_config.json: chat_template list items need string \"name\" and \"template\"");
                    goto done;
                }
                if (push_pair(&t->tpl_names, &t->tpl_vals, &t->n_tpl, name, nn, s, n)) goto oom;
            }
        } else if (vr_jcur_type(v) != VR_JSON_NULL) {
            vr_tok_set_err(err, errlen, "tokenizer_config.json: chat_template must be a string or a list");
            goto done;
        }
    }
    rc = 0;
    goto done;
oom:
    vr_tok_set_err(err, errlen, "out of memory");
done:
    vr_jcur_free(doc);
    free(buf);
    return rc;
}
