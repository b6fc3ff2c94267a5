/* server/auth.c — API key check (Bearer), in constant time. */
#include <string.h>
#include <strings.h>

#include "server/server_impl.h"

/* Compares every byte of the longer of the two whatever the content, so the
 * time taken tells nothing about where a guess first differs. */
static int ct_equal(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen > blen ? alen : blen;
    unsigned diff = (unsigned)(alen ^ blen);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

int vr_auth_ok(const vr_server *s, const vr_http_req *r) {
    if (s->opt.n_api_keys == 0) return 1;
    const char *h = vr_http_header_get(r, "authorization");
    if (!h) return 0;
    while (*h == ' ') h++;
    if (strncasecmp(h, "bearer ", 7)) return 0;
    h += 7;
    while (*h == ' ') h++;
    size_t len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t')) len--;
    int ok = 0;
    for (int i = 0; i < s->opt.n_api_keys; i++) /* no early exit: time is independent of which key */
        ok |= ct_equal(h, len, s->opt.api_keys[i], strlen(s->opt.api_keys[i]));
    return ok;
}
