/* tokenizer/regex.c — PCRE2 (UTF + Unicode properties, JIT) for the
 * patterns of tokenizer.json, which Hugging Face runs with Oniguruma. The
 * patterns real tokenizers use (\p{L}, \s+(?!\S), (?i:'s|...)) mean the
 * same in both engines; the oracle tests check it on a hard corpus. */
#include <stdio.h>

#include "internal.h"

int vr_tok_regex_compile(vr_regex *r, const char *pat, size_t n, char *err, size_t errlen) {
    int code;
    PCRE2_SIZE off;
    r->code = pcre2_compile((PCRE2_SPTR)pat, n, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
    if (!r->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        vr_tok_set_err(err, errlen, "invalid regex at offset %zu: %s", (size_t)off, (const char *)msg);
        return -1;
    }
    /* JIT is an optimization: without it (no JIT support) matching still works. */
    (void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
    return 0;
}

int vr_tok_regex_find(const vr_regex *r, pcre2_match_data *md, const char *s, size_t n, size_t start,
                  size_t *ms, size_t *me) {
    int rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, md, NULL);
    /* The JIT runs on a small fixed stack; a pattern that needs more on a
     * huge input is retried by the interpreter, which uses the heap. */
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) return -1;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

void vr_tok_regex_free(vr_regex *r) {
    pcre2_code_free(r->code);
    r->code = NULL;
}
