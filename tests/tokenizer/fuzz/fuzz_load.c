/* libFuzzer target: arbitrary bytes as tokenizer.json. Loading must fail
 * cleanly or give a tokenizer that encodes and decodes without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vr_tokenizer *t;
    char err[256];
    if (vr_tokenizer_load_json((const char *)data, size, NULL, 0, &t, err, sizeof err)) {
        if (!err[0]) __builtin_trap(); /* a failure must say why */
        return 0;
    }
    static const char text[] = "Hello <s> world\xe4\xb8\xad 12345 \xf0\x9f\xa4\x97 x";
    int32_t *ids;
    size_t n;
    for (int special = 0; special < 2; special++) {
        if (vr_tokenizer_encode(t, text, sizeof text - 1, special, &ids, &n, err, sizeof err)) continue;
        char *out;
        size_t len;
        if (!vr_tokenizer_decode(t, ids, n, special, &out, &len, err, sizeof err)) free(out);
        free(ids);
    }
    vr_tokenizer_free(t);
    return 0;
}
