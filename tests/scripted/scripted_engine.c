/* tests/scripted/scripted_engine.c — turns the `vireo` CLI into
 * `vireo_scripted`, a test server whose outputs are forced by a scripts file.
 *
 * The executable is the unchanged CLI (the server/cli sources) linked with
 * -Wl,--wrap=vr_engine_create: every engine the CLI creates (`serve`,
 * `generate`) comes through __wrap_vr_engine_create below, which loads the
 * scripts named by $VIREO_SCRIPTS and installs a logits processor (the
 * engine's public extension point, engine.h) that forces them. So the
 * production binary has no code and no flag that could force an output;
 * only this test program does.
 *
 * At generation step i of a request whose prompt matches a script (see
 * scripts.h), every logit is -inf except the script's token i; once the
 * script is exhausted, except the model's first EOS id. Sampling settings
 * then cannot change the token (penalties and temperature keep -inf at
 * -inf); only a mask that removes the forced token itself (min_tokens
 * masking EOS, allowed_token_ids without it) would leave nothing to pick. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/scripted/scripts.h"

/* One state for the process: --wrap passes no user pointer, and a CLI run
 * creates one engine. Written before the first request is submitted and
 * afterwards touched by the engine thread only (submission goes through the
 * engine's inbox lock, which orders the two). */
static struct {
    vr_scripts scripts;
    const struct vr_tokenizer *tok;
    int eos; /* -1: the model has none; then a finished script just stops forcing */
    int loaded;
} g_scripted;

static void force(float *logits, int vocab, int32_t id) {
    for (int v = 0; v < vocab; v++) logits[v] = -INFINITY;
    logits[id] = 0.0f;
}

static void scripted_processor(void *user, const vr_logits_info *info, float *logits, int vocab) {
    (void)user;
    const vr_script *s = vr_scripts_find(&g_scripted.scripts, g_scripted.tok, info->prompt, info->n_prompt);
    if (!s) return;
    size_t i = (size_t)info->n_output;
    if (i < s->n_ids) force(logits, vocab, s->ids[i]);
    else if (g_scripted.eos >= 0 && g_scripted.eos < vocab) force(logits, vocab, g_scripted.eos);
}

int __real_vr_engine_create(const vr_engine_options *o, vr_engine **out, char *err, size_t errlen);

int __wrap_vr_engine_create(const vr_engine_options *o, vr_engine **out, char *err, size_t errlen) {
    *out = NULL;
    if (g_scripted.loaded) {
        snprintf(err, errlen, "vireo_scripted: one engine per process");
        return VR_E_INVALID;
    }
    const char *path = getenv("VIREO_SCRIPTS");
    if (!path || !*path) {
        snprintf(err, errlen, "vireo_scripted: set VIREO_SCRIPTS to a scripts file "
                              "([{\"match\": TEXT, \"output\": TEXT}], see tests/scripted/README.md)");
        return VR_E_INVALID;
    }
    if (vr_scripts_load(path, &g_scripted.scripts, err, errlen)) return VR_E_INVALID;

    vr_engine_options so = *o;
    so.logits_processor = scripted_processor;
    so.logits_processor_user = NULL;
    int rc = __real_vr_engine_create(&so, out, err, errlen);
    if (rc) {
        vr_scripts_free(&g_scripted.scripts);
        return rc;
    }
    const vr_engine_info *info = vr_engine_get_info(*out);
    g_scripted.tok = vr_engine_tokenizer(*out);
    g_scripted.eos = info->n_eos > 0 ? info->eos_ids[0] : -1;
    if (!g_scripted.tok) {
        snprintf(err, errlen, "vireo_scripted: the model has no tokenizer; scripts are text");
        rc = VR_E_LOAD;
    } else if (vr_scripts_tokenize(&g_scripted.scripts, g_scripted.tok, info->vocab_size, err, errlen)) {
        rc = VR_E_INVALID;
    }
    if (rc) {
        vr_engine_destroy(*out);
        *out = NULL;
        vr_scripts_free(&g_scripted.scripts);
        return rc;
    }
    g_scripted.loaded = 1;
    fprintf(stderr, "vireo_scripted: %d script(s) from %s (test build: matching requests get forced outputs)\n",
            g_scripted.scripts.n, path);
    return VR_E_OK;
}
