/* server/json.cpp — the one C++ file: simdjson's DOM copied into C nodes.
 *
 * Why copy: simdjson's element API is C++ only; a small arena of plain
 * structs gives the C handlers random access (arrays by index, objects by
 * key) and lets the tree outlive the parser. The copy costs one pass over a
 * body that is at most a few MiB. */
#include "server/json.h"

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
    bool oom = false;

    void *alloc(size_t n) {
        n = (n + 15) & ~static_cast<size_t>(15);
        if (!blocks || blocks->cap - blocks->used < n) {
            size_t cap = n > 65536 ? n : 65536;
            auto *b = static_cast<arena_block *>(std::malloc(sizeof(arena_block) + cap));
            if (!b) {
                oom = true;
                return nullptr;
            }
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

    /* Recursion depth is bounded by simdjson's max depth (checked at parse). */
    bool copy(simdjson::dom::element e, vr_json *out) {
        using simdjson::dom::element_type;
        std::memset(out, 0, sizeof *out);
        switch (e.type()) {
        case element_type::NULL_VALUE: out->type = VR_JSON_NULL; return true;
        case element_type::BOOL: out->type = VR_JSON_BOOL; out->u.b = e.get_bool().value_unsafe(); return true;
        case element_type::INT64: out->type = VR_JSON_INT; out->u.i = e.get_int64().value_unsafe(); return true;
        case element_type::UINT64:
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

vr_jdoc *vr_jdoc_parse(const char *text, size_t len, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    auto *doc = new (std::nothrow) vr_jdoc();
    if (!doc) {
        if (err) std::snprintf(err, errlen, "out of memory");
        return nullptr;
    }
    /* A parser per call: parse runs on the event loop or a worker thread and
     * simdjson parsers are not thread-safe; allocation is cheap next to the
     * request's own work. */
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text, len);
    simdjson::dom::element root;
    auto error = parser.parse(padded).get(root);
    if (error) {
        if (err) {
            const char *why = simdjson::error_message(error);
            if (error == simdjson::UTF8_ERROR) why = "the body is not valid UTF-8";
            else if (error == simdjson::EMPTY) why = "the body is empty";
            else if (error == simdjson::DEPTH_ERROR) why = "nesting is too deep";
            else if (error == simdjson::STRING_ERROR)
                why = "invalid string (bad escape, raw control character or unpaired surrogate)";
            std::snprintf(err, errlen, "%s", why);
        }
        delete doc;
        return nullptr;
    }
    if (!doc->copy(root, &doc->root) || doc->oom) {
        if (err) std::snprintf(err, errlen, "out of memory");
        delete doc;
        return nullptr;
    }
    return doc;
}

void vr_jdoc_free(vr_jdoc *doc) { delete doc; }

const vr_json *vr_jdoc_root(const vr_jdoc *doc) { return doc ? &doc->root : nullptr; }

const vr_json *vr_jget(const vr_json *obj, const char *key) {
    if (!obj || obj->type != VR_JSON_OBJECT) return nullptr;
    size_t kl = std::strlen(key);
    for (size_t i = obj->u.obj.n; i-- > 0;) {
        const vr_json_member *m = &obj->u.obj.m[i];
        if (m->key_len == kl && std::memcmp(m->key, key, kl) == 0) return m->value;
    }
    return nullptr;
}

const char *vr_jtype_name(vr_json_type t) {
    switch (t) {
    case VR_JSON_NULL: return "null";
    case VR_JSON_BOOL: return "boolean";
    case VR_JSON_INT: return "integer";
    case VR_JSON_DOUBLE: return "number";
    case VR_JSON_STRING: return "string";
    case VR_JSON_ARRAY: return "array";
    case VR_JSON_OBJECT: return "object";
    }
    return "?";
}

int vr_jis_number(const vr_json *v) {
    return v && (v->type == VR_JSON_INT || v->type == VR_JSON_DOUBLE);
}

double vr_jnum(const vr_json *v) {
    if (!v) return 0;
    return v->type == VR_JSON_INT ? static_cast<double>(v->u.i) : v->type == VR_JSON_DOUBLE ? v->u.d : 0;
}

}  // extern "C"
