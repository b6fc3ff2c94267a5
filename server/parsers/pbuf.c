/* pbuf.c — growable byte buffer and small text helpers. */
#include "pbuf.h"

#include <stdlib.h>
#include <string.h>

int vr_pbuf_append(vr_pbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

int vr_pbuf_putc(vr_pbuf *b, char c) { return vr_pbuf_append(b, &c, 1); }

void vr_pbuf_drop_front(vr_pbuf *b, size_t n) {
  if (n >= b->len) {
    vr_pbuf_clear(b);
    return;
  }
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
  b->p[b->len] = '\0';
}

void vr_pbuf_clear(vr_pbuf *b) {
  b->len = 0;
  if (b->p) b->p[0] = '\0';
}

void vr_pbuf_free(vr_pbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

int vr_marker_at(const char *s, size_t n, const char *m) {
  size_t ml = strlen(m);
  size_t k = n < ml ? n : ml;
  if (memcmp(s, m, k) != 0) return -1;
  return n >= ml ? 1 : 0;
}

size_t vr_utf8_complete_len(const char *s, size_t n) {
  /* Look back at most 3 bytes for a lead byte whose sequence is cut off. */
  size_t back = n < 3 ? n : 3;
  for (size_t i = 1; i <= back; i++) {
    unsigned char c = (unsigned char)s[n - i];
    if ((c & 0xC0) == 0x80) continue; /* continuation: keep looking */
    size_t need = (c >= 0xF0 && c <= 0xF4) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC2 && c < 0xE0) ? 2 : 1;
    if (c >= 0xF5) need = 1;
    return need > i ? n - i : n;
  }
  return n;
}
