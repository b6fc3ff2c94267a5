/* libFuzzer target: compile arbitrary bytes as a template and render it
 * with a fixed chat context under tight limits. Any crash, sanitizer
 * report or leak is a bug; errors are expected and fine.
 * Build: CC=clang cmake -DVIREO_TEMPLATE_FUZZ=ON ...; run: fuzz_template CORPUS_DIR */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "chat_templates/template.h"

static const char CONTEXT[] =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},{\"role\":\"user\",\"content\":\"hi \\u00e9\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1.5}}}]},"
    "{\"role\":\"tool\",\"content\":[{\"type\":\"text\",\"text\":\"r\"}]}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],"
    "\"add_generation_prompt\":true,\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"n\":3}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vr_template *t = NULL;
    char err[256];
    if (vr_template_compile((const char *)data, size, &t, err, sizeof err) != 0) return 0;
    vr_template_limits lim = {.max_output_bytes = 1 << 16, .max_loop_iterations = 20000, .max_recursion_depth = 32};
    char *out = NULL;
    size_t n;
    if (vr_template_render(t, CONTEXT, sizeof CONTEXT - 1, &lim, &out, &n, err, sizeof err) == 0) free(out);
    vr_template_free(t);
    return 0;
}
