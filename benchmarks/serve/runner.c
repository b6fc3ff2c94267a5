/* benchmarks/serve/runner.c — see runner.h.
 *
 * Timestamps are uv_hrtime() taken in the read callback, i.e. when the bytes
 * reached this process: the same point vLLM's harness measures from. A
 * request's clock starts just before it is handed to the HTTP client (so
 * connection setup counts, as it would for a real client). */
#include "benchmarks/serve/runner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "json/json.h"
#include "benchmarks/serve/sse.h"

#define ERRBODY_MAX 4096
#define SSE_MAX_EVENT ((size_t)8 << 20)

typedef struct runner runner;

typedef struct stream_req {
    vr_hc_request hr;
    runner *run;
    size_t idx;
    vr_sse sse;
    vr_bench_buf body;     /* request body */
    vr_bench_buf errbody;  /* body of a non-200 answer */
    uint64_t t_start, t_last;
    int got_text, done_marker;
    double usage_prompt, usage_output; /* < 0 when the server sent no usage */
    size_t chunks;
} stream_req;

struct runner {
    uv_loop_t *loop;
    vr_hc *hc;
    const vr_bench_config *cfg;
    const char *model;
    const vr_bench_prompt *prompts;
    size_t n;
    vr_bench_sample *samples;
    stream_req *reqs;
    double *arrivals;
    size_t arrived, started, finished, failed;
    int in_flight, max_in_flight, cap;
    int in_try_start;
    uint64_t t0, t_end;
    uv_timer_t arrival_timer, progress_timer;
    int progress;
    const char *label;
    int oom;
    int timers_open;
};

/* CPU seconds this process has used: shows the harness's own load. */
static double cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double ms_between(uint64_t a, uint64_t b) { return (double)(b - a) / 1e6; }

/* ---- one streaming response ---- */

static void set_error(stream_req *q, const char *msg, const char *detail) {
    if (q->hr.error[0]) return;
    snprintf(q->hr.error, sizeof q->hr.error, "%s%s%.120s", msg, detail ? ": " : "", detail ? detail : "");
}

static const char *chunk_text(const vr_json *choice, int chat, size_t *len) {
    const vr_json *t;
    if (chat) {
        const vr_json *delta = vr_jget(choice, "delta");
        t = vr_jget(delta, "content");
        /* reasoning models stream their thinking first: those are output tokens too */
        if (!vr_jstring(t) || !t->u.str.len) t = vr_jget(delta, "reasoning_content");
        if (!vr_jstring(t) || !t->u.str.len) t = vr_jget(delta, "reasoning");
    } else {
        t = vr_jget(choice, "text");
    }
    if (!vr_jstring(t)) return NULL;
    *len = t->u.str.len;
    return t->u.str.s;
}

static int on_event(void *user, const char *data, size_t len) {
    stream_req *q = user;
    uint64_t now = uv_hrtime();
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        q->done_marker = 1;
        return 0;
    }
    char jerr[200];
    vr_jdoc *doc = vr_jdoc_parse(data, len, jerr, sizeof jerr);
    if (!doc) {
        set_error(q, "malformed JSON in stream", jerr);
        return 1;
    }
    const vr_json *root = vr_jdoc_root(doc);
    int rc = 0;
    if (root->type != VR_JSON_OBJECT) {
        set_error(q, "stream event is not a JSON object", NULL);
        rc = 1;
        goto out;
    }
    const vr_json *e = vr_jget(root, "error");
    if (e) {
        const char *m = vr_jstring(vr_jget(e, "message"));
        set_error(q, "error event in stream", m ? m : vr_jstring(e) ? vr_jstring(e) : "(no message)");
        rc = 1;
        goto out;
    }
    const vr_json *choices = vr_jget(root, "choices");
    if (choices && choices->type == VR_JSON_ARRAY && vr_jlen(choices) > 0) {
        size_t tl = 0;
        const char *t = chunk_text(vr_jat(choices, 0), q->run->cfg->chat, &tl);
        if (t && tl) {
            if (!q->got_text) {
                q->got_text = 1;
                q->run->samples[q->idx].ttft_ms = ms_between(q->t_start, now);
            } else if (vr_bench_sample_add_itl(&q->run->samples[q->idx], ms_between(q->t_last, now))) {
                set_error(q, "out of memory", NULL);
                rc = 1;
                goto out;
            }
            q->t_last = now;
            q->chunks++;
        }
    }
    const vr_json *usage = vr_jget(root, "usage");
    if (usage && usage->type == VR_JSON_OBJECT) {
        double v;
        if (!vr_jdouble(vr_jget(usage, "prompt_tokens"), &v)) q->usage_prompt = v;
        if (!vr_jdouble(vr_jget(usage, "completion_tokens"), &v)) q->usage_output = v;
    }
out:
    vr_jdoc_free(doc);
    return rc;
}

static void on_status(vr_hc_request *r, int status) { (void)r; (void)status; }

static int on_body(vr_hc_request *r, const char *data, size_t len) {
    stream_req *q = r->user;
    if (r->status != 200) { /* keep the start of the error body for the message */
        size_t room = ERRBODY_MAX > q->errbody.len ? ERRBODY_MAX - q->errbody.len : 0;
        vr_bench_buf_put(&q->errbody, data, len < room ? len : room);
        return 0;
    }
    int rc = vr_sse_feed(&q->sse, data, len);
    if (rc) {
        set_error(q, rc < 0 ? "SSE event too large or out of memory" : "bad stream", NULL);
        return -1;
    }
    return 0;
}

static void try_start(runner *R);

static void http_error_message(stream_req *q) {
    char detail[128] = "";
    if (q->errbody.p && q->errbody.len) {
        vr_jdoc *doc = vr_jdoc_parse(q->errbody.p, q->errbody.len, NULL, 0);
        const vr_json *root = vr_jdoc_root(doc);
        const vr_json *e = vr_jget(root, "error");
        const char *m = vr_jstring(vr_jget(e, "message"));
        if (!m) m = vr_jstring(e);
        if (!m) m = vr_jstring(vr_jget(root, "message"));
        if (!m) m = vr_jstring(vr_jget(root, "detail"));
        if (m) snprintf(detail, sizeof detail, "%s", m);
        else snprintf(detail, sizeof detail, "%.*s", (int)(q->errbody.len < 100 ? q->errbody.len : 100), q->errbody.p);
        vr_jdoc_free(doc);
        for (char *c = detail; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
    }
    char buf[32];
    snprintf(buf, sizeof buf, "HTTP %d", q->hr.status);
    q->hr.error[0] = 0;
    set_error(q, buf, detail[0] ? detail : NULL);
}

static void on_done(vr_hc_request *r, int ok) {
    stream_req *q = r->user;
    runner *R = q->run;
    uint64_t now = uv_hrtime();
    vr_bench_sample *s = &R->samples[q->idx];
    const vr_bench_prompt *p = &R->prompts[q->idx];
    s->e2e_ms = ms_between(q->t_start, now);
    if (ok && r->status != 200) http_error_message(q);
    else if (ok && !q->done_marker) set_error(q, "stream ended without data: [DONE]", NULL);
    else if (ok && !q->got_text) set_error(q, "stream carried no text", NULL);
    if (ok && !r->error[0]) {
        s->ok = 1;
        s->prompt_tokens = q->usage_prompt >= 0 ? (int)q->usage_prompt : p->prompt_len;
        s->output_tokens = q->usage_output >= 0 ? (int)q->usage_output : (int)q->chunks;
        s->tpot_ms = s->output_tokens > 1 ? (s->e2e_ms - s->ttft_ms) / (s->output_tokens - 1) : -1;
    } else {
        s->ok = 0;
        snprintf(s->error, sizeof s->error, "%s", r->error[0] ? r->error : "unknown failure");
        s->ttft_ms = 0;
        s->tpot_ms = -1;
        R->failed++;
    }
    vr_sse_free(&q->sse);
    free(q->body.p);
    free(q->errbody.p);
    memset(&q->body, 0, sizeof q->body);
    memset(&q->errbody, 0, sizeof q->errbody);
    R->in_flight--;
    R->finished++;
    if (R->finished == R->n) {
        R->t_end = now;
        uv_timer_stop(&R->arrival_timer);
        uv_timer_stop(&R->progress_timer);
    } else {
        try_start(R);
    }
}

static void start_one(runner *R, size_t i) {
    stream_req *q = &R->reqs[i];
    memset(q, 0, sizeof *q);
    q->run = R;
    q->idx = i;
    q->usage_prompt = q->usage_output = -1;
    vr_bench_sample *s = &R->samples[i];
    s->expected_output = R->prompts[i].output_len;
    s->tpot_ms = -1;
    vr_sse_init(&q->sse, SSE_MAX_EVENT, on_event, q);
    if (vr_bench_request_body(R->cfg, R->model, &R->prompts[i], &q->body)) {
        R->oom = 1;
    }
    q->hr.method = "POST";
    q->hr.path = R->cfg->endpoint;
    q->hr.body = q->body.p;
    q->hr.body_len = q->body.len;
    q->hr.timeout_s = R->cfg->timeout_s;
    q->hr.on_status = on_status;
    q->hr.on_body = on_body;
    q->hr.on_done = on_done;
    q->hr.user = q;
    q->t_start = uv_hrtime();
    s->start_s = (double)(q->t_start - R->t0) / 1e9;
    R->in_flight++;
    if (R->in_flight > R->max_in_flight) R->max_in_flight = R->in_flight;
    if (R->oom || vr_hc_start(R->hc, &q->hr)) {
        if (!q->hr.error[0]) snprintf(q->hr.error, sizeof q->hr.error, "out of memory");
        on_done(&q->hr, 0);
    }
}

static void try_start(runner *R) {
    if (R->in_try_start) return; /* the outer loop below picks up the change */
    R->in_try_start = 1;
    while (R->started < R->arrived && (R->cap <= 0 || R->in_flight < R->cap))
        start_one(R, R->started++);
    R->in_try_start = 0;
}

static void arrival_cb(uv_timer_t *t) {
    runner *R = t->data;
    double now = (double)(uv_hrtime() - R->t0) / 1e9;
    while (R->arrived < R->n && R->arrivals[R->arrived] <= now) R->arrived++;
    try_start(R);
    if (R->arrived < R->n) {
        double wait_ms = (R->arrivals[R->arrived] - now) * 1000.0;
        uv_timer_start(&R->arrival_timer, arrival_cb, wait_ms > 0 ? (uint64_t)ceil(wait_ms) : 0, 0);
    }
}

static void draw_progress(runner *R, int final) {
    const int width = 30;
    int fill = R->n ? (int)((double)R->finished / (double)R->n * width) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    double el = (double)(uv_hrtime() - R->t0) / 1e9;
    /* trailing spaces wipe what a longer previous line left behind */
    fprintf(stderr, "\r%s [%s] %zu/%zu done, %d in flight, %zu failed, %.1f s   %s", R->label ? R->label : "",
            bar, R->finished, R->n, R->in_flight, R->failed, el, final ? "\n" : "");
    fflush(stderr);
}

static void progress_cb(uv_timer_t *t) { draw_progress(t->data, 0); }

static void timer_closed(uv_handle_t *h) { ((runner *)h->data)->timers_open--; }

int vr_bench_run(uv_loop_t *loop, vr_hc *hc, const vr_bench_config *cfg, const char *model,
                 const vr_bench_prompt *prompts, size_t n, const vr_bench_run_opts *opt,
                 vr_bench_run_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    runner R;
    memset(&R, 0, sizeof R);
    R.loop = loop;
    R.hc = hc;
    R.cfg = cfg;
    R.model = model;
    R.prompts = prompts;
    R.n = n;
    R.cap = opt->max_concurrency;
    R.progress = opt->progress;
    R.label = opt->label;
    R.samples = calloc(n ? n : 1, sizeof *R.samples);
    R.reqs = calloc(n ? n : 1, sizeof *R.reqs);
    R.arrivals = calloc(n ? n : 1, sizeof *R.arrivals);
    if (!R.samples || !R.reqs || !R.arrivals) {
        free(R.samples);
        free(R.reqs);
        free(R.arrivals);
        snprintf(err, errlen, "out of memory for %zu requests", n);
        return -1;
    }
    vr_bench_rng rng = {opt->seed};
    vr_bench_arrivals(opt->request_rate, n, &rng, R.arrivals);
    uv_timer_init(loop, &R.arrival_timer);
    uv_timer_init(loop, &R.progress_timer);
    R.arrival_timer.data = R.progress_timer.data = &R;
    size_t opened_before = vr_hc_connections_opened(hc);
    double cpu0 = cpu_seconds();
    R.t0 = uv_hrtime();
    if (R.progress) uv_timer_start(&R.progress_timer, progress_cb, 0, 250);
    if (n) {
        arrival_cb(&R.arrival_timer);
        while (R.finished < R.n) uv_run(loop, UV_RUN_ONCE);
    } else {
        R.t_end = R.t0;
    }
    out->harness_cpu_s = cpu_seconds() - cpu0;
    if (R.progress) draw_progress(&R, 1);
    uv_timer_stop(&R.arrival_timer);
    uv_timer_stop(&R.progress_timer);
    R.timers_open = 2;
    uv_close((uv_handle_t *)&R.arrival_timer, timer_closed);
    uv_close((uv_handle_t *)&R.progress_timer, timer_closed);
    while (R.timers_open) uv_run(loop, UV_RUN_ONCE); /* R lives on this stack: wait for the closes */
    free(R.reqs);
    free(R.arrivals);
    out->samples = R.samples;
    out->n = n;
    out->duration_s = (double)(R.t_end - R.t0) / 1e9;
    out->max_concurrency = opt->max_concurrency;
    out->max_in_flight = R.max_in_flight;
    out->request_rate = opt->request_rate;
    out->connections_opened = vr_hc_connections_opened(hc) - opened_before;
    if (vr_bench_summarize(out->samples, n, out->duration_s, &cfg->slo, &out->summary)) {
        snprintf(err, errlen, "out of memory summarizing");
        return -1;
    }
    return 0;
}

void vr_bench_run_result_free(vr_bench_run_result *r) {
    for (size_t i = 0; i < r->n; i++) vr_bench_sample_free(&r->samples[i]);
    free(r->samples);
    memset(r, 0, sizeof *r);
}

void vr_bench_arrivals(double rate, size_t n, vr_bench_rng *rng, double *out) {
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(rate) || rate <= 0) {
            out[i] = 0;
            continue;
        }
        /* exponential gap; u in (0,1] so log never sees 0 */
        out[i] = t; /* the first request goes at once, as in vLLM's harness */
        double u = 1.0 - vr_bench_rng_uniform(rng);
        t += -log(u) / rate;
    }
}
