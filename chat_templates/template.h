/* chat_templates/template.h — the Jinja-like chat template engine.
 *
 * Renders a model's `chat_template` the way Python jinja2 does with the
 * settings Hugging Face transformers uses (ImmutableSandboxedEnvironment,
 * trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson,
 * strftime_now). Rendering is sandboxed: output size, loop iterations and
 * recursion depth are bounded, and every failure is a message (with
 * line:column where it comes from the template), never a crash.
 *
 * A compiled template is immutable: one vr_template may be rendered from
 * many threads at once.
 */
#ifndef VR_CHAT_TEMPLATES_TEMPLATE_H
#define VR_CHAT_TEMPLATES_TEMPLATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_template vr_template;

/* Compile template source (length-delimited, UTF-8). On a syntax error
 * returns nonzero and writes "line L:C: message" into err. */
int vr_template_compile(const char *src, size_t len, vr_template **out, char *err, size_t errlen);

void vr_template_free(vr_template *t);

/* Sandbox limits; a NULL pointer or a zero field means the default. Beyond
 * these, a render's memory is capped (16 x max_output_bytes + 64 MiB + 4 x
 * the context size) and its C stack use is bounded to 1 MiB, so render
 * threads need at least 2 MiB of stack. */
typedef struct vr_template_limits {
    size_t max_output_bytes;   /* default 16 MiB */
    long max_loop_iterations;  /* total over the render; default 10,000,000 */
    int max_recursion_depth;   /* macro/call nesting; default 256 */
    long max_time_ms;          /* wall-clock time of one render; default 10000 */
} vr_template_limits;

/* Render with a context given as JSON object text, e.g.
 *   {"messages":[...], "tools":[...]|null, "add_generation_prompt":true,
 *    "bos_token":"...", "eos_token":"...", ...chat_template_kwargs}
 * Keys keep their order (as Python dicts do); 1 and 1.0 stay distinct.
 * On success returns 0, *out is malloc'd and NUL-terminated (the caller
 * frees it) and *out_len its length in bytes. On failure returns nonzero,
 * *out is NULL and err holds the message; a template's
 * raise_exception(msg) yields msg itself. */
int vr_template_render(const vr_template *t, const char *context_json, size_t len,
                       const vr_template_limits *limits, char **out, size_t *out_len,
                       char *err, size_t errlen);

/* Where a model's template and special tokens come from: tokenizer_config.json
 * is read with the tokenizer (vr_tokenizer_chat_template,
 * vr_tokenizer_special_token in tokenizer/tokenizer.h). */

#ifdef __cplusplus
}
#endif

#endif
