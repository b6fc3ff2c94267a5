/* json/cursor.cpp — the cursor: C handles straight into simdjson's DOM, no
 * copy (see json.h). A vr_jcur holds a dom::element (a tape pointer and an
 * index, trivially copyable); a vr_jcur_it holds a pair of array or object
 * iterators. DOM (not On-Demand) because readers walk documents in any order
 * and look keys up repeatedly. */
#include "json/internal.h"
#include "json/json.h"

#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>

using namespace simdjson;

struct vr_jcur_doc {
    dom::parser parser;
    dom::element root;
};

static_assert(sizeof(dom::element) <= sizeof(vr_jcur), "vr_jcur too small");
static_assert(std::is_trivially_copyable<dom::element>::value, "element must be trivially copyable");

namespace {

struct array_iter {
    dom::array::iterator at, end;
    int is_object;
};
struct object_iter {
    dom::object::iterator at, end;
    int is_object;
};
static_assert(sizeof(array_iter) <= sizeof(vr_jcur_it), "vr_jcur_it too small");
static_assert(sizeof(object_iter) <= sizeof(vr_jcur_it), "vr_jcur_it too small");
static_assert(std::is_trivially_copyable<array_iter>::value, "iterator state must be trivially copyable");
static_assert(std::is_trivially_copyable<object_iter>::value, "iterator state must be trivially copyable");
/* is_object sits at the same offset in both, so either can be read first */
static_assert(offsetof(array_iter, is_object) == offsetof(object_iter, is_object), "iterator layouts differ");

dom::element unpack(vr_jcur v) {
    dom::element e;
    std::memcpy(static_cast<void *>(&e), &v, sizeof e);
    return e;
}

vr_jcur pack(dom::element e) {
    vr_jcur v;
    std::memset(&v, 0, sizeof v);
    std::memcpy(&v, static_cast<const void *>(&e), sizeof e);
    return v;
}

}  // namespace

extern "C" {

size_t vr_jcur_padding(void) { return SIMDJSON_PADDING; }

vr_jcur_doc *vr_jcur_parse(const char *buf, size_t len, char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    auto *d = new (std::nothrow) vr_jcur_doc();
    if (!d) {
        if (err) std::snprintf(err, errlen, "out of memory");
        return nullptr;
    }
    try {
        if (vr_json_dom_parse(d->parser, buf, len, true, VR_JSON_MAX_DEPTH, &d->root, err, errlen)) {
            delete d;
            return nullptr;
        }
    } catch (...) { /* the parser allocates with new */
        if (err) std::snprintf(err, errlen, "out of memory");
        delete d;
        return nullptr;
    }
    return d;
}

void vr_jcur_free(vr_jcur_doc *d) { delete d; }

vr_jcur vr_jcur_root(const vr_jcur_doc *d) { return pack(d->root); }

vr_json_type vr_jcur_type(vr_jcur v) {
    switch (unpack(v).type()) {
    case dom::element_type::NULL_VALUE: return VR_JSON_NULL;
    case dom::element_type::BOOL: return VR_JSON_BOOL;
    case dom::element_type::INT64: return VR_JSON_INT;
    case dom::element_type::UINT64: return VR_JSON_DOUBLE; /* above INT64_MAX, as in the tree */
    case dom::element_type::DOUBLE: return VR_JSON_DOUBLE;
    case dom::element_type::STRING: return VR_JSON_STRING;
    case dom::element_type::ARRAY: return VR_JSON_ARRAY;
    case dom::element_type::OBJECT: return VR_JSON_OBJECT;
    }
    return VR_JSON_NULL;
}

int vr_jcur_get(vr_jcur obj, const char *key, vr_jcur *out) {
    dom::element e = unpack(obj);
    if (!e.is_object() || !key) return 0;
    /* not at_key(): it answers the first duplicate, the tree the last */
    std::string_view want(key);
    int found = 0;
    dom::object o = e.get_object().value_unsafe();
    for (dom::key_value_pair kv : o) {
        if (kv.key == want) {
            *out = pack(kv.value);
            found = 1;
        }
    }
    return found;
}

size_t vr_jcur_len(vr_jcur v) {
    dom::element e = unpack(v);
    if (e.is_array()) return e.get_array().value_unsafe().size();
    if (e.is_object()) return e.get_object().value_unsafe().size();
    return 0;
}

int vr_jcur_str(vr_jcur v, const char **s, size_t *n) {
    std::string_view sv;
    if (unpack(v).get_string().get(sv)) return -1;
    *s = sv.data();
    if (n) *n = sv.size();
    return 0;
}

int vr_jcur_int64(vr_jcur v, int64_t *out) {
    dom::element e = unpack(v);
    if (e.type() == dom::element_type::INT64) return e.get_int64().get(*out) ? -1 : 0;
    double d;
    /* an integral double inside int64, as vr_jint64 */
    if (e.type() == dom::element_type::DOUBLE && !e.get_double().get(d) && d == std::floor(d) &&
        d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        *out = static_cast<int64_t>(d);
        return 0;
    }
    return -1;
}

int vr_jcur_bool(vr_jcur v, int *out) {
    bool b;
    if (unpack(v).get_bool().get(b)) return -1;
    *out = b ? 1 : 0;
    return 0;
}

void vr_jcur_begin(vr_jcur v, vr_jcur_it *it) {
    std::memset(it, 0, sizeof *it);
    dom::element e = unpack(v);
    if (e.is_object()) {
        dom::object o = e.get_object().value_unsafe();
        object_iter s{o.begin(), o.end(), 1};
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
    } else if (e.is_array()) {
        dom::array a = e.get_array().value_unsafe();
        array_iter s{a.begin(), a.end(), 0};
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
    } else { /* a scalar: an empty iteration (begin == end) */
        array_iter s{};
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&s), sizeof s);
    }
}

int vr_jcur_next(vr_jcur_it *it, const char **key, size_t *keylen, vr_jcur *val) {
    array_iter a;
    std::memcpy(static_cast<void *>(&a), static_cast<const void *>(it), sizeof a);
    if (a.is_object) {
        object_iter o;
        std::memcpy(static_cast<void *>(&o), static_cast<const void *>(it), sizeof o);
        if (!(o.at != o.end)) return 0;
        std::string_view k = o.at.key();
        if (key) *key = k.data();
        if (keylen) *keylen = k.size();
        *val = pack(o.at.value());
        ++o.at;
        std::memcpy(static_cast<void *>(it), static_cast<const void *>(&o), sizeof o);
        return 1;
    }
    if (!(a.at != a.end)) return 0;
    if (key) *key = nullptr;
    if (keylen) *keylen = 0;
    *val = pack(*a.at);
    ++a.at;
    std::memcpy(static_cast<void *>(it), static_cast<const void *>(&a), sizeof a);
    return 1;
}

}  // extern "C"
