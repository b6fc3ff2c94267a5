/* tokenizer/tokenizer.h — Hugging Face tokenizer.json, id-exact.
 *
 * The one public header of the tokenizer library. Loads a model folder's
 * tokenizer.json (+ tokenizer_config.json for special-token names and the
 * chat template) and encodes/decodes exactly as Hugging Face's Rust
 * `tokenizers` crate does: same ids, same text.
 *
 * Threading: a loaded vr_tokenizer is immutable except for an internal,
 * lock-protected cache; every function taking `const vr_tokenizer *` may be
 * called from several threads at once. A vr_detok belongs to one thread.
 *
 * Errors: functions that can fail return nonzero (or NULL) and, when `err`
 * is non-NULL, write a one-line message into err[0..errlen).
 *
 * Input text must be valid UTF-8: encode rejects invalid UTF-8 with an error
 * naming the byte offset (HF's Rust API only accepts Rust strings, which are
 * valid UTF-8 by construction, so there is no behaviour to copy).
 */
#ifndef VR_TOKENIZER_H
#define VR_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_tokenizer vr_tokenizer;

/* path: a model folder (reads tokenizer.json, and tokenizer_config.json when
 * present) or a tokenizer.json file (tokenizer_config.json beside it is read
 * too when present). */
int vr_tokenizer_load(const char *path, vr_tokenizer **out, char *err, size_t errlen);
/* Same, from an in-memory tokenizer.json (config_json may be NULL). */
int vr_tokenizer_load_json(const char *json, size_t len, const char *config_json, size_t config_len,
                           vr_tokenizer **out, char *err, size_t errlen);
void vr_tokenizer_free(vr_tokenizer *t);

/* add_special_tokens: run the post-processor (BOS/EOS, [CLS]/[SEP]).
 * *ids is malloc'd (possibly for zero ids); the caller frees it. */
int vr_tokenizer_encode(const vr_tokenizer *t, const char *text, size_t len, int add_special_tokens,
                        int32_t **ids, size_t *n_ids, char *err, size_t errlen);
/* *text is malloc'd and NUL-terminated (len excludes the NUL); the caller
 * frees it. An id outside [0, vocab_size) is an error. */
int vr_tokenizer_decode(const vr_tokenizer *t, const int32_t *ids, size_t n, int skip_special_tokens,
                        char **text, size_t *len, char *err, size_t errlen);

size_t vr_tokenizer_vocab_size(const vr_tokenizer *t); /* max id + 1, added tokens included */
const char *vr_tokenizer_id_to_token(const vr_tokenizer *t, int32_t id); /* raw token string or NULL */
int32_t vr_tokenizer_token_to_id(const vr_tokenizer *t, const char *token); /* -1 if none */
int vr_tokenizer_is_special(const vr_tokenizer *t, int32_t id);           /* added token with special:true */

/* From tokenizer_config.json: name is "bos_token", "eos_token", "pad_token",
 * "unk_token" (or any other string-or-{content} field); NULL when absent. */
const char *vr_tokenizer_special_token(const vr_tokenizer *t, const char *name);
/* Chat template from tokenizer_config.json: name NULL or "default" for the
 * default one, or a name from a list of named templates ("tool_use");
 * NULL if none. */
const char *vr_tokenizer_chat_template(const vr_tokenizer *t, const char *name);

/* The bytes one token stands for when decoded alone, before any decoder
 * step that depends on its position (byte-level tokens map back to bytes,
 * "<0xAB>" byte-fallback tokens to one byte, "▁" to a space). For logprobs
 * "bytes" fields. Writes min(cap, needed) bytes to buf, the needed length to
 * *len; returns nonzero on a bad id. */
int vr_tokenizer_token_bytes(const vr_tokenizer *t, int32_t id, char *buf, size_t cap, size_t *len);

/* Streaming detokenizer.
 *
 * Push the ids a generation produces one at a time; each push returns the
 * text that became complete (never a partial UTF-8 character: bytes of a
 * character split across byte-fallback / byte-level tokens are held until
 * the character is whole). Work per push is bounded by the token's length,
 * not by the sequence length.
 *
 * Equality contract: the concatenation of all pushes plus the final flush
 * equals vr_tokenizer_decode(all pushed ids, skip_special_tokens), including
 * position-dependent decoder steps such as removing the leading space of
 * Metaspace/SentencePiece ("▁Hello" -> "Hello" at the very start) or a
 * Strip decoder's leading characters. So a stream over a generation's OUTPUT
 * ids gives what vLLM returns for them (the output decoded on its own), not
 * a suffix of decode(prompt + output).
 *
 * Trailing parts a decoder might still strip (a Strip decoder's `stop`) are
 * held until flush. */
typedef struct vr_detok vr_detok;
vr_detok *vr_detok_create(const vr_tokenizer *t, int skip_special_tokens);
/* text valid until the next call on d; nonzero on a bad id (state unchanged). */
int vr_detok_push(vr_detok *d, int32_t id, const char **text, size_t *len);
/* End of sequence: emit what is held (invalid or incomplete bytes become
 * U+FFFD as in HF's lossy decode). d can be reused afterwards for a new
 * sequence. */
int vr_detok_flush(vr_detok *d, const char **text, size_t *len);
void vr_detok_free(vr_detok *d);

#ifdef __cplusplus
}
#endif

#endif
