/* json_scan.h — incremental JSON validator, one byte at a time.
 *
 * Recognises exactly one JSON object or array (RFC 8259 grammar, depth
 * bounded) and tells the caller, per byte, what that byte was, so callers
 * can pick out the fields they need (a call's "name", the span of its
 * "arguments") while the text is still arriving. Private to parsers/.
 */
#ifndef VR_PARSERS_JSON_SCAN_H
#define VR_PARSERS_JSON_SCAN_H

#include <stddef.h>

#define VR_JSON_MAX_DEPTH 64

typedef enum {
  VR_J_ERR = -1,   /* the byte cannot continue valid JSON (not consumed) */
  VR_J_OTHER = 0,  /* whitespace, punctuation, literal or number bytes */
  VR_J_VALUE,      /* first byte of a non-string value (incl. '{' and '[') */
  VR_J_STR_OPEN,   /* opening quote (of a key when in_key) */
  VR_J_STR_BYTE,   /* a byte inside a string (escapes included raw) */
  VR_J_STR_CTRL,   /* a raw control character inside a string: only with
                      allow_raw_ctrl, else it is VR_J_ERR */
  VR_J_STR_CLOSE,  /* closing quote */
  VR_J_CLOSE,      /* '}' or ']' closing a nested container */
  VR_J_DONE        /* the closing byte of the top-level container */
} vr_json_ev;

typedef struct {
  unsigned char stack[VR_JSON_MAX_DEPTH]; /* '{' or '[' per open level */
  int depth;          /* open containers */
  int state;          /* private */
  int sub;            /* private: position in literal / \u escape */
  int in_key;         /* the current string is an object key */
  int lit;            /* private: which literal */
  int allow_raw_ctrl; /* accept raw control characters in strings (models
                         write raw newlines in code); set at init */
  int done;
} vr_json_scan;

void vr_json_scan_init(vr_json_scan *j, int allow_raw_ctrl);
/* Feed one byte. A byte after DONE is an error. */
vr_json_ev vr_json_scan_byte(vr_json_scan *j, unsigned char c);

/* Decodes the body of a JSON string (between the quotes, escapes raw) into
 * UTF-8 at out (NUL-terminated; out needs n+1 bytes). -1 on a bad escape. */
int vr_json_unescape(const char *s, size_t n, char *out, size_t *out_len);

#endif
