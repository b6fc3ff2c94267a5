/* json/dom.cpp — simdjson's DOM parse for the tree and the cursor, and its
 * error codes turned into "line L col C: why".
 *
 * Why a second pass on errors: the DOM parser says what went wrong but not
 * where. Only when it fails, the On-Demand API walks the same text and its
 * cursor gives the position; stage-1 errors it cannot place (bad UTF-8, raw
 * control characters, unterminated strings) are placed by a direct scan.
 *
 * Why widening: simdjson 3.0 refuses integers beyond 64 bits, and real files
 * hold them (tokenizer_config.json's model_max_length is often
 * 1000000000000000019884624838656). Only when a parse fails on a number, the
 * text is copied with ".0" after every integer of 19+ digits and parsed
 * again, so such values read as doubles, as a float-minded reader would. */
#include "json/internal.h"
#include "json/json.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace simdjson;

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included). */
size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t k;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) k = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, cp = c & 0x07;
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return k;
}

/* On-Demand walk of every value, only to find where the text breaks. The
 * depth is bounded here too, so hostile nesting cannot overflow the stack. */
error_code walk(ondemand::value v, size_t depth) {
    if (depth == 0) return DEPTH_ERROR;
    ondemand::json_type t;
    error_code e = v.type().get(t);
    if (e) return e;
    switch (t) {
    case ondemand::json_type::array: {
        ondemand::array a;
        if ((e = v.get_array().get(a))) return e;
        for (auto x : a) {
            ondemand::value xv;
            if ((e = x.get(xv)) || (e = walk(xv, depth - 1))) return e;
        }
        return SUCCESS;
    }
    case ondemand::json_type::object: {
        ondemand::object o;
        if ((e = v.get_object().get(o))) return e;
        for (auto f : o) {
            std::string_view k;
            ondemand::value fv;
            if ((e = f.unescaped_key().get(k)) || (e = f.value().get(fv)) || (e = walk(fv, depth - 1))) return e;
        }
        return SUCCESS;
    }
    case ondemand::json_type::number: {
        ondemand::number n;
        return v.get_number().get(n);
    }
    case ondemand::json_type::string: {
        std::string_view s;
        return v.get_string().get(s);
    }
    case ondemand::json_type::boolean: {
        bool b;
        return v.get_bool().get(b);
    }
    case ondemand::json_type::null: {
        bool isnull;
        e = v.is_null().get(isnull);
        return e ? e : isnull ? SUCCESS : INCORRECT_TYPE;
    }
    }
    return SUCCESS;
}

/* Byte offset where the DOM parser's error is, or len when unknown. When the
 * walk finds nesting past the limit before the DOM's error (an unclosed
 * "[[[[..."), that is the first problem and error becomes DEPTH_ERROR. */
size_t locate(error_code &error, padded_string_view text, size_t max_depth) {
    const auto *s = reinterpret_cast<const unsigned char *>(text.data());
    size_t n = text.size();
    switch (error) {
    case EMPTY: return 0;
    case UNCLOSED_STRING: return n;
    case UTF8_ERROR:
        for (size_t i = 0, k; i < n; i += k)
            if (!(k = utf8_seq(s + i, n - i))) return i;
        return n;
    case UNESCAPED_CHARS: {
        /* the first raw control byte inside a string (or anywhere, unless it
         * is whitespace between tokens) */
        int in_str = 0;
        for (size_t i = 0; i < n; i++) {
            if (in_str && s[i] == '\\') i++;
            else if (s[i] == '"') in_str = !in_str;
            else if (s[i] < 0x20 && (in_str || (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')))
                return i;
        }
        return n;
    }
    default: break;
    }
    /* Let On-Demand walk the text; its cursor stops at the offending token.
     * A document that is one scalar is refused by get_value() at offset 0,
     * which is exactly where the bad scalar starts. */
    ondemand::parser p;
    ondemand::document doc;
    /* room above max_depth: walk() stops at the limit itself, before
     * On-Demand would step past its own (an assertion, or worse) */
    if (p.allocate(n ? n : 1, max_depth + 2) || p.iterate(text).get(doc)) return n;
    ondemand::value root;
    error_code e = doc.get_value().get(root);
    if (!e) e = walk(root, max_depth);
    if (e == DEPTH_ERROR) error = DEPTH_ERROR;
    const char *at;
    if (doc.current_location().get(at)) return n; /* at the end */
    if (at < text.data() || at > text.data() + n) return n;
    return static_cast<size_t>(at - text.data());
}

const char *why(error_code error) {
    switch (error) {
    case EMPTY: return "the text is empty (no JSON value)";
    case UTF8_ERROR: return "the text is not valid UTF-8";
    case DEPTH_ERROR: return "nesting too deep";
    case STRING_ERROR: return "invalid string (bad escape or unpaired surrogate)";
    case UNESCAPED_CHARS: return "raw control character in a string (it must be escaped)";
    case UNCLOSED_STRING: return "unterminated string";
    case NUMBER_ERROR: return "invalid number (malformed, or too large for a double)";
    case T_ATOM_ERROR: return "invalid literal (expected true)";
    case F_ATOM_ERROR: return "invalid literal (expected false)";
    case N_ATOM_ERROR: return "invalid literal (expected null)";
    case CAPACITY: return "the text is too large";
    case MEMALLOC: return "out of memory";
    default: return error_message(error);
    }
}

/* The message for error found at byte at of text[0..n). */
void format_error(error_code error, const char *text, size_t n, size_t at, size_t max_depth, char *err,
                  size_t errlen) {
    if (!err || !errlen) return;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < n; i++) {
        if (text[i] == '\n') line++, col = 1;
        else col++;
    }
    const char *where = "";
    if (error == DEPTH_ERROR) {
        std::snprintf(err, errlen, "line %zu col %zu: nesting too deep (more than %zu levels)", line, col,
                      max_depth);
        return;
    }
    if (error == TAPE_ERROR) { /* a structural error: name what was found */
        unsigned char c = at < n ? static_cast<unsigned char>(text[at]) : 0;
        if (at >= n)
            std::snprintf(err, errlen, "line %zu col %zu: the text ends before the value is complete", line, col);
        else if (c > 0x20 && c < 0x7F)
            std::snprintf(err, errlen, "line %zu col %zu: unexpected '%c' (a comma, colon, bracket or quote "
                          "is missing or extra, or text follows the value)", line, col, c);
        else
            std::snprintf(err, errlen, "line %zu col %zu: unexpected byte 0x%02x", line, col, c);
        return;
    }
    if (at >= n && error != EMPTY) where = " at the end of the text";
    std::snprintf(err, errlen, "line %zu col %zu: %s%s", line, col, why(error), where);
}

}  // namespace

namespace {

/* Copies text with ".0" after each integer literal of 19 or more digits
 * (outside strings); ins gets where each ".0" went in the copy. False when
 * there was none. */
bool widen(const char *s, size_t n, std::string &out, std::vector<size_t> &ins) {
    out.reserve(n + 64);
    bool in_str = false;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (in_str) {
            out += c;
            i++;
            if (c == '\\' && i < n) out += s[i++];
            else if (c == '"') in_str = false;
            continue;
        }
        if (c >= '0' && c <= '9') {
            size_t j = i;
            while (j < n && s[j] >= '0' && s[j] <= '9') j++;
            out.append(s + i, j - i);
            /* only an integer part: not the digits of a fraction or exponent */
            char prev = i ? s[i - 1] : 0, prev2 = i > 1 ? s[i - 2] : 0;
            bool int_part = prev != '.' && prev != 'e' && prev != 'E' && prev != '+' &&
                            !(prev == '-' && (prev2 == 'e' || prev2 == 'E'));
            if (int_part && j - i > 18 && (j >= n || (s[j] != '.' && s[j] != 'e' && s[j] != 'E'))) {
                ins.push_back(out.size());
                out += ".0";
            }
            i = j;
            continue;
        }
        if (c == '"') in_str = true;
        out += c;
        i++;
    }
    return !ins.empty();
}

/* Offset in the original text of offset at in the widened copy. */
size_t unwiden(size_t at, const std::vector<size_t> &ins) {
    size_t shift = 0;
    for (size_t p : ins) {
        if (p >= at) break;
        shift += at - p >= 2 ? 2 : at - p;
    }
    return at - shift;
}

int fail(simdjson::error_code error, simdjson::padded_string_view view, const char *text, size_t len,
         const std::vector<size_t> *ins, size_t max_depth, char *err, size_t errlen) {
    size_t at = locate(error, view, max_depth);
    if (ins) at = unwiden(at, *ins);
    format_error(error, text, len, at, max_depth, err, errlen);
    return -1;
}

}  // namespace

int vr_json_dom_parse(simdjson::dom::parser &parser, const char *text, size_t len, bool padded,
                      size_t max_depth, simdjson::dom::element *root, char *err, size_t errlen) {
    using namespace simdjson;
    if (err && errlen) err[0] = 0;
    if (parser.allocate(len ? len : 1, max_depth)) {
        if (err) std::snprintf(err, errlen, "out of memory");
        return -1;
    }
    padded_string copy;
    padded_string_view view;
    if (padded) {
        view = padded_string_view(text, len, len + SIMDJSON_PADDING);
    } else {
        copy = padded_string(text, len);
        if (len && !copy.data()) {
            if (err) std::snprintf(err, errlen, "out of memory");
            return -1;
        }
        view = copy;
    }
    error_code error = parser.parse(reinterpret_cast<const uint8_t *>(view.data()), len, false).get(*root);
    if (!error) return 0;
    std::string wide;
    std::vector<size_t> ins;
    if (error != NUMBER_ERROR || !widen(view.data(), len, wide, ins))
        return fail(error, view, text, len, nullptr, max_depth, err, errlen);
    padded_string pw(wide);
    if (!pw.data() || parser.allocate(wide.size(), max_depth)) {
        if (err) std::snprintf(err, errlen, "out of memory");
        return -1;
    }
    error = parser.parse(pw).get(*root);
    if (!error) return 0;
    return fail(error, pw, text, len, &ins, max_depth, err, errlen);
}
