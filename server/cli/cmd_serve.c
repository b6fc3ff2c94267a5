/* server/cli/cmd_serve.c — `vireo serve MODEL [flags]`: the flags of
 * `vllm serve` (same spelling), mapped onto vr_server_options. Unknown flags
 * are an error with the closest known one suggested; flags that only make
 * sense on multi-GPU setups are accepted with their single-device value. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli/commands.h"
#include "server/server.h"

typedef enum { F_BOOL, F_STR, F_INT, F_FLOAT, F_BYTES, F_LIST, F_IGNORED_BOOL, F_IGNORED_VAL } flag_kind;

typedef struct flag {
    const char *name;
    flag_kind kind;
    const char *help;
} flag;

static const flag flags[] = {
    {"--host", F_STR, "address to listen on (0.0.0.0)"},
    {"--port", F_INT, "TCP port (8000; 0 = any free port; -1 = none, with --uds)"},
    {"--uds", F_STR, "also listen on this unix socket path"},
    {"--api-key", F_LIST, "require Authorization: Bearer KEY (repeatable; env VLLM_API_KEY / VIREO_API_KEY)"},
    {"--served-model-name", F_LIST, "model name(s) clients use (default: the MODEL argument)"},
    {"--chat-template", F_STR, "chat template file (or inline template text)"},
    {"--max-model-len", F_INT, "context length (default: the model's)"},
    {"--max-num-seqs", F_INT, "running sequences cap (256)"},
    {"--max-num-batched-tokens", F_INT, "tokens per engine step (2048)"},
    {"--max-num-queued-requests", F_INT, "waiting requests cap; beyond it: 429 (4096)"},
    {"--block-size", F_INT, "tokens per KV block (16)"},
    {"--enable-prefix-caching", F_BOOL, "reuse KV blocks of shared prefixes (on)"},
    {"--no-enable-prefix-caching", F_BOOL, "turn prefix caching off"},
    {"--gpu-memory-utilization", F_FLOAT, "share of device memory for weights + KV cache (0.9)"},
    {"--kv-cache-memory-bytes", F_BYTES, "KV cache size in bytes (suffixes K M G allowed)"},
    {"--kv-cache-memory", F_BYTES, "same as --kv-cache-memory-bytes"},
    {"--dtype", F_STR, "auto | bfloat16 | float16 | float32"},
    {"--kv-cache-dtype", F_STR, "KV cache storage: auto (the weights' dtype) | bfloat16 | float16 | float32"},
    {"--device", F_STR, "auto | cpu | cuda | hip"},
    {"--seed", F_INT, "base seed for requests without one"},
    {"--generation-config", F_STR, "auto | vllm | DIR (sampling defaults)"},
    {"--max-logprobs", F_INT, "cap on logprobs / top_logprobs (20)"},
    {"--allowed-origins", F_LIST, "CORS origins (JSON list, comma list or repeated; \"*\" = any)"},
    {"--disable-log-requests", F_BOOL, "no access-log line per request"},
    {"--disable-log-stats", F_BOOL, "no stats line every 5 s"},
    {"--enable-auto-tool-choice", F_BOOL, "let the model call tools (needs --tool-call-parser)"},
    {"--tool-call-parser", F_STR, "hermes | llama3_json | mistral | deepseek_v3"},
    {"--reasoning-parser", F_STR, "qwen3 | deepseek_r1"},
    {"--tensor-parallel-size", F_INT, "devices to split the model over (1)"},
    {"-tp", F_INT, "same as --tensor-parallel-size"},
    {"--pipeline-parallel-size", F_INT, "pipeline stages (1)"},
    {"-pp", F_INT, "same as --pipeline-parallel-size"},
    {"--scheduling-policy", F_STR, "fcfs | priority"},
    {"--num-threads", F_INT, "CPU threads (default: one per core)"},
    {"--timeout-keep-alive", F_INT, "seconds an idle keep-alive connection stays open (75)"},
    {"--request-timeout", F_INT, "seconds to receive a whole request (30)"},
    {"--max-request-body-bytes", F_BYTES, "largest accepted request body (32M)"},
    {"--tokenizer", F_STR, "tokenizer folder (default: MODEL)"},
    {"--quiet", F_BOOL, "no startup summary"},
    {"--trust-remote-code", F_IGNORED_BOOL, "accepted (no remote code is ever run)"},
    {"--enforce-eager", F_IGNORED_BOOL, "accepted (no graphs on CPU)"},
    {"--disable-uvicorn-access-log", F_IGNORED_BOOL, "accepted"},
    {"--disable-custom-all-reduce", F_IGNORED_BOOL, "accepted"},
    {"--allow-credentials", F_IGNORED_BOOL, "accepted"},
    {"--swap-space", F_IGNORED_VAL, "accepted"},
    {"--load-format", F_IGNORED_VAL, "accepted"},
    {"--download-dir", F_IGNORED_VAL, "accepted"},
    {"--uvicorn-log-level", F_IGNORED_VAL, "accepted"},
    {"--allowed-methods", F_IGNORED_VAL, "accepted"},
    {"--allowed-headers", F_IGNORED_VAL, "accepted"},
    {"--help", F_BOOL, "this help"},
};
#define N_FLAGS (sizeof flags / sizeof flags[0])

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static void usage(FILE *f) {
    fprintf(f, "usage: vireo serve MODEL [flags]\n\nServe a Hugging Face model folder over an OpenAI-compatible API.\n\n");
    for (size_t i = 0; i < N_FLAGS; i++) fprintf(f, "  %-28s %s\n", flags[i].name, flags[i].help);
}

static int parse_bytes(const char *v, size_t *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || x < 0) return -1;
    double mul = 1;
    if (*end) {
        char u = (char)toupper((unsigned char)*end);
        mul = u == 'K' ? 1e3 : u == 'M' ? 1e6 : u == 'G' ? 1e9 : u == 'T' ? 1e12 : 0;
        if (!mul) return -1;
        end++;
        if (*end == 'i' || *end == 'I') { /* KiB-style */
            mul = u == 'K' ? 1024.0 : u == 'M' ? 1048576.0 : u == 'G' ? 1073741824.0 : 1099511627776.0;
            end++;
        }
        if (*end == 'B' || *end == 'b') end++;
        if (*end) return -1;
    }
    *out = (size_t)(x * mul);
    return 0;
}

static int parse_int(const char *name, const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "vireo serve: %s expects an integer in [%ld, %ld], got '%s'\n", name, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* --allowed-origins '["http://a","http://b"]' (vLLM's JSON form) or a,b. */
static int add_origins(vr_server_options *o, char *v) {
    for (char *p = v; *p; p++)
        if (*p == '[' || *p == ']' || *p == '"' || *p == '\'') *p = ' ';
    for (char *tok = strtok(v, ", "); tok; tok = strtok(NULL, ", ")) {
        if (o->n_allowed_origins >= VR_SERVER_MAX_LIST) return -1;
        o->allowed_origins[o->n_allowed_origins++] = tok;
    }
    return 0;
}

int vr_cmd_serve(int argc, char **argv) {
    vr_server_options o;
    vr_server_options_default(&o);
    const char *model = NULL;
    int log_stats = 1;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (model) {
                fprintf(stderr, "vireo serve: unexpected argument '%s' (the model is already '%s')\n", arg, model);
                return 2;
            }
            model = arg;
            continue;
        }
        char name[128];
        const char *val = NULL;
        char *eq = strchr(arg, '=');
        if (eq && eq - arg < (long)sizeof name) {
            memcpy(name, arg, (size_t)(eq - arg));
            name[eq - arg] = 0;
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
        }
        for (char *p = name + 2; *p && name[0] == '-' && name[1] == '-'; p++)
            if (*p == '_') *p = '-'; /* --max_model_len works too */
        const flag *f = NULL;
        for (size_t k = 0; k < N_FLAGS; k++)
            if (!strcmp(name, flags[k].name)) f = &flags[k];
        if (!f) {
            const char *best = NULL;
            size_t bd = 99;
            for (size_t k = 0; k < N_FLAGS; k++) {
                size_t d = edit_distance(name, flags[k].name);
                if (d < bd) bd = d, best = flags[k].name;
            }
            if (best && bd <= 4) fprintf(stderr, "vireo serve: unknown flag '%s'; did you mean '%s'?\n", name, best);
            else fprintf(stderr, "vireo serve: unknown flag '%s' (see vireo serve --help)\n", name);
            return 2;
        }
        if (!strcmp(f->name, "--help")) {
            usage(stdout);
            return 0;
        }
        int takes = f->kind != F_BOOL && f->kind != F_IGNORED_BOOL;
        if (takes && !val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vireo serve: %s needs a value\n", f->name);
                return 2;
            }
            val = argv[++i];
        } else if (!takes && val) {
            fprintf(stderr, "vireo serve: %s takes no value\n", f->name);
            return 2;
        }
        long n = 0;
        const char *fn = f->name;
        if (f->kind == F_INT && parse_int(fn, val, -1, 1L << 40, &n)) return 2;
        if (!strcmp(fn, "--host")) o.host = val;
        else if (!strcmp(fn, "--port")) {
            if (n < -1 || n > 65535) { /* -1: no TCP listener (with --uds) */
                fprintf(stderr, "vireo serve: --port must be in [0, 65535] (or -1 with --uds)\n");
                return 2;
            }
            o.port = (int)n;
        } else if (!strcmp(fn, "--uds")) o.uds = val;
        else if (!strcmp(fn, "--api-key") || !strcmp(fn, "--served-model-name")) {
            int is_key = fn[2] == 'a';
            const char **list = is_key ? o.api_keys : o.served_model_names;
            int *cnt = is_key ? &o.n_api_keys : &o.n_served_model_names;
            /* nargs='+': this value and the following non-flag arguments */
            for (;;) {
                if (*cnt >= VR_SERVER_MAX_LIST) {
                    fprintf(stderr, "vireo serve: too many values for %s\n", fn);
                    return 2;
                }
                list[(*cnt)++] = val;
                if (is_key || eq || i + 1 >= argc || argv[i + 1][0] == '-') break;
                /* further names only when a model is already given (else it is MODEL) */
                if (!model) break;
                val = argv[++i];
            }
        } else if (!strcmp(fn, "--chat-template")) o.chat_template = val;
        else if (!strcmp(fn, "--max-model-len")) o.engine.max_model_len = (int)n;
        else if (!strcmp(fn, "--max-num-seqs")) o.engine.max_num_seqs = (int)n;
        else if (!strcmp(fn, "--max-num-batched-tokens")) o.engine.max_num_batched_tokens = (int)n;
        else if (!strcmp(fn, "--max-num-queued-requests")) o.engine.max_num_queued_requests = (int)n;
        else if (!strcmp(fn, "--block-size")) o.engine.block_size = (int)n;
        else if (!strcmp(fn, "--enable-prefix-caching")) o.engine.enable_prefix_caching = 1;
        else if (!strcmp(fn, "--no-enable-prefix-caching")) o.engine.enable_prefix_caching = 0;
        else if (!strcmp(fn, "--gpu-memory-utilization")) {
            double u = strtod(val, NULL);
            if (!(u > 0 && u <= 1)) {
                fprintf(stderr, "vireo serve: --gpu-memory-utilization must be in (0, 1]\n");
                return 2;
            }
        } else if (!strcmp(fn, "--kv-cache-memory-bytes") || !strcmp(fn, "--kv-cache-memory")) {
            if (parse_bytes(val, &o.engine.kv_cache_memory_bytes)) {
                fprintf(stderr, "vireo serve: %s: cannot read '%s' as a size (e.g. 4G)\n", fn, val);
                return 2;
            }
        } else if (!strcmp(fn, "--dtype")) o.engine.dtype = val;
        else if (!strcmp(fn, "--kv-cache-dtype")) o.engine.kv_cache_dtype = val;
        else if (!strcmp(fn, "--device")) o.engine.device = val;
        else if (!strcmp(fn, "--seed")) o.engine.seed = (uint64_t)n;
        else if (!strcmp(fn, "--generation-config")) o.engine.generation_config = val;
        else if (!strcmp(fn, "--max-logprobs")) o.engine.max_logprobs = (int)n;
        else if (!strcmp(fn, "--allowed-origins")) {
            if (add_origins(&o, (char *)val)) {
                fprintf(stderr, "vireo serve: too many --allowed-origins\n");
                return 2;
            }
        } else if (!strcmp(fn, "--disable-log-requests")) o.log_requests = 0;
        else if (!strcmp(fn, "--disable-log-stats")) log_stats = 0;
        else if (!strcmp(fn, "--enable-auto-tool-choice")) o.enable_auto_tool_choice = 1;
        else if (!strcmp(fn, "--tool-call-parser")) o.tool_call_parser = val;
        else if (!strcmp(fn, "--reasoning-parser")) o.reasoning_parser = val;
        else if (!strcmp(fn, "--tensor-parallel-size") || !strcmp(fn, "-tp") || !strcmp(fn, "--pipeline-parallel-size") ||
                 !strcmp(fn, "-pp")) {
            if (n != 1) {
                fprintf(stderr, "vireo serve: %s %ld: one device per server in this version (use 1)\n", fn, n);
                return 2;
            }
        } else if (!strcmp(fn, "--scheduling-policy")) {
            if (strcmp(val, "fcfs") && strcmp(val, "priority")) {
                fprintf(stderr, "vireo serve: --scheduling-policy must be fcfs or priority\n");
                return 2;
            }
            o.engine.scheduling_policy_priority = !strcmp(val, "priority");
        } else if (!strcmp(fn, "--num-threads")) o.engine.num_threads = (int)n;
        else if (!strcmp(fn, "--timeout-keep-alive")) o.idle_timeout_ms = (unsigned)(n * 1000);
        else if (!strcmp(fn, "--request-timeout")) o.request_timeout_ms = (unsigned)(n * 1000);
        else if (!strcmp(fn, "--max-request-body-bytes")) {
            if (parse_bytes(val, &o.max_body_bytes) || !o.max_body_bytes) {
                fprintf(stderr, "vireo serve: %s: cannot read '%s' as a size\n", fn, val);
                return 2;
            }
        } else if (!strcmp(fn, "--tokenizer")) o.engine.tokenizer_path = val;
        else if (!strcmp(fn, "--quiet")) o.quiet = 1;
        /* F_IGNORED_*: accepted for command-line compatibility */
    }
    if (!model) {
        fprintf(stderr, "vireo serve: missing MODEL (a Hugging Face model folder)\n\n");
        usage(stderr);
        return 2;
    }
    if (o.tool_call_parser && !o.enable_auto_tool_choice)
        fprintf(stderr, "WARNING vireo: --tool-call-parser without --enable-auto-tool-choice has no effect\n");
    if (o.n_api_keys == 0) {
        const char *env = getenv("VIREO_API_KEY");
        if (!env || !*env) env = getenv("VLLM_API_KEY");
        if (env && *env) o.api_keys[o.n_api_keys++] = env;
    }
    o.engine.model_path = model;
    o.engine.log_stats = log_stats;
    char err[1024];
    vr_server *s;
    if (vr_server_create(&o, &s, err, sizeof err)) {
        fprintf(stderr, "vireo serve: %s\n", err);
        return 1;
    }
    int rc = vr_server_run(s);
    vr_server_destroy(s);
    return rc ? 1 : 0;
}
