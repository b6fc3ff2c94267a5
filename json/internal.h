/* json/internal.h — private to json/ (C++ only): the one way the tree
 * (parse.cpp) and the cursor (cursor.cpp) run simdjson. */
#ifndef VR_JSON_INTERNAL_H
#define VR_JSON_INTERNAL_H

#include <simdjson.h>

#include <cstddef>

/* Parse len bytes of text into parser's DOM with at most max_depth levels.
 * padded: text has SIMDJSON_PADDING readable bytes after len (else it is
 * copied). Integers too big for 64 bits are read as doubles. Returns 0 and
 * *root, or nonzero with "line L col C: why" in err (err may be NULL). The
 * DOM does not point into text: text may go once this returns. */
int vr_json_dom_parse(simdjson::dom::parser &parser, const char *text, size_t len, bool padded,
                      size_t max_depth, simdjson::dom::element *root, char *err, size_t errlen);

#endif
