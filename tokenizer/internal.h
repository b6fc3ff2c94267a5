/* tokenizer/internal.h — private types shared by the tokenizer's files.
 *
 * Pipeline of one encode (mirrors Hugging Face tokenizers):
 *   raw text -> split on non-normalized added tokens -> normalize each
 *   remaining segment -> split on normalized added tokens -> pre-tokenize
 *   into pieces -> model (BPE / WordPiece) per piece -> post-process.
 * Decode runs the decoder chain as a stream (decoder.c); full decode and the
 * streaming detokenizer are the same code, so they agree by construction. */
#ifndef VR_TOK_INTERNAL_H
#define VR_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

/* ---- small containers (util.c) ---- */
typedef struct { char *p; size_t n, cap; } vr_buf;
int vr_tok_buf_put(vr_buf *b, const void *s, size_t n); /* 0 ok, -1 out of memory */
int vr_tok_buf_putc(vr_buf *b, char c);
void vr_tok_buf_free(vr_buf *b);

typedef struct { int32_t *p; size_t n, cap; } vr_ids;
int vr_tok_ids_push(vr_ids *v, int32_t id);
int vr_tok_ids_append(vr_ids *v, const int32_t *ids, size_t n);

/* Chunked arena: pointers stay valid until vr_tok_arena_free. */
typedef struct vr_arena_block vr_arena_block;
typedef struct { vr_arena_block *head; } vr_arena;
char *vr_tok_arena_alloc(vr_arena *a, size_t n);
void vr_tok_arena_free(vr_arena *a);

void vr_tok_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t vr_tok_hash_bytes(const void *p, size_t n);
void *vr_tok_big_alloc(size_t n); /* free() it */

/* ---- UTF-8 and character classes (utf8.c) ---- */
/* Length of the valid UTF-8 prefix of s[0..n) (== n when all valid). */
size_t vr_tok_utf8_valid_prefix(const char *s, size_t n);
/* Decode one code point of valid UTF-8; *adv gets its length. */
uint32_t vr_tok_utf8_next(const char *s, size_t n, size_t *adv);
size_t vr_tok_utf8_put(uint32_t cp, char out[4]);
/* Length of a complete-so-far sequence that is a valid prefix of a UTF-8
 * character at the end of s (0..3): bytes a stream must hold back. */
size_t vr_tok_utf8_incomplete_tail(const char *s, size_t n);
/* Append s to out, replacing each maximal invalid subpart with U+FFFD
 * (Rust's String::from_utf8_lossy). */
int vr_tok_utf8_lossy(vr_buf *out, const char *s, size_t n);
int vr_tok_is_whitespace(uint32_t cp);   /* Rust char::is_whitespace */
int vr_tok_is_alnum(uint32_t cp);        /* letters and numbers */
int vr_tok_is_numeric(uint32_t cp);      /* Rust char::is_numeric (N*) */
int vr_tok_is_bert_punct(uint32_t cp);   /* ASCII punctuation or Unicode P* */
int vr_tok_is_control(uint32_t cp);      /* BERT: Cc/Cf/Cn/Co except \t \n \r */
int vr_tok_is_cjk(uint32_t cp);

/* ---- hash maps (maps.c) ---- */
/* The string map stores only (hash, key offset) per slot (8 bytes, so big
 * vocabs stay cache-friendly). Keys live in the caller's arena as records
 * {uint32 len; int32 val; bytes; NUL} (vr_strrec), so checking a candidate
 * touches one cache line, not a pointer table and then the string. */
typedef struct { uint32_t len; int32_t val; char bytes[]; } vr_strrec;
typedef struct { uint32_t hash; uint32_t off; } vr_strslot;
typedef struct {
    vr_strslot *slots;
    size_t mask, count;
    const char *arena; /* records, 8-byte aligned; offsets are in units of 8 bytes */
} vr_strmap;
int vr_tok_strmap_init(vr_strmap *m, size_t expected, const char *arena);
/* Adds the record at byte offset `off` of the arena: 0 added, 1 key already present, -1 out of memory. */
int vr_tok_strmap_put(vr_strmap *m, size_t off);
int vr_tok_strmap_put_h(vr_strmap *m, size_t off, uint32_t h); /* h: vr_tok_strmap_hash of the key */
int32_t vr_tok_strmap_get(const vr_strmap *m, const char *key, size_t len); /* -1 if absent */
/* Split lookups for loading many keys at once: hash, prefetch the slot,
 * then prefetch the candidate key, then look up (memory-level parallelism). */
uint32_t vr_tok_strmap_hash(const char *key, size_t len);
void vr_tok_strmap_prefetch(const vr_strmap *m, uint32_t h);
void vr_tok_strmap_prefetch_key(const vr_strmap *m, uint32_t h);
int32_t vr_tok_strmap_get_h(const vr_strmap *m, uint32_t h, const char *key, size_t len);
void vr_tok_strmap_free(vr_strmap *m);

typedef struct { uint64_t key; int32_t rank, id; } vr_pairslot;
typedef struct { vr_pairslot *slots; size_t mask, count; } vr_pairmap;
int vr_tok_pairmap_init(vr_pairmap *m, size_t expected);
int vr_tok_pairmap_put(vr_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id); /* 1 if existed (overwritten) */
const vr_pairslot *vr_tok_pairmap_get(const vr_pairmap *m, int32_t a, int32_t b);
void vr_tok_pairmap_prefetch(const vr_pairmap *m, int32_t a, int32_t b);
void vr_tok_pairmap_free(vr_pairmap *m);

/* ---- regex (regex.c) ---- */
typedef struct { pcre2_code *code; } vr_regex;
int vr_tok_regex_compile(vr_regex *r, const char *pat, size_t n, char *err, size_t errlen);
/* Next match at or after start: 1 with [*ms, *me), 0 none, -1 error. */
int vr_tok_regex_find(const vr_regex *r, pcre2_match_data *md, const char *s, size_t n, size_t start,
                  size_t *ms, size_t *me);
void vr_tok_regex_free(vr_regex *r);

/* ---- patterns and splitting (split.c) ---- */
enum { PAT_STRING, PAT_REGEX, PAT_WHITESPACE, PAT_BERT_PUNCT, PAT_NUMERIC, PAT_CHAR };
typedef struct {
    int kind;
    char *str; size_t str_len; /* PAT_STRING */
    vr_regex re;               /* PAT_REGEX */
    uint32_t ch;               /* PAT_CHAR */
} vr_pattern;
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };

/* A piece of text during pre-tokenization. `first` marks a piece starting
 * at offset 0 of the original input (Metaspace prepend_scheme "first"). */
typedef struct { const char *s; size_t n; int first; } vr_piece;
typedef struct { vr_piece *p; size_t n, cap; } vr_pieces;
int vr_tok_pieces_push(vr_pieces *v, const char *s, size_t n, int first);

/* Per-call scratch: nothing here is shared between threads. */
typedef struct {
    pcre2_match_data *md;
    vr_arena arena;
    vr_buf tmp;
} vr_scratch;

/* Split one piece by pattern with HF's behaviours; appends non-empty pieces to out. */
int vr_tok_split_piece(const vr_pattern *pat, int behavior, int invert, const vr_piece *in,
                   vr_scratch *sc, vr_pieces *out);
void vr_tok_pattern_free(vr_pattern *p);

/* ---- normalizers (normalizer.c) ---- */
enum { NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWERCASE, NORM_STRIP, NORM_PREPEND,
       NORM_REPLACE, NORM_BERT, NORM_STRIP_ACCENTS, NORM_SEQUENCE };
typedef struct vr_normalizer {
    int type;
    int left, right;                    /* Strip */
    char *text; size_t text_len;        /* Prepend: prefix; Replace: content */
    vr_pattern pat;                     /* Replace */
    int clean_text, chinese, strip_accents, lowercase; /* Bert */
    struct vr_normalizer *subs; size_t n_subs;         /* Sequence */
} vr_normalizer;
/* Normalizes s into out (out is reset first). */
int vr_tok_normalize(const vr_normalizer *nz, const char *s, size_t n, vr_scratch *sc, vr_buf *out);
void vr_tok_normalizer_free(vr_normalizer *nz);

/* ---- pre-tokenizers (pretokenizer.c) ---- */
enum { PRE_SPLIT, PRE_BYTELEVEL, PRE_METASPACE, PRE_WHITESPACE, PRE_WHITESPACE_SPLIT, PRE_BERT,
       PRE_PUNCT, PRE_DIGITS, PRE_CHAR_DELIM, PRE_SEQUENCE };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
typedef struct vr_pretok {
    int type;
    vr_pattern pat; int behavior, invert;   /* Split, Whitespace, Punctuation, ... */
    int add_prefix_space, use_regex;        /* ByteLevel */
    char rep[8]; size_t rep_len; int prepend_scheme, split; /* Metaspace */
    struct vr_pretok *subs; size_t n_subs;  /* Sequence */
} vr_pretok;
int vr_tok_pretokenize(const vr_pretok *pt, vr_pieces *pieces, vr_scratch *sc);
void vr_tok_pretok_free(vr_pretok *pt);
/* The byte <-> char mapping of byte-level BPE (GPT-2's bytes_to_unicode). */
uint32_t vr_tok_bytelevel_char(unsigned byte);
int vr_tok_bytelevel_byte(uint32_t cp); /* byte for a byte-level char, -1 if none */

/* ---- models (bpe.c, wordpiece.c) ---- */
enum { MODEL_BPE, MODEL_WORDPIECE, MODEL_WORDLEVEL };
typedef struct vr_cache vr_cache;
typedef struct {
    int type;
    size_t n_ids;          /* max model id + 1 */
    char **tok;            /* id -> token (NULL for gaps), strings in `arena` */
    uint32_t *tok_len;
    char *arena;
    vr_strmap vocab;
    int32_t unk_id;        /* -1 none */
    /* BPE */
    vr_pairmap merges;
    int fuse_unk, byte_fallback, ignore_merges;
    char *prefix; size_t prefix_len; /* continuing_subword_prefix (WordPiece: its prefix) */
    char *suffix; size_t suffix_len; /* end_of_word_suffix */
    int32_t byte_tok[256];           /* id of "<0xXX>" or -1 */
    size_t max_chars;                /* WordPiece max_input_chars_per_word */
    vr_cache *cache;
    /* SentencePiece-style words (whole sentences joined by U+2581) may be
     * cut before a U+2581 whose preceding character c is not U+2581 and not
     * in no_cut[]: no merge result contains "c" + U+2581 then, so no merge
     * crosses the cut and each part can be merged (and cached) alone. */
    int sp_split;
    uint32_t *no_cut; size_t n_no_cut; /* sorted */
} vr_tok_model;
/* Loading: every merge result goes through note_marks (collects no_cut);
 * then prepare_split decides sp_split. merges_touch_special: some merge has
 * a byte-fallback or unk symbol as a part (their text is not the input's). */
int vr_tok_bpe_note_marks(vr_tok_model *m, const char *s, size_t len);
int vr_tok_bpe_prepare_split(vr_tok_model *m, int merges_touch_special);
int vr_tok_bpe_tokenize(const vr_tok_model *m, const char *s, size_t n, vr_ids *out);
int vr_tok_wordpiece_tokenize(const vr_tok_model *m, const char *s, size_t n, vr_ids *out);
vr_cache *vr_tok_cache_create(void);
void vr_tok_cache_free(vr_cache *c);
void vr_tok_model_free(vr_tok_model *m);

/* ---- added tokens (added.c) ---- */
typedef struct {
    char *content; size_t len;
    int32_t id;
    int special, lstrip, rstrip, single_word, normalized;
} vr_added;
typedef struct vr_trie vr_trie;
/* One match: the token and the span it consumes (after lstrip/rstrip). */
typedef struct { size_t start, end; int32_t id; } vr_added_match;
vr_trie *vr_tok_trie_build(const vr_added *toks, size_t n, int normalized, const char *const *patterns,
                       const size_t *pattern_lens);
/* Finds matches in s like HF's AddedVocabulary::find_matches. */
int vr_tok_trie_find(const vr_trie *t, const vr_added *toks, const char *s, size_t n,
                 vr_added_match **out, size_t *n_out);
void vr_tok_trie_free(vr_trie *t);

/* ---- post-processors (postprocessor.c) ---- */
enum { POST_TEMPLATE, POST_BERT, POST_NOOP, POST_SEQUENCE };
typedef struct { int is_seq; int32_t *ids; size_t n_ids; } vr_tpl_item;
typedef struct vr_postproc {
    int type;
    vr_tpl_item *items; size_t n_items;      /* Template single */
    int32_t cls, sep;                        /* Bert / Roberta */
    struct vr_postproc *subs; size_t n_subs; /* Sequence */
} vr_postproc;
int vr_tok_postprocess(const vr_postproc *pp, const int32_t *ids, size_t n, vr_ids *out);
void vr_tok_postproc_free(vr_postproc *pp);

/* ---- decoders (decoder.c): a flat list of stages ---- */
enum { DEC_BYTELEVEL, DEC_METASPACE, DEC_BYTEFALLBACK, DEC_FUSE, DEC_STRIP, DEC_REPLACE,
       DEC_WORDPIECE, DEC_BPE_SUFFIX };
typedef struct {
    int type;
    vr_pattern pat; char *text; size_t text_len; /* Replace (content); WordPiece/BPE: prefix/suffix */
    uint32_t ch; size_t start, stop;             /* Strip: content char; Metaspace: replacement */
    int prepend, cleanup;                        /* Metaspace prepend_scheme != never; WordPiece */
    int stream_in;                               /* input is one fused stream, not tokens */
} vr_decstage;

/* ---- the tokenizer ---- */
struct vr_tokenizer {
    vr_tok_model model;
    vr_added *added; size_t n_added;
    vr_trie *trie_raw, *trie_norm;
    int has_normalizer, has_pretok, has_post;
    vr_normalizer normalizer;
    vr_pretok pretok;
    vr_postproc post;
    vr_decstage *dec; size_t n_dec; int has_decoder;
    /* id -> token string for all ids (added tokens override the model's) */
    size_t vocab_size;
    const char **id_tok; uint32_t *id_len; unsigned char *id_special;
    /* tokenizer_config.json */
    char **cfg_keys, **cfg_vals; size_t n_cfg;       /* special token names */
    char **tpl_names, **tpl_vals; size_t n_tpl;      /* chat templates */
};

/* padded: json has vr_jcur_padding() readable bytes after len (no copy needed). */
int vr_tok_load_tokenizer_json(vr_tokenizer *t, const char *json, size_t len, int padded, char *err, size_t errlen);
int vr_tok_load_config_json(vr_tokenizer *t, const char *json, size_t len, char *err, size_t errlen);

#endif
