/* engine/stop.h — private: stop strings over a growing output text.
 *
 * The engine appends each token's text to the sequence's output text, asks
 * whether a stop string now occurs (only matches that end in the new text
 * are possible), and otherwise how much of the text is safe to emit: a tail
 * that is still a prefix of some stop string is held back until the next
 * token shows whether it completes one.
 */
#ifndef VR_ENGINE_STOP_H
#define VR_ENGINE_STOP_H

#include <stddef.h>

typedef struct vr_stop_strings {
    char **s;
    size_t *len;
    int n;
    size_t max_len;
} vr_stop_strings;

/* Copies the strings; empty strings are rejected by the caller's validation
 * and skipped here. Returns 0 or -1 (out of memory). */
int vr_stop_init(vr_stop_strings *st, const char *const *strs, int n);
void vr_stop_free(vr_stop_strings *st);

/* Earliest occurrence of any stop string in text[0..len) that ends after
 * old_len (the length before the latest append). Returns the index of the
 * string (ties at the same position: the longest) and its start in *pos, or
 * -1 when none. */
int vr_stop_find(const vr_stop_strings *st, const char *text, size_t len, size_t old_len,
                 size_t *pos);

/* Length of the longest proper suffix of text[0..len) that is a prefix of
 * some stop string: the part to hold back. */
size_t vr_stop_holdback(const vr_stop_strings *st, const char *text, size_t len);

#endif
