/* json/parse.cpp — the one C++ file: simdjson's DOM copied into C nodes, and
 * simdjson's error codes turned into "line L col C: why".
 *
 * Why copy: simdjson's element API is C++ only; a small arena of plain
 * structs gives C callers random access and lets the tree outlive the
 * parser. The copy is one linear pass over a DOM simdjson built at
 * gigabytes per second (the 11 MB tokenizer.json of real models included).
 *
 * Why a second pass on errors: the DOM parser says what went wrong but not
 * where. Only when it fails, the On-Demand API walks the same text and its
 * cursor gives the position; stage-1 errors it cannot place (bad UTF-8, raw
 * control characters, unterminated strings) are placed by a direct scan. */
#include "json/json.h"

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

/* A bump allocator: blocks chained, freed all at once with the document. */
struct arena_block {
    arena_block *next;
    size_t used, cap;
    alignas(16) unsigned char data[1];
};

}  // namespace

struct vr_jdoc {
    arena_block *blocks = nullptr;
    vr_json root{};

    void *alloc(size_t n) {
        n = (n + 15) & ~static_cast<size_t>(15);
        if (!blocks || blocks->cap - blocks->used < n) {
            size_t cap = n > 65536 ? n : 65536;
            auto *b = static_cast<arena_block *>(std::malloc(sizeof(arena_block) + cap));
            if (!b) return nullptr;
            b->next = blocks;
            b->used = 0;
            b->cap = cap;
            blocks = b;
        }
        void *p = blocks->data + blocks->used;
        blocks->used += n;
        return p;
    }

    const char *dup(std::string_view s) {
        char *p = static_cast<char *>(alloc(s.size() + 1));
        if (!p) return nullptr;
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p[s.size()] = 0;
        return p;
    }

    /* Recursion depth is bounded by the parser's max depth (checked by
     * simdjson before any copying starts). */
    bool copy(simdjson::dom::element e, vr_json *out) {
        using simdjson::dom::element_type;
        std::memset(out, 0, sizeof *out);
        switch (e.type()) {
        case element_type::NULL_VALUE: out->type = VR_JSON_NULL; return true;
        case element_type::BOOL: out->type = VR_JSON_BOOL; out->u.b = e.get_bool().value_unsafe(); return true;
        case element_type::INT64: out->type = VR_JSON_INT; out->u.i = e.get_int64().value_unsafe(); return true;
        case element_type::UINT64: /* above INT64_MAX: callers see a double, like any big number */
            out->type = VR_JSON_DOUBLE;
            out->u.d = static_cast<double>(e.get_uint64().value_unsafe());
            return true;
        case element_type::DOUBLE: out->type = VR_JSON_DOUBLE; out->u.d = e.get_double().value_unsafe(); return true;
        case element_type::STRING: {
            std::string_view s = e.get_string().value_unsafe();
            out->type = VR_JSON_STRING;
            out->u.str.s = dup(s);
            out->u.str.len = s.size();
            return out->u.str.s != nullptr;
        }
        case element_type::ARRAY: {
            simdjson::dom::array a = e.get_array().value_unsafe();
            size_t n = a.size();
            out->type = VR_JSON_ARRAY;
            vr_json *items = n ? static_cast<vr_json *>(alloc(n * sizeof(vr_json))) : nullptr;
            if (n && !items) return false;
            size_t i = 0;
            for (simdjson::dom::element x : a)
                if (!copy(x, &items[i++])) return false;
            out->u.arr.items = items;
            out->u.arr.n = n;
            return true;
        }
        case element_type::OBJECT: {
            simdjson::dom::object o = e.get_object().value_unsafe();
            size_t n = o.size();
            out->type = VR_JSON_OBJECT;
            vr_json_member *m = n ? static_cast<vr_json_member *>(alloc(n * sizeof(vr_json_member))) : nullptr;
            vr_json *vals = n ? static_cast<vr_json *>(alloc(n * sizeof(vr_json))) : nullptr;
            if (n && (!m || !vals)) return false;
            size_t i = 0;
            for (simdjson::dom::key_value_pair kv : o) {
                m[i].key = dup(kv.key);
                m[i].key_len = kv.key.size();
                m[i].value = &vals[i];
                if (!m[i].key || !copy(kv.value, &vals[i])) return false;
                i++;
            }
            out->u.obj.m = m;
            out->u.obj.n = n;
            return true;
        }
        }
        return false;
    }

    ~vr_jdoc() {
        while (blocks) {
            arena_block *n = blocks->next;
            std::free(blocks);
            blocks = n;
        }
    }
};

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
size_t locate(error_code &error, const padded_string &text, size_t max_depth) {
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
        /* the first raw control byte that is not whitespace between tokens */
        int in_str = 0;
        for (size_t i = 0; i < n; i++) {
            if (in_str && s[i] == '\\') i++;
            else if (s[i] == '"') in_str = !in_str;
            else if (s[i] < 0x20 && (in_str || (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')))
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
    if (p.allocate(n ? n : 1, max_depth) || p.iterate(text).get(doc)) return n;
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

void format_error(error_code error, const padded_string &text, size_t max_depth, char *err, size_t errlen) {
    if (!err || !errlen) return;
    size_t at = locate(error, text, max_depth);
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < text.size(); i++) {
        if (text.data()[i] == '\n') line++, col = 1;
        else col++;
    }
    const char *where = "";
    if (error == DEPTH_ERROR) {
        std::snprintf(err, errlen, "line %zu col %zu: nesting too deep (more than %zu levels)", line, col,
                      max_depth);
        return;
    }
    if (error == TAPE_ERROR) { /* a structural error: name what was found */
        unsigned char c = at < text.size() ? static_cast<unsigned char>(text.data()[at]) : 0;
        if (at >= text.size())
            std::snprintf(err, errlen, "line %zu col %zu: the text ends before the value is complete", line, col);
        else if (c > 0x20 && c < 0x7F)
            std::snprintf(err, errlen, "line %zu col %zu: unexpected '%c' (a comma, colon, bracket or quote "
                          "is missing or extra, or text follows the value)", line, col, c);
        else
            std::snprintf(err, errlen, "line %zu col %zu: unexpected byte 0x%02x", line, col, c);
        return;
    }
    if (at >= text.size() && error != EMPTY) where = " at the end of the text";
    std::snprintf(err, errlen, "line %zu col %zu: %s%s", line, col, why(error), where);
}

}  // namespace

extern "C" {

vr_jdoc *vr_jdoc_parse_depth(const char *text, size_t len, size_t max_depth, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    if (max_depth < 1 || max_depth > VR_JSON_MAX_DEPTH) max_depth = VR_JSON_MAX_DEPTH;
    auto *doc = new (std::nothrow) vr_jdoc();
    if (!doc) {
        if (err) std::snprintf(err, errlen, "out of memory");
        return nullptr;
    }
    try {
        /* A parser per call: parses run on the event loop and on worker
         * threads, and simdjson parsers are not thread-safe; allocation is
         * cheap next to the copy. */
        simdjson::dom::parser parser;
        simdjson::padded_string padded(text, len);
        simdjson::dom::element root;
        if (len && !padded.data()) {
            if (err) std::snprintf(err, errlen, "out of memory");
            delete doc;
            return nullptr;
        }
        simdjson::error_code error = parser.allocate(len ? len : 1, max_depth);
        if (!error) error = parser.parse(padded).get(root);
        if (error) {
            format_error(error, padded, max_depth, err, errlen);
            delete doc;
            return nullptr;
        }
        if (!doc->copy(root, &doc->root)) {
            if (err) std::snprintf(err, errlen, "out of memory");
            delete doc;
            return nullptr;
        }
    } catch (...) { /* padded_string and the parser allocate with new */
        if (err) std::snprintf(err, errlen, "out of memory");
        delete doc;
        return nullptr;
    }
    return doc;
}

vr_jdoc *vr_jdoc_parse(const char *text, size_t len, char *err, size_t errlen) {
    return vr_jdoc_parse_depth(text, len, VR_JSON_MAX_DEPTH, err, errlen);
}

void vr_jdoc_free(vr_jdoc *doc) { delete doc; }

const vr_json *vr_jdoc_root(const vr_jdoc *doc) { return doc ? &doc->root : nullptr; }

}  // extern "C"
