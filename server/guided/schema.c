/* server/guided/schema.c — a JSON Schema (the subset in README.md) compiled
 * into the vr_jnode table the automaton walks. Anything outside the subset
 * is refused with its path, never ignored: a constraint dropped silently
 * would return outputs the client's schema rejects. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "server/guided/guided.h"

typedef struct {
    vr_jshape *s;
    const vr_json *doc_root; /* for $ref */
    size_t bytes;            /* literal and key bytes so far (VR_JSCHEMA_MAX_BYTES) */
    char *err;
    size_t errlen;
} ctx;

#define FAIL(...)                                                  \
    do {                                                           \
        snprintf(c->err, c->errlen, __VA_ARGS__);                  \
        return -1;                                                 \
    } while (0)

/* Keywords that only annotate: no constraint is lost by not enforcing them. */
static const char *const annotations[] = {
    "title", "description", "$schema", "$id", "$comment", "default", "examples", "$defs", "definitions",
    "deprecated", "readOnly", "writeOnly", NULL,
};
static const char *const supported[] = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "items", "minItems", "maxItems",
    "$ref", "anyOf", NULL,
};

static int in_list(const char *const *l, const char *k) {
    for (; *l; l++)
        if (!strcmp(*l, k)) return 1;
    return 0;
}

/* s as the bytes between (and including) the quotes of a JSON string: the
 * model must write keys and enum strings exactly so. */
static char *quote(const char *s, size_t n, size_t *out_len) { return vr_jshape_escape(s, n, 1, out_len); }

/* A scalar's canonical JSON text (numbers: shortest text that reads back). */
static char *scalar_text(const vr_json *v, size_t *len) {
    char buf[64];
    switch (v->type) {
    case VR_JSON_NULL: snprintf(buf, sizeof buf, "null"); break;
    case VR_JSON_BOOL: snprintf(buf, sizeof buf, v->u.b ? "true" : "false"); break;
    case VR_JSON_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); break;
    case VR_JSON_DOUBLE:
        if (!isfinite(v->u.d)) return NULL;
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, v->u.d);
            if (strtod(buf, NULL) == v->u.d) break;
        }
        break;
    case VR_JSON_STRING: return quote(v->u.str.s, v->u.str.len, len);
    default: return NULL;
    }
    *len = strlen(buf);
    return strdup(buf);
}

static int new_node(ctx *c, const char *path, uint16_t *out) {
    vr_jshape *s = c->s;
    if (s->n_nodes >= VR_JSCHEMA_MAX_NODES) FAIL("%s: the schema is too large (over %d subschemas)", path, VR_JSCHEMA_MAX_NODES);
    vr_jnode *n = realloc(s->nodes, (size_t)(s->n_nodes + 1) * sizeof *n);
    if (!n) FAIL("out of memory");
    s->nodes = n;
    memset(&n[s->n_nodes], 0, sizeof *n);
    n[s->n_nodes].items = VR_JNODE_ANY;
    n[s->n_nodes].max_items = -1;
    *out = (uint16_t)s->n_nodes++;
    return 0;
}

static int type_bit(const char *t) {
    static const char *const names[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
    for (int i = 0; i < 7; i++)
        if (!strcmp(t, names[i])) return 1 << i;
    return 0;
}

static int parse_types(ctx *c, const vr_json *t, const char *path, uint8_t *types) {
    *types = 0;
    size_t n = t->type == VR_JSON_ARRAY ? t->u.arr.n : 1;
    for (size_t i = 0; i < n; i++) {
        const vr_json *x = t->type == VR_JSON_ARRAY ? &t->u.arr.items[i] : t;
        int b = x->type == VR_JSON_STRING ? type_bit(x->u.str.s) : 0;
        if (!b) FAIL("%s.type: must be one of null, boolean, integer, number, string, array, object (or a list of them)", path);
        *types |= (uint8_t)b;
    }
    if (!*types) FAIL("%s.type: an empty list of types allows nothing", path);
    if (*types & VR_JT_NUM) *types |= VR_JT_INT; /* an integer is a number */
    return 0;
}

static int cmp_lit(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The vr_jnode.types bit(s) a literal satisfies (an integer is a number too;
 * a number with no fraction is an integer, as JSON Schema counts it). */
static uint8_t lit_type(const vr_json *v) {
    switch (v->type) {
    case VR_JSON_NULL: return VR_JT_NULL;
    case VR_JSON_BOOL: return VR_JT_BOOL;
    case VR_JSON_INT: return VR_JT_INT | VR_JT_NUM;
    case VR_JSON_DOUBLE: return (uint8_t)(VR_JT_NUM | (v->u.d == floor(v->u.d) ? VR_JT_INT : 0));
    case VR_JSON_STRING: return VR_JT_STR;
    default: return 0;
    }
}

static int compile_lits(ctx *c, vr_jnode *n, const vr_json *vals, size_t nv, const char *path) {
    if (nv == 0) FAIL("%s.enum: an empty enum allows nothing", path);
    if (nv > VR_JSCHEMA_MAX_ENUM) FAIL("%s.enum: at most %d values", path, VR_JSCHEMA_MAX_ENUM);
    n->lits = calloc(nv, sizeof *n->lits);
    n->lit_lens = calloc(nv, sizeof *n->lit_lens);
    if (!n->lits || !n->lit_lens) FAIL("out of memory");
    for (size_t i = 0; i < nv; i++) {
        const vr_json *v = &vals[i];
        if (v->type == VR_JSON_ARRAY || v->type == VR_JSON_OBJECT)
            FAIL("%s: enum / const values must be strings, numbers, booleans or null", path);
        size_t len = 0;
        if (v->type == VR_JSON_DOUBLE && !isfinite(v->u.d)) FAIL("%s: an enum / const number is out of range", path);
        char *t = scalar_text(v, &len);
        if (!t) FAIL("out of memory");
        if (len > 65535) { free(t); FAIL("%s: an enum / const value is too long", path); }
        if (!(n->types & lit_type(v))) { free(t); continue; } /* the schema's type excludes it */
        c->bytes += len;
        if (c->bytes > VR_JSCHEMA_MAX_BYTES) {
            free(t);
            FAIL("%s: the schema's enum / const values and keys exceed %d bytes", path, VR_JSCHEMA_MAX_BYTES);
        }
        n->lits[n->n_lits++] = t;
    }
    if (n->n_lits == 0) FAIL("%s: no enum / const value has the schema's type", path);
    qsort(n->lits, (size_t)n->n_lits, sizeof *n->lits, cmp_lit);
    int k = 0; /* distinct: the automaton narrows a sorted range */
    for (int i = 0; i < n->n_lits; i++) {
        if (k && !strcmp(n->lits[k - 1], n->lits[i])) { free(n->lits[i]); continue; }
        n->lits[k++] = n->lits[i];
    }
    n->n_lits = k;
    for (int i = 0; i < k; i++) n->lit_lens[i] = strlen(n->lits[i]);
    return 0;
}

static int get_count(ctx *c, const vr_json *v, const char *path, const char *kw, int *out) {
    int64_t x;
    if (vr_jint64(v, &x) || x < 0 || x > VR_JSCHEMA_MAX_ITEMS)
        FAIL("%s.%s: must be an integer between 0 and %d", path, kw, VR_JSCHEMA_MAX_ITEMS);
    *out = (int)x;
    return 0;
}

static int compile(ctx *c, const vr_json *sch, const char *path, int depth, uint16_t *out);

/* How a value of node n can start: anyOf branches must not share a class,
 * so the first byte picks the branch and the automaton never guesses. */
static uint8_t first_of(const vr_jshape *s, uint16_t n) {
    if (n == VR_JNODE_ANY) return VR_JF_ALL;
    const vr_jnode *x = &s->nodes[n];
    uint8_t f = 0;
    if (x->n_alts) {
        for (int i = 0; i < x->n_alts; i++) f |= first_of(s, x->alts[i]);
        return f;
    }
    if (x->n_lits) {
        for (int i = 0; i < x->n_lits; i++) {
            char ch = x->lits[i][0];
            f |= ch == '"' ? VR_JF_STR : ch == 't' ? VR_JF_T : ch == 'f' ? VR_JF_F : ch == 'n' ? VR_JF_N : VR_JF_NUM;
        }
        return f;
    }
    if (x->types & VR_JT_OBJ) f |= VR_JF_OBJ;
    if (x->types & VR_JT_ARR) f |= VR_JF_ARR;
    if (x->types & VR_JT_STR) f |= VR_JF_STR;
    if (x->types & (VR_JT_INT | VR_JT_NUM)) f |= VR_JF_NUM;
    if (x->types & VR_JT_BOOL) f |= VR_JF_T | VR_JF_F;
    if (x->types & VR_JT_NULL) f |= VR_JF_N;
    return f;
}

static int compile_any_of(ctx *c, const vr_json *sch, const vr_json *alts, const char *path, int depth, uint16_t *out) {
    for (size_t i = 0; i < sch->u.obj.n; i++)
        if (in_list(supported, sch->u.obj.m[i].key) && strcmp(sch->u.obj.m[i].key, "anyOf"))
            FAIL("%s: '%.60s' next to anyOf is not supported", path, sch->u.obj.m[i].key);
    if (alts->type != VR_JSON_ARRAY || alts->u.arr.n == 0) FAIL("%s.anyOf: must be a non-empty list of schemas", path);
    if (alts->u.arr.n > 8) FAIL("%s.anyOf: at most 8 branches", path);
    uint16_t br[8];
    uint8_t seen = 0;
    for (size_t i = 0; i < alts->u.arr.n; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.anyOf[%zu]", path, i);
        if (compile(c, &alts->u.arr.items[i], sub, depth + 1, &br[i])) return -1;
        uint8_t f = first_of(c->s, br[i]);
        if (f & seen)
            FAIL("%s: anyOf branches whose values can start alike (two objects, two strings, ...) are not supported", sub);
        seen |= f;
    }
    if (alts->u.arr.n == 1) { /* one branch: itself */
        *out = br[0];
        return 0;
    }
    uint16_t self;
    if (new_node(c, path, &self)) return -1;
    vr_jnode *n = &c->s->nodes[self];
    n->alts = malloc(alts->u.arr.n * sizeof *n->alts);
    if (!n->alts) FAIL("out of memory");
    memcpy(n->alts, br, alts->u.arr.n * sizeof *br);
    n->n_alts = (int)alts->u.arr.n;
    n->first = seen;
    *out = self;
    return 0;
}

/* "#/$defs/name" or "#/definitions/name" (one level, no escapes). */
static int follow_ref(ctx *c, const vr_json *ref, const char *path, int depth, uint16_t *out) {
    const char *r = ref->type == VR_JSON_STRING ? ref->u.str.s : "";
    const char *name = NULL, *where = NULL;
    if (!strncmp(r, "#/$defs/", 8)) { name = r + 8; where = "$defs"; }
    else if (!strncmp(r, "#/definitions/", 14)) { name = r + 14; where = "definitions"; }
    if (!name || !*name || strchr(name, '/') || strchr(name, '~'))
        FAIL("%s.$ref: only \"#/$defs/<name>\" and \"#/definitions/<name>\" are supported", path);
    const vr_json *target = vr_jget(vr_jget(c->doc_root, where), name);
    if (!target) FAIL("%s.$ref: \"%.100s\" is not defined", path, r);
    char sub[512];
    snprintf(sub, sizeof sub, "%s.%.100s", where, name);
    return compile(c, target, sub, depth + 1, out);
}

static int compile_props(ctx *c, uint16_t self, const vr_json *sch, const char *path, int depth) {
    const vr_json *props = vr_jget(sch, "properties");
    const vr_json *req = vr_jget(sch, "required");
    const vr_json *addl = vr_jget(sch, "additionalProperties");
    if (addl && addl->type != VR_JSON_BOOL)
        FAIL("%s.additionalProperties: only true or false is supported (only the listed properties are ever produced)", path);
    if (req && req->type != VR_JSON_ARRAY) FAIL("%s.required: must be a list of property names", path);
    if (!props) {
        if (req && req->u.arr.n) FAIL("%s.required: names properties but there is no `properties`", path);
        return 0; /* any object */
    }
    if (props->type != VR_JSON_OBJECT) FAIL("%s.properties: must be an object", path);
    size_t np = props->u.obj.n;
    if (np > VR_JSCHEMA_MAX_PROPS) FAIL("%s.properties: at most %d properties", path, VR_JSCHEMA_MAX_PROPS);
    vr_jprop *pr = calloc(np ? np : 1, sizeof *pr);
    if (!pr) FAIL("out of memory");
    c->s->nodes[self].props = pr;
    c->s->nodes[self].has_props = 1;
    for (size_t i = 0; i < np; i++) {
        const vr_json_member *m = &props->u.obj.m[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(props->u.obj.m[j].key, m->key)) FAIL("%s.properties: '%.100s' is listed twice", path, m->key);
        char sub[512];
        snprintf(sub, sizeof sub, "%s.properties.%.100s", path, m->key);
        uint16_t child;
        if (compile(c, m->value, sub, depth + 1, &child)) return -1;
        vr_jnode *n = &c->s->nodes[self]; /* compile may have moved the table */
        n->props[i].key = quote(m->key, m->key_len, &n->props[i].len);
        if (!n->props[i].key) FAIL("out of memory");
        if (n->props[i].len > 4096) { /* the automaton counts key bytes in 16 bits */
            free(n->props[i].key);
            n->props[i].key = NULL;
            FAIL("%s.properties: a property name is too long (over 4096 bytes as JSON)", path);
        }
        n->props[i].node = child;
        n->n_props++;
        c->bytes += n->props[i].len;
        if (c->bytes > VR_JSCHEMA_MAX_BYTES)
            FAIL("%s: the schema's enum / const values and keys exceed %d bytes", path, VR_JSCHEMA_MAX_BYTES);
    }
    for (size_t i = 0; req && i < req->u.arr.n; i++) {
        const vr_json *x = &req->u.arr.items[i];
        if (x->type != VR_JSON_STRING) FAIL("%s.required[%zu]: must be a string", path, i);
        size_t j = 0;
        while (j < np && strcmp(props->u.obj.m[j].key, x->u.str.s)) j++;
        if (j == np) FAIL("%s.required: '%.100s' is not in properties", path, x->u.str.s);
        c->s->nodes[self].required |= 1ULL << j;
    }
    return 0;
}

static int compile(ctx *c, const vr_json *sch, const char *path, int depth, uint16_t *out) {
    /* below VR_JSCHEMA_MAX_DEPTH: each level may open one container of the
     * automaton's fixed stack */
    if (depth >= VR_JSCHEMA_MAX_DEPTH)
        FAIL("%s: the schema nests deeper than %d levels (a recursive $ref?)", path, VR_JSCHEMA_MAX_DEPTH);
    if (sch->type == VR_JSON_BOOL) {
        if (!sch->u.b) FAIL("%s: the schema false allows nothing", path);
        *out = VR_JNODE_ANY;
        return 0;
    }
    if (sch->type != VR_JSON_OBJECT) FAIL("%s: a schema must be an object", path);
    for (size_t i = 0; i < sch->u.obj.n; i++) {
        const char *k = sch->u.obj.m[i].key;
        if (!in_list(supported, k) && !in_list(annotations, k))
            FAIL("%s: unsupported JSON Schema keyword '%.60s'", path, k);
    }
    const vr_json *ref = vr_jget(sch, "$ref");
    if (ref) {
        for (size_t i = 0; i < sch->u.obj.n; i++)
            if (in_list(supported, sch->u.obj.m[i].key) && strcmp(sch->u.obj.m[i].key, "$ref"))
                FAIL("%s: '%.60s' next to $ref is not supported", path, sch->u.obj.m[i].key);
        return follow_ref(c, ref, path, depth, out);
    }
    const vr_json *any_of = vr_jget(sch, "anyOf");
    if (any_of) return compile_any_of(c, sch, any_of, path, depth, out);
    const vr_json *type = vr_jget(sch, "type"), *en = vr_jget(sch, "enum"), *cn = vr_jget(sch, "const");
    const vr_json *props = vr_jget(sch, "properties"), *items = vr_jget(sch, "items");
    const vr_json *mn = vr_jget(sch, "minItems"), *mx = vr_jget(sch, "maxItems");
    uint8_t types = VR_JT_ALL;
    if (type && parse_types(c, type, path, &types)) return -1;
    else if (!type && (props || vr_jget(sch, "required") || vr_jget(sch, "additionalProperties"))) types = VR_JT_OBJ;
    else if (!type && (items || mn || mx)) types = VR_JT_ARR;
    if (!type && !en && !cn && !props && !items && !mn && !mx && !vr_jget(sch, "required") &&
        !vr_jget(sch, "additionalProperties")) {
        *out = VR_JNODE_ANY; /* {} (annotations only): any value */
        return 0;
    }
    uint16_t self;
    if (new_node(c, path, &self)) return -1;
    c->s->nodes[self].types = types;
    if (en && cn) FAIL("%s: enum and const together are not supported", path);
    if (en) {
        if (en->type != VR_JSON_ARRAY) FAIL("%s.enum: must be a list", path);
        if (compile_lits(c, &c->s->nodes[self], en->u.arr.items, en->u.arr.n, path)) return -1;
    } else if (cn && compile_lits(c, &c->s->nodes[self], cn, 1, path)) {
        return -1;
    }
    if (types & VR_JT_OBJ && compile_props(c, self, sch, path, depth)) return -1;
    if (types & VR_JT_ARR) {
        int lo = 0, hi = -1;
        if (mn && get_count(c, mn, path, "minItems", &lo)) return -1;
        if (mx && get_count(c, mx, path, "maxItems", &hi)) return -1;
        if (hi >= 0 && lo > hi) FAIL("%s: minItems is greater than maxItems", path);
        uint16_t it = VR_JNODE_ANY;
        if (items) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.items", path);
            if (items->type == VR_JSON_ARRAY) FAIL("%s.items: tuple items (a list of schemas) are not supported", path);
            if (compile(c, items, sub, depth + 1, &it)) return -1;
        }
        vr_jnode *n = &c->s->nodes[self];
        n->items = it;
        n->min_items = lo;
        n->max_items = hi;
    }
    c->s->nodes[self].first = first_of(c->s, self);
    *out = self;
    return 0;
}

int vr_jschema_compile(vr_jshape *s, const vr_json *schema, const char *path, int root_object, uint16_t *node,
                       char *err, size_t errlen) {
    ctx cx = {.s = s, .doc_root = schema, .err = err, .errlen = errlen}, *c = &cx;
    if (!schema) FAIL("%s: missing", path);
    if (compile(c, schema, path, 0, node)) return -1;
    /* the root is a container: the automaton knows the value is complete
     * at its closing bracket, never in the middle of a number */
    uint8_t t = *node == VR_JNODE_ANY ? VR_JT_ALL : s->nodes[*node].types;
    int lits = *node != VR_JNODE_ANY && s->nodes[*node].n_lits;
    if (lits || (root_object ? t != VR_JT_OBJ : (t != VR_JT_OBJ && t != VR_JT_ARR)))
        FAIL("%s: the root must have \"type\": %s", path, root_object ? "\"object\"" : "\"object\" or \"array\"");
    return 0;
}

int vr_jschema_check(const vr_json *schema, const char *path, int root_object, char *err, size_t errlen) {
    vr_jshape *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint16_t root;
    int rc = vr_jschema_compile(s, schema, path, root_object, &root, err, errlen);
    vr_jshape_free(s);
    return rc;
}
