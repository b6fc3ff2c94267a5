/* json_scan.c — incremental JSON validator (see json_scan.h). */
#include "json_scan.h"

#include <stddef.h>
#include <string.h>

enum {
  S_START,        /* before the top-level '{' or '[' */
  S_VALUE,        /* a value is required (after ':' or ',' in a list) */
  S_VALUE_OR_END, /* after '[': a value or ']' */
  S_KEY_OR_END,   /* after '{': a key or '}' */
  S_KEY,          /* after ',' in an object: a key */
  S_COLON,        /* after a key */
  S_AFTER,        /* after a value inside a container: ',' or close */
  S_STR, S_ESC, S_UHEX,
  S_LIT,          /* inside true / false / null; sub = index, lit below */
  S_NUM_MINUS,    /* after '-': a digit is required */
  S_NUM_ZERO,     /* after a leading 0 */
  S_NUM_INT,      /* in integer digits */
  S_NUM_DOT,      /* after '.': a digit is required */
  S_NUM_FRAC,
  S_NUM_E,        /* after e/E: sign or digit */
  S_NUM_ESIGN,    /* after the exponent sign: a digit is required */
  S_NUM_EXP,
  S_DONE
};

/* The literal being matched is kept as an index into this table. */
static const char *const literals[3] = {"true", "false", "null"};

void vr_json_scan_init(vr_json_scan *j, int allow_raw_ctrl) {
  memset(j, 0, sizeof *j);
  j->allow_raw_ctrl = allow_raw_ctrl;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A value just ended: continue in the enclosing container. */
static void value_ended(vr_json_scan *j) { j->state = S_AFTER; }

static vr_json_ev open_container(vr_json_scan *j, unsigned char c) {
  if (j->depth >= VR_JSON_MAX_DEPTH) return VR_J_ERR;
  j->stack[j->depth++] = c;
  j->state = c == '{' ? S_KEY_OR_END : S_VALUE_OR_END;
  return VR_J_VALUE;
}

static vr_json_ev close_container(vr_json_scan *j, unsigned char c) {
  if (j->depth == 0) return VR_J_ERR;
  unsigned char open = j->stack[j->depth - 1];
  if ((c == '}' && open != '{') || (c == ']' && open != '[')) return VR_J_ERR;
  j->depth--;
  if (j->depth == 0) {
    j->state = S_DONE;
    j->done = 1;
    return VR_J_DONE;
  }
  value_ended(j);
  return VR_J_CLOSE;
}

static vr_json_ev start_value(vr_json_scan *j, unsigned char c) {
  switch (c) {
  case '{': case '[': return open_container(j, c);
  case '"': j->state = S_STR; j->in_key = 0; return VR_J_STR_OPEN;
  case 't': j->sub = 1; j->state = S_LIT; j->lit = 0; return VR_J_VALUE;
  case 'f': j->sub = 1; j->state = S_LIT; j->lit = 1; return VR_J_VALUE;
  case 'n': j->sub = 1; j->state = S_LIT; j->lit = 2; return VR_J_VALUE;
  case '-': j->state = S_NUM_MINUS; return VR_J_VALUE;
  case '0': j->state = S_NUM_ZERO; return VR_J_VALUE;
  default:
    if (c >= '1' && c <= '9') { j->state = S_NUM_INT; return VR_J_VALUE; }
    return VR_J_ERR;
  }
}

/* A number is only known to end at the byte after it; that byte is then
 * handled as whatever follows a value. */
static vr_json_ev after_value(vr_json_scan *j, unsigned char c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return VR_J_OTHER;
  if (c == ',') {
    j->state = j->stack[j->depth - 1] == '{' ? S_KEY : S_VALUE;
    return VR_J_OTHER;
  }
  if (c == '}' || c == ']') return close_container(j, c);
  return VR_J_ERR;
}

static vr_json_ev end_number(vr_json_scan *j, unsigned char c) {
  value_ended(j);
  return after_value(j, c);
}

vr_json_ev vr_json_scan_byte(vr_json_scan *j, unsigned char c) {
  int ws = c == ' ' || c == '\t' || c == '\n' || c == '\r';
  switch (j->state) {
  case S_START:
    if (ws) return VR_J_OTHER;
    if (c == '{' || c == '[') return open_container(j, c);
    return VR_J_ERR;
  case S_VALUE:
    if (ws) return VR_J_OTHER;
    return start_value(j, c);
  case S_VALUE_OR_END:
    if (ws) return VR_J_OTHER;
    if (c == ']') return close_container(j, c);
    return start_value(j, c);
  case S_KEY_OR_END:
    if (ws) return VR_J_OTHER;
    if (c == '}') return close_container(j, c);
    if (c != '"') return VR_J_ERR;
    j->state = S_STR; j->in_key = 1;
    return VR_J_STR_OPEN;
  case S_KEY:
    if (ws) return VR_J_OTHER;
    if (c != '"') return VR_J_ERR;
    j->state = S_STR; j->in_key = 1;
    return VR_J_STR_OPEN;
  case S_COLON:
    if (ws) return VR_J_OTHER;
    if (c != ':') return VR_J_ERR;
    j->state = S_VALUE;
    return VR_J_OTHER;
  case S_AFTER:
    return after_value(j, c);
  case S_STR:
    if (c == '"') {
      j->state = j->in_key ? S_COLON : S_AFTER;
      return VR_J_STR_CLOSE;
    }
    if (c == '\\') j->state = S_ESC;
    else if (c < 0x20) return j->allow_raw_ctrl ? VR_J_STR_CTRL : VR_J_ERR; /* not JSON */
    return VR_J_STR_BYTE;
  case S_ESC:
    if (c == 'u') { j->state = S_UHEX; j->sub = 0; return VR_J_STR_BYTE; }
    if (!strchr("\"\\/bfnrt", c) || c == 0) return VR_J_ERR;
    j->state = S_STR;
    return VR_J_STR_BYTE;
  case S_UHEX:
    if (!is_hex(c)) return VR_J_ERR;
    if (++j->sub == 4) j->state = S_STR;
    return VR_J_STR_BYTE;
  case S_LIT: {
    const char *lit = literals[j->lit];
    if ((unsigned char)lit[j->sub] != c) return VR_J_ERR;
    if (lit[++j->sub] == '\0') value_ended(j);
    return VR_J_OTHER;
  }
  case S_NUM_MINUS:
    if (c == '0') { j->state = S_NUM_ZERO; return VR_J_OTHER; }
    if (is_digit(c)) { j->state = S_NUM_INT; return VR_J_OTHER; }
    return VR_J_ERR;
  case S_NUM_ZERO:
    if (c == '.') { j->state = S_NUM_DOT; return VR_J_OTHER; }
    if (c == 'e' || c == 'E') { j->state = S_NUM_E; return VR_J_OTHER; }
    if (is_digit(c)) return VR_J_ERR; /* no leading zeros */
    return end_number(j, c);
  case S_NUM_INT:
    if (is_digit(c)) return VR_J_OTHER;
    if (c == '.') { j->state = S_NUM_DOT; return VR_J_OTHER; }
    if (c == 'e' || c == 'E') { j->state = S_NUM_E; return VR_J_OTHER; }
    return end_number(j, c);
  case S_NUM_DOT:
    if (is_digit(c)) { j->state = S_NUM_FRAC; return VR_J_OTHER; }
    return VR_J_ERR;
  case S_NUM_FRAC:
    if (is_digit(c)) return VR_J_OTHER;
    if (c == 'e' || c == 'E') { j->state = S_NUM_E; return VR_J_OTHER; }
    return end_number(j, c);
  case S_NUM_E:
    if (c == '+' || c == '-') { j->state = S_NUM_ESIGN; return VR_J_OTHER; }
    if (is_digit(c)) { j->state = S_NUM_EXP; return VR_J_OTHER; }
    return VR_J_ERR;
  case S_NUM_ESIGN:
    if (is_digit(c)) { j->state = S_NUM_EXP; return VR_J_OTHER; }
    return VR_J_ERR;
  case S_NUM_EXP:
    if (is_digit(c)) return VR_J_OTHER;
    return end_number(j, c);
  default:
    return VR_J_ERR; /* S_DONE: nothing may follow */
  }
}

static int hex_val(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_u16(const char *s, size_t n, size_t i, unsigned *out) {
  if (i + 4 > n) return -1;
  unsigned v = 0;
  for (size_t k = 0; k < 4; k++) {
    int h = hex_val((unsigned char)s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + (unsigned)h;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Each escape is at least as long as its UTF-8 (\uXXXX: 6 bytes -> at most
 * 3; a surrogate pair: 12 -> 4), so out never needs more than n + 1 bytes. */
int vr_json_unescape(const char *s, size_t n, char *out, size_t *out_len) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c != '\\') { out[o++] = c; continue; }
    if (++i >= n) return -1;
    switch (s[i]) {
    case '"': out[o++] = '"'; break;
    case '\\': out[o++] = '\\'; break;
    case '/': out[o++] = '/'; break;
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 't': out[o++] = '\t'; break;
    case 'u': {
      unsigned cp;
      if (read_u16(s, n, i + 1, &cp)) return -1;
      i += 4;
      if (cp >= 0xD800 && cp < 0xDC00) { /* high surrogate: needs its pair */
        unsigned lo;
        if (i + 2 < n && s[i + 1] == '\\' && s[i + 2] == 'u' && !read_u16(s, n, i + 3, &lo) &&
            lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        } else {
          cp = 0xFFFD;
        }
      } else if (cp >= 0xDC00 && cp < 0xE000) {
        cp = 0xFFFD;
      }
      o += put_utf8(out + o, cp);
      break;
    }
    default: return -1;
    }
  }
  out[o] = '\0';
  *out_len = o;
  return 0;
}
