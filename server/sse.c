/* server/sse.c — Server-Sent Events framing. A JSON payload never contains
 * a raw newline (the writer escapes them), so one `data:` line per event. */
#include "server/openai/openai.h"

void vr_sse_event(vr_sbuf *out, const char *json, size_t len) {
    vr_sb_put(out, "data: ", 6);
    vr_sb_put(out, json, len);
    vr_sb_put(out, "\n\n", 2);
}

void vr_sse_done(vr_sbuf *out) { vr_sb_puts(out, "data: [DONE]\n\n"); }
