/* benchmarks/serve/sse.c — see sse.h. */
#include "benchmarks/serve/sse.h"

#include <stdlib.h>
#include <string.h>

void vr_sse_init(vr_sse *s, size_t max_event, vr_sse_event_cb cb, void *user) {
    memset(s, 0, sizeof *s);
    s->max_event = max_event;
    s->cb = cb;
    s->user = user;
}

void vr_sse_reset(vr_sse *s) {
    s->line_len = s->data_len = 0;
    s->has_data = s->last_cr = 0;
}

void vr_sse_free(vr_sse *s) {
    free(s->line);
    free(s->data);
    s->line = s->data = NULL;
    s->line_cap = s->data_cap = 0;
    vr_sse_reset(s);
}

static int grow(char **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    char *q = realloc(*p, c);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* One complete line (without its break). */
static int end_line(vr_sse *s) {
    const char *l = s->line;
    size_t n = s->line_len;
    s->line_len = 0;
    if (n == 0) { /* blank line: dispatch */
        if (!s->has_data) return 0;
        s->has_data = 0;
        size_t dl = s->data_len;
        s->data_len = 0;
        if (grow(&s->data, &s->data_cap, dl + 1)) return -1;
        s->data[dl] = 0;
        return s->cb(s->user, s->data, dl);
    }
    if (l[0] == ':') return 0; /* comment */
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    if (fl != 4 || memcmp(l, "data", 4)) return 0; /* event:, id:, retry: do not matter here */
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = (size_t)(l + n - v);
    if (vl && *v == ' ') { v++; vl--; }
    size_t need = s->data_len + (s->has_data ? 1 : 0) + vl + 1;
    if (need > s->max_event || grow(&s->data, &s->data_cap, need)) return -1;
    if (s->has_data) s->data[s->data_len++] = '\n';
    memcpy(s->data + s->data_len, v, vl);
    s->data_len += vl;
    s->has_data = 1;
    return 0;
}

int vr_sse_feed(vr_sse *s, const char *buf, size_t len) {
    size_t i = 0;
    while (i < len) {
        char c = buf[i];
        if (s->last_cr && c == '\n') { s->last_cr = 0; i++; continue; }
        s->last_cr = 0;
        if (c == '\n' || c == '\r') {
            s->last_cr = c == '\r';
            i++;
            int rc = end_line(s);
            if (rc) return rc;
            continue;
        }
        /* copy a run of ordinary bytes at once */
        size_t j = i;
        while (j < len && buf[j] != '\n' && buf[j] != '\r') j++;
        size_t run = j - i;
        if (s->line_len + run > s->max_event || grow(&s->line, &s->line_cap, s->line_len + run + 1)) return -1;
        memcpy(s->line + s->line_len, buf + i, run);
        s->line_len += run;
        i = j;
    }
    return 0;
}
