/* tests/scripted/scripts.h — scripted model outputs for end-to-end tests.
 *
 * A scripts file is a JSON array of {"match": TEXT, "output": TEXT}. A
 * request whose prompt text contains `match` (the first script that
 * matches wins) generates exactly `output`, tokenized with the model's
 * tokenizer, then EOS. Other requests are left alone.
 *
 * The prompt text is the prompt ids decoded with special tokens kept, so a
 * match may name template markers ("<tool_response>") as well as words.
 * Matching on text (not on the ids of a tokenized `match`) is deliberate:
 * a substring tokenizes differently next to other text, its ids would
 * not be found.
 *
 * This is test-only code: it is linked into the `vireo_scripted` test
 * executable, never into `vireo`. */
#ifndef VR_TEST_SCRIPTS_H
#define VR_TEST_SCRIPTS_H

#include <stddef.h>
#include <stdint.h>

struct vr_tokenizer;

#define VR_SCRIPTS_MAX 256          /* scripts per file */
#define VR_SCRIPTS_MAX_FILE (4 << 20) /* bytes */
#define VR_SCRIPTS_CACHE 64         /* recent prompts remembered */

typedef struct vr_script {
    char *match;
    size_t match_len;
    char *output;
    size_t output_len;
    int32_t *ids; /* output tokenized (vr_scripts_tokenize) */
    size_t n_ids;
} vr_script;

typedef struct vr_scripts {
    vr_script *s;
    int n;
    /* prompt -> script choices, so a prompt is decoded once, not per token;
     * a ring keyed by a hash of the prompt ids */
    struct {
        uint64_t hash;
        int n_prompt;
        int script; /* -1: no script matches */
        int used;
    } cache[VR_SCRIPTS_CACHE];
    int cache_next;
} vr_scripts;

/* Read and validate the file; on error a message naming the file and the
 * bad entry ("scripts.json: [2].match must be a non-empty string"). */
int vr_scripts_load(const char *path, vr_scripts *out, char *err, size_t errlen);
/* Tokenize every output; fails on ids outside [0, vocab_size). */
int vr_scripts_tokenize(vr_scripts *sc, const struct vr_tokenizer *tok, int vocab_size, char *err,
                        size_t errlen);
/* The script for a prompt, or NULL. */
const vr_script *vr_scripts_find(vr_scripts *sc, const struct vr_tokenizer *tok, const int32_t *prompt,
                                 int n_prompt);
void vr_scripts_free(vr_scripts *sc);

#endif
