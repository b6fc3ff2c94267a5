/* pbuf.h — growable byte buffer and small text helpers (private to parsers/). */
#ifndef VR_PARSERS_PBUF_H
#define VR_PARSERS_PBUF_H

#include <stddef.h>

typedef struct {
  char *p;
  size_t len, cap;
} vr_pbuf;

/* Appends and keeps a NUL after the data. 0 on success, -1 out of memory. */
int vr_pbuf_append(vr_pbuf *b, const char *s, size_t n);
int vr_pbuf_putc(vr_pbuf *b, char c);
void vr_pbuf_drop_front(vr_pbuf *b, size_t n);
void vr_pbuf_clear(vr_pbuf *b);
void vr_pbuf_free(vr_pbuf *b);

static inline int vr_is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Does marker m start at s[0..n)? 1: all of m is there; 0: s is a proper
 * prefix of m (more bytes are needed to decide); -1: no. */
int vr_marker_at(const char *s, size_t n, const char *m);

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * character, so emitted text never splits one. Invalid bytes count as whole. */
size_t vr_utf8_complete_len(const char *s, size_t n);

#endif
