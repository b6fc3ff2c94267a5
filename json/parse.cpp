/* json/parse.cpp — the tree: simdjson's DOM copied into plain C nodes.
 *
 * Why copy: simdjson's element API is C++ only; a small arena of plain
 * structs gives C callers random access and lets the tree outlive the
 * parser. The copy is one linear pass over the DOM, but on big documents it
 * costs more than simdjson's parse (an 11 MB tokenizer.json: ~30 ms on top
 * of ~22 ms), which is why the tokenizer reads through the zero-copy cursor
 * (cursor.cpp) instead. Parsing itself and error messages: dom.cpp. */
#include "json/internal.h"
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
        simdjson::dom::element root;
        if (vr_json_dom_parse(parser, text, len, false, max_depth, &root, err, errlen)) {
            delete doc;
            return nullptr;
        }
        if (!doc->copy(root, &doc->root)) {
            if (err) std::snprintf(err, errlen, "out of memory");
            delete doc;
            return nullptr;
        }
    } catch (...) { /* the parser and the padded copy allocate with new */
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
