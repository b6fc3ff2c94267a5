/* tokenizer/postprocessor.c — adding special tokens around an encoded
 * sequence (add_special_tokens=true). Only single sequences are encoded
 * here, so templates' "pair" forms are not used. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int vr_tok_postprocess(const vr_postproc *pp, const int32_t *ids, size_t n, vr_ids *out) {
    switch (pp->type) {
    case POST_NOOP: return vr_tok_ids_append(out, ids, n);
    case POST_BERT:
        if (vr_tok_ids_push(out, pp->cls) || vr_tok_ids_append(out, ids, n)) return -1;
        return vr_tok_ids_push(out, pp->sep);
    case POST_TEMPLATE:
        for (size_t i = 0; i < pp->n_items; i++) {
            const vr_tpl_item *it = &pp->items[i];
            if (it->is_seq ? vr_tok_ids_append(out, ids, n) : vr_tok_ids_append(out, it->ids, it->n_ids)) return -1;
        }
        return 0;
    case POST_SEQUENCE: {
        vr_ids cur = {0};
        if (vr_tok_ids_append(&cur, ids, n)) return -1;
        for (size_t i = 0; i < pp->n_subs; i++) {
            vr_ids next = {0};
            if (vr_tok_postprocess(&pp->subs[i], cur.p, cur.n, &next)) {
                free(cur.p);
                free(next.p);
                return -1;
            }
            free(cur.p);
            cur = next;
        }
        int rc = vr_tok_ids_append(out, cur.p, cur.n);
        free(cur.p);
        return rc;
    }
    }
    return -1;
}

void vr_tok_postproc_free(vr_postproc *pp) {
    for (size_t i = 0; i < pp->n_items; i++) free(pp->items[i].ids);
    free(pp->items);
    for (size_t i = 0; i < pp->n_subs; i++) vr_tok_postproc_free(&pp->subs[i]);
    free(pp->subs);
    memset(pp, 0, sizeof *pp);
}
