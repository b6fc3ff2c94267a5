// tokenizer/json.cpp — the only C++ of the tokenizer: simdjson's DOM parser
// behind the C API of json.h. DOM (not On-Demand) because the loader walks
// the document in arbitrary order and looks keys up repeatedly.
#include "json.h"

#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <new>

using namespace simdjson;

struct vr_tokjson_doc {
    dom::parser parser;
    dom::element root;
};

static_assert(sizeof(dom::element) <= sizeof(vr_jv), "vr_jv too small");
static_assert(std::is_trivially_copyable<dom::element>::value, "element must be trivially copyable");

namespace {
struct iter_state {
    // Either an array or an object iterator; both are a (document, index) pair.
    dom::array::iterator ai, ae;
    int is_object;
};
struct obj_iter_state {
    dom::object::iterator oi, oe;
    int is_object;
};
}  // namespace

static dom::element unpack(vr_jv v) {
    dom::element e;
    std::memcpy(static_cast<void *>(&e), &v, sizeof e);
    return e;
}
static vr_jv pack(dom::element e) {
    vr_jv v;
    std::memset(&v, 0, sizeof v);
    std::memcpy(&v, static_cast<const void *>(&e), sizeof e);
    return v;
}

extern "C" size_t vr_tokjson_padding(void) { return SIMDJSON_PADDING; }

extern "C" vr_tokjson_doc *vr_tokjson_parse(const char *buf, size_t len, char *err, size_t errlen) {
    vr_tokjson_doc *d = new (std::nothrow) vr_tokjson_doc();
    if (!d) {
        if (err) std::snprintf(err, errlen, "out of memory");
        return nullptr;
    }
    try {
        auto r = d->parser.parse(reinterpret_cast<const uint8_t *>(buf), len, false);
        if (r.error()) {
            if (err) std::snprintf(err, errlen, "invalid JSON: %s", error_message(r.error()));
            delete d;
            return nullptr;
        }
        d->root = r.value_unsafe();
    } catch (...) {
        if (err) std::snprintf(err, errlen, "out of memory parsing JSON");
        delete d;
        return nullptr;
    }
    return d;
}

extern "C" void vr_tokjson_free(vr_tokjson_doc *d) { delete d; }
extern "C" vr_jv vr_tokjson_root(const vr_tokjson_doc *d) { return pack(d->root); }

extern "C" int vr_jv_type(vr_jv v) {
    switch (unpack(v).type()) {
    case dom::element_type::NULL_VALUE: return VR_J_NULL;
    case dom::element_type::BOOL: return VR_J_BOOL;
    case dom::element_type::INT64: return VR_J_INT;
    case dom::element_type::UINT64: return VR_J_INT;
    case dom::element_type::DOUBLE: return VR_J_DOUBLE;
    case dom::element_type::STRING: return VR_J_STRING;
    case dom::element_type::ARRAY: return VR_J_ARRAY;
    case dom::element_type::OBJECT: return VR_J_OBJECT;
    }
    return VR_J_NULL;
}

extern "C" int vr_jv_get(vr_jv obj, const char *key, vr_jv *out) {
    dom::element e = unpack(obj);
    if (!e.is_object()) return 0;
    dom::element r;
    if (e.get_object().value_unsafe().at_key(key).get(r)) return 0;
    *out = pack(r);
    return 1;
}

extern "C" int vr_jv_str(vr_jv v, const char **s, size_t *n) {
    std::string_view sv;
    if (unpack(v).get_string().get(sv)) return -1;
    *s = sv.data();
    *n = sv.size();
    return 0;
}

extern "C" int vr_jv_int(vr_jv v, int64_t *out) {
    dom::element e = unpack(v);
    if (e.type() == dom::element_type::INT64) return e.get_int64().get(*out) ? -1 : 0;
    if (e.type() == dom::element_type::UINT64) {
        uint64_t u;
        if (e.get_uint64().get(u) || u > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)u;
        return 0;
    }
    return -1;
}

extern "C" int vr_jv_bool(vr_jv v, int *out) {
    bool b;
    if (unpack(v).get_bool().get(b)) return -1;
    *out = b ? 1 : 0;
    return 0;
}

extern "C" size_t vr_jv_size(vr_jv v) {
    dom::element e = unpack(v);
    if (e.is_array()) return e.get_array().value_unsafe().size();
    if (e.is_object()) return e.get_object().value_unsafe().size();
    return 0;
}

static_assert(sizeof(iter_state) <= sizeof(vr_jit), "vr_jit too small");
static_assert(sizeof(obj_iter_state) <= sizeof(vr_jit), "vr_jit too small");
static_assert(std::is_trivially_copyable<iter_state>::value, "iterator state must be trivially copyable");

extern "C" void vr_jit_begin(vr_jv v, vr_jit *it) {
    std::memset(it, 0, sizeof *it);
    dom::element e = unpack(v);
    if (e.is_object()) {
        dom::object o = e.get_object().value_unsafe();
        obj_iter_state s{o.begin(), o.end(), 1};
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
    } else if (e.is_array()) {
        dom::array a = e.get_array().value_unsafe();
        iter_state s{a.begin(), a.end(), 0};
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
    } else {
        // Not iterable: an empty array iteration (begin == end, zeroed).
        iter_state s{};
        s.is_object = 0;
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
    }
}

extern "C" int vr_jit_next(vr_jit *it, const char **key, size_t *keylen, vr_jv *val) {
    iter_state probe;
    std::memcpy(static_cast<void *>(&probe), static_cast<const void *>(it), sizeof probe);
    if (probe.is_object) {
        obj_iter_state s;
        std::memcpy(static_cast<void *>(&s), static_cast<const void *>(it), sizeof s);
        if (!(s.oi != s.oe)) return 0;
        std::string_view k = s.oi.key();
        if (key) *key = k.data();
        if (keylen) *keylen = k.size();
        *val = pack(s.oi.value());
        ++s.oi;
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
        return 1;
    }
    if (!(probe.ai != probe.ae)) return 0;
    if (key) *key = nullptr;
    if (keylen) *keylen = 0;
    *val = pack(*probe.ai);
    ++probe.ai;
    std::memcpy(static_cast<void *>(it), static_cast<const void *>(&probe), sizeof probe);
    return 1;
}
