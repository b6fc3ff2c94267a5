/* server/docs.c — /openapi.json (a description of our routes for tools)
 * and /docs (a small page for humans that lists them). Static text: the
 * routes are fixed at build time. */
#include <string.h>

#include "server/server_impl.h"

#define JSON_BODY(schema) \
    "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":" schema "}}},"
#define OK_JSON "\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{\"application/json\":{}}}," \
    "\"400\":{\"$ref\":\"#/components/responses/Error\"},\"401\":{\"$ref\":\"#/components/responses/Error\"}}"

static const char openapi[] =
    "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"vireo\",\"version\":\"" VIREO_VERSION "\","
    "\"description\":\"OpenAI-compatible LLM inference server\"},"
    "\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\"}},"
    "\"responses\":{\"Error\":{\"description\":\"OpenAI-style error\",\"content\":{\"application/json\":{\"schema\":"
    "{\"type\":\"object\",\"properties\":{\"error\":{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"},"
    "\"type\":{\"type\":\"string\"},\"param\":{\"type\":[\"string\",\"null\"]},\"code\":{\"type\":\"integer\"}}}}}}}}}},"
    "\"security\":[{\"bearer\":[]}],"
    "\"paths\":{"
    "\"/v1/chat/completions\":{\"post\":{\"summary\":\"Chat completion (SSE when stream is true)\","
    JSON_BODY("{\"type\":\"object\",\"required\":[\"messages\"],\"properties\":{\"model\":{\"type\":\"string\"},"
              "\"messages\":{\"type\":\"array\"},\"max_completion_tokens\":{\"type\":\"integer\"},"
              "\"max_tokens\":{\"type\":\"integer\"},\"temperature\":{\"type\":\"number\"},\"top_p\":{\"type\":\"number\"},"
              "\"n\":{\"type\":\"integer\"},\"stop\":{},\"stream\":{\"type\":\"boolean\"},\"seed\":{\"type\":\"integer\"},"
              "\"logprobs\":{\"type\":\"boolean\"},\"top_logprobs\":{\"type\":\"integer\"}}}") OK_JSON "}},"
    "\"/v1/completions\":{\"post\":{\"summary\":\"Text completion (SSE when stream is true)\","
    JSON_BODY("{\"type\":\"object\",\"required\":[\"prompt\"],\"properties\":{\"model\":{\"type\":\"string\"},"
              "\"prompt\":{},\"max_tokens\":{\"type\":\"integer\",\"default\":16},\"echo\":{\"type\":\"boolean\"},"
              "\"logprobs\":{\"type\":\"integer\"},\"stream\":{\"type\":\"boolean\"}}}") OK_JSON "}},"
    "\"/v1/embeddings\":{\"post\":{\"summary\":\"Embeddings\","
    JSON_BODY("{\"type\":\"object\",\"required\":[\"input\"],\"properties\":{\"input\":{},"
              "\"encoding_format\":{\"enum\":[\"float\",\"base64\"]},\"dimensions\":{\"type\":\"integer\"}}}") OK_JSON "}},"
    "\"/tokenize\":{\"post\":{\"summary\":\"Text or chat messages to token ids\","
    JSON_BODY("{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\"},\"messages\":{\"type\":\"array\"},"
              "\"add_special_tokens\":{\"type\":\"boolean\"},\"return_token_strs\":{\"type\":\"boolean\"}}}") OK_JSON "}},"
    "\"/detokenize\":{\"post\":{\"summary\":\"Token ids to text\","
    JSON_BODY("{\"type\":\"object\",\"required\":[\"tokens\"],\"properties\":{\"tokens\":{\"type\":\"array\","
              "\"items\":{\"type\":\"integer\"}}}}") OK_JSON "}},"
    "\"/v1/models\":{\"get\":{\"summary\":\"Served models\"," OK_JSON "}},"
    "\"/version\":{\"get\":{\"summary\":\"Server version\"," OK_JSON "}},"
    "\"/health\":{\"get\":{\"summary\":\"200 while the engine is stepping, else 503\",\"security\":[],"
    "\"responses\":{\"200\":{\"description\":\"healthy\"},\"503\":{\"description\":\"engine down\"}}}},"
    "\"/ping\":{\"get\":{\"summary\":\"Same as /health\",\"security\":[],\"responses\":{\"200\":{\"description\":\"healthy\"}}},"
    "\"post\":{\"summary\":\"Same as /health\",\"security\":[],\"responses\":{\"200\":{\"description\":\"healthy\"}}}},"
    "\"/metrics\":{\"get\":{\"summary\":\"Prometheus metrics (vLLM names)\",\"security\":[],"
    "\"responses\":{\"200\":{\"description\":\"text/plain exposition format\"}}}},"
    "\"/docs\":{\"get\":{\"summary\":\"This API, for humans\",\"responses\":{\"200\":{\"description\":\"HTML\"}}}},"
    "\"/openapi.json\":{\"get\":{\"summary\":\"This API, for tools\"," OK_JSON "}}"
    "}}";

static const char docs_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>vireo API</title>"
    "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}code{background:#eee;padding:0 .2em}"
    "td{padding:.2em .8em}</style></head><body>"
    "<h1>vireo " VIREO_VERSION "</h1><p>An OpenAI-compatible server: point any OpenAI SDK at "
    "<code>/v1</code>. Machine-readable description: <a href=\"/openapi.json\">/openapi.json</a>.</p>"
    "<table><tr><th>Method</th><th>Path</th><th>What</th></tr>"
    "<tr><td>POST</td><td><code>/v1/chat/completions</code></td><td>chat (SSE with <code>stream:true</code>)</td></tr>"
    "<tr><td>POST</td><td><code>/v1/completions</code></td><td>text completion</td></tr>"
    "<tr><td>POST</td><td><code>/v1/embeddings</code></td><td>embeddings (float or base64)</td></tr>"
    "<tr><td>POST</td><td><code>/tokenize</code></td><td>text or messages to token ids</td></tr>"
    "<tr><td>POST</td><td><code>/detokenize</code></td><td>token ids to text</td></tr>"
    "<tr><td>GET</td><td><code>/v1/models</code></td><td>served models</td></tr>"
    "<tr><td>GET</td><td><code>/version</code></td><td>server version</td></tr>"
    "<tr><td>GET</td><td><code>/health</code>, <code>/ping</code></td><td>200 while the engine runs, else 503</td></tr>"
    "<tr><td>GET</td><td><code>/metrics</code></td><td>Prometheus metrics</td></tr>"
    "</table><p>With <code>--api-key</code>, send <code>Authorization: Bearer KEY</code> "
    "(not needed for /health, /ping, /metrics).</p></body></html>";

void vr_route_openapi(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    (void)s;
    (void)r;
    vr_http_respond(c, 200, "application/json", NULL, openapi, sizeof openapi - 1);
}

void vr_route_docs(vr_server *s, vr_http_conn *c, const vr_http_req *r) {
    (void)s;
    (void)r;
    vr_http_respond(c, 200, "text/html; charset=utf-8", NULL, docs_html, sizeof docs_html - 1);
}
