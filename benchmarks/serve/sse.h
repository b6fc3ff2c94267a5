/* benchmarks/serve/sse.h — incremental Server-Sent Events reader.
 *
 * Bytes go in as the network delivers them (any split); each complete event's
 * data (multi-line data joined with '\n') comes out through a callback when
 * its terminating blank line arrives. Lines may end in \n, \r\n or \r.
 * Comment lines and fields other than data are skipped. An event larger
 * than max_event bytes is an error, so a server that never sends a blank
 * line cannot make the harness grow without bound. */
#ifndef VR_BENCH_SSE_H
#define VR_BENCH_SSE_H

#include <stddef.h>

typedef int (*vr_sse_event_cb)(void *user, const char *data, size_t len);

typedef struct vr_sse {
    char *line;        /* current line being assembled */
    size_t line_len, line_cap;
    char *data;        /* data of the current event */
    size_t data_len, data_cap;
    int has_data;
    int last_cr;       /* previous byte was '\r': a following '\n' is part of the same break */
    size_t max_event;
    vr_sse_event_cb cb;
    void *user;
} vr_sse;

void vr_sse_init(vr_sse *s, size_t max_event, vr_sse_event_cb cb, void *user);
void vr_sse_reset(vr_sse *s);  /* forget buffered bytes, keep allocations */
void vr_sse_free(vr_sse *s);
/* Feeds bytes. Returns 0, -1 when an event is too big or memory ran out,
 * or the callback's nonzero value (which stops parsing). */
int vr_sse_feed(vr_sse *s, const char *buf, size_t len);

#endif
