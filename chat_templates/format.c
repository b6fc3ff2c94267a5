/* format.c — Python's str.format() and printf-style `str % args`, for the
 * format specs templates use: fill, align, sign, zero padding, width,
 * precision and the types s d i f F e E g G x X o % r. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "chat_templates/internal.h"

typedef struct spec {
    uint32_t fill; char align; char sign; bool zero, alt, comma;
    int width, prec; char type;
} spec;

static int parse_spec(const char *p, size_t n, spec *s) {
    memset(s, 0, sizeof *s);
    s->fill = ' ';
    s->prec = -1;
    size_t i = 0;
    size_t adv = 0;
    uint32_t c0 = n ? utf8_decode(p, n, &adv) : 0;
    if (n > adv && (p[adv] == '<' || p[adv] == '>' || p[adv] == '^' || p[adv] == '=')) {
        s->fill = c0;
        s->align = p[adv];
        i = adv + 1;
    } else if (n && (p[0] == '<' || p[0] == '>' || p[0] == '^' || p[0] == '=')) {
        s->align = p[0];
        i = 1;
    }
    if (i < n && (p[i] == '+' || p[i] == '-' || p[i] == ' ')) s->sign = p[i++];
    if (i < n && p[i] == '#') { s->alt = true; i++; }
    if (i < n && p[i] == '0') { s->zero = true; i++; }
    while (i < n && p[i] >= '0' && p[i] <= '9') { s->width = s->width * 10 + (p[i] - '0'); if (s->width > 100000) return -1; i++; }
    if (i < n && (p[i] == ',' || p[i] == '_')) { s->comma = true; i++; }
    if (i < n && p[i] == '.') {
        i++;
        s->prec = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') { s->prec = s->prec * 10 + (p[i] - '0'); if (s->prec > 1000) return -1; i++; }
    }
    if (i < n) s->type = p[i++];
    return i == n ? 0 : -1;
}

static void put_padded(sbuf *b, const char *body, size_t n, const spec *s, char default_align, bool numeric) {
    int64_t len = (int64_t)utf8_len(body, n);
    char align = s->align ? s->align : (s->zero && numeric ? '=' : default_align);
    uint32_t fill = s->zero && !s->align && numeric ? '0' : s->fill;
    char fb[4];
    size_t fl = utf8_encode(fill, fb);
    int64_t padn = s->width > len ? s->width - len : 0;
    int64_t left = align == '>' ? padn : align == '^' ? padn / 2 : 0;
    if (align == '=') {
        size_t signlen = n && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
        sbuf_put(b, body, signlen);
        for (int64_t i = 0; i < padn; i++) sbuf_put(b, fb, fl);
        sbuf_put(b, body + signlen, n - signlen);
        return;
    }
    for (int64_t i = 0; i < left; i++) sbuf_put(b, fb, fl);
    sbuf_put(b, body, n);
    for (int64_t i = 0; i < padn - left; i++) sbuf_put(b, fb, fl);
}

/* insert ',' every three digits of the integer part of tmp (in place) */
static int group_thousands(char *tmp, int k) {
    int start = (tmp[0] == '-' || tmp[0] == '+' || tmp[0] == ' ') ? 1 : 0, end = start;
    while (end < k && tmp[end] >= '0' && tmp[end] <= '9') end++;
    int digits = end - start, commas = (digits - 1) / 3;
    if (commas <= 0 || k + commas >= 500) return k;
    memmove(tmp + end + commas, tmp + end, (size_t)(k - end + 1));
    int src = end - 1, dst = end + commas - 1, cnt = 0;
    while (src >= start) {
        tmp[dst--] = tmp[src--];
        if (++cnt % 3 == 0 && src >= start) tmp[dst--] = ',';
    }
    return k + commas;
}

static int format_one(rstate *st, const node *at, sbuf *b, val v, const spec *s) {
    char tmp[512];
    int k;
    char t = s->type;
    if (v.t == V_BOOL && (t == 0 || t == 's')) v = v_str(v.u.b ? "True" : "False", v.u.b ? 4 : 5);
    if (v.t == V_INT || v.t == V_BOOL) {
        int64_t x = v.t == V_INT ? v.u.i : v.u.b;
        if (t == 0 || t == 'd' || t == 'n') {
            k = snprintf(tmp, sizeof tmp, s->sign == '+' ? "%+lld" : s->sign == ' ' ? "% lld" : "%lld", (long long)x);
            if (s->comma) k = group_thousands(tmp, k);
        } else if (t == 'x' || t == 'X' || t == 'o' || t == 'b') {
            if (t == 'b') {
                char bits[80]; int nb = 0; uint64_t u = x < 0 ? (uint64_t)(-x) : (uint64_t)x;
                do { bits[nb++] = (char)('0' + (u & 1)); u >>= 1; } while (u);
                k = 0;
                if (x < 0) tmp[k++] = '-';
                while (nb) tmp[k++] = bits[--nb];
                tmp[k] = 0;
            } else {
                k = snprintf(tmp, sizeof tmp, t == 'x' ? "%s%llx" : t == 'X' ? "%s%llX" : "%s%llo", x < 0 ? "-" : "", (unsigned long long)(x < 0 ? -x : x));
            }
        } else if (strchr("fFeEgG%", t)) {
            v = v_float((double)x);
            goto flt;
        } else if (t == 'c') {
            k = (int)utf8_encode((uint32_t)x, tmp);
        } else if (t == 's') {
            return rerr(st, at, "ValueError: Unknown format code 's' for object of type 'int'");
        } else {
            return rerr(st, at, "ValueError: Unknown format code '%c' for object of type 'int'", t);
        }
        put_padded(b, tmp, (size_t)k, s, '>', true);
        return 0;
    }
    if (v.t == V_FLOAT) {
    flt:;
        double d = v.u.f;
        if (t == 0 && s->prec < 0) {
            sbuf tb;
            sbuf_init(&tb, st->a);
            if (s->sign == '+' && d >= 0) sbuf_putc(&tb, '+');
            else if (s->sign == ' ' && d >= 0) sbuf_putc(&tb, ' ');
            fmt_float(&tb, d);
            put_padded(b, tb.p, tb.n, s, '>', true);
            return 0;
        }
        int prec = s->prec < 0 ? 6 : s->prec;
        char f[32];
        const char *sg = s->sign == '+' ? "+" : s->sign == ' ' ? " " : "";
        if (t == '%') {
            snprintf(f, sizeof f, "%%%s.%df%%%%", sg, prec);
            k = snprintf(tmp, sizeof tmp, f, d * 100);
        } else {
            char ct = t == 0 ? 'g' : t;
            snprintf(f, sizeof f, "%%%s.%d%c", sg, prec, ct == 'n' ? 'g' : ct);
            k = snprintf(tmp, sizeof tmp, f, d);
        }
        if (s->comma && k > 0 && k < 400 && (t == 'f' || t == 'F' || t == '%')) k = group_thousands(tmp, k);
        if (k < 0 || k >= (int)sizeof tmp) return rerr(st, at, "format result too long");
        put_padded(b, tmp, (size_t)k, s, '>', true);
        return 0;
    }
    if (t && t != 's' && t != 'r') return rerr(st, at, "ValueError: Unknown format code '%c' for object of type '%s'", t, val_type_name(v));
    sbuf tb;
    sbuf_init(&tb, st->a);
    sbuf_put(&tb, "", 0);
    if (t == 'r') val_repr(&tb, v); else val_str(&tb, v);
    size_t n = tb.n;
    if (s->prec >= 0) n = utf8_offset(tb.p, tb.n, (size_t)s->prec);
    put_padded(b, tb.p, n, s, '<', false);
    return 0;
}

static bool all_digits(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return n > 0;
}

int str_format(rstate *st, const node *at, val fmt, val *args, int nargs,
               const char **kwn, const size_t *kwl, val *kwv, int nkw, val *out) {
    sbuf b;
    sbuf_init(&b, st->a);
    sbuf_put(&b, "", 0);
    const char *p = fmt.u.s.p;
    size_t n = fmt.u.s.n;
    int auto_idx = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '}') {
            if (i + 1 < n && p[i + 1] == '}') { sbuf_putc(&b, '}'); i++; continue; }
            return rerr(st, at, "ValueError: Single '}' encountered in format string");
        }
        if (c != '{') { sbuf_putc(&b, c); continue; }
        if (i + 1 < n && p[i + 1] == '{') { sbuf_putc(&b, '{'); i++; continue; }
        size_t j = i + 1;
        int nest = 0;
        while (j < n && (p[j] != '}' || nest)) { if (p[j] == '{') nest++; if (p[j] == '}') nest--; j++; }
        if (j >= n) return rerr(st, at, "ValueError: expected '}' before end of string");
        const char *field = p + i + 1;
        size_t fl = j - i - 1;
        /* field_name[!conv][:spec] */
        size_t name_end = 0;
        while (name_end < fl && field[name_end] != '!' && field[name_end] != ':' && field[name_end] != '.' && field[name_end] != '[') name_end++;
        val v;
        if (name_end == 0) {
            if (auto_idx >= nargs) return rerr(st, at, "IndexError: Replacement index %d out of range for positional args tuple", auto_idx);
            v = args[auto_idx++];
        } else if (all_digits(field, name_end)) {
            long idx = 0;
            for (size_t k = 0; k < name_end && idx <= nargs; k++) idx = idx * 10 + (field[k] - '0');
            if (idx >= nargs) return rerr(st, at, "IndexError: Replacement index %ld out of range for positional args tuple", idx);
            v = args[idx];
        } else {
            bool got = false;
            for (int k = 0; k < nkw; k++)
                if (kwl[k] == name_end && memcmp(kwn[k], field, name_end) == 0) { v = kwv[k]; got = true; break; }
            if (!got) return rerr(st, at, "KeyError: '%.*s'", (int)name_end, field);
        }
        size_t q = name_end;
        /* .attr and [key] lookups */
        while (q < fl && (field[q] == '.' || field[q] == '[')) {
            if (field[q] == '.') {
                size_t s0 = ++q;
                while (q < fl && field[q] != '.' && field[q] != '[' && field[q] != '!' && field[q] != ':') q++;
                if (get_attr(st, at, v, field + s0, q - s0, &v)) return -1;
            } else {
                size_t s0 = ++q;
                while (q < fl && field[q] != ']') q++;
                val key = v_str(field + s0, q - s0);
                bool digits = q > s0;
                int64_t iv = 0;
                for (size_t k = s0; k < q; k++) { if (field[k] < '0' || field[k] > '9') digits = false; else if (iv < 100000000000000000LL) iv = iv * 10 + (field[k] - '0'); }
                if (digits) key = v_int(iv);
                if (get_item(st, at, v, key, &v)) return -1;
                if (q < fl) q++;
            }
        }
        char conv = 0;
        if (q < fl && field[q] == '!') { conv = q + 1 < fl ? field[q + 1] : 0; q += 2; }
        spec s;
        if (q < fl && field[q] == ':') q++;
        else if (q < fl) return rerr(st, at, "ValueError: invalid format field");
        if (parse_spec(field + q, fl - q, &s)) return rerr(st, at, "ValueError: Invalid format specifier");
        if (v.t == V_UNDEF && (v.flags & VF_UNSAFE)) return undef_error(st, at, v);
        if (conv == 'r' || conv == 's' || conv == 'a') {
            sbuf tb;
            sbuf_init(&tb, st->a);
            sbuf_put(&tb, "", 0);
            if (conv == 's') val_str(&tb, v); else val_repr(&tb, v);
            v = v_str(tb.p, tb.n);
        }
        if (format_one(st, at, &b, v, &s)) return -1;
        i = j;
    }
    if (b.oom) return rerr_oom(st, at);
    *out = v_str(b.p, b.n);
    return 0;
}

int str_percent_format(rstate *st, const node *at, val fmt, val args, val *out) {
    val *av = &args;
    size_t an = 1, ai = 0;
    bool is_map = args.t == V_DICT;
    if (args.t == V_LIST && (args.flags & VF_TUPLE)) { av = args.u.l->v; an = args.u.l->n; }
    sbuf b;
    sbuf_init(&b, st->a);
    sbuf_put(&b, "", 0);
    const char *p = fmt.u.s.p;
    size_t n = fmt.u.s.n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') { sbuf_putc(&b, p[i]); continue; }
        if (++i >= n) return rerr(st, at, "ValueError: incomplete format");
        if (p[i] == '%') { sbuf_putc(&b, '%'); continue; }
        val v;
        if (p[i] == '(') {
            size_t s0 = ++i;
            while (i < n && p[i] != ')') i++;
            if (i >= n || !is_map) return rerr(st, at, "TypeError: format requires a mapping");
            val *got = dict_get_str(args.u.d, p + s0, i - s0);
            if (!got) return rerr(st, at, "KeyError: '%.*s'", (int)(i - s0), p + s0);
            v = *got;
            i++;
        } else {
            if (ai >= an) return rerr(st, at, "TypeError: not enough arguments for format string");
            v = av[ai++];
        }
        spec s;
        memset(&s, 0, sizeof s);
        s.fill = ' ';
        s.prec = -1;
        s.align = 0;
        while (i < n && strchr("-+ #0", p[i])) {
            if (p[i] == '-') s.align = '<';
            else if (p[i] == '+' || p[i] == ' ') s.sign = p[i];
            else if (p[i] == '0') s.zero = true;
            i++;
        }
        while (i < n && p[i] >= '0' && p[i] <= '9') { s.width = s.width * 10 + (p[i] - '0'); if (s.width > 100000) return rerr(st, at, "width too big"); i++; }
        if (i < n && p[i] == '.') { i++; s.prec = 0; while (i < n && p[i] >= '0' && p[i] <= '9') { s.prec = s.prec * 10 + (p[i] - '0'); if (s.prec > 1000) return rerr(st, at, "precision too big"); i++; } }
        if (i >= n) return rerr(st, at, "ValueError: incomplete format");
        char t = p[i];
        if (t == 's' || t == 'r' || t == 'a') {
            if (!s.align) s.align = '>'; /* printf right-aligns strings too */
            s.type = t == 's' ? 0 : 'r';
            if (t == 's') { val sv = val_to_str(st->a, v); if (format_one(st, at, &b, sv, &s)) return -1; }
            else if (format_one(st, at, &b, v, &s)) return -1;
        } else if (strchr("diu", t)) {
            if (!val_is_number(v)) return rerr(st, at, "TypeError: %%%c format: a real number is required, not %s", t, val_type_name(v));
            s.type = 'd';
            val iv = v;
            if (v.t == V_FLOAT) {
                int64_t k;
                if (!f64_to_i64(v.u.f, &k)) return rerr(st, at, "OverflowError: cannot convert float to a 64-bit integer");
                iv = v_int(k);
            }
            if (format_one(st, at, &b, iv, &s)) return -1;
        } else if (strchr("feEgGxXo", t)) {
            if (!val_is_number(v)) return rerr(st, at, "TypeError: must be real number, not %s", val_type_name(v));
            s.type = t;
            if (format_one(st, at, &b, v, &s)) return -1;
        } else {
            return rerr(st, at, "ValueError: unsupported format character '%c'", t);
        }
    }
    /* Python skips this check when the argument could be a mapping (anything
     * subscriptable that is not a tuple or str) */
    bool maplike = is_map || (args.t == V_LIST && !(args.flags & VF_TUPLE));
    if (ai < an && !maplike) return rerr(st, at, "TypeError: not all arguments converted during string formatting");
    if (b.oom) return rerr_oom(st, at);
    *out = v_str(b.p, b.n);
    return 0;
}
