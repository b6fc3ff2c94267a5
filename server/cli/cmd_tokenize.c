/* vireo tokenize PATH [--no-special-tokens]
 *   reads JSON lines {"text": "..."} from stdin, writes {"ids": [...]} lines;
 * vireo detokenize PATH [--skip-special-tokens]
 *   reads JSON lines {"ids": [...]}, writes {"text": "..."} lines.
 * PATH is a model folder or a tokenizer.json file. A bad line (not a JSON
 * object, the field missing or of the wrong type, an id out of range) gets
 * {"error": "..."} and the command goes on; the exit status is 1 at the end
 * if any line failed. Lines are parsed and written with the server's JSON
 * modules, so the CLI accepts and escapes exactly what the HTTP routes do. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli/commands.h"
#include "json/json.h"
#include "server/json_writer.h"
#include "tokenizer/tokenizer.h"

/* One direction of the conversion: fills `out` with the answer object for
 * the parsed line, or returns nonzero with a message in err. `flag` is 1
 * when the command's one option was given. */
typedef int (*line_fn)(const vr_tokenizer *tok, int flag, const vr_json *line, vr_jw *out,
                       char *err, size_t errlen);

static int encode_line(const vr_tokenizer *tok, int no_special, const vr_json *line,
                       vr_jw *out, char *err, size_t errlen) {
    const vr_json *text = vr_jget(line, "text");
    if (!text) return snprintf(err, errlen, "missing \"text\""), -1;
    if (text->type != VR_JSON_STRING)
        return snprintf(err, errlen, "\"text\" must be a string, not %s", vr_jtype_name(text->type)), -1;
    int32_t *ids;
    size_t n;
    if (vr_tokenizer_encode(tok, text->u.str.s, text->u.str.len, !no_special, &ids, &n, err, errlen))
        return -1;
    vr_jw_obj_begin(out);
    vr_jw_key(out, "ids");
    vr_jw_arr_begin(out);
    for (size_t i = 0; i < n; i++) vr_jw_int(out, ids[i]);
    vr_jw_arr_end(out);
    vr_jw_obj_end(out);
    free(ids);
    return 0;
}

static int decode_line(const vr_tokenizer *tok, int skip_special, const vr_json *line,
                       vr_jw *out, char *err, size_t errlen) {
    const vr_json *arr = vr_jget(line, "ids");
    if (!arr) return snprintf(err, errlen, "missing \"ids\""), -1;
    if (arr->type != VR_JSON_ARRAY) return snprintf(err, errlen, "\"ids\" must be an array of integers"), -1;
    size_t n = arr->u.arr.n;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) return snprintf(err, errlen, "out of memory"), -1;
    for (size_t i = 0; i < n; i++) {
        const vr_json *v = &arr->u.arr.items[i];
        if (v->type != VR_JSON_INT) {
            free(ids);
            return snprintf(err, errlen, "\"ids\" must be an array of integers (ids[%zu] is %s)", i,
                            vr_jtype_name(v->type)), -1;
        }
        if (v->u.i < INT32_MIN || v->u.i > INT32_MAX) {
            free(ids);
            return snprintf(err, errlen, "ids[%zu]: token id %lld out of range", i, (long long)v->u.i), -1;
        }
        ids[i] = (int32_t)v->u.i; /* the vocabulary bound is checked by decode */
    }
    char *text;
    size_t len;
    int rc = vr_tokenizer_decode(tok, ids, n, skip_special, &text, &len, err, errlen);
    free(ids);
    if (rc) return -1;
    vr_jw_obj_begin(out);
    vr_jw_key(out, "text");
    vr_jw_strn(out, text, len);
    vr_jw_obj_end(out);
    free(text);
    return 0;
}

static int run(const char *cmd, const char *flag_name, line_fn fn, const char *usage, int argc,
               char **argv) {
    const char *path = NULL;
    int flag = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], flag_name)) flag = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s", usage);
            return 0;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "vireo %s: unexpected argument '%s' (see --help)\n", cmd, argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    char err[512];
    vr_tokenizer *tok;
    if (vr_tokenizer_load(path, &tok, err, sizeof err)) {
        fprintf(stderr, "vireo %s: %s\n", cmd, err);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int failed = 0;
    vr_sbuf out = {0};
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        out.len = 0;
        vr_jw w;
        vr_jw_init(&w, &out);
        vr_jdoc *doc = vr_jdoc_parse(line, len, err, sizeof err);
        const vr_json *root = doc ? vr_jdoc_root(doc) : NULL;
        int rc = -1;
        if (root && root->type != VR_JSON_OBJECT) snprintf(err, sizeof err, "line is not a JSON object");
        else if (root) rc = fn(tok, flag, root, &w, err, sizeof err);
        vr_jdoc_free(doc);
        if (rc) {
            failed = 1;
            out.len = 0;
            vr_jw_init(&w, &out);
            vr_jw_obj_begin(&w);
            vr_jw_key(&w, "error");
            vr_jw_str(&w, err);
            vr_jw_obj_end(&w);
        }
        if (out.oom) {
            fprintf(stderr, "vireo %s: out of memory\n", cmd);
            failed = 1;
            break;
        }
        fwrite(out.p, 1, out.len, stdout);
        fputc('\n', stdout);
    }
    free(line);
    vr_sb_free(&out);
    vr_tokenizer_free(tok);
    if (fflush(stdout)) return 1;
    return failed;
}

int vr_cmd_tokenize(int argc, char **argv) {
    return run("tokenize", "--no-special-tokens", encode_line,
               "usage: vireo tokenize PATH [--no-special-tokens]\n"
               "  PATH: a model folder or a tokenizer.json file\n"
               "  stdin: JSON lines {\"text\": \"...\"}; stdout: {\"ids\": [...]} per line\n",
               argc, argv);
}

int vr_cmd_detokenize(int argc, char **argv) {
    return run("detokenize", "--skip-special-tokens", decode_line,
               "usage: vireo detokenize PATH [--skip-special-tokens]\n"
               "  PATH: a model folder or a tokenizer.json file\n"
               "  stdin: JSON lines {\"ids\": [...]}; stdout: {\"text\": \"...\"} per line\n",
               argc, argv);
}
